// Market-data generator: a random walk per symbol, `seq` per symbol starting at 1. Symbols take
// turns (round robin), so each stream gets rate/N ticks per second and every batch of N ticks
// touches every symbol once. The generator fills a reusable TickBatch: no objects are allocated per
// tick except the encoded string, which every mode needs exactly once.
import { encodeTick, symbolNames, type Tick } from '../protocol/index.js';

/** One pacer turn's ticks. Allocated once with the largest batch; `count` says how many are live. */
export class TickBatch {
  count = 0;
  /** Index of each tick's symbol in Generator.symbols. */
  readonly symbolIndex: Uint16Array;
  /** The tick fields, reused objects (the naive mode stringifies them itself). */
  readonly ticks: Tick[];
  /** encodeTick() of each tick: the exact text of the frame. */
  readonly text: string[];

  constructor(readonly capacity: number) {
    this.symbolIndex = new Uint16Array(capacity);
    this.ticks = [];
    this.text = [];
    for (let i = 0; i < capacity; i++) {
      this.ticks.push({ symbol: '', seq: 0, price: 0, size: 0, ts: 0 });
      this.text.push('');
    }
  }
}

// Starting prices for the base pairs; further symbols start at 100.
const START_PRICES = [50000, 3000, 150, 0.6, 0.45, 0.12, 35, 7];

/** Price grid per magnitude, as "units per 1.0", so prices are integers of units. */
function unitsPerOne(price: number): number {
  return price < 1 ? 10000 : price < 100 ? 100 : 4;
}

export class Generator {
  readonly symbols: readonly string[];
  readonly seq: Float64Array;
  /** Price per symbol in grid units (integers): the walk never accumulates float error. */
  readonly units: Float64Array;
  readonly perOne: Float64Array;
  /** Latest encoded tick per symbol ('' before the first), for /snapshot. */
  readonly latest: string[];
  /** Ticks generated so far (the ticks_generated counter reads this). */
  generated = 0;
  private next = 0;
  private random: () => number;

  constructor(symbolCount: number, random: () => number = Math.random) {
    this.symbols = symbolNames(symbolCount);
    this.seq = new Float64Array(symbolCount);
    this.units = new Float64Array(symbolCount);
    this.perOne = new Float64Array(symbolCount);
    this.latest = new Array<string>(symbolCount).fill('');
    for (let i = 0; i < symbolCount; i++) {
      const p = START_PRICES[i] ?? 100;
      this.perOne[i] = unitsPerOne(p);
      this.units[i] = Math.round(p * this.perOne[i]);
    }
    this.random = random;
  }

  /** Appends one tick stamped `ts` to the batch. */
  push(batch: TickBatch, ts: number): void {
    const s = this.next;
    this.next = s + 1 === this.symbols.length ? 0 : s + 1;
    // Random walk of at most ±0.1% per tick on an integer grid; dividing an integer by the
    // grid's power of ten prints as a short decimal (no 0.30000000000000004), and the floor of
    // one unit keeps the price positive forever.
    let u = this.units[s];
    u += Math.round((this.random() - 0.5) * 0.002 * u);
    if (u < 1) u = 1;
    this.units[s] = u;
    const seq = ++this.seq[s];
    const i = batch.count++;
    const t = batch.ticks[i];
    t.symbol = this.symbols[s];
    t.seq = seq;
    t.price = u / this.perOne[s];
    t.size = Math.round(this.random() * 1000 + 1) / 1000;
    t.ts = ts;
    const text = encodeTick(t);
    batch.text[i] = text;
    batch.symbolIndex[i] = s;
    this.latest[s] = text;
    this.generated++;
  }

  /** `{"ts":<µs>,"ticks":{"BTC-USD":{...},...}}` from the already encoded ticks. */
  snapshot(ts: number): string {
    let out = '{"ts":' + ts + ',"ticks":{';
    let first = true;
    for (let i = 0; i < this.symbols.length; i++) {
      if (this.latest[i] === '') continue;
      out += (first ? '"' : ',"') + this.symbols[i] + '":' + this.latest[i];
      first = false;
    }
    return out + '}}';
  }
}
