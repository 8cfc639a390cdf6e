// Everything one worker counts, in plain numbers on the per-frame path, folded into HDR
// histograms, the Prometheus buckets and the per-second timeline once per second. Latencies are
// recorded into a cheap log-linear Recorder per frame; at each second boundary of the run's
// origin (checked once per socket read, and by the worker's timer when nothing arrives) the
// recorder is drained and the second is closed: its deliveries, gaps, open connections and its
// latency histogram (encoded) go into `timeline`.
import * as hdr from 'hdr-histogram-js';
import type { Histogram } from 'hdr-histogram-js';
import { CONNECT_BUCKETS_MS, LATENCY_BUCKETS_US } from './layout.js';
import type { WorkerSecond } from './messages.js';
import { Recorder } from './recorder.js';
import { SymbolTable } from './symbols.js';

const SECOND_US = 1_000_000;

export function newHistogram(): Histogram {
  return hdr.build({
    bitBucketSize: 64,
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 3,
    autoResize: true,
  });
}

export type ErrorType = 'connect' | 'disconnect' | 'protocol' | 'server_error';
export const ERROR_TYPES: readonly ErrorType[] = [
  'connect',
  'disconnect',
  'protocol',
  'server_error',
];

/** Everything one worker counts. `window*` fields restart at the window; `total*` never do. */
export class Tally {
  // measured window (reset by startWindow)
  received = 0;
  bytes = 0;
  gaps = 0;
  duplicates = 0;
  reordered = 0;
  /** Latency of ticks, µs (window; filled from the recorder by drain). */
  readonly latency = newHistogram();
  readonly rtt = newHistogram();
  // since start (for /metrics and progress; never reset)
  totalReceived = 0;
  totalBytes = 0;
  totalGaps = 0;
  totalDuplicates = 0;
  totalReordered = 0;
  latencySumUs = 0;
  readonly latencyBuckets = new Float64Array(LATENCY_BUCKETS_US.length + 1);
  /** Latency of every tick since the last drain (the per-message path records here only). */
  readonly recorder = new Recorder();
  /** Connect (TCP + upgrade) time, µs. */
  readonly connectUs = newHistogram();
  readonly connectBuckets = new Float64Array(CONNECT_BUCKETS_MS.length + 1);
  connectSumMs = 0;
  /** Errors since start, by type (for /metrics). */
  readonly errorTotals: Record<ErrorType, number> = {
    connect: 0,
    disconnect: 0,
    protocol: 0,
    server_error: 0,
  };
  readonly errors = new Map<ErrorType, { count: number; message: string }>();
  readonly closes = new Map<number, number>();
  /** Symbol hash -> dense index, shared by the worker's connections. */
  readonly symbols = new SymbolTable();
  /** Bucket counting for /metrics costs a few compares per message: only when served. */
  bucketLatency = false;
  windowOpen = false;
  /** spin() iterations per tick frame (--burn-ns; 0 = none). */
  burnIterations = 0;

  error(type: ErrorType, message: string): void {
    this.errorTotals[type]++;
    const e = this.errors.get(type);
    if (e) e.count++;
    else this.errors.set(type, { count: 1, message });
  }

  /** Per-second series since the run's origin (closed seconds; see roll()). */
  readonly timeline: WorkerSecond[] = [];
  /** Latency of the current second (drained from the recorder). */
  private readonly second = newHistogram();
  /** End of the current second, µs on the run clock; 0 = no timeline (roll never closes). */
  secondEndUs = 0;
  private secondIndex = 0;
  private secondReceived = 0;
  private secondGaps = 0;
  /** p99 of the last closed second, µs (the live progress line). */
  lastSecondP99Us = 0;
  /** Open connections now (the worker keeps it current; each second records it). */
  open = 0;

  /** Starts the per-second series at `originUs` (the run's common time origin). */
  startTimeline(originUs: number, now: number): void {
    this.secondIndex = Math.max(0, Math.floor((now - originUs) / SECOND_US));
    this.secondEndUs = originUs + (this.secondIndex + 1) * SECOND_US;
    this.secondReceived = this.totalReceived;
    this.secondGaps = this.totalGaps;
  }

  /** Closes every second that ended before `now` (cheap when none did: one compare). */
  roll(now: number): void {
    if (this.secondEndUs === 0) return;
    while (now >= this.secondEndUs) this.closeSecond(SECOND_US);
  }

  /** Closes the current second early (the end of the run), covering `now` - its start. */
  closePartialSecond(now: number): void {
    if (this.secondEndUs === 0) return;
    this.roll(now);
    const covered = now - (this.secondEndUs - SECOND_US);
    if (covered > 0) this.closeSecond(Math.min(SECOND_US, covered));
    this.secondEndUs = 0;
  }

  private closeSecond(durationUs: number): void {
    this.drain();
    const h = this.second;
    this.lastSecondP99Us = h.totalCount > 0 ? Math.min(h.getValueAtPercentile(99), h.maxValue) : 0;
    this.timeline.push({
      second: this.secondIndex,
      durationUs,
      received: this.totalReceived - this.secondReceived,
      gaps: this.totalGaps - this.secondGaps,
      open: this.open,
      latency: hdr.encodeIntoCompressedBase64(h),
    });
    h.reset();
    this.secondReceived = this.totalReceived;
    this.secondGaps = this.totalGaps;
    this.secondIndex++;
    this.secondEndUs += SECOND_US;
  }

  /**
   * Drains the recorder into the current second, the window histogram (when the window is open)
   * and the Prometheus buckets (when served).
   */
  drain(): void {
    const second = this.second;
    const latency = this.windowOpen ? this.latency : null;
    const buckets = this.bucketLatency ? this.latencyBuckets : null;
    const bounds = LATENCY_BUCKETS_US;
    let sum = 0;
    this.recorder.drain((v, n) => {
      second.recordValueWithCount(v, n);
      latency?.recordValueWithCount(v, n);
      if (buckets) {
        let i = 0;
        while (i < bounds.length && v > (bounds[i] ?? 0)) i++;
        buckets[i] = (buckets[i] ?? 0) + n;
        sum += v * n;
      }
    });
    this.latencySumUs += sum;
  }

  startWindow(): void {
    this.received = 0;
    this.bytes = 0;
    this.gaps = 0;
    this.duplicates = 0;
    this.reordered = 0;
    this.latency.reset();
    this.rtt.reset();
    // errors and closes are kept: a disconnect during warm-up must not vanish from the result.
    this.windowOpen = true;
  }
}
