// Reads symbol, seq and ts from a server frame without JSON.parse: the client sees every frame,
// and parsing each one would make the instrument the bottleneck. It relies on the fixed field
// order of encodeTick(); anything that does not match exactly is reported as FRAME_OTHER.

export const FRAME_OTHER = 0;
export const FRAME_TICK = 1;
export const FRAME_PONG = 2;
export type FrameKind = typeof FRAME_OTHER | typeof FRAME_TICK | typeof FRAME_PONG;

/** Filled in place by scanFrame (one object per thread, never allocated per message). */
export interface Scanned {
  /** FNV-1a 32-bit hash of the symbol's bytes (ticks only): a Map key without a string. */
  symbolHash: number;
  symbolStart: number;
  symbolEnd: number;
  seq: number;
  /** Pong id (pongs only). */
  id: number;
  ts: number;
}

export function createScanned(): Scanned {
  return { symbolHash: 0, symbolStart: 0, symbolEnd: 0, seq: 0, id: 0, ts: 0 };
}

const TICK_PREFIX = Buffer.from('{"type":"tick","symbol":"', 'latin1');
const SEQ_FIELD = Buffer.from('","seq":', 'latin1');
const PONG_PREFIX = Buffer.from('{"type":"pong","id":', 'latin1');
const TS_FIELD = Buffer.from(',"ts":', 'latin1');
const MAX_SYMBOL_BYTES = 64;
// 2^53: integers above it are not exact in a double.
const MAX_SAFE_DIGITS = 15;

function matchAt(buf: Uint8Array, at: number, lit: Uint8Array, end: number): boolean {
  if (at < 0 || at + lit.length > end) return false;
  for (let i = 0; i < lit.length; i++) if (buf[at + i] !== lit[i]) return false;
  return true;
}

/** Parses the unsigned integer at buf[from..]; returns the index after it, or -1. */
function readUint(
  buf: Uint8Array,
  from: number,
  out: Scanned,
  field: 'seq' | 'id',
  frameEnd: number,
): number {
  let v = 0;
  let i = from;
  const end = Math.min(frameEnd, from + MAX_SAFE_DIGITS);
  for (; i < end; i++) {
    const c = (buf[i] ?? 0) - 48;
    if (c < 0 || c > 9) break;
    v = v * 10 + c;
  }
  if (i === from) return -1;
  out[field] = v;
  return i;
}

/** Reads the trailing `,"ts":<digits>}` that ends every tick and pong. */
function readTrailingTs(buf: Uint8Array, out: Scanned, start: number, end: number): boolean {
  let i = end - 1;
  if (i < start || buf[i] !== 0x7d /* } */) return false;
  const digitsEnd = i;
  i--;
  for (let c = buf[i] ?? 0; i >= start && c >= 48 && c <= 57; c = buf[i] ?? 0) i--;
  const digitsStart = i + 1;
  const n = digitsEnd - digitsStart;
  if (n === 0 || n > MAX_SAFE_DIGITS) return false;
  if (digitsStart - TS_FIELD.length < start) return false;
  if (!matchAt(buf, digitsStart - TS_FIELD.length, TS_FIELD, end)) return false;
  let v = 0;
  for (let j = digitsStart; j < digitsEnd; j++) v = v * 10 + ((buf[j] ?? 0) - 48);
  out.ts = v;
  return true;
}

/**
 * Classifies one server frame and fills `out`: FRAME_TICK (symbolHash, symbolStart/End, seq, ts),
 * FRAME_PONG (id, ts) or FRAME_OTHER (subscribed, error, or anything malformed).
 */
export function scanFrame(buf: Uint8Array, out: Scanned): FrameKind {
  return scanFrameAt(buf, 0, buf.length, out);
}

/**
 * scanFrame on the frame at buf[start..end) without a subarray (no allocation per message: the
 * client scans payloads in place in its read buffer). symbolStart/End are indexes into `buf`.
 */
export function scanFrameAt(buf: Uint8Array, start: number, end: number, out: Scanned): FrameKind {
  if (matchAt(buf, start, TICK_PREFIX, end)) {
    let i = start + TICK_PREFIX.length;
    let h = 0x811c9dc5;
    const limit = Math.min(end, i + MAX_SYMBOL_BYTES);
    for (; i < limit; i++) {
      const c = buf[i] ?? 0x22;
      if (c === 0x22 /* " */) break;
      h = Math.imul(h ^ c, 0x01000193);
    }
    if (i === start + TICK_PREFIX.length || i >= limit) return FRAME_OTHER;
    out.symbolStart = start + TICK_PREFIX.length;
    out.symbolEnd = i;
    out.symbolHash = h >>> 0;
    if (!matchAt(buf, i, SEQ_FIELD, end)) return FRAME_OTHER;
    if (readUint(buf, i + SEQ_FIELD.length, out, 'seq', end) < 0) return FRAME_OTHER;
    return readTrailingTs(buf, out, start, end) ? FRAME_TICK : FRAME_OTHER;
  }
  if (matchAt(buf, start, PONG_PREFIX, end)) {
    if (readUint(buf, start + PONG_PREFIX.length, out, 'id', end) < 0) return FRAME_OTHER;
    return readTrailingTs(buf, out, start, end) ? FRAME_PONG : FRAME_OTHER;
  }
  return FRAME_OTHER;
}

/** The symbol of the last scanned tick as a string (allocates: call it once per new symbol). */
export function scannedSymbol(buf: Uint8Array, out: Scanned): string {
  return Buffer.from(
    buf.buffer,
    buf.byteOffset + out.symbolStart,
    out.symbolEnd - out.symbolStart,
  ).toString('latin1');
}
