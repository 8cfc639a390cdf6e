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
const TICK_PREFIX_BYTES = TICK_PREFIX.length; // 25
const SEQ_FIELD_BYTES = SEQ_FIELD.length; // 8
const TS_FIELD_BYTES = TS_FIELD.length; // 6
/** The shortest tick: prefix, a 1-byte symbol, seq field and digit, ts field and digit, "}". */
const TICK_MIN_BYTES = TICK_PREFIX_BYTES + 1 + SEQ_FIELD_BYTES + 1 + TS_FIELD_BYTES + 2;
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
  // Ticks are nearly every frame: byte 9 ("t" of "tick") picks the path before any loop runs.
  if (buf[start + 9] === 0x74) return scanTick(buf, start, end, out);
  if (matchAt(buf, start, PONG_PREFIX, end)) {
    if (readUint(buf, start + PONG_PREFIX.length, out, 'id', end) < 0) return FRAME_OTHER;
    return readTrailingTs(buf, out, start, end) ? FRAME_PONG : FRAME_OTHER;
  }
  return FRAME_OTHER;
}

/**
 * The tick path of scanFrameAt, written for the client's per-frame budget (it runs for every
 * frame, ~3x less CPU than the generic literal matching): the literals are compared unrolled
 * (TICK_PREFIX, SEQ_FIELD, TS_FIELD; protocol.test.ts checks them against the encoder), seq and
 * ts are read in one pass each. Same results as matching the literals one by one.
 */
function scanTick(b: Uint8Array, s: number, end: number, out: Scanned): FrameKind {
  // {"type":"tick","symbol":"
  if (
    end - s < TICK_MIN_BYTES ||
    b[s] !== 0x7b ||
    b[s + 1] !== 0x22 ||
    b[s + 2] !== 0x74 ||
    b[s + 3] !== 0x79 ||
    b[s + 4] !== 0x70 ||
    b[s + 5] !== 0x65 ||
    b[s + 6] !== 0x22 ||
    b[s + 7] !== 0x3a ||
    b[s + 8] !== 0x22 ||
    b[s + 10] !== 0x69 ||
    b[s + 11] !== 0x63 ||
    b[s + 12] !== 0x6b ||
    b[s + 13] !== 0x22 ||
    b[s + 14] !== 0x2c ||
    b[s + 15] !== 0x22 ||
    b[s + 16] !== 0x73 ||
    b[s + 17] !== 0x79 ||
    b[s + 18] !== 0x6d ||
    b[s + 19] !== 0x62 ||
    b[s + 20] !== 0x6f ||
    b[s + 21] !== 0x6c ||
    b[s + 22] !== 0x22 ||
    b[s + 23] !== 0x3a ||
    b[s + 24] !== 0x22
  )
    return FRAME_OTHER;
  const symbolStart = s + TICK_PREFIX_BYTES;
  let i = symbolStart;
  let h = 0x811c9dc5;
  const limit = Math.min(end, i + MAX_SYMBOL_BYTES);
  for (; i < limit; i++) {
    const c = b[i] ?? 0x22;
    if (c === 0x22 /* " */) break;
    h = Math.imul(h ^ c, 0x01000193);
  }
  if (i === symbolStart || i >= limit) return FRAME_OTHER;
  // ","seq":
  if (
    i + SEQ_FIELD_BYTES > end ||
    b[i + 1] !== 0x2c ||
    b[i + 2] !== 0x22 ||
    b[i + 3] !== 0x73 ||
    b[i + 4] !== 0x65 ||
    b[i + 5] !== 0x71 ||
    b[i + 6] !== 0x22 ||
    b[i + 7] !== 0x3a
  )
    return FRAME_OTHER;
  out.symbolStart = symbolStart;
  out.symbolEnd = i;
  out.symbolHash = h >>> 0;
  let j = i + SEQ_FIELD_BYTES;
  const seqStart = j;
  const seqLimit = Math.min(end, j + MAX_SAFE_DIGITS);
  let seq = 0;
  for (; j < seqLimit; j++) {
    const c = (b[j] ?? 0) - 48;
    if (c < 0 || c > 9) break;
    seq = seq * 10 + c;
  }
  if (j === seqStart) return FRAME_OTHER;
  out.seq = seq;
  // ,"ts":<digits>} at the very end, digits read backwards in one pass.
  let k = end - 1;
  if (b[k] !== 0x7d /* } */) return FRAME_OTHER;
  k--;
  const digitsEnd = k;
  const lowest = Math.max(j, digitsEnd - MAX_SAFE_DIGITS);
  let ts = 0;
  let scale = 1;
  for (; k > lowest; k--) {
    const c = (b[k] ?? 0) - 48;
    if (c < 0 || c > 9) break;
    ts += c * scale;
    scale *= 10;
  }
  if (
    k === digitsEnd ||
    digitsEnd - k > MAX_SAFE_DIGITS ||
    k - TS_FIELD_BYTES + 1 < j ||
    b[k] !== 0x3a ||
    b[k - 1] !== 0x22 ||
    b[k - 2] !== 0x73 ||
    b[k - 3] !== 0x74 ||
    b[k - 4] !== 0x22 ||
    b[k - 5] !== 0x2c
  )
    return FRAME_OTHER;
  out.ts = ts;
  return FRAME_TICK;
}

/** The symbol of the last scanned tick as a string (allocates: call it once per new symbol). */
export function scannedSymbol(buf: Uint8Array, out: Scanned): string {
  return Buffer.from(
    buf.buffer,
    buf.byteOffset + out.symbolStart,
    out.symbolEnd - out.symbolStart,
  ).toString('latin1');
}
