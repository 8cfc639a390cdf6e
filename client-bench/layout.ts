// The live counters each worker publishes a few times per second into its slice of one
// SharedArrayBuffer. The main thread reads them for the progress line and folds them into
// prom-client at scrape time; the per-message path never touches shared memory.

/** Prometheus buckets for wsbench_client_latency_seconds, in µs (50 µs ... 5 s). */
export const LATENCY_BUCKETS_US = [
  50, 100, 250, 500, 1000, 2500, 5000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000,
  2_500_000, 5_000_000,
] as const;

/** Buckets for wsbench_client_connect_seconds, in ms. */
export const CONNECT_BUCKETS_MS = [
  1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000,
] as const;

export const SLOT = {
  received: 0,
  bytes: 1,
  gaps: 2,
  duplicates: 3,
  reordered: 4,
  connecting: 5,
  open: 6,
  closed: 7,
  /** Event-loop utilisation of the worker over the last interval, 0..1. */
  busy: 8,
  /** p99 latency of the last interval, µs. */
  intervalP99Us: 9,
  latencySumUs: 10,
  connectSumMs: 11,
  connectCount: 12,
  errorsConnect: 13,
  errorsDisconnect: 14,
  errorsProtocol: 15,
  errorsServer: 16,
  latencyBuckets: 17,
} as const;

export const CONNECT_BUCKETS_SLOT = SLOT.latencyBuckets + LATENCY_BUCKETS_US.length + 1;
export const SLOTS_PER_WORKER = CONNECT_BUCKETS_SLOT + CONNECT_BUCKETS_MS.length + 1;

export function workerSlots(sab: SharedArrayBuffer, worker: number): Float64Array {
  return new Float64Array(sab, worker * SLOTS_PER_WORKER * 8, SLOTS_PER_WORKER);
}

export function newSharedCounters(workers: number): SharedArrayBuffer {
  return new SharedArrayBuffer(workers * SLOTS_PER_WORKER * 8);
}
