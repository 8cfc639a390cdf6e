// The pacer decides when ticks are generated and hands each turn's ticks to the mode as one batch.
//
// Open loop: at a target rate the k-th tick is due at start + k/rate on process.hrtime.bigint(),
// whatever happened before, and it is stamped with that due time, so a server that falls behind
// shows it as latency instead of quietly slowing the schedule (no coordinated omission).
// Catch-up is bounded twice: one turn emits at most `cap` ticks, and a backlog of more than one
// second is skipped (counted, never generated, so streams have no seq gaps) rather than burst out.
// Rate 0 emits `batch` ticks per turn, all stamped now (the interval timer: batches for 1 ms).
//
// Two timers: 'immediate' (setImmediate, sleeping on setTimeout when the next tick is far away)
// for the optimised modes, and 'interval' (setInterval 1 ms) for the seed's naive baseline.
import { nowUs } from '../protocol/index.js';
import { TickBatch, type Generator } from './generator.js';

/** How long one naive setInterval firing keeps emitting at rate 0. */
const INTERVAL_BURST_NS = 1_000_000n;

export type PacerTimer = 'immediate' | 'interval';

export interface PacerOptions {
  rate: number;
  batch: number;
  timer: PacerTimer;
  generator: Generator;
  onBatch: (batch: TickBatch) => void;
  /** Called with the seconds one turn took (generate + fan-out). */
  onTurn?: (seconds: number) => void;
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
  private readonly rate: number;
  private readonly batchSize: number;
  private readonly timer: PacerTimer;
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
  private handle: NodeJS.Immediate | NodeJS.Timeout | null = null;
  private readonly turnBound: () => void;

  constructor(opts: PacerOptions) {
    this.rate = opts.rate;
    this.batchSize = opts.batch;
    this.timer = opts.timer;
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
    else this.handle = setImmediate(this.turnBound);
  }

  stop(): void {
    this.running = false;
    if (this.handle === null) return;
    if (this.timer === 'interval') clearInterval(this.handle as NodeJS.Timeout);
    else {
      clearImmediate(this.handle as NodeJS.Immediate);
      clearTimeout(this.handle as NodeJS.Timeout);
    }
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
      this.onBatch(batch);
      const end = this.hrtime();
      this.onTurn(Number(end - start) / 1e9);
      start = end;
    } while (this.running && start - t0 < INTERVAL_BURST_NS);
  }

  /** One turn: generate what is due, hand it over, schedule the next turn. Public for tests. */
  turn(): void {
    if (!this.running) return;
    const t0 = this.hrtime();
    const nowNs = Number(t0);
    const batch = this.batch;
    batch.count = 0;
    let sleepMs = 0;
    if (this.rate === 0) {
      if (!this.wanted()) {
        if (this.timer === 'immediate') this.handle = setTimeout(this.turnBound, 1);
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
      for (let i = 0; i < n; i++) {
        const dueNs = this.startNs + (this.emitted * 1e9) / this.rate;
        this.generator.push(batch, Math.floor(dueNs / 1000) + this.stampOffsetUs);
        this.emitted++;
      }
      const nextDueNs = this.startNs + (this.emitted * 1e9) / this.rate;
      sleepMs = (nextDueNs - nowNs) / 1e6;
    }
    if (batch.count > 0) {
      this.onBatch(batch);
      this.onTurn(Number(this.hrtime() - t0) / 1e9);
    }
    if (this.timer === 'interval' || !this.isRunning()) return;
    // Far from the next due tick: sleep on a timer (wakes ~1 ms late at worst, then spins) so a
    // low rate does not burn a core; close to it: spin on setImmediate for precision.
    if (sleepMs > 2) this.handle = setTimeout(this.turnBound, Math.floor(sleepMs - 1));
    else this.handle = setImmediate(this.turnBound);
  }
}
