// The Kubernetes manifests without a cluster (there is none here): the committed files are the
// generator's output; every object validates against the Kubernetes OpenAPI schemas
// (kubernetes-models ships them compiled to ajv validators) and a broken one is rejected; the
// objects fit together (selectors, ports, the Job's index -> shard, the start-time ConfigMap);
// promtool accepts the Prometheus config they carry; and the client Job's shell command, run here
// once per completion index against a real server, yields shard results that `client-bench merge`
// merges. Untested: scheduling, cluster DNS, kube-proxy, RBAC and `kubectl logs` themselves.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Service } from 'kubernetes-models/v1/Service';
import { parseAllDocuments } from 'yaml';
import { requireTool } from '../testkit/require-tool.js';
import { CLIENT_COMMAND, DEFAULTS, FILES, NAMESPACE } from './k8s/manifests.js';
import { readResult, repoRoot } from './results.js';

const root = repoRoot();
const k8sDir = join(root, 'deploy', 'k8s');

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
/** The value at a dotted path ("spec.template.spec"), or undefined. */
function at(v: unknown, path: string): unknown {
  let cur = v;
  for (const key of path.split('.')) cur = isObj(cur) ? cur[key] : undefined;
  return cur;
}

/** apiVersion/kind -> the kubernetes-models class whose validate() checks the schema. */
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'v1/Namespace': Namespace,
  'v1/ConfigMap': ConfigMap,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'batch/v1/Job': Job,
};

/** Schema problems of one object ([] = valid). */
function schemaProblems(o: Obj): string[] {
  const key = `${String(o.apiVersion)}/${String(o.kind)}`;
  const Model = MODELS[key];
  if (!Model) return [`no schema for ${key}`];
  try {
    new Model(o as never).validate();
    return [];
  } catch (err) {
    return [`${key} ${String(at(o, 'metadata.name'))}: ${String(err)}`];
  }
}

function readDocs(file: string): Obj[] {
  return parseAllDocuments(readFileSync(join(k8sDir, file), 'utf8')).map((d) => {
    const v: unknown = d.toJS();
    assert.ok(isObj(v), `${file}: a document is not an object`);
    return v;
  });
}
const all = () => [...readDocs('wsbench.yaml'), ...readDocs('client-job.yaml')];
const find = (kind: string, name: string) => {
  const o = all().find((x) => x.kind === kind && at(x, 'metadata.name') === name);
  assert.ok(o, `no ${kind} ${name}`);
  return o;
};
const envOf = (container: unknown) =>
  new Map(
    (Array.isArray(at(container, 'env')) ? (at(container, 'env') as unknown[]) : [])
      .filter(isObj)
      .map((e) => [String(e.name), e]),
  );

test('deploy/k8s/*.yaml are exactly what deploy/k8s/manifests.ts generates', () => {
  for (const [file, render] of Object.entries(FILES)) {
    assert.equal(
      readFileSync(join(k8sDir, file), 'utf8'),
      render(DEFAULTS),
      `${file} differs from the generator: run "make kube-manifests"`,
    );
  }
});

test('every object validates against the Kubernetes API schemas, all in one namespace', () => {
  const docs = all();
  assert.ok(docs.length >= 7, `only ${docs.length} objects`);
  assert.deepEqual(docs.flatMap(schemaProblems), []);
  for (const o of docs) {
    if (o.kind !== 'Namespace') assert.equal(at(o, 'metadata.namespace'), NAMESPACE);
  }
});

test('the schema validation rejects broken objects (the check can fail)', () => {
  const job = structuredClone(find('Job', 'wsbench-client'));
  (job.spec as Obj).completionMode = 'Indexd';
  assert.match(schemaProblems(job).join('\n'), /completionMode/);

  const server = structuredClone(find('Deployment', 'wsbench-server'));
  (server.spec as Obj).replicas = 'one';
  assert.match(schemaProblems(server).join('\n'), /replicas/);

  const noContainers = structuredClone(find('Deployment', 'wsbench-server'));
  delete (at(noContainers, 'spec.template.spec') as Obj).containers;
  assert.match(schemaProblems(noContainers).join('\n'), /containers/);

  const svc = structuredClone(find('Service', 'wsbench-server'));
  (at(svc, 'spec') as Obj).ports = [{ port: 'http' }];
  assert.notDeepEqual(schemaProblems(svc), []);
});

test('the objects fit together: selectors, ports, Indexed Job -> shards, start-time ConfigMap', () => {
  const server = find('Deployment', 'wsbench-server');
  const service = find('Service', 'wsbench-server');
  assert.deepEqual(at(service, 'spec.selector'), at(server, 'spec.template.metadata.labels'));
  assert.deepEqual(
    at(server, 'spec.selector.matchLabels'),
    at(server, 'spec.template.metadata.labels'),
  );
  const serverContainer = (at(server, 'spec.template.spec.containers') as unknown[])[0];
  assert.deepEqual(at(serverContainer, 'ports'), [
    { name: 'ws', containerPort: 8080, protocol: 'TCP' },
  ]);
  assert.equal(at(serverContainer, 'readinessProbe.httpGet.path'), '/health');
  assert.equal(envOf(serverContainer).get('WSBENCH_CLOCK')?.value, 'wall', 'server clock');

  const job = find('Job', 'wsbench-client');
  assert.equal(at(job, 'spec.completionMode'), 'Indexed');
  assert.equal(at(job, 'spec.completions'), DEFAULTS.shards);
  assert.equal(at(job, 'spec.parallelism'), DEFAULTS.shards);
  assert.equal(at(job, 'spec.template.spec.restartPolicy'), 'Never');
  const client = (at(job, 'spec.template.spec.containers') as unknown[])[0];
  assert.deepEqual(at(client, 'command'), ['sh', '-c', CLIENT_COMMAND]);
  const env = envOf(client);
  assert.equal(env.get('SHARDS')?.value, String(DEFAULTS.shards), 'SHARDS != completions');
  assert.equal(env.get('SERVER_URL')?.value, `ws://${String(at(service, 'metadata.name'))}:8080/`);
  assert.equal(env.get('WSBENCH_CLOCK')?.value, 'wall');
  const ref = at(env.get('WSBENCH_START_AT'), 'valueFrom.configMapKeyRef');
  assert.deepEqual(ref, { name: 'wsbench-run', key: 'startAt' });
  assert.ok(!all().some((o) => at(o, 'metadata.name') === 'wsbench-run'), 'startAt is per run');
  assert.equal(
    (at(client, 'ports') as Obj[])[0]?.containerPort,
    Number(env.get('METRICS_PORT')?.value),
  );

  // Prometheus finds the shards through the headless Service over the client pods.
  const shardsSvc = find('Service', 'wsbench-client');
  assert.equal(at(shardsSvc, 'spec.clusterIP'), 'None');
  assert.deepEqual(at(shardsSvc, 'spec.selector'), at(job, 'spec.template.metadata.labels'));
  const data = at(find('ConfigMap', 'wsbench-prometheus'), 'data') as Record<string, string>;
  assert.match(data['prometheus.yml'] ?? '', /wsbench-client\.wsbench\.svc/);
  assert.match(data['prometheus.yml'] ?? '', /wsbench-server\.wsbench\.svc/);
});

test('promtool accepts the Prometheus config and rules the ConfigMap carries', (t) => {
  const promtool = requireTool(t, 'promtool');
  if (!promtool) return;
  const data = at(find('ConfigMap', 'wsbench-prometheus'), 'data') as Record<string, string>;
  assert.equal(
    data['wsbench.rules.yml'],
    readFileSync(join(root, 'prometheus', 'wsbench.rules.yml'), 'utf8'),
  );
  const dir = mkdtempSync(join(tmpdir(), 'wsbench-k8s-prom-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  for (const [name, text] of Object.entries(data)) writeFileSync(join(dir, name), text);
  const r = spawnSync(promtool, ['check', 'config', join(dir, 'prometheus.yml')], {
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  assert.match(`${r.stdout}${r.stderr}`, /SUCCESS: 12 rules found/);
});

test("the client Job's command, run once per completion index, gives shards that merge", async (t) => {
  const shards = 2;
  const clients = 6;
  const server = spawn(
    process.execPath,
    [join(root, 'dist/server/main.js'), '--mode', 'ws', '--port', '0', '--rate', '2000'],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  t.after(() => server.kill('SIGTERM'));
  let port = 0;
  for await (const line of createInterface({ input: server.stdout })) {
    const o: unknown = JSON.parse(line);
    if (isObj(o) && o.event === 'listening') {
      port = Number(o.port);
      break;
    }
  }
  assert.ok(port > 0, 'server did not start');

  const job = find('Job', 'wsbench-client');
  const env = envOf((at(job, 'spec.template.spec.containers') as unknown[])[0]);
  const startAt = String(Date.now() + 3000);
  const dir = mkdtempSync(join(tmpdir(), 'wsbench-k8s-job-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  // What the kubelet would run in each pod: the same command and env, this index, the local
  // server instead of the Service, our sizes, any free metrics port.
  const pods = Array.from({ length: shards }, async (_, index) => {
    const podEnv: NodeJS.ProcessEnv = { PATH: process.env.PATH };
    for (const [name, e] of env) if (typeof e.value === 'string') podEnv[name] = e.value;
    Object.assign(podEnv, {
      JOB_COMPLETION_INDEX: String(index),
      SHARDS: String(shards),
      SERVER_URL: `ws://127.0.0.1:${port}/`,
      CLIENTS: String(clients),
      DURATION: '2',
      WARMUP: '1',
      CLIENT_WORKERS: '1',
      METRICS_PORT: '0',
      WSBENCH_START_AT: startAt,
    });
    const pod = spawn('sh', ['-c', CLIENT_COMMAND], {
      cwd: root,
      env: podEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    pod.stdout.on('data', (d: Buffer) => (out += d.toString()));
    pod.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const [code] = (await once(pod, 'exit')) as [number | null];
    assert.equal(code, 0, `pod ${index} exited ${String(code)}: ${err}`);
    // The collection step of docs/cluster.md: the one result line of the pod's log.
    const line = `${out}\n${err}`.split('\n').find((l) => l.startsWith('{"schemaVersion"'));
    assert.ok(line, `pod ${index} printed no result line`);
    const file = join(dir, `shard-${index + 1}.json`);
    writeFileSync(file, line);
    return file;
  });
  const files = await Promise.all(pods);
  const merged = join(dir, 'merged.json');
  const m = spawnSync(
    process.execPath,
    [join(root, 'dist/client-bench/main.js'), 'merge', ...files, '-o', merged, '-q'],
    { encoding: 'utf8' },
  );
  assert.equal(m.status, 0, m.stderr);
  const result = readResult(merged);
  const parts = files.map(readResult);
  assert.deepEqual(
    parts.map((p) => p.shard?.index),
    [1, 2],
  );
  assert.equal(result.connections.opened, clients);
  assert.equal(
    result.delivery.received,
    parts.reduce((n, p) => n + p.delivery.received, 0),
  );
  assert.equal(result.clock, 'wall');
});
