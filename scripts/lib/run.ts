// One run on any runtime, in phases: server, client, connect (every connection counted by the
// server's /health), warm-up, measure (autocannon in the window's middle), finish (client-bench
// writes its result), teardown (client with SIGINT first so it keeps what it measured, then the
// server), and the result (lib/result.ts). The runtime (runtimes/) only says how to place, start
// and sample the processes.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Result as ClientResult } from '../../client-bench/result.js';
import type { ExitCode } from '../../protocol/codes.js';
import type {
  ClientHandle,
  RunContext,
  Runtime,
  ServerHandle,
  Window,
} from '../runtimes/runtime.js';
import { errorText } from './format.js';
import { runHttpLoad, type HttpLoad } from './http-load.js';
import type { Exit } from './proc.js';
import type { Progress } from './progress.js';
import {
  buildBenchResult,
  exitCodeOf,
  type BenchResult,
  type Placement,
  type RunFacts,
  type RunPlan,
} from './result.js';
import { MetricsTimeline } from './timeline.js';
import { versions } from './versions.js';
import { getJson, Interrupted, sleep } from './wait.js';

export interface RunOptions {
  runDir: string;
  runId: string;
  progress: Progress;
  signal?: AbortSignal;
  scenario?: string | null;
  command?: string | null;
  /** start a local Prometheus when the runtime can */
  prometheus?: boolean;
  /** the latency objective the verdict judges against (ms, p99 due → receive) */
  sloP99Ms?: number;
  /** more client-bench flags (e.g. --on-server-close reconnect) */
  clientArgs?: readonly string[];
}

export interface RunOutcome {
  result: BenchResult;
  resultFile: string;
  exitCode: ExitCode;
  interrupted: boolean;
}

type Prom = { url: string; dir?: string; stop(): Promise<void> } | null;

/** The state of one run while its phases go by. */
class RunState {
  server: ServerHandle | null = null;
  client: ClientHandle | null = null;
  prometheus: Promise<Prom> = Promise.resolve(null);
  http: Promise<HttpLoad | { error: string } | null> = Promise.resolve(null);
  health: Record<string, unknown> | null = null;
  failure: string | null = null;
  interrupted = false;
  serverExit: Exit | null = null;
  clientExit: Exit | null = null;
  timeline: MetricsTimeline | null = null;
  /** epoch ms of the phases, the fallback window when client-bench reports none */
  readonly marks: { connected?: number; windowStart?: number; windowEnd?: number } = {};
  readonly startedAt = new Date();
  readonly httpAbort = new AbortController();
  readonly ctx: RunContext;

  constructor(
    readonly runtime: Runtime,
    readonly plan: RunPlan,
    readonly opts: RunOptions,
    readonly placement: Placement,
  ) {
    this.ctx = {
      runDir: opts.runDir,
      runId: opts.runId,
      note: (t) => {
        opts.progress.note(t);
      },
    };
  }

  get clientEnded(): Promise<Exit> {
    return this.client?.exited ?? Promise.resolve({ code: null, signal: null });
  }

  clientRunning(): boolean {
    return this.client?.running() === true;
  }

  async startServer(): Promise<void> {
    const { plan } = this;
    this.opts.progress.phase(
      'server',
      `starting the ${plan.mode} server (rate ${plan.rate > 0 ? plan.rate : 'max'}, ${plan.symbols} symbols)`,
    );
    this.server = await this.runtime.startServer(plan, this.ctx, this.placement);
    // On a loaded machine the first answer can take seconds: three tries of 5 s.
    const url = `${this.server.httpBase}/health`;
    this.health = await getJson(url, 5000)
      .catch(() => getJson(url, 5000))
      .catch(() => getJson(url, 5000));
  }

  startClient(server: ServerHandle): void {
    const { plan, opts } = this;
    opts.progress.phase('connect', `client-bench opening ${plan.clients} connection(s)`);
    const metrics = opts.prometheus === true ? ['--metrics-port', '0'] : [];
    const extra = [...metrics, ...(opts.clientArgs ?? [])];
    const client = this.runtime.startClient(plan, server, this.ctx, this.placement, extra);
    this.client = client;
    this.timeline = new MetricsTimeline(`${server.httpBase}/metrics`).start(client.metricsPort);
    if (opts.prometheus === true && this.runtime.startPrometheus !== undefined) {
      this.prometheus = this.runtime
        .startPrometheus(server, client, plan, this.ctx)
        .catch((err: unknown) => {
          opts.progress.note(`Prometheus not started (the run goes on): ${errorText(err)}`);
          return null;
        });
    }
  }

  /** Warm-up starts when the server counts every connection (connect, then warm up). */
  async connect(server: ServerHandle): Promise<void> {
    const deadline = performance.now() + 30_000 + this.plan.clients * 20;
    while (performance.now() < deadline) {
      const h = await getJson(`${server.httpBase}/health`).catch(() => null);
      if (typeof h?.clients === 'number' && h.clients >= this.plan.clients) break;
      if ((await sleep(100, this.opts.signal, this.clientEnded)) === 'ended') break;
    }
    this.marks.connected = Date.now();
  }

  async warmup(): Promise<void> {
    if (this.plan.warmup > 0 && this.clientRunning()) {
      this.opts.progress.phase('warm-up', 'broadcasting, not counted', this.plan.warmup);
      await sleep(this.plan.warmup * 1000, this.opts.signal, this.clientEnded);
    }
  }

  async measure(server: ServerHandle): Promise<void> {
    const { plan } = this;
    this.marks.windowStart = Date.now();
    if (this.clientRunning()) {
      this.opts.progress.phase('measure', `measuring ${plan.clients} client(s)`, plan.duration);
      if (plan.httpLoad) this.http = this.httpLoad(server);
      await sleep(plan.duration * 1000, this.opts.signal, this.clientEnded);
    }
    this.marks.windowEnd = Date.now();
  }

  /** autocannon over the middle half of the window (the whole window when it is short). */
  private async httpLoad(server: ServerHandle): Promise<HttpLoad | { error: string } | null> {
    const d = this.plan.duration;
    const short = d < 4;
    try {
      await sleep(short ? 0 : (d / 4) * 1000, this.httpAbort.signal);
      return await runHttpLoad({
        url: `${server.httpBase}/snapshot`,
        seconds: short ? d : d / 2,
        connections: this.plan.httpConnections,
        signal: this.httpAbort.signal,
      });
    } catch {
      return null;
    }
  }

  async finish(): Promise<void> {
    this.opts.progress.phase('finish', 'waiting for client-bench to write its result');
    const grace = 30_000 + this.plan.clients * 10;
    if ((await sleep(grace, this.opts.signal, this.clientEnded)) === 'timeout')
      this.failure = `client-bench did not finish within ${grace / 1000}s after its window`;
  }

  fail(err: unknown): void {
    if (err instanceof Interrupted) this.interrupted = true;
    else this.failure = errorText(err);
  }

  /** The client first, with SIGINT: it writes what it measured (exit 130). Then the server. */
  async teardown(): Promise<void> {
    if (this.marks.windowStart !== undefined && this.marks.windowEnd === undefined)
      this.marks.windowEnd = Date.now();
    this.httpAbort.abort();
    await this.timeline?.stop();
    if (this.client !== null) this.clientExit = await this.client.stop('SIGINT', 15_000);
    const server = this.server;
    const serverStillUp = server?.alive() === true;
    if (server !== null) this.serverExit = await server.stop();
    if (server !== null && !serverStillUp && !this.interrupted && this.failure === null) {
      const e = this.serverExit;
      this.failure = `the server exited during the run (code ${e?.code ?? null}, signal ${e?.signal ?? null}); see server.log`;
    }
    const prom = await this.prometheus;
    await prom?.stop().catch(() => undefined);
  }

  /**
   * The CPU/RSS window: client-bench's own measured window when it reported one (not endedAt,
   * which follows the collection of worker reports, when the clients have closed and the server
   * idles); otherwise what was observed live (all connections counted + warm-up).
   */
  window(result: ClientResult | null): Window {
    const from = Date.parse(result?.window?.startedAt ?? '');
    const to = Date.parse(result?.window?.endedAt ?? '');
    if (Number.isFinite(from) && to > from) return { from, to };
    const m = this.marks;
    return {
      from: m.windowStart ?? m.connected ?? this.startedAt.getTime(),
      to: m.windowEnd ?? Date.now(),
    };
  }

  async facts(): Promise<RunFacts> {
    const clientResult = await readClientResult(this.client?.resultFile ?? null);
    const window = this.window(clientResult);
    const resources = await this.runtime.sample(window);
    const prom = await this.prometheus;
    const extra = (await this.runtime.extra?.(this.ctx, window)) ?? {};
    const lostClient =
      clientResult === null && this.client !== null
        ? ((await this.runtime.lostClient?.(this.ctx, window)) ?? null)
        : null;
    return {
      runtime: this.runtime.name,
      plan: this.plan,
      runId: this.opts.runId,
      startedAt: this.startedAt,
      url: this.server?.wsUrl ?? null,
      health: this.health,
      clientResult,
      serverPid: this.server?.pid ?? null,
      serverExit: this.serverExit,
      clientExit: this.clientExit,
      placement: this.placement,
      resources,
      http: await this.http,
      prometheus:
        prom !== null
          ? { url: prom.url, ...(prom.dir !== undefined ? { dir: prom.dir } : {}) }
          : extra.prometheusUrl !== undefined
            ? { url: extra.prometheusUrl }
            : null,
      scenario: this.opts.scenario ?? null,
      command: this.opts.command ?? null,
      versions: versions(),
      ...(extra.docker !== undefined ? { docker: extra.docker } : {}),
      failure: this.failure,
      lostClient,
      interrupted: this.interrupted,
      sloP99Ms: this.opts.sloP99Ms ?? 10,
      serverTimeline: this.timeline?.series(window.from) ?? null,
      serverWindow: this.timeline?.serverWindow(window.from, window.to) ?? null,
    };
  }
}

async function readClientResult(file: string | null): Promise<ClientResult | null> {
  if (file === null) return null;
  try {
    return JSON.parse(await readFile(file, 'utf8')) as ClientResult;
  } catch {
    return null;
  }
}

/** Runs one benchmark on `runtime` and writes runDir/result.json. */
export async function runBench(
  runtime: Runtime,
  plan: RunPlan,
  opts: RunOptions,
): Promise<RunOutcome> {
  const placement = await runtime.place(plan);
  const run = new RunState(runtime, plan, opts, placement);
  try {
    await run.startServer();
    const server = run.server;
    if (server === null) throw new Error('no server');
    run.startClient(server);
    await run.connect(server);
    await run.warmup();
    await run.measure(server);
    await run.finish();
  } catch (err) {
    run.fail(err);
  } finally {
    await run.teardown();
  }
  const facts = await run.facts();
  const result = buildBenchResult(facts);
  const resultFile = path.join(opts.runDir, 'result.json');
  await writeFile(resultFile, JSON.stringify(result, null, 2) + '\n');
  return { result, resultFile, exitCode: exitCodeOf(facts), interrupted: facts.interrupted };
}
