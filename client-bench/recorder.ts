// A log-linear histogram cheap enough to record every message: exact below 2048 µs, then 1024
// sub-buckets per power of two (< 0.1% error, the precision of a 3-digit HDR histogram). A
// recordValue into hdr-histogram-js costs several times more; instead the worker drains this
// into HDR (and into the Prometheus buckets) once per tick, touching only non-empty buckets.
import type { Histogram } from 'hdr-histogram-js';

const SUB_BITS = 10;
const SUB = 1 << SUB_BITS; // 1024
const LINEAR = 2 * SUB; // values below this have their own bucket
const MAX_SHIFT = 31 - SUB_BITS; // values up to 2^31 µs (~36 min)
const SIZE = LINEAR + MAX_SHIFT * SUB;
const MAX_VALUE = 2 ** 31 - 1;

export class Recorder {
  readonly counts = new Float64Array(SIZE);
  count = 0;
  /** Lowest and highest bucket touched since the last drain (bounds the drain loop). */
  private lo = SIZE;
  private hi = -1;

  record(v: number): void {
    if (v > MAX_VALUE) v = MAX_VALUE;
    let idx: number;
    if (v < LINEAR) idx = v;
    else {
      const shift = 31 - Math.clz32(v) - SUB_BITS; // >= 1
      idx = LINEAR + (shift - 1) * SUB + ((v >>> shift) - SUB);
    }
    this.counts[idx] = (this.counts[idx] ?? 0) + 1;
    this.count++;
    if (idx < this.lo) this.lo = idx;
    if (idx > this.hi) this.hi = idx;
  }

  /** The lowest value of bucket `idx`. */
  static valueOf(idx: number): number {
    if (idx < LINEAR) return idx;
    const k = idx - LINEAR;
    const shift = Math.floor(k / SUB) + 1;
    return (SUB + (k % SUB)) * 2 ** shift;
  }

  /**
   * Calls fn(value, count) for every non-empty bucket and empties the recorder.
   */
  drain(fn: (value: number, count: number) => void): void {
    const c = this.counts;
    for (let i = this.lo; i <= this.hi; i++) {
      const n = c[i] ?? 0;
      if (n !== 0) {
        fn(Recorder.valueOf(i), n);
        c[i] = 0;
      }
    }
    this.count = 0;
    this.lo = SIZE;
    this.hi = -1;
  }

  /** Empties the recorder into an HDR histogram. */
  drainInto(h: Histogram): void {
    this.drain((v, n) => {
      h.recordValueWithCount(v, n);
    });
  }
}
