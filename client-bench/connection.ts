// One measured WebSocket: every text frame is scanned (protocol scanFrame, no JSON.parse),
// counted, its latency recorded, and its seq checked against the last one of its symbol.
// Counters are plain numbers on one Tally per worker; nothing here allocates per message.
import {
  createScanned,
  FRAME_PONG,
  FRAME_TICK,
  nowUs,
  scanFrameAt,
  type Scanned,
  CLOSE,
} from '../protocol/index.js';
import { LeanWebSocket, OPEN, type FrameSink, type ConnectOptions } from './wsclient.js';
import { CONNECT_BUCKETS_MS } from './layout.js';
import type { Tally } from './tally.js';
import { spin } from './burn.js';

export { newHistogram, Tally, ERROR_TYPES, type ErrorType } from './tally.js';

const scanned: Scanned = createScanned();
const NONE = -1;
const MAX_MISSING_RANGES = 1024;

export interface ConnectionEvents {
  opened(c: Connection): void;
  closed(c: Connection, code: number, error: Error | null): void;
  /** The first tick on a reopened socket (churn, reconnect storm). */
  firstTick?(c: Connection): void;
}

export class Connection implements FrameSink {
  /** The socket; null until connect() (the frame-path benchmark feeds frames without one). */
  private ws: LeanWebSocket | null = null;
  /** Ticks received in the window. */
  received = 0;
  openedAtUs = 0;
  pingId = 0;
  pingSentUs = 0;
  private startedUs = nowUs();
  private opts: ConnectOptions | null = null;
  /** Set while the socket is dropped on purpose (churn, reconnect storm): not a server close. */
  restarting = false;
  /** How many times this connection was reopened (0 = its first socket). */
  generation = 0;
  /** When the current socket delivered its first tick (0 = not yet). */
  firstTickUs = 0;
  /** Window seqs expected from the earlier sockets of this connection. */
  private expectedBefore = 0;
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
    /** The worker's tally of this connection's group (healthy, or slow consumers). */
    readonly tally: Tally,
    private readonly events: ConnectionEvents,
    private readonly subscribe: string,
    /** A slow consumer (--slow-share): counted apart from the healthy connections. */
    readonly slow = false,
  ) {}

  connect(opts: ConnectOptions): this {
    this.opts = opts;
    this.startedUs = nowUs();
    this.ws = new LeanWebSocket(opts, this);
    return this;
  }

  /** Drops the socket on purpose: a close handshake (churn) or at once (a reconnect storm). */
  restart(graceful: boolean): void {
    if (this.ws === null || this.restarting) return;
    this.restarting = true;
    if (graceful) this.ws.close(CLOSE.normal);
    else this.ws.terminate();
  }

  /**
   * Opens a new socket for this connection after restart(): the window keeps what the old one
   * should have delivered, and the new one starts its own seq baseline (what the server sent
   * while no socket was open is neither a gap nor expected).
   */
  reopen(): void {
    if (this.opts === null) return;
    this.expectedBefore += this.socketExpected();
    this.lastSeq.fill(NONE);
    this.baseSeq.fill(NONE);
    this.missing = [];
    this.restarting = false;
    this.generation++;
    this.openedAtUs = 0;
    this.firstTickUs = 0;
    this.pingSentUs = 0;
    this.connect(this.opts);
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

  beforeRead(_bytes: number, now: number): void {
    this.tally.roll(now);
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
    this.expectedBefore = 0;
    this.baseSeq.set(this.lastSeq);
    this.missing = [];
  }

  /** Seqs the window should have delivered: Σ over symbols (last − seq before the window). */
  expected(): number {
    return this.expectedBefore + this.socketExpected();
  }

  /** expected() of the current socket alone. */
  private socketExpected(): number {
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
      if (tally.burnIterations !== 0) spin(tally.burnIterations);
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
      // First tick of this symbol on this socket: the window starts just before it.
      this.lastSeq[idx] = seq;
      if (tally.windowOpen) this.baseSeq[idx] = seq - 1;
      if (this.firstTickUs === 0) {
        this.firstTickUs = nowUs();
        if (this.generation > 0) this.events.firstTick?.(this);
      }
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
