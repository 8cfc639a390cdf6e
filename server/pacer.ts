// The pacer decides when ticks are generated and hands each turn's ticks to the mode as one batch.
//
// Open loop: at a target rate the k-th tick is due at start + k/rate on process.hrtime.bigint(),
// whatever happened before, and it is stamped with that due time, so a server that falls behind
// shows it as latency instead of quietly slowing the schedule (no coordinated omission).
// Catch-up is bounded twice: one turn emits at most `cap` ticks, and a backlog of more than one
// second is skipped (counted, never generated, so streams have no seq gaps) rather than burst out.
// Rate 0 emits `batch` ticks per turn, all stamped now (the interval timer: batches for 1 ms).
//
// Three ways to wait for the next due tick (--pacer):
// - 'sleep' (default of the optimised modes): setTimeout until the next tick is due, and every
//   tick that is due by then goes out in one batch. Never spins while on schedule, so a fixed
//   rate costs the CPU of the work; a tick leaves up to ~1 ms (the timer's granularity) after
//   its due time, which its due-time stamp shows as latency. Behind schedule it runs turn after
//   turn on setImmediate (catching up is work, not waiting).
// - 'spin' (the seed's pacer): setTimeout only when the next tick is more than 2 ms away, else a
//   setImmediate spin until it is due: tighter timing for a core's worth of CPU at most.
// - 'interval' (the naive baseline's): setInterval(1 ms); each firing emits what is due.
import { nowUs } from '../protocol/index.js';
import { TickBatch, type Generator } from './generator.js';

/** How long one naive setInterval firing keeps emitting at rate 0. */
const INTERVAL_BURST_NS = 1_000_000n;

export const PACER_KINDS = ['sleep', 'spin', 'interval'] as const;
export type PacerKind = (typeof PACER_KINDS)[number];

/** Busy-waits `us` microseconds (the --burn-us test aid: a server that is slow per tick). */
export function burn(us: number): void {
  if (us <= 0) return;
  const end = process.hrtime.bigint() + BigInt(Math.round(us * 1000));
  while (process.hrtime.bigint() < end) {
    // spin: this is the point
  }
}

export interface PacerOptions {
  rate: number;
  batch: number;
  timer: PacerKind;
  /** µs of CPU burnt per generated tick (test/verdict aid; default 0). */
  burnUs?: number;
  /**
   * Sleep pacer: the shortest wait between turns at a target rate, in ms (default 1, the timer's
   * granularity). Longer waits carry more ticks per turn, so fewer socket writes, at up to that
   * much latency (which the due-time stamps show).
   */
  turnMs?: number;
  generator: Generator;
  onBatch: (batch: TickBatch) => void;
  /** Called with the seconds one turn took (generate + fan-out). */
  onTurn?: (seconds: number) => void;
  /**
   * At a target rate, called per turn with how late it started: now - the due time of its
   * first tick, in seconds (0 when on time; the pacer's own lag, before any fan-out).
   */
  onLag?: (seconds: number) => void;
  /**
   * At rate 0: whether anyone is subscribed. Without subscribers a max-rate server idles on a
   * 1 ms timer instead of burning a core on ticks nobody receives. Ignored at a target rate
   * (the open-loop schedule runs regardless).
   */
  wanted?: () => boolean;
  /** Monotonic ns clock; injectable for tests. */
  hrtime?: () => bigint;
}

/** Largest number of ticks one turn emits: `batch`, or 2 ms worth at the target rate. */
export function turnCap(rate: number, batch: number): number {
  return Math.max(batch, Math.ceil(rate / 500));
}

export class Pacer {
  readonly cap: number;
  readonly batch: TickBatch;
  /** Ticks skipped because the backlog exceeded one second (target rate only). */
  skipped = 0;
  /** Turns run, empty ones included (a spinning pacer runs many more turns than it has ticks). */
  wakeups = 0;
  private readonly rate: number;
  private readonly batchSize: number;
  private readonly timer: PacerKind;
  /** Which pacer this is (for /health). */
  get kind(): PacerKind {
    return this.timer;
  }
  private readonly burnUs: number;
  private readonly turnMs: number;
  private readonly onLag: (seconds: number) => void;
  private readonly generator: Generator;
  private readonly onBatch: (batch: TickBatch) => void;
  private readonly onTurn: (seconds: number) => void;
  private readonly wanted: () => boolean;
  private readonly hrtime: () => bigint;
  private running = false;
  private startNs = 0;
  private emitted = 0;
  /** µs to add to a due time in hrtime µs to get the tick clock (monotonic or wall). */
  private stampOffsetUs = 0;
  /** The pending timer (setTimeout or setInterval) and the pending setImmediate, if any. */
  private handle: NodeJS.Timeout | null = null;
  private immediate: NodeJS.Immediate | null = null;
  private readonly turnBound: () => void;

  constructor(opts: PacerOptions) {
    this.rate = opts.rate;
    this.batchSize = opts.batch;
    this.timer = opts.timer;
    this.burnUs = opts.burnUs ?? 0;
    this.turnMs = opts.turnMs ?? 1;
    this.onLag = opts.onLag ?? (() => {});
    this.generator = opts.generator;
    this.onBatch = opts.onBatch;
    this.onTurn = opts.onTurn ?? (() => {});
    this.wanted = opts.wanted ?? (() => true);
    this.hrtime = opts.hrtime ?? (() => process.hrtime.bigint());
    this.cap = turnCap(opts.rate, opts.batch);
    this.batch = new TickBatch(this.cap);
    this.turnBound = () => {
      this.turn();
    };
  }

  /**
   * How far behind its schedule the pacer is now, in seconds: now - the due time of the next
   * tick to emit, or 0 when that tick is not due yet (and always 0 at rate 0).
   */
  behindSeconds(): number {
    if (this.rate === 0 || !this.running) return 0;
    const late = Number(this.hrtime()) - this.dueNs(this.emitted);
    return late > 0 ? late / 1e9 : 0;
  }

  /** When tick k of the schedule is due, in hrtime ns. */
  private dueNs(k: number): number {
    return this.startNs + (k * 1e9) / this.rate;
  }

  /** Read through a call: onBatch may have stopped the pacer during this turn. */
  isRunning(): boolean {
    return this.running;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    const ns = this.hrtime();
    this.startNs = Number(ns);
    this.stampOffsetUs = nowUs() - Math.floor(this.startNs / 1000);
    this.emitted = 0;
    if (this.timer === 'interval') this.handle = setInterval(this.turnBound, 1);
    else this.immediate = setImmediate(this.turnBound);
  }

  stop(): void {
    this.running = false;
    // Each handle is cleared by its own function: clearImmediate() on a Timeout corrupts Node's
    // count of pending immediates, and no setImmediate in the process runs afterwards.
    if (this.immediate !== null) clearImmediate(this.immediate);
    if (this.handle !== null) clearTimeout(this.handle);
    this.immediate = null;
    this.handle = null;
  }

  /**
   * Rate 0 on the 1 ms interval timer (the naive baseline): batches back to back until this
   * firing has used a millisecond. One batch per firing would cap the baseline at ~60k ticks/s
   * by the timer instead of by its CPU cost, and every ratio against it would be inflated.
   */
  private intervalBurst(t0: bigint): void {
    const batch = this.batch;
    let start = t0;
    do {
      batch.count = 0;
      const ts = Math.floor(Number(start) / 1000) + this.stampOffsetUs;
      for (let i = 0; i < this.batchSize; i++) this.generator.push(batch, ts);
      burn(this.burnUs * batch.count);
      this.onBatch(batch);
      const end = this.hrtime();
      this.onTurn(Number(end - start) / 1e9);
      start = end;
    } while (this.running && start - t0 < INTERVAL_BURST_NS);
  }

  /** One turn: generate what is due, hand it over, schedule the next turn. Public for tests. */
  turn(): void {
    if (!this.running) return;
    this.wakeups++;
    const t0 = this.hrtime();
    const nowNs = Number(t0);
    const batch = this.batch;
    batch.count = 0;
    if (this.rate === 0) {
      if (!this.wanted()) {
        if (this.timer !== 'interval') this.handle = setTimeout(this.turnBound, 1);
        return;
      }
      if (this.timer === 'interval') {
        this.intervalBurst(t0);
        return;
      }
      const ts = Math.floor(nowNs / 1000) + this.stampOffsetUs;
      for (let i = 0; i < this.batchSize; i++) this.generator.push(batch, ts);
    } else {
      const elapsedNs = nowNs - this.startNs;
      let due = Math.floor((elapsedNs * this.rate) / 1e9) + 1 - this.emitted;
      if (due > this.rate) {
        // More than a second behind (a stall, a debugger, SIGSTOP): skip, do not burst.
        const skip = due - this.cap;
        this.emitted += skip;
        this.skipped += skip;
        due = this.cap;
      }
      const n = due < this.cap ? due : this.cap;
      if (n > 0) {
        const late = nowNs - this.dueNs(this.emitted);
        this.onLag(late > 0 ? late / 1e9 : 0);
      }
      for (let i = 0; i < n; i++) {
        const dueNs = this.dueNs(this.emitted);
        this.generator.push(batch, Math.floor(dueNs / 1000) + this.stampOffsetUs);
        this.emitted++;
      }
    }
    if (batch.count > 0) {
      burn(this.burnUs * batch.count);
      this.onBatch(batch);
      this.onTurn(Number(this.hrtime() - t0) / 1e9);
    }
    if (this.timer === 'interval' || !this.isRunning()) return;
    this.schedule(this.rate > 0 ? (this.dueNs(this.emitted) - Number(this.hrtime())) / 1e6 : 0);
  }

  /** Arms the next turn; `sleepMs` = time until the next tick is due (<= 0: due or behind). */
  private schedule(sleepMs: number): void {
    if (this.rate === 0 || sleepMs <= 0) {
      // Max rate, or behind schedule: the next turn is work, not waiting.
      this.immediate = setImmediate(this.turnBound);
    } else if (this.timer === 'sleep') {
      // Wake when the next tick is due, but no sooner than turnMs (timers have 1 ms granularity):
      // at high rates a turn carries turnMs of ticks instead of spinning through them.
      this.handle = setTimeout(this.turnBound, Math.max(this.turnMs, Math.ceil(sleepMs)));
    } else if (sleepMs > 2) {
      // spin: far from the next due tick, sleep on a timer (wakes ~1 ms late at worst)...
      this.handle = setTimeout(this.turnBound, Math.floor(sleepMs - 1));
    } else {
      // ...close to it, spin on setImmediate for precision.
      this.immediate = setImmediate(this.turnBound);
    }
  }
}
