// The native runtime: server and client-bench as local processes, pinned to separate cores with
// taskset when the machine has two, CPU/RSS sampled from /proc, a local prometheus when present.
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EXIT } from '../../protocol/codes.js';
import { allowedCpus, hasTaskset, pinPid, startNode, type Proc } from '../lib/proc.js';
import type { Placement, Resources, RunPlan } from '../lib/result.js';
import { MachineSampler, ProcSampler } from '../lib/sampler.js';
import { repoRoot } from '../lib/versions.js';
import { abortable } from '../lib/wait.js';
import type { ClientHandle, RunContext, Runtime, ServerHandle, Window } from './runtime.js';

export const SERVER_MAIN = path.join(repoRoot, 'dist/server/main.js');
export const CLIENT_MAIN = path.join(repoRoot, 'dist/client-bench/main.js');

const SERVER_READY_MS = 20_000;
const SAMPLE_MS = 250;

/** Where the processes go: PIN, SERVER_CORES, CLIENT_CORES. */
export interface PlacementSettings {
  pin: 'auto' | boolean;
  serverCores: string | null;
  clientCores: string | null;
}

/** server or client-bench has not been compiled into dist/ yet (exit 1, not bad input). */
/** What is not compiled (server, client-bench), or null when both are built. */
function missingBuild(): string | null {
  for (const [file, what] of [
    [SERVER_MAIN, 'server'],
    [CLIENT_MAIN, 'client-bench'],
  ] as const) {
    if (!existsSync(file)) return `${what} is not built: ${file} is missing (run make build)`;
  }
  return null;
}

export function assertBuilt(): void {
  const missing = missingBuild();
  if (missing !== null) throw new Error(missing);
}

/** Every entry point's start-up check: prints what is missing and returns EXIT.failed, or null. */
export function unbuiltExit(program: string): number | null {
  const missing = missingBuild();
  if (missing === null) return null;
  console.error(`${program}: ${missing}`);
  return EXIT.failed;
}

/**
 * Placement: on >= 2 allowed CPUs (and taskset present) the server gets the first, the client the
 * second; the orchestrator (and autocannon in it) joins the client's core so the server's core
 * runs only the server. PIN=0 turns it off, SERVER_CORES / CLIENT_CORES choose other cores.
 */
export function choosePlacement(s: PlacementSettings): Placement {
  const cpus = allowedCpus();
  const base = {
    cpus: cpus.length,
    server: { cores: null },
    client: { cores: null },
    orchestrator: { cores: null },
  };
  if (s.pin === false) return { ...base, pinned: false, reason: 'PIN=0' };
  if (!hasTaskset()) return { ...base, pinned: false, reason: 'taskset not found (util-linux)' };
  if (cpus.length < 2 && !(s.serverCores !== null && s.clientCores !== null))
    return { ...base, pinned: false, reason: `only ${cpus.length} CPU available` };
  const server = s.serverCores ?? String(cpus[0] ?? 0);
  const client =
    s.clientCores ?? String(cpus.find((c) => String(c) !== server) ?? cpus[1] ?? server);
  return {
    ...base,
    pinned: true,
    reason:
      s.serverCores !== null || s.clientCores !== null
        ? 'SERVER_CORES/CLIENT_CORES'
        : `${cpus.length} CPUs`,
    server: { cores: server },
    client: { cores: client },
    orchestrator: { cores: client },
  };
}

/** The server command line for a plan (also used by the capacity search). */
export function serverArgs(plan: RunPlan, extra: readonly string[] = []): string[] {
  // prettier-ignore
  return [
    SERVER_MAIN,
    '--mode', plan.mode, '--port', '0', '--host', '127.0.0.1',
    '--rate', String(plan.rate), '--symbols', String(plan.symbols),
    ...extra,
  ];
}

/** Starts a native server and waits for its listening line; throws with its stderr if it dies. */
export async function startNativeServer(
  plan: RunPlan,
  opts: {
    cores: string | null;
    logFile: string;
    signal?: AbortSignal;
    extraArgs?: readonly string[];
  },
  onPid: (pid: number) => void = () => undefined,
): Promise<{ proc: Proc; port: number }> {
  const proc = startNode('server', serverArgs(plan, opts.extraArgs), {
    cores: opts.cores,
    logFile: opts.logFile,
  });
  onPid(proc.pid);
  try {
    const ready = await abortable(
      proc.waitForLine((l) => l.json?.event === 'listening', SERVER_READY_MS),
      opts.signal,
    );
    const port = ready.json?.port;
    if (typeof port !== 'number')
      throw new Error(`server ready line without a port: ${ready.line}`);
    return { proc, port };
  } catch (err) {
    await proc.stop('SIGTERM', 3000);
    throw err;
  }
}

export class NativeRuntime implements Runtime {
  readonly name = 'native' as const;
  private serverSampler: ProcSampler | null = null;
  private clientSampler: ProcSampler | null = null;
  private readonly machine = new MachineSampler(os.cpus().length);

  constructor(
    private readonly settings: PlacementSettings,
    private readonly signal?: AbortSignal,
    /** extra server flags (e.g. --burn-us for the verdict tests) */
    private readonly serverExtraArgs: readonly string[] = [],
  ) {}

  async place(): Promise<Placement> {
    assertBuilt();
    const placement = choosePlacement(this.settings);
    const orch = placement.orchestrator.cores;
    if (orch !== null && !(await pinPid(process.pid, orch))) placement.orchestrator.cores = null;
    return placement;
  }

  async startServer(plan: RunPlan, ctx: RunContext, placement: Placement): Promise<ServerHandle> {
    this.machine.start();
    const { proc, port } = await startNativeServer(
      plan,
      {
        cores: placement.server.cores,
        logFile: path.join(ctx.runDir, 'server.log'),
        extraArgs: this.serverExtraArgs,
        ...(this.signal !== undefined ? { signal: this.signal } : {}),
      },
      (pid) => (placement.server.pid = pid),
    );
    this.serverSampler = new ProcSampler(proc.pid, SAMPLE_MS).start();
    return {
      wsUrl: `ws://127.0.0.1:${port}/`,
      httpBase: `http://127.0.0.1:${port}`,
      pid: proc.pid,
      alive: () => proc.running,
      stop: async () => {
        this.serverSampler?.stop();
        const e = await proc.stop('SIGTERM', 6000);
        return { code: e.code, signal: e.signal };
      },
    };
  }

  startClient(
    plan: RunPlan,
    server: ServerHandle,
    ctx: RunContext,
    placement: Placement,
    extraArgs: readonly string[],
  ): ClientHandle {
    const resultFile = path.join(ctx.runDir, 'client-result.json');
    let onMetrics: (port: number) => void = () => undefined;
    const metricsPort = new Promise<number | null>((resolve) => (onMetrics = resolve));
    // prettier-ignore
    const proc = startNode('client', [
      CLIENT_MAIN,
      '--url', server.wsUrl, '--clients', String(plan.clients),
      '--duration', String(plan.duration), '--warmup', String(plan.warmup),
      '--run-id', ctx.runId, '--out', resultFile, '--json', '--quiet',
      // its /metrics feeds the per-second timeline (and Prometheus when it runs)
      ...(extraArgs.includes('--metrics-port') ? [] : ['--metrics-port', '0']),
      ...extraArgs,
    ], {
      env: { ...process.env, METRICS_HOST: '127.0.0.1' },
      cores: placement.client.cores,
      logFile: path.join(ctx.runDir, 'client.log'),
      onStderrLine(line) {
        if (!line.startsWith('{"event":"metrics"')) return;
        try {
          const ev = JSON.parse(line) as { port?: unknown };
          if (typeof ev.port === 'number') onMetrics(ev.port);
        } catch {
          // not an event line
        }
      },
    });
    void proc.exited.then(() => {
      onMetrics(NaN);
    });
    placement.client.pid = proc.pid;
    this.clientSampler = new ProcSampler(proc.pid, SAMPLE_MS).start();
    return {
      pid: proc.pid,
      resultFile,
      exited: proc.exited,
      running: () => proc.running,
      stop: async (sig, ms) => {
        const e = await proc.stop(sig, ms);
        this.clientSampler?.stop();
        return { code: e.code, signal: e.signal };
      },
      metricsPort: metricsPort.then((p) => (Number.isFinite(p) ? p : null)),
    };
  }

  sample(window: Window): Promise<Resources> {
    this.machine.stop();
    // the samplers keep performance.now() times; the window is wall clock
    const offset = performance.now() - Date.now();
    const from = window.from + offset;
    const to = window.to + offset;
    const none = { cpuCores: null, sysCores: null, rssMaxBytes: null, samples: [] };
    return Promise.resolve({
      intervalMs: SAMPLE_MS,
      windowSec: Math.round((to - from) / 10) / 100,
      server: this.serverSampler?.window(from, to) ?? none,
      client: this.clientSampler?.window(from, to) ?? none,
      machine: this.machine.window(from, to),
    });
  }

  async startPrometheus(
    server: ServerHandle,
    client: ClientHandle,
    plan: RunPlan,
    ctx: RunContext,
  ): Promise<{ url: string; dir?: string; stop(): Promise<void> } | null> {
    const { startLocalPrometheus } = await import('../prometheus-local.js');
    const clientPort = await Promise.race([
      client.metricsPort,
      new Promise<null>((r) =>
        setTimeout(() => {
          r(null);
        }, 10_000).unref(),
      ),
    ]);
    const dir = path.join(ctx.runDir, 'prometheus');
    const prom = await startLocalPrometheus({
      dir,
      targets: {
        server: [new URL(server.httpBase).host],
        client: clientPort !== null ? [`127.0.0.1:${clientPort}`] : [],
      },
      mode: plan.mode,
      runId: ctx.runId,
    });
    if (prom === null) return null;
    ctx.note(`Prometheus: ${prom.url} (data kept in ${dir})`);
    return { url: prom.url, dir: path.relative(ctx.runDir, prom.dataDir), stop: () => prom.stop() };
  }
}
