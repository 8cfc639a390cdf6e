// Messages between the main thread and the workers: unions tagged by `kind`.
import type { Config } from './config.js';

export interface WorkerInit {
  workerIndex: number;
  /** Global index of this worker's first connection (source-address round-robin). */
  firstClient: number;
  count: number;
  config: Config;
  sab: SharedArrayBuffer;
  /** Count latency into Prometheus buckets (only when /metrics is served). */
  bucketLatency: boolean;
  /** The run's time origin, µs on the protocol clock: timeline second 0 starts here. */
  originUs: number;
}

/** One second of one worker's timeline (second k covers origin + [k, k+1) s). */
export interface WorkerSecond {
  second: number;
  /** µs of the second that were covered (1e6 except the last, cut at the end of the run). */
  durationUs: number;
  /** Ticks received in the second (all connections of the worker). */
  received: number;
  /** Gaps counted in the second (may be negative: a late reorder fills an earlier gap). */
  gaps: number;
  /** Connections open at the end of the second. */
  open: number;
  /** HDR latency histogram of the second, encodeIntoCompressedBase64 (µs). */
  latency: string;
}

export type ToWorker =
  | { kind: 'window-start' }
  | { kind: 'window-end' }
  /** Reconnect storm: drop every connection at once and reconnect. */
  | { kind: 'reconnect' };

/** Connections dropped on purpose and reopened (churn, reconnect storm). */
export interface Restarts {
  /** Closed by churn (close handshake), in the window. */
  churned: number;
  /** Dropped by the reconnect storm. */
  stormDropped: number;
  /** Reopened (handshake done) after churn. */
  reopened: number;
  /** Reopen attempts that failed (retried after 100 ms). */
  failedReopens: number;
}

/** The slow consumers of one worker (--slow-share), counted apart from the healthy ones. */
export interface SlowReport {
  connections: number;
  openAtEnd: number;
  received: number;
  expected: number;
  /** Ticks the server did not deliver to them (its drops show up as seq gaps). */
  gaps: number;
  /** HDR latency of their ticks (µs, encodeIntoCompressedBase64). */
  latency: string;
  /** Closed by the server, by close code (1008 = the slow-client policy). */
  closes: Record<string, number>;
}

/** One worker's view of the reconnect storm (µs on the run clock). */
export interface StormReport {
  startUs: number;
  dropped: number;
  /** Reopened / receiving ticks again so far, and when the last of them did. */
  reopened: number;
  lastOpenUs: number;
  receiving: number;
  lastTickUs: number;
}

/**
 * One worker's view of the server going away (--on-server-close reconnect): its connections
 * closed by the server, reopened and receiving again (µs on the run clock; 0 = not yet).
 */
export interface LossReport {
  /** Server closes that were reopened (a connection lost twice counts twice). */
  closed: number;
  firstCloseUs: number;
  lastCloseUs: number;
  reopened: number;
  lastOpenUs: number;
  receiving: number;
  lastTickUs: number;
  /** Reopen attempts refused while the server was away (retried with back-off). */
  failedReopens: number;
}

export interface WorkerReport {
  worker: number;
  /** µs between window-start and window-end as this worker saw them. */
  windowUs: number;
  received: number;
  bytes: number;
  gaps: number;
  duplicates: number;
  reordered: number;
  expected: number;
  /** Ticks received in the window, per connection. */
  perClient: number[];
  /** HDR histograms, encodeIntoCompressedBase64 (µs). */
  latency: string;
  rtt: string;
  connect: string;
  /** Event-loop utilisation over the window (or since start when no window opened), 0..1. */
  busy: number;
  eventLoopP99Ms: number;
  errors: { type: string; count: number; message: string }[];
  closes: Record<string, number>;
  open: number;
  /** Per-second series since the run's origin (connect phase, warm-up and window). */
  timeline: WorkerSecond[];
  restarts: Restarts;
  storm: StormReport | null;
  /** --on-server-close reconnect: the server's closes and the recovery; null otherwise. */
  loss: LossReport | null;
  slow: SlowReport | null;
  /** Connections opened / failed so far (also when the run ended during the connect phase). */
  opened: number;
  failed: number;
}

export type FromWorker =
  | { kind: 'connected'; worker: number; opened: number; failed: number; firstError: string | null }
  | { kind: 'window-started'; worker: number }
  | { kind: 'open-count'; worker: number; open: number; lastClose: string }
  | { kind: 'report'; report: WorkerReport };
