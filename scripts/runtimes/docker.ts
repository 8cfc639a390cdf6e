// The Docker runtime: the server container of the running stack (make up), client-bench as a
// one-off container of the same compose project (`compose run client`). Every container is on the
// host network (the client connects to ws://127.0.0.1:<port>/) with the cpusets native runs use
// (scripts/stack.sh placement). CPU/RSS of both are sampled from the host's /proc like native
// runs (the containers' processes are host processes), with the stack's Prometheus as the
// fallback. Results land on the host under RESULTS_DIR (mounted at /results).
// `manageServer`: (re)start the mode's server per run at the plan's rate (make compare); without
// it the stack's running server is measured at the rate it was started with (make up RATE=...).
import { chownSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ModeName } from '../../protocol/modes.js';
import { errorText, round } from '../lib/format.js';
import { runToEnd, start } from '../lib/proc.js';
import type { DockerBlock, Placement, Resources, RunPlan } from '../lib/result.js';
import { MachineSampler, NO_USAGE, ProcSampler, type Usage } from '../lib/sampler.js';
import { resultsDir } from '../lib/results.js';
import { repoRoot } from '../lib/versions.js';
import type { ClientHandle, RunContext, Runtime, ServerHandle, Window } from './runtime.js';

const CONTAINER_RESULTS = '/results';
/** Prometheus scrapes every second (docker/prometheus.yml). */
const SAMPLE_S = 1;
/** /proc sampling of the containers' processes, as native runs do. */
const SAMPLE_MS = 250;
/** Every container of the stack shares the host's network namespace (docker-compose.yml). */
export const NETWORK = 'host';
const STACK = path.join(repoRoot, 'scripts/stack.sh');

/** KEY=VALUE lines of .env, which compose reads too; the environment wins over it. */
function dotenv(): Record<string, string> {
  const out: Record<string, string> = {};
  const file = path.join(repoRoot, '.env');
  if (!existsSync(file)) return out;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (m?.[1] !== undefined) out[m[1]] = (m[2] ?? '').trim().replace(/^(['"])(.*)\1$/, '$2');
  }
  return out;
}

/** A setting from the environment, else .env, else the default. */
export function stackSetting(name: string, def: string): string {
  const v = process.env[name];
  if (v !== undefined && v !== '') return v;
  return dotenv()[name] ?? def;
}

/** `scripts/stack.sh <args>`; throws with its stderr when it fails. */
export async function stack(...args: string[]): Promise<string> {
  return stackWith({}, ...args);
}

async function stackWith(env: Record<string, string>, ...args: string[]): Promise<string> {
  const r = await runToEnd('bash', [STACK, ...args], { env: { ...process.env, ...env } });
  if (r.code !== 0)
    throw new Error(`scripts/stack.sh ${args.join(' ')} failed: ${r.stderr.trim()}`);
  return r.stdout.trim();
}

/** The modes whose server container runs in the stack. */
export async function runningModes(): Promise<string[]> {
  return (await stack('modes')).split('\n').filter((l) => l !== '');
}

const PORT_VARS: Record<ModeName, [string, string]> = {
  'ws-naive': ['SERVER_WS_NAIVE_PORT', '8081'],
  ws: ['SERVER_WS_PORT', '8082'],
  uws: ['SERVER_UWS_PORT', '8083'],
};

/** KEY=VALUE lines of a stack.sh answer. */
function keyValues(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

/**
 * The host pid of the node process in a container: the child of its pid 1 (tini, `init: true`),
 * or pid 1 itself without an init. (Node 24 names its main thread "MainThread", so not by name.)
 */
async function nodePidOf(container: string): Promise<number | null> {
  const r = await runToEnd('docker', ['inspect', '-f', '{{.State.Pid}}', container]);
  const init = Number(r.stdout.trim());
  if (r.code !== 0 || !Number.isInteger(init) || init <= 0) return null;
  const kids = await runToEnd('pgrep', ['-P', String(init)]);
  const pid = Number(kids.stdout.trim().split('\n')[0]);
  return kids.code === 0 && Number.isInteger(pid) && pid > 0 ? pid : init;
}

export class DockerRuntime implements Runtime {
  readonly name = 'docker' as const;
  readonly project = stackSetting('WSBENCH_PROJECT', 'wsbench');
  readonly promUrl = `http://127.0.0.1:${stackSetting('PROMETHEUS_PORT', '9090')}`;
  private mode: ModeName = 'uws';
  private runId = '';
  private readonly started = Date.now();
  private serverSampler: ProcSampler | null = null;
  private clientSampler: ProcSampler | null = null;
  private readonly machine = new MachineSampler(os.cpus().length);
  /** the server container and its RestartCount when the run started */
  private serverContainer: { id: string; restartsAtStart: number } | null = null;

  constructor(private readonly opts: { manageServer?: boolean } = {}) {}

  async place(): Promise<Placement> {
    const p = keyValues(await stack('placement'));
    const serverSet = p.SERVER_CPUSET ?? '';
    const clientSet = p.CLIENT_CPUSET ?? '';
    const limits = `SERVER_CPUS=${stackSetting('SERVER_CPUS', '0')} CLIENT_CPUS=${stackSetting('CLIENT_CPUS', '0')}`;
    return {
      pinned: serverSet !== '' || clientSet !== '',
      cpus: os.availableParallelism(),
      reason: `docker, ${NETWORK} network, ${p.PLACEMENT ?? 'placement unknown'}; ${limits}`,
      server: { cores: serverSet !== '' ? serverSet : null },
      client: { cores: clientSet !== '' ? clientSet : null },
      // the orchestrator runs on the host, outside both containers
      orchestrator: { cores: null },
    };
  }

  async startServer(plan: RunPlan, ctx: RunContext): Promise<ServerHandle> {
    this.mode = plan.mode;
    const [portVar, def] = PORT_VARS[plan.mode];
    const port = stackSetting(portVar, def);
    const service = `server-${plan.mode}`;
    if (this.opts.manageServer === true) {
      ctx.note(`docker: (re)starting ${service} at rate ${plan.rate || 'max'}`);
      await stackWith(
        { MODE: plan.mode, RATE: String(plan.rate), SYMBOLS: String(plan.symbols) },
        'serve',
      );
    }
    this.machine.start();
    const container = (await stack('compose', '--profile', plan.mode, 'ps', '-q', service)).split(
      '\n',
    )[0];
    const pid = container !== undefined && container !== '' ? await nodePidOf(container) : null;
    if (container !== undefined && container !== '')
      this.serverContainer = {
        id: container,
        restartsAtStart: (await restartState(container))?.restarts ?? 0,
      };
    if (pid !== null) this.serverSampler = new ProcSampler(pid, SAMPLE_MS).start();
    return {
      // host network: the client container reaches the server where the host does
      wsUrl: `ws://127.0.0.1:${port}/`,
      httpBase: `http://127.0.0.1:${port}`,
      pid,
      alive: () => true,
      stop: async () => {
        this.serverSampler?.stop();
        // a managed server is removed after its run, so that nothing runs beside the next one
        if (this.opts.manageServer === true)
          await stack('compose', '--profile', plan.mode, 'rm', '-s', '-f', service);
        return null;
      },
    };
  }

  startClient(
    plan: RunPlan,
    server: ServerHandle,
    ctx: RunContext,
    _placement: Placement,
    extraArgs: readonly string[],
  ): ClientHandle {
    // the run folder, writable by the container's user (root on the host maps to uid 1000)
    const hostUid = process.getuid?.() ?? 1000;
    const hostGid = process.getgid?.() ?? 1000;
    const uid = hostUid === 0 ? 1000 : hostUid;
    const gid = hostUid === 0 ? 1000 : hostGid;
    if (hostUid === 0) chownSync(ctx.runDir, uid, gid);
    // RESULTS_DIR is mounted at /results: the run folder may be nested (make compare's runs/)
    const runName = path.relative(resultsDir(), ctx.runDir);
    if (runName.startsWith('..') || path.isAbsolute(runName))
      throw new Error(`run folder ${ctx.runDir} is not under RESULTS_DIR ${resultsDir()}`);
    this.runId = ctx.runId;
    const tty = process.stdin.isTTY && process.stderr.isTTY;
    // Prometheus scrapes the client here (docker/prometheus.yml, targets from scripts/stack.sh)
    const metricsPort = stackSetting('CLIENT_METRICS_PORT', '9464');
    const metricsArgs = extraArgs.includes('--metrics-port') ? [] : ['--metrics-port', metricsPort];
    // prettier-ignore
    const args = [
      STACK, 'compose', '--profile', 'bench', 'run', '--rm', '--no-deps',
      ...(tty ? [] : ['-T']),
      '--label', `wsbench.mode=${plan.mode}`, '--label', `wsbench.run_id=${ctx.runId}`,
      'client',
      '--url', server.wsUrl, '--clients', String(plan.clients),
      '--duration', String(plan.duration), '--warmup', String(plan.warmup),
      ...metricsArgs, ...extraArgs, '--run-id', ctx.runId,
      '--out', `${CONTAINER_RESULTS}/${runName}/client-result.json`,
    ];
    // Not detached and on the terminal: a Ctrl-C reaches compose too, which stops the container.
    const proc = start('client', 'bash', args, {
      detached: false,
      stdio: 'inherit',
      env: { ...process.env, WSBENCH_UID: String(uid), WSBENCH_GID: String(gid) },
    });
    // The client container's node process, sampled from /proc once it is up.
    const runLabel = `label=wsbench.run_id=${ctx.runId}`;
    let looking = true;
    const findClient = async (): Promise<void> => {
      for (let i = 0; i < 100 && looking && this.clientSampler === null; i++) {
        const r = await runToEnd('docker', ['ps', '-q', '--filter', runLabel]);
        const id = r.stdout.trim().split('\n')[0] ?? '';
        const pid = id !== '' ? await nodePidOf(id) : null;
        if (pid !== null) {
          this.clientSampler = new ProcSampler(pid, SAMPLE_MS).start();
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };
    const found = findClient();
    const exited = proc.exited.then(async (e) => {
      looking = false;
      await found;
      this.clientSampler?.stop();
      if (hostUid === 0) await runToEnd('chown', ['-R', `${hostUid}:${hostGid}`, ctx.runDir]);
      return e;
    });
    return {
      pid: null,
      resultFile: path.join(ctx.runDir, 'client-result.json'),
      exited,
      running: () => proc.running,
      stop: async (sig, ms) => {
        if (proc.running) await proc.stop(sig, ms);
        return exited;
      },
      metricsPort: Promise.resolve(null),
    };
  }

  async sample(window: Window): Promise<Resources> {
    this.machine.stop();
    this.serverSampler?.stop();
    // the samplers keep performance.now() times; the window is wall clock
    const offset = performance.now() - Date.now();
    const from = window.from + offset;
    const to = window.to + offset;
    const fromProc = (s: ProcSampler | null): Usage | null => {
      const u = s?.window(from, to) ?? null;
      return u !== null && u.cpuCores !== null ? u : null;
    };
    const procServer = fromProc(this.serverSampler);
    const procClient = fromProc(this.clientSampler);
    const [server, client] = await Promise.all([
      procServer ?? this.usage(`job="wsbench-server",mode="${this.mode}"`, window),
      procClient ?? this.usage(`job="wsbench-client",run_id="${this.runId}"`, window),
    ]);
    const proc = procServer !== null && procClient !== null;
    return {
      intervalMs: proc ? SAMPLE_MS : SAMPLE_S * 1000,
      windowSec: (window.to - window.from) / 1000,
      source: proc
        ? 'host /proc (container processes)'
        : `host /proc where found, else prometheus ${this.promUrl}`,
      server,
      client,
      machine: this.machine.window(from, to),
    };
  }

  async extra(ctx: RunContext): Promise<{ docker: DockerBlock; prometheusUrl: string }> {
    return {
      docker: {
        project: this.project,
        serverService: `server-${this.mode}`,
        network: NETWORK,
        images: await this.images(),
        grafanaUrl: this.grafanaLink(ctx.runId, this.started, Date.now()),
        ...(await this.serverRestarts()),
      },
      prometheusUrl: this.promUrl,
    };
  }

  /**
   * How often the server container restarted during the run (its restart policy at work after a
   * crash): its CPU/RSS figures are then those of the first process only.
   */
  private async serverRestarts(): Promise<Pick<DockerBlock, 'server'>> {
    const c = this.serverContainer;
    const now = c !== null ? await restartState(c.id) : null;
    if (c === null || now === null) return {};
    return {
      server: {
        container: c.id.slice(0, 12),
        restartPolicy: now.policy,
        restarts: Math.max(0, now.restarts - c.restartsAtStart),
      },
    };
  }

  /**
   * The client container died without its result (killed): its counters as the stack's Prometheus
   * last scraped them (every second), from the window start to that scrape.
   */
  async lostClient(_ctx: RunContext, w: Window): Promise<string | null> {
    const sel = `job="wsbench-client",run_id="${this.runId}"`;
    try {
      const [recv, gaps] = await Promise.all([
        this.queryRange(`max(wsbench_client_messages_received_total{${sel}})`, w),
        this.queryRange(`max(wsbench_client_gaps_total{${sel}})`, w),
      ]);
      const first = recv[0];
      const last = recv[recv.length - 1];
      if (first === undefined || last === undefined) return null;
      const g = (gaps[gaps.length - 1]?.[1] ?? 0) - (gaps[0]?.[1] ?? 0);
      const sec = last[0] - w.from / 1000;
      const n = last[1] - first[1];
      return (
        `its last Prometheus scrape, ${sec.toFixed(1)} s into the window, counted ` +
        `${Math.round(n).toLocaleString('en-US')} ticks received in the window (${Math.round(sec > 0 ? n / sec : 0).toLocaleString('en-US')}/s) and ${Math.round(g)} gaps; ` +
        'latency percentiles and per-connection figures died with it'
      );
    } catch {
      return null;
    }
  }

  /** CPU (cores) and RSS of one Prometheus target over the window, like the native sampler. */
  private async usage(selector: string, w: Window): Promise<Usage> {
    try {
      const [cpu, rss] = await Promise.all([
        this.queryRange(`max(process_cpu_seconds_total{${selector}})`, w),
        this.queryRange(`max(process_resident_memory_bytes{${selector}})`, w),
      ]);
      const rssMax = rss.length > 0 ? Math.max(...rss.map((p) => p[1])) : null;
      const first = cpu[0];
      const last = cpu[cpu.length - 1];
      if (first === undefined || last === undefined || cpu.length < 2)
        return { ...NO_USAGE, rssMaxBytes: rssMax };
      const rssAt = new Map(rss);
      const samples: [number, number, number][] = [];
      for (let i = 1; i < cpu.length; i++) {
        const a = cpu[i - 1];
        const b = cpu[i];
        if (a === undefined || b === undefined) continue;
        samples.push([
          round(b[0] - w.from / 1000),
          round((b[1] - a[1]) / (b[0] - a[0])),
          rssAt.get(b[0]) ?? 0,
        ]);
      }
      return {
        cpuCores: round((last[1] - first[1]) / (last[0] - first[0])),
        sysCores: null,
        rssMaxBytes: rssMax,
        samples,
      };
    } catch (err) {
      process.stderr.write(
        `wsbench-bench: no resource figures from Prometheus (${errorText(err)})\n`,
      );
      return NO_USAGE;
    }
  }

  private async queryRange(query: string, w: Window): Promise<[number, number][]> {
    const q = new URLSearchParams({
      query,
      start: String(w.from / 1000),
      end: String(w.to / 1000),
      step: `${SAMPLE_S}s`,
    });
    const res = await fetch(`${this.promUrl}/api/v1/query_range?${q.toString()}`, {
      signal: AbortSignal.timeout(5000),
    });
    const body = (await res.json()) as {
      status: string;
      error?: string;
      data?: { result: { values: [number, string][] }[] };
    };
    if (body.status !== 'success') throw new Error(`${query}: ${body.error ?? res.status}`);
    return (body.data?.result[0]?.values ?? []).map(([t, v]) => [t, Number(v)]);
  }

  /** The provisioned dashboard that has a `mode` variable (wsbench-overview). */
  private dashboardUid(): string {
    const dir = path.join(repoRoot, 'grafana/dashboards');
    const files = existsSync(dir)
      ? readdirSync(dir)
          .filter((f) => f.endsWith('.json'))
          .sort()
      : [];
    for (const f of files) {
      try {
        const d = JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as {
          uid?: string;
          templating?: { list?: { name?: string }[] };
        };
        if (d.uid !== undefined && d.templating?.list?.some((v) => v.name === 'mode') === true)
          return d.uid;
      } catch {
        // not a dashboard: skip it
      }
    }
    return 'wsbench-overview';
  }

  grafanaLink(runId: string, fromMs: number, toMs: number): string {
    const q = new URLSearchParams({
      from: String(fromMs - 5000),
      to: String(toMs + 5000),
      'var-mode': this.mode,
      'var-run_id': runId,
    });
    return `http://127.0.0.1:${stackSetting('GRAFANA_PORT', '3000')}/d/${this.dashboardUid()}?${q.toString()}`;
  }

  /** Image references, ids and base images (docker image inspect). */
  async images(): Promise<Record<string, unknown>> {
    const inspect = async (ref: string): Promise<string | null> => {
      const r = await runToEnd('docker', ['image', 'inspect', '-f', '{{.Id}}', ref]);
      return r.code === 0 && r.stdout.trim() !== '' ? r.stdout.trim() : null;
    };
    const tag = stackSetting('WSBENCH_TAG', 'local');
    return {
      server: { ref: `wsbench/server:${tag}`, id: await inspect(`wsbench/server:${tag}`) },
      client: {
        ref: `wsbench/client-bench:${tag}`,
        id: await inspect(`wsbench/client-bench:${tag}`),
      },
      // the base the image was built from (label set by the Dockerfile)
      nodeBase: await label(`wsbench/server:${tag}`, 'wsbench.base-image'),
    };
  }

  async grafanaRunning(): Promise<boolean> {
    // prettier-ignore
    const r = await runToEnd('docker', [
      'ps', '-q', '--filter', `label=com.docker.compose.project=${this.project}`,
      '--filter', 'label=wsbench.role=grafana', '--filter', 'status=running',
    ]);
    return r.code === 0 && r.stdout.trim() !== '';
  }
}

/** A container's RestartCount and restart policy (docker inspect), or null. */
async function restartState(id: string): Promise<{ restarts: number; policy: string } | null> {
  const r = await runToEnd('docker', [
    'inspect',
    '-f',
    '{{.RestartCount}} {{.HostConfig.RestartPolicy.Name}}',
    id,
  ]);
  const [n, policy] = r.stdout.trim().split(' ');
  const restarts = Number(n);
  return r.code === 0 && Number.isInteger(restarts)
    ? { restarts, policy: policy !== undefined && policy !== '' ? policy : 'no' }
    : null;
}

async function label(ref: string, name: string): Promise<string | null> {
  const r = await runToEnd('docker', [
    'image',
    'inspect',
    '-f',
    `{{index .Config.Labels "${name}"}}`,
    ref,
  ]);
  const v = r.stdout.trim();
  return r.code === 0 && v !== '' && v !== '<no value>' ? v : null;
}
