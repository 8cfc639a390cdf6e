// What a runtime is: how to place, start and sample the two processes of a run. The phases of a
// run (connect, warm-up, measure, finish, teardown) and the result live once in lib/run.ts; a
// runtime only says where things run. A new runtime is one file beside native.ts and docker.ts.
import type { Exit } from '../lib/proc.js';
import type { Placement, Resources, RunPlan, RuntimeName, DockerBlock } from '../lib/result.js';

/** Where a run writes its files and what it is called. */
export interface RunContext {
  runDir: string;
  runId: string;
  /** a line of information for the person watching */
  note(text: string): void;
}

/** A server the run talks to. */
export interface ServerHandle {
  /** the URL client-bench connects to (may be a container name) */
  wsUrl: string;
  /** http://host:port the orchestrator reaches (/health, /snapshot, /metrics) */
  httpBase: string;
  pid: number | null;
  /** still serving (for the native runtime: the process has not exited) */
  alive(): boolean;
  /** stops it if the runtime started it; resolves with how it ended (null: not ours) */
  stop(): Promise<Exit | null>;
}

export interface ClientHandle {
  pid: number | null;
  /** the host path of client-bench's result file */
  resultFile: string;
  exited: Promise<Exit>;
  running(): boolean;
  /** SIGINT makes client-bench write what it measured */
  stop(signal: NodeJS.Signals, ms: number): Promise<Exit>;
  /** the port of client-bench's /metrics on the host, when it has one */
  metricsPort: Promise<number | null>;
}

/** Epoch milliseconds. */
export interface Window {
  from: number;
  to: number;
}

export interface Runtime {
  readonly name: RuntimeName;
  /** Decides where server, client and orchestrator run (and pins the orchestrator). */
  place(plan: RunPlan): Promise<Placement>;
  startServer(plan: RunPlan, ctx: RunContext, placement: Placement): Promise<ServerHandle>;
  startClient(
    plan: RunPlan,
    server: ServerHandle,
    ctx: RunContext,
    placement: Placement,
    extraArgs: readonly string[],
  ): ClientHandle;
  /** CPU/RSS of server and client over the window (called after both stopped). */
  sample(window: Window): Promise<Resources>;
  /** A local Prometheus scraping both, when the runtime starts one (native). */
  startPrometheus?(
    server: ServerHandle,
    client: ClientHandle,
    plan: RunPlan,
    ctx: RunContext,
  ): Promise<{ url: string; dir?: string; stop(): Promise<void> } | null>;
  /** What else the result carries for this runtime. */
  extra?(
    ctx: RunContext,
    window: Window,
  ): Promise<{ docker?: DockerBlock; prometheusUrl?: string }>;
  /**
   * When client-bench died without writing its result (e.g. its container was killed): what its
   * last scraped metrics say about the window, one sentence for the abort reason; or null.
   */
  lostClient?(ctx: RunContext, window: Window): Promise<string | null>;
}
