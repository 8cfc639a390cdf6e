// Kubernetes manifests as code, typed by kubernetes-models (the Kubernetes API types; a misspelt
// field does not compile). `node dist/deploy/k8s/manifests.js` writes deploy/k8s/wsbench.yaml
// (namespace, server Deployment + Service, Prometheus with its scrape config and rules) and
// deploy/k8s/client-job.yaml (the run's start time and the client Indexed Job); with flags it
// writes them for another size (`--shards 8 --clients 100000 --out-dir DIR`).
// deploy/k8s.test.ts checks the committed files are this output, validates every object against
// the Kubernetes OpenAPI schemas (kubernetes-models' validators) and runs the Job's command.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IJob } from 'kubernetes-models/batch/v1/Job';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { INamespace } from 'kubernetes-models/v1/Namespace';
import type { IService } from 'kubernetes-models/v1/Service';
import { stringify } from 'yaml';
import { defineFlags, helpText, parse, parseCli, runMain } from '../../protocol/cli.js';
import { EXIT } from '../../protocol/codes.js';
import { MODE_NAMES } from '../../protocol/modes.js';
import { repoRoot } from '../results.js';

export type Manifest = INamespace | IConfigMap | IDeployment | IService | IJob;

export const NAMESPACE = 'wsbench';
const APP = 'app.kubernetes.io/name';
const COMPONENT = 'app.kubernetes.io/component';
const labels = (component: string) => ({ [APP]: 'wsbench', [COMPONENT]: component });
const meta = (name: string, component: string) => ({
  name,
  namespace: NAMESPACE,
  labels: labels(component),
});

/** The sizes and images a rendering is for. */
export interface Options {
  shards: number;
  clients: number;
  duration: number;
  warmup: number;
  rate: number;
  mode: (typeof MODE_NAMES)[number];
  imageTag: string;
  prometheusImage: string;
}

export const DEFAULTS: Options = {
  shards: 3,
  clients: 300,
  duration: 30,
  warmup: 5,
  rate: 0,
  mode: 'uws',
  imageTag: 'local',
  prometheusImage: 'prom/prometheus:v2.53.2',
};

const hardened: IContainer['securityContext'] = {
  runAsNonRoot: true,
  runAsUser: 1000,
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] },
};

/**
 * The client container's shell command. Kubernetes numbers Indexed Job pods 0..N-1 in
 * JOB_COMPLETION_INDEX; client-bench shards are 1..N. The result goes to stdout as one JSON line
 * (`--json`; `--quiet` keeps stderr short), collected per index with `kubectl logs`.
 */
export const CLIENT_COMMAND =
  'exec node dist/client-bench/main.js --shard "$((JOB_COMPLETION_INDEX + 1))/$SHARDS"' +
  ' --url "$SERVER_URL" --clients "$CLIENTS" --duration "$DURATION" --warmup "$WARMUP"' +
  ' --workers "$CLIENT_WORKERS" --metrics-port "$METRICS_PORT" --json --quiet';

/**
 * Prometheus inside the cluster, by cluster DNS (no API access, no RBAC): the server through its
 * Service, every running client shard through the headless Service `wsbench-client`, whose name
 * resolves to one address per ready pod. Each shard labels its own series (`shard="I"`).
 */
export function prometheusConfig(): string {
  const dns = (name: string, port: number) => [
    { names: [`${name}.${NAMESPACE}.svc`], type: 'A', port, refresh_interval: '1s' },
  ];
  return stringify({
    global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
    rule_files: ['wsbench.rules.yml'],
    scrape_configs: [
      {
        job_name: 'wsbench-server',
        honor_labels: true,
        dns_sd_configs: dns('wsbench-server', 8080),
      },
      {
        job_name: 'wsbench-client',
        honor_labels: true,
        dns_sd_configs: dns('wsbench-client', 9464),
      },
    ],
  });
}

/** deploy/k8s/wsbench.yaml: everything that stays up between runs. */
export function baseManifests(o: Options): Manifest[] {
  const rules = readFileSync(join(repoRoot(), 'prometheus', 'wsbench.rules.yml'), 'utf8');
  const promMeta = meta('wsbench-prometheus', 'prometheus');
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE, labels: labels('all') } },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: meta('wsbench-server', 'server'),
      spec: {
        replicas: 1,
        selector: { matchLabels: labels('server') },
        template: {
          metadata: { labels: labels('server') },
          spec: {
            containers: [
              {
                name: 'server',
                image: `wsbench/server:${o.imageTag}`,
                imagePullPolicy: 'IfNotPresent',
                env: [
                  { name: 'MODE', value: o.mode },
                  { name: 'HOST', value: '0.0.0.0' },
                  { name: 'PORT', value: '8080' },
                  { name: 'RATE', value: String(o.rate) },
                  // The clients run on other nodes: the same (wall) clock on both sides.
                  { name: 'WSBENCH_CLOCK', value: 'wall' },
                ],
                ports: [{ name: 'ws', containerPort: 8080, protocol: 'TCP' }],
                readinessProbe: {
                  httpGet: { path: '/health', port: 'ws' },
                  periodSeconds: 2,
                  failureThreshold: 3,
                },
                resources: { requests: { cpu: '1', memory: '256Mi' } },
                securityContext: hardened,
              },
            ],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta('wsbench-server', 'server'),
      spec: {
        selector: labels('server'),
        ports: [{ name: 'ws', port: 8080, targetPort: 'ws', protocol: 'TCP' }],
      },
    },
    {
      // Headless: the name resolves to every ready client pod, which is how Prometheus finds the
      // shards (and a shard's own address is stable while it runs).
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta('wsbench-client', 'client'),
      spec: {
        clusterIP: 'None',
        selector: labels('client'),
        ports: [{ name: 'metrics', port: 9464, targetPort: 'metrics', protocol: 'TCP' }],
      },
    },
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: promMeta,
      data: { 'prometheus.yml': prometheusConfig(), 'wsbench.rules.yml': rules },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: promMeta,
      spec: {
        replicas: 1,
        selector: { matchLabels: labels('prometheus') },
        template: {
          metadata: { labels: labels('prometheus') },
          spec: {
            containers: [
              {
                name: 'prometheus',
                image: o.prometheusImage,
                args: [
                  '--config.file=/etc/prometheus/prometheus.yml',
                  '--storage.tsdb.path=/prometheus',
                  '--web.listen-address=:9090',
                ],
                ports: [{ name: 'http', containerPort: 9090, protocol: 'TCP' }],
                readinessProbe: { httpGet: { path: '/-/ready', port: 'http' }, periodSeconds: 2 },
                volumeMounts: [
                  { name: 'config', mountPath: '/etc/prometheus', readOnly: true },
                  { name: 'data', mountPath: '/prometheus' },
                ],
                securityContext: { ...hardened, runAsUser: 65534 },
              },
            ],
            volumes: [
              { name: 'config', configMap: { name: 'wsbench-prometheus' } },
              { name: 'data', emptyDir: {} },
            ],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: promMeta,
      spec: {
        selector: labels('prometheus'),
        ports: [{ name: 'http', port: 9090, targetPort: 'http', protocol: 'TCP' }],
      },
    },
  ];
}

/**
 * deploy/k8s/client-job.yaml: the run. Its common start (epoch ms) comes from the ConfigMap
 * `wsbench-run` (key startAt), which `kubectl create configmap` writes just before the Job
 * (deploy/k8s/k8s-bench.sh): a pod cannot start without it, so no shard runs with a stale time.
 */
export function runManifests(o: Options): Manifest[] {
  const env = (name: string, value: string | number) => ({ name, value: String(value) });
  return [
    {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: meta('wsbench-client', 'client'),
      spec: {
        completionMode: 'Indexed',
        completions: o.shards,
        parallelism: o.shards,
        // A failed shard is reported by the merge (exit 3), never re-run with a new clock.
        backoffLimit: 0,
        ttlSecondsAfterFinished: 3600,
        template: {
          metadata: { labels: labels('client') },
          spec: {
            restartPolicy: 'Never',
            // Spread the shards over the nodes: the point of sharding is more hosts.
            topologySpreadConstraints: [
              {
                maxSkew: 1,
                topologyKey: 'kubernetes.io/hostname',
                whenUnsatisfiable: 'ScheduleAnyway',
                labelSelector: { matchLabels: labels('client') },
              },
            ],
            containers: [
              {
                name: 'client',
                image: `wsbench/client-bench:${o.imageTag}`,
                imagePullPolicy: 'IfNotPresent',
                command: ['sh', '-c', CLIENT_COMMAND],
                env: [
                  env('SHARDS', o.shards),
                  env('SERVER_URL', 'ws://wsbench-server:8080/'),
                  env('CLIENTS', o.clients),
                  env('DURATION', o.duration),
                  env('WARMUP', o.warmup),
                  env('CLIENT_WORKERS', 2),
                  env('METRICS_HOST', '0.0.0.0'),
                  env('METRICS_PORT', 9464),
                  // Pods land on different nodes: their monotonic clocks are unrelated.
                  env('WSBENCH_CLOCK', 'wall'),
                  {
                    name: 'WSBENCH_START_AT',
                    valueFrom: { configMapKeyRef: { name: 'wsbench-run', key: 'startAt' } },
                  },
                ],
                ports: [{ name: 'metrics', containerPort: 9464, protocol: 'TCP' }],
                resources: { requests: { cpu: '2', memory: '512Mi' } },
                securityContext: hardened,
              },
            ],
          },
        },
      },
    },
  ];
}

/** Multi-document YAML, one object per document. */
export function toYaml(header: string, objects: Manifest[]): string {
  const docs = objects.map((o) => stringify(o, { lineWidth: 0, singleQuote: true }));
  return `${header}\n${docs.map((d) => `---\n${d}`).join('')}`;
}

export const FILES = {
  'wsbench.yaml': (o: Options) =>
    toYaml(
      '# Generated by deploy/k8s/manifests.ts (make kube-manifests); do not edit. docs/cluster.md.',
      baseManifests(o),
    ),
  'client-job.yaml': (o: Options) =>
    toYaml(
      '# Generated by deploy/k8s/manifests.ts (make kube-manifests); do not edit. docs/cluster.md.\n' +
        '# Apply after `kubectl -n wsbench create configmap wsbench-run --from-literal=startAt=<epoch ms>`\n' +
        '# (deploy/k8s/k8s-bench.sh does both).',
      runManifests(o),
    ),
} as const;

const FLAGS = defineFlags({
  shards: { long: 'shards', arg: 'N', help: 'client pods', default: 3, parse: parse.int(1, 1024) },
  clients: {
    long: 'clients',
    arg: 'N',
    help: 'connections over all shards',
    default: 300,
    parse: parse.int(1, 10_000_000),
  },
  duration: {
    long: 'duration',
    arg: 'S',
    help: 'measured seconds',
    default: 30,
    parse: parse.int(1, 86400),
  },
  warmup: {
    long: 'warmup',
    arg: 'S',
    help: 'warm-up seconds',
    default: 5,
    parse: parse.int(0, 86400),
  },
  rate: {
    long: 'rate',
    arg: 'N',
    help: 'server ticks/s, 0 = max',
    default: 0,
    parse: parse.int(0, 1e8),
  },
  mode: {
    long: 'mode',
    arg: 'M',
    help: 'server mode',
    default: 'uws',
    parse: parse.oneOf(MODE_NAMES),
  },
  imageTag: {
    long: 'image-tag',
    arg: 'TAG',
    help: 'tag of wsbench/server and wsbench/client-bench',
    default: 'local',
    parse: parse.matching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/, 'a Docker tag'),
  },
  outDir: {
    long: 'out-dir',
    arg: 'DIR',
    help: 'where the two files go',
    default: 'deploy/k8s',
    parse: parse.text(),
  },
});

function main(): number {
  const parsed = parseCli('k8s-manifests', FLAGS, process.argv.slice(2));
  if (parsed.help) {
    process.stdout.write(helpText(FLAGS, { usage: 'node dist/deploy/k8s/manifests.js [options]' }));
    return EXIT.ok;
  }
  const { outDir, ...sizes } = parsed.values;
  if (sizes.shards > sizes.clients) {
    throw new Error(`--shards ${sizes.shards} is more than --clients ${sizes.clients}`);
  }
  const o: Options = { ...DEFAULTS, ...sizes };
  mkdirSync(outDir, { recursive: true });
  for (const [file, render] of Object.entries(FILES)) {
    writeFileSync(join(outDir, file), render(o));
    process.stderr.write(`wrote ${join(outDir, file)}\n`);
  }
  return EXIT.ok;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1])
  runMain(() => Promise.resolve(main()));
