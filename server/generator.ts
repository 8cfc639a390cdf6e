// Market-data generator: a random walk per symbol, `seq` per symbol starting at 1. Symbols take
// turns (round robin), so each stream gets rate/N ticks per second and every batch of N ticks
// touches every symbol once.
//
// The generator fills a TickBatch: the tick fields (reused objects, for the naive mode) and the
// complete text frames of the batch, written back to back into one fresh buffer by TickWriter
// (byte-identical to protocol's encodeTick). The fast modes send those bytes as they are.
import { encodeTick, symbolNames, type Tick } from '../protocol/index.js';
import { TickWriter } from './tick-writer.js';

/** One pacer turn's ticks. `count` says how many are live. */
export class TickBatch {
  count = 0;
  /** Index of each tick's symbol in Generator.symbols. */
  readonly symbolIndex: Uint16Array;
  /** The tick fields, reused objects (the naive mode stringifies them itself). */
  readonly ticks: Tick[];
  /**
   * The batch's frames (header + tick JSON each), back to back. A new buffer per batch: sockets
   * may still hold the previous one.
   */
  frames: Buffer = Buffer.alloc(0);
  /** offsets[i] = where frame i starts in `frames`; offsets[count] = end of the last frame. */
  readonly offsets: Uint32Array;
  /** payloads[i] = where tick i's JSON starts (after its frame header), as the writer wrote it. */
  readonly payloads: Uint32Array;

  constructor(readonly capacity: number) {
    this.symbolIndex = new Uint16Array(capacity);
    this.offsets = new Uint32Array(capacity + 1);
    this.payloads = new Uint32Array(capacity);
    this.ticks = [];
    for (let i = 0; i < capacity; i++)
      this.ticks.push({ symbol: '', seq: 0, price: 0, size: 0, ts: 0 });
  }

  /** Where tick i's JSON starts (after its frame header). */
  payloadStart(i: number): number {
    return this.payloads[i] ?? 0;
  }

  /** The frames of the live ticks. */
  get bytes(): Buffer {
    return this.frames.subarray(0, this.offsets[this.count] ?? 0);
  }
}

// Starting prices for the base pairs; further symbols start at 100.
const START_PRICES = [50000, 3000, 150, 0.6, 0.45, 0.12, 35, 7];
const SIZE_DECIMALS = 3;
const POW10 = [1, 10, 100, 1000, 10000];

export class Generator {
  readonly symbols: readonly string[];
  readonly seq: Float64Array;
  /** Price = units * step / 10^decimals: an integer grid, so the walk never drifts in floats. */
  readonly units: Float64Array;
  private readonly step: Float64Array;
  private readonly decimals: Uint8Array;
  /** Latest tick per symbol (seq 0 = none yet), for /snapshot. */
  private readonly latest: Tick[];
  /** Ticks generated so far (the ticks_generated counter reads this). */
  generated = 0;
  private next = 0;
  private readonly random: () => number;
  private readonly writer: TickWriter;

  constructor(symbolCount: number, random: () => number = Math.random) {
    this.symbols = symbolNames(symbolCount);
    this.seq = new Float64Array(symbolCount);
    this.units = new Float64Array(symbolCount);
    this.step = new Float64Array(symbolCount);
    this.decimals = new Uint8Array(symbolCount);
    this.latest = this.symbols.map((symbol) => ({ symbol, seq: 0, price: 0, size: 0, ts: 0 }));
    for (let i = 0; i < symbolCount; i++) {
      const p = START_PRICES[i] ?? 100;
      // Quarter steps from 100 up, cents from 1, 1/10000 below.
      const [step, decimals] = p >= 100 ? [25, 2] : p >= 1 ? [1, 2] : [1, 4];
      this.step[i] = step;
      this.decimals[i] = decimals;
      this.units[i] = Math.round((p * 10 ** decimals) / step);
    }
    this.random = random;
    this.writer = new TickWriter(this.symbols);
  }

  /** Appends one tick stamped `ts` (integer µs) to the batch. */
  push(batch: TickBatch, ts: number): void {
    const i = batch.count;
    const t = batch.ticks[i];
    if (t === undefined) throw new RangeError(`tick batch full (${batch.capacity} ticks)`);
    batch.count = i + 1;
    if (i === 0) batch.frames = Buffer.allocUnsafe(batch.capacity * this.writer.maxFrameBytes);
    const s = this.next;
    this.next = s + 1 === this.symbols.length ? 0 : s + 1;
    // Random walk of at most ±0.1% per tick; the floor of one unit keeps the price positive.
    let u = this.units[s] ?? 1;
    u += Math.round((this.random() - 0.5) * 0.002 * u);
    if (u < 1) u = 1;
    this.units[s] = u;
    const seq = (this.seq[s] ?? 0) + 1;
    this.seq[s] = seq;
    const sizeUnits = Math.round(this.random() * 1000 + 1);
    const scaled = u * (this.step[s] ?? 1);
    const decimals = this.decimals[s] ?? 0;
    t.symbol = this.symbols[s] ?? '';
    t.seq = seq;
    t.price = scaled / (POW10[decimals] ?? 1);
    t.size = sizeUnits / 1000;
    t.ts = ts;
    batch.symbolIndex[i] = s;
    batch.offsets[i + 1] = this.writer.writeFrame(
      batch.frames,
      batch.offsets[i] ?? 0,
      s,
      seq,
      scaled,
      decimals,
      sizeUnits,
      SIZE_DECIMALS,
      ts,
    );
    batch.payloads[i] = this.writer.payloadAt;
    const l = this.latest[s];
    if (l !== undefined) {
      l.seq = seq;
      l.price = t.price;
      l.size = t.size;
      l.ts = ts;
    }
    this.generated++;
  }

  /** `{"ts":<µs>,"ticks":{"BTC-USD":{...},...}}` of the latest tick per symbol. */
  snapshot(ts: number): string {
    let out = '{"ts":' + ts + ',"ticks":{';
    let first = true;
    for (const t of this.latest) {
      if (t.seq === 0) continue;
      out += (first ? '"' : ',"') + t.symbol + '":' + encodeTick(t);
      first = false;
    }
    return out + '}}';
  }
}
