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
}

export type ToWorker = { kind: 'window-start' } | { kind: 'window-end' };

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
  /** Connections opened / failed so far (also when the run ended during the connect phase). */
  opened: number;
  failed: number;
}

export type FromWorker =
  | { kind: 'connected'; worker: number; opened: number; failed: number; firstError: string | null }
  | { kind: 'window-started'; worker: number }
  | { kind: 'open-count'; worker: number; open: number; lastClose: string }
  | { kind: 'report'; report: WorkerReport };
