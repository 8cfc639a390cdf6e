// One measured WebSocket: every text frame is scanned (protocol scanFrame, no JSON.parse),
// counted, its latency recorded, and its seq checked against the last one of its symbol.
// Counters are plain numbers on one Tally per worker; nothing here allocates per message except
// the Uint8Array view handed to the scanner.
import * as hdr from 'hdr-histogram-js';
import type { Histogram } from 'hdr-histogram-js';
import {
  createScanned,
  FRAME_PONG,
  FRAME_TICK,
  nowUs,
  scanFrameAt,
  type Scanned,
} from '../protocol/index.js';
import { LeanWebSocket, OPEN, type FrameSink, type ConnectOptions } from './wsclient.js';
import { CONNECT_BUCKETS_MS, LATENCY_BUCKETS_US } from './layout.js';
import { Recorder } from './recorder.js';
import { SymbolTable } from './symbols.js';

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
  /** Latency of ticks, µs (window; filled from `interval` by foldInterval). */
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
  /** Latency of every tick since the last fold (the per-message path records here only). */
  readonly recorder = new Recorder();
  /** Latency since the last fold (for the live p99). */
  readonly interval = newHistogram();
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

  error(type: ErrorType, message: string): void {
    this.errorTotals[type]++;
    const e = this.errors.get(type);
    if (e) e.count++;
    else this.errors.set(type, { count: 1, message });
  }

  /**
   * Drains the recorder into the window histogram (when the window is open), the Prometheus
   * buckets and the interval histogram; returns the interval's p99 in µs.
   */
  foldInterval(): number {
    const interval = this.interval;
    const latency = this.windowOpen ? this.latency : null;
    const buckets = this.bucketLatency ? this.latencyBuckets : null;
    const bounds = LATENCY_BUCKETS_US;
    let sum = 0;
    this.recorder.drain((v, n) => {
      interval.recordValueWithCount(v, n);
      latency?.recordValueWithCount(v, n);
      if (buckets) {
        let i = 0;
        while (i < bounds.length && v > (bounds[i] ?? 0)) i++;
        buckets[i] = (buckets[i] ?? 0) + n;
        sum += v * n;
      }
    });
    this.latencySumUs += sum;
    const p99 =
      interval.totalCount > 0 ? Math.min(interval.getValueAtPercentile(99), interval.maxValue) : 0;
    interval.reset();
    return p99;
  }

  startWindow(): void {
    this.received = 0;
    this.bytes = 0;
    this.gaps = 0;
    this.duplicates = 0;
    this.reordered = 0;
    this.latency.reset();
    this.interval.reset();
    this.rtt.reset();
    // errors and closes are kept: a disconnect during warm-up must not vanish from the result.
    this.windowOpen = true;
  }
}

const scanned: Scanned = createScanned();
const NONE = -1;
const MAX_MISSING_RANGES = 1024;

export interface ConnectionEvents {
  opened(c: Connection): void;
  closed(c: Connection, code: number, error: Error | null): void;
}

export class Connection implements FrameSink {
  /** The socket; null until connect() (the frame-path benchmark feeds frames without one). */
  private ws: LeanWebSocket | null = null;
  /** Ticks received in the window. */
  received = 0;
  openedAtUs = 0;
  pingId = 0;
  pingSentUs = 0;
  private readonly startedUs = nowUs();
  /** Per symbol index: last seq seen and the seq before the window. */
  private lastSeq = new Float64Array(8).fill(NONE);
  private baseSeq = new Float64Array(8).fill(NONE);
  /**
   * Per symbol index: seqs skipped so far, as inclusive [lo, hi] pairs (allocated on the first
   * gap). A seq below the last one is a reorder when it is in here, else a duplicate.
   */
  private missing: (number[] | undefined)[] = [];

  constructor(
    readonly index: number,
    private readonly tally: Tally,
    private readonly events: ConnectionEvents,
    private readonly subscribe: string,
  ) {}

  connect(opts: ConnectOptions): this {
    this.ws = new LeanWebSocket(opts, this);
    return this;
  }

  /** Starts the close handshake (or drops a connection still connecting). */
  close(code: number): void {
    this.ws?.close(code);
  }

  get isOpen(): boolean {
    return this.ws?.readyState === OPEN;
  }

  onOpen(): void {
    this.openedAtUs = nowUs();
    const ms = (this.openedAtUs - this.startedUs) / 1000;
    const tally = this.tally;
    tally.connectUs.recordValue(Math.max(1, Math.round(this.openedAtUs - this.startedUs)));
    tally.connectSumMs += ms;
    let i = 0;
    while (i < CONNECT_BUCKETS_MS.length && ms > (CONNECT_BUCKETS_MS[i] ?? 0)) i++;
    tally.connectBuckets[i] = (tally.connectBuckets[i] ?? 0) + 1;
    this.ws?.sendText(this.subscribe);
    this.events.opened(this);
  }

  onClose(code: number, _reason: string, error: Error | null): void {
    this.events.closed(this, code, error);
  }

  sendPing(): void {
    this.pingSentUs = nowUs();
    this.ws?.sendText('{"op":"ping","id":' + ++this.pingId + '}');
  }

  /** Counts from here on: received restarts, seq ranges are measured from the last seq seen. */
  startWindow(): void {
    this.received = 0;
    this.baseSeq.set(this.lastSeq);
    this.missing = [];
  }

  /** Sum over symbols of the seqs the window should have delivered (last - seq before window). */
  expected(): number {
    let sum = 0;
    for (let i = 0; i < this.lastSeq.length; i++) {
      const last = this.lastSeq[i] ?? NONE;
      const base = this.baseSeq[i] ?? NONE;
      if (last !== NONE && base !== NONE) sum += last - base;
    }
    return sum;
  }

  onText(buf: Buffer, start: number, end: number, now: number): void {
    const kind = scanFrameAt(buf, start, end, scanned);
    const tally = this.tally;
    if (kind === FRAME_TICK) {
      const len = end - start;
      tally.received++;
      tally.totalReceived++;
      tally.bytes += len;
      tally.totalBytes += len;
      this.received++;
      const lat = now - scanned.ts;
      tally.recorder.record(lat > 0 ? lat : 0);
      this.account(scanned.symbolHash, scanned.seq);
    } else if (kind === FRAME_PONG) {
      if (scanned.id === this.pingId && this.pingSentUs > 0) {
        tally.rtt.recordValue(Math.max(1, now - this.pingSentUs));
        this.pingSentUs = 0;
      }
    } else if (
      buf[start + 9] === 0x65 &&
      buf.toString('latin1', start, start + 16) === '{"type":"error",'
    ) {
      tally.error('server_error', buf.toString('utf8', start, Math.min(end, start + 200)));
    }
  }

  private account(hash: number, seq: number): void {
    const tally = this.tally;
    const idx = tally.symbols.indexOf(hash);
    if (idx >= this.lastSeq.length) this.grow(idx + 1);
    const last = this.lastSeq[idx] ?? NONE;
    if (last === NONE) {
      // First tick of this symbol on this connection: the window starts just before it.
      this.lastSeq[idx] = seq;
      if (tally.windowOpen) this.baseSeq[idx] = seq - 1;
      return;
    }
    if (seq === last + 1) {
      this.lastSeq[idx] = seq;
    } else if (seq > last) {
      const skipped = seq - last - 1;
      tally.gaps += skipped;
      tally.totalGaps += skipped;
      const ranges = (this.missing[idx] ??= []);
      ranges.push(last + 1, seq - 1);
      // Bounded memory under heavy loss: the oldest holes are forgotten (a very late arrival
      // into one of them then counts as a duplicate).
      if (ranges.length > MAX_MISSING_RANGES * 2) ranges.splice(0, 2);
      this.lastSeq[idx] = seq;
    } else if (seq < last && this.fillHole(idx, seq)) {
      // A seq skipped earlier arrives late: a reorder, and no longer a gap.
      tally.gaps--;
      tally.totalGaps--;
      tally.reordered++;
      tally.totalReordered++;
    } else {
      // seq == last, or an older seq that was not missing: seen before.
      tally.duplicates++;
      tally.totalDuplicates++;
    }
  }

  /** Removes `seq` from the missing ranges of symbol `idx`; false when it was not missing. */
  private fillHole(idx: number, seq: number): boolean {
    const r = this.missing[idx];
    if (!r) return false;
    // Late arrivals are usually recent: search from the newest hole.
    for (let i = r.length - 2; i >= 0; i -= 2) {
      const lo = r[i] ?? 0;
      const hi = r[i + 1] ?? 0;
      if (seq < lo || seq > hi) continue;
      if (lo === hi) r.splice(i, 2);
      else if (seq === lo) r[i] = lo + 1;
      else if (seq === hi) r[i + 1] = hi - 1;
      else r.splice(i, 2, lo, seq - 1, seq + 1, hi);
      return true;
    }
    return false;
  }

  private grow(size: number): void {
    const n = Math.max(size, this.lastSeq.length * 2);
    const widen = (a: Float64Array, fill: number) => {
      const b = new Float64Array(n).fill(fill);
      b.set(a);
      return b;
    };
    this.lastSeq = widen(this.lastSeq, NONE);
    this.baseSeq = widen(this.baseSeq, NONE);
  }
}
