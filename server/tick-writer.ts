// Writes a tick's frame bytes straight into a batch buffer: the same bytes as protocol's
// encodeTick() (which stays the definition; tick-writer.test.ts checks byte equality over many
// random ticks), without building a string per tick. String building and number formatting were
// most of the per-tick cost and garbage of the fast modes.
//
// It relies on how the generator makes numbers: seq and ts are integers, price and size are
// integers of a decimal grid (units / 10^decimals), so their shortest JavaScript representation
// is the plain decimal with trailing zeros removed (no exponent: 1e-6 < value < 1e21).

import { headerLength, writeHeader } from '../protocol/framing.js';

const TICK_PREFIX = '{"type":"tick","symbol":"';
const SEQ = '","seq":';
const PRICE = ',"price":';
const SIZE = ',"size":';
const TS = ',"ts":';

function ascii(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s, 'latin1'));
}

/** Most digits writeUint writes (integers below 10^16), and writeDecimal (plus '.' and 4 decimals). */
const MAX_UINT_DIGITS = 16;
const MAX_DECIMAL_CHARS = MAX_UINT_DIGITS + 1 + 4;

const POW10: number[] = [];
for (let i = 0, p = 1; i <= 16; i++, p *= 10) POW10.push(p);

function writeBytes(buf: Uint8Array, at: number, src: Uint8Array): number {
  for (let i = 0; i < src.length; i++) buf[at + i] = src[i] ?? 0;
  return at + src.length;
}

/** Writes the decimal digits of a non-negative integer below 2^53. */
export function writeUint(buf: Uint8Array, at: number, v: number): number {
  let n = 1;
  while (n < MAX_UINT_DIGITS && v >= (POW10[n] ?? Infinity)) n++;
  const end = at + n;
  for (let i = end - 1; i > at; i--) {
    const q = Math.floor(v / 10);
    buf[i] = 48 + (v - q * 10);
    v = q;
  }
  buf[at] = 48 + v;
  return end;
}

/** Writes units / 10^decimals as JavaScript prints it: no trailing zeros, no '.' for integers. */
export function writeDecimal(buf: Uint8Array, at: number, units: number, decimals: number): number {
  const scale = POW10[decimals] ?? 1;
  const int = Math.floor(units / scale);
  let frac = units - int * scale;
  at = writeUint(buf, at, int);
  if (frac === 0) return at;
  let digits = decimals;
  while (frac % 10 === 0) {
    frac /= 10;
    digits--;
  }
  buf[at++] = 0x2e; // .
  const end = at + digits;
  for (let i = end - 1; i >= at; i--) {
    const q = Math.floor(frac / 10);
    buf[i] = 48 + (frac - q * 10);
    frac = q;
  }
  return end;
}

export class TickWriter {
  private readonly prefix: Uint8Array[];
  private readonly seqField = ascii(SEQ);
  private readonly priceField = ascii(PRICE);
  private readonly sizeField = ascii(SIZE);
  private readonly tsField = ascii(TS);

  /** Where the payload of the frame last written starts (after its header). */
  payloadAt = 0;

  /** Upper bound of one frame's bytes (4-byte header + the longest tick this writer can write). */
  readonly maxFrameBytes: number;

  constructor(symbols: readonly string[]) {
    // '{"type":"tick","symbol":"BTC-USD' once per symbol.
    this.prefix = symbols.map((s) => ascii(TICK_PREFIX + s));
    const longest = Math.max(...this.prefix.map((p) => p.length));
    this.maxFrameBytes =
      4 +
      longest +
      SEQ.length +
      MAX_UINT_DIGITS +
      PRICE.length +
      MAX_DECIMAL_CHARS +
      SIZE.length +
      MAX_DECIMAL_CHARS +
      TS.length +
      MAX_UINT_DIGITS +
      1;
  }

  /**
   * Writes one complete text frame (header + tick JSON) at `at`; returns the end offset. The
   * payload starts at at + 2 (ticks are < 126 bytes); a longer one is moved to make room for the
   * 4-byte header, so the result is always a valid frame.
   */
  writeFrame(
    buf: Buffer,
    at: number,
    symbol: number,
    seq: number,
    priceUnits: number,
    priceDecimals: number,
    sizeUnits: number,
    sizeDecimals: number,
    ts: number,
  ): number {
    let i = at + 2;
    const prefix = this.prefix[symbol];
    if (prefix === undefined) throw new RangeError(`no symbol ${symbol}`);
    i = writeBytes(buf, i, prefix);
    i = writeBytes(buf, i, this.seqField);
    i = writeUint(buf, i, seq);
    i = writeBytes(buf, i, this.priceField);
    i = writeDecimal(buf, i, priceUnits, priceDecimals);
    i = writeBytes(buf, i, this.sizeField);
    i = writeDecimal(buf, i, sizeUnits, sizeDecimals);
    i = writeBytes(buf, i, this.tsField);
    i = writeUint(buf, i, ts);
    buf[i++] = 0x7d; // }
    const len = i - at - 2;
    const header = headerLength(len);
    if (header !== 2) buf.copyWithin(at + header, at + 2, i);
    writeHeader(buf, at, len);
    this.payloadAt = at + header;
    return i + header - 2;
  }
}
