// The one result contract of make bench: result.json = client-bench's result (client-bench/
// result.ts, unchanged) plus the blocks the orchestrator adds (server, http, placement,
// resources, bench; schema scripts/bench-result.schema.json). Every runtime hands its facts to
// buildBenchResult, so native and Docker results have the same shape, and a run that ended before
// client-bench wrote anything still gets every block (nothing invented: unknowns are null).
import type { Result as ClientResult } from '../../client-bench/result.js';
import { machineInfo } from '../../client-bench/result.js';
import { clockKind } from '../../protocol/index.js';
import { EXIT, type ExitCode } from '../../protocol/codes.js';
import type { ModeName } from '../../protocol/modes.js';
import type { HttpLoad } from './http-load.js';
import type { Exit } from './proc.js';
import type { MachineUsage, Usage } from './sampler.js';
import type { ServerWindow, Timeline } from './timeline.js';
import { clientWhy, judge, type Verdict } from './verdict.js';
import type { Versions } from './versions.js';

export type { ClientResult };
export type RuntimeName = 'native' | 'docker';

/** The client part; the measured blocks are null when client-bench wrote no result. */
export type ClientPart = Omit<
  ClientResult,
  | 'throughput'
  | 'delivery'
  | 'latencyUs'
  | 'connectMs'
  | 'client'
  | 'connections'
  | 'config'
  | 'histograms'
  | 'perConnection'
> & {
  config: Omit<ClientResult['config'], 'url' | 'workers' | 'connectRate' | 'pingInterval'> & {
    url: string | null;
    workers: number | null;
    connectRate?: number;
    pingInterval?: number;
  };
  throughput: ClientResult['throughput'] | null;
  delivery: ClientResult['delivery'] | null;
  latencyUs: ClientResult['latencyUs'] | null;
  connectMs: ClientResult['connectMs'] | null;
  connections: ClientResult['connections'] | null;
  client: ClientResult['client'] | null;
  histograms: ClientResult['histograms'] | null;
  perConnection: ClientResult['perConnection'] | null;
};

export interface Placement {
  pinned: boolean;
  reason: string;
  cpus: number;
  server: { cores: string | null; pid?: number };
  client: { cores: string | null; pid?: number };
  orchestrator: { cores: string | null };
}

export interface ServerBlock {
  mode: ModeName;
  cpuCores: number | null;
  rssMaxBytes: number | null;
  versions: Record<string, unknown> | null;
  pid: number | null;
  exit: Exit | null;
}

export interface Resources {
  intervalMs: number;
  windowSec: number;
  /** where the figures come from when not /proc (e.g. "prometheus http://...") */
  source?: string;
  server: Usage;
  client: Usage;
  /** machine-wide CPU from /proc/stat (native runs) */
  machine?: MachineUsage | null;
}

/** What a run was asked to do (result.bench.config). */
export interface RunPlan {
  mode: ModeName;
  clients: number;
  duration: number;
  warmup: number;
  /** ticks/s; 0 = as fast as possible */
  rate: number;
  symbols: number;
  httpLoad: boolean;
  httpConnections: number;
}

export interface DockerBlock {
  project: string;
  serverService: string;
  /** the network the containers use: "host" (docker-compose.yml) */
  network?: string;
  images: Record<string, unknown>;
  grafanaUrl: string;
  /** the server container's restart policy and how often it restarted during the run */
  server?: { container: string; restartPolicy: string; restarts: number };
}

export interface BenchBlock {
  runtime: RuntimeName;
  scenario: string | null;
  command: string | null;
  config: RunPlan & { pin: boolean };
  versions: Versions;
  prometheus: { url: string; dir?: string } | null;
  clientExit: Exit | null;
  httpError: string | null;
  docker?: DockerBlock;
}

export type BenchResult = ClientPart & {
  server: ServerBlock;
  http: HttpLoad | null;
  placement: Placement;
  resources: Resources;
  bench: BenchBlock;
  /** what limited the run (lib/verdict.ts) */
  verdict: Verdict;
  /** the server's sent/dropped (and client-bench's /metrics) per second, scraped by the
   *  orchestrator; the client's own exact per-second series is `timeline` (client-bench) */
  serverTimeline: Timeline | null;
  /** the server's counters over the measured window (from its /metrics) */
  serverWindow: ServerWindow | null;
};

/** Everything a runtime observed in one run; buildBenchResult turns it into result.json. */
export interface RunFacts {
  runtime: RuntimeName;
  plan: RunPlan;
  runId: string;
  startedAt: Date;
  /** the WebSocket URL the client used (null when the server never became ready) */
  url: string | null;
  health: Record<string, unknown> | null;
  clientResult: ClientResult | null;
  serverPid: number | null;
  serverExit: Exit | null;
  clientExit: Exit | null;
  placement: Placement;
  resources: Resources;
  http: HttpLoad | { error: string } | null;
  prometheus: { url: string; dir?: string } | null;
  scenario: string | null;
  command: string | null;
  versions: Versions;
  docker?: DockerBlock;
  /** why the run failed (the orchestrator's view), null when it did not */
  failure: string | null;
  /** What the client's last scraped metrics said when it died without a result (or null). */
  lostClient?: string | null;
  interrupted: boolean;
  sloP99Ms: number;
  serverTimeline: Timeline | null;
  serverWindow: ServerWindow | null;
}

/** A client part for a run that ended before client-bench wrote one: what is known. */
function skeleton(f: RunFacts): ClientPart {
  const health = f.health;
  return {
    schemaVersion: 1,
    runId: f.runId,
    startedAt: f.startedAt.toISOString(),
    endedAt: new Date().toISOString(),
    window: null,
    machine: machineInfo(),
    config: {
      url: f.url,
      clients: f.plan.clients,
      duration: f.plan.duration,
      warmup: f.plan.warmup,
      workers: null,
      symbols: ['*'],
    },
    target: { mode: f.plan.mode, health },
    throughput: null,
    delivery: null,
    latencyUs: null,
    rttUs: null,
    connectMs: null,
    connections: null,
    client: null,
    clock: clockKind,
    histograms: null,
    perConnection: null,
    shard: null,
    errors: [],
    closes: {},
    aborted: null,
  };
}

/** Why the run is incomplete, or null: interrupted, the orchestrator's failure, the client's exit. */
export function abortReason(f: RunFacts): string | null {
  if (f.interrupted) return 'interrupted (SIGINT)';
  if (f.failure !== null) return f.failure;
  const c = f.clientExit;
  if (c !== null && c.code !== 0)
    return (
      `client-bench exited with code ${c.code}${c.signal !== null ? ` (${c.signal})` : ''}` +
      (f.clientResult === null && f.lostClient != null ? `; ${f.lostClient}` : '')
    );
  return null;
}

/** The exit code of a run: 130 interrupted, 2 bad input, 3 aborted by the client, else 1 / 0. */
export function exitCodeOf(f: RunFacts): ExitCode {
  if (f.interrupted) return EXIT.interrupted;
  const code = f.clientExit?.code ?? null;
  if (code === EXIT.badInput) return EXIT.badInput;
  if (f.failure !== null || (code !== null && code !== 0))
    return code === EXIT.aborted ? EXIT.aborted : EXIT.failed;
  return EXIT.ok;
}

/**
 * The aborted block: the client's reason (it saw the connections go) joined with the
 * orchestrator's (it saw the server exit, and how), and what was lost: the part of the planned
 * window that was never measured and about how many deliveries that was at the measured rate.
 */
function abortedBlock(
  f: RunFacts,
  base: ClientPart,
  reason: string | null,
): { reason: string } | null {
  const parts: string[] = [];
  if (base.aborted !== null) parts.push(base.aborted.reason);
  if (reason !== null && !parts.includes(reason)) parts.push(reason);
  if (parts.length === 0) return null;
  const measured = base.throughput?.windowSec ?? 0;
  const missing = f.plan.duration - measured;
  if (f.clientResult === null && f.lostClient != null && !f.interrupted) {
    // the client died: its scraped counters (in the reason) are all that is left of its window
    parts.push(`lost: client-bench's own result of the ${f.plan.duration} s window`);
  } else if (missing > 0.5 && !f.interrupted) {
    const rate = base.throughput?.msgsPerSec ?? 0;
    parts.push(
      `lost: ${missing.toFixed(1)} s of the planned ${f.plan.duration} s window were not measured` +
        (rate > 0
          ? ` (about ${Math.round(rate * missing).toLocaleString('en-US')} deliveries at the measured rate)`
          : ''),
    );
  }
  return { reason: parts.join('; ') };
}

/** The one builder of result.json. */
export function buildBenchResult(f: RunFacts): BenchResult {
  const base: ClientPart = f.clientResult ?? skeleton(f);
  const reason = abortReason(f);
  const http = f.http !== null && !('error' in f.http) ? f.http : null;
  const versions =
    (f.health?.versions as Record<string, unknown> | undefined) ??
    (base.target.health?.versions as Record<string, unknown> | undefined) ??
    null;
  const aborted = abortedBlock(f, base, reason);
  const verdict = judge({
    sloP99Ms: f.sloP99Ms,
    rate: f.plan.rate,
    aborted: aborted?.reason ?? null,
    p99Us: base.latencyUs?.p99 ?? null,
    delivery: base.delivery,
    clientBound: base.client?.clientBound === true,
    clientWhy: clientWhy(base.client?.workers),
    clientWorkers: base.client?.workers ?? null,
    serverCpuCores: f.resources.server.cpuCores,
    clientCpuCores: f.resources.client.cpuCores ?? base.client?.cpuCores ?? null,
    machine: f.resources.machine,
    serverCores: f.placement.server.cores,
    clientCores: f.placement.client.cores,
    serverWindow: f.serverWindow,
  });
  return {
    ...base,
    aborted,
    server: {
      mode: f.plan.mode,
      cpuCores: f.resources.server.cpuCores,
      rssMaxBytes: f.resources.server.rssMaxBytes,
      versions,
      pid: f.serverPid,
      exit: f.serverExit,
    },
    http,
    placement: f.placement,
    resources: f.resources,
    bench: {
      runtime: f.runtime,
      scenario: f.scenario,
      command: f.command,
      config: { ...f.plan, pin: f.placement.pinned },
      versions: f.versions,
      prometheus: f.prometheus,
      clientExit: f.clientExit,
      httpError: f.http !== null && 'error' in f.http ? f.http.error : null,
      ...(f.docker !== undefined ? { docker: f.docker } : {}),
    },
    verdict,
    serverTimeline: f.serverTimeline,
    serverWindow: f.serverWindow,
  };
}

type DeepPartial<T> = T extends readonly (infer U)[]
  ? DeepPartial<U>[]
  : T extends object
    ? { [K in keyof T]?: DeepPartial<T[K]> | undefined }
    : T;

/** A result.json read back from disk: any field may be missing (older runs, partial runs). */
export type StoredResult = DeepPartial<BenchResult>;
