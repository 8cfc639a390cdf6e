// WebSocket framing for server -> client text frames (RFC 6455 §5.2: FIN + opcode 1, no mask).
// The same bytes as WebSocket.Sender.frame(buf, {fin:true, opcode:1, mask:false, rsv1:false})
// (framing.test.ts checks that), written straight into a batch buffer so that a batch of ticks
// becomes one allocation and one socket write per client.

/** Bytes of the frame header for a payload of `len` bytes. */
export function headerLength(len: number): number {
  return len < 126 ? 2 : len < 65536 ? 4 : 10;
}

/** Writes a text-frame header for `len` payload bytes at `at`; returns the offset after it. */
export function writeHeader(buf: Buffer, at: number, len: number): number {
  buf[at] = 0x81;
  if (len < 126) {
    buf[at + 1] = len;
    return at + 2;
  }
  if (len < 65536) {
    buf[at + 1] = 126;
    buf.writeUInt16BE(len, at + 2);
    return at + 4;
  }
  buf[at + 1] = 127;
  buf.writeUInt32BE(Math.floor(len / 0x100000000), at + 2);
  buf.writeUInt32BE(len >>> 0, at + 6);
  return at + 10;
}

/** One complete text frame for `text` (any Unicode). */
export function frameText(text: string): Buffer {
  const len = Buffer.byteLength(text);
  const buf = Buffer.allocUnsafe(headerLength(len) + len);
  buf.write(text, writeHeader(buf, 0, len), 'utf8');
  return buf;
}

/** A parsed frame header (RFC 6455 §5.2); `headerLength` includes the mask key when masked. */
export interface FrameHeader {
  fin: boolean;
  /** RSV1-3 as the high nibble's low three bits (0 without an extension). */
  rsv: number;
  opcode: number;
  masked: boolean;
  payloadLength: number;
  headerLength: number;
}

/** Opcodes (RFC 6455 §5.2). */
export const OPCODE = { continuation: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 } as const;

/**
 * Reads the frame header at `at`, or returns null when `buf` ends before the header does.
 * A 64-bit length above 2^53 comes back as Infinity, so a caller's size limit rejects it.
 * Hot path: callers that walk many frames per read may inline the 2-byte case and call this for
 * the rest; it allocates one small object per call.
 */
export function readHeader(buf: Uint8Array, at: number, end = buf.length): FrameHeader | null {
  if (end - at < 2) return null;
  const b0 = buf[at] ?? 0;
  const b1 = buf[at + 1] ?? 0;
  const masked = (b1 & 0x80) !== 0;
  let len = b1 & 0x7f;
  let pos = at + 2;
  if (len === 126) {
    if (end - pos < 2) return null;
    len = ((buf[pos] ?? 0) << 8) | (buf[pos + 1] ?? 0);
    pos += 2;
  } else if (len === 127) {
    if (end - pos < 8) return null;
    const hi =
      ((buf[pos] ?? 0) * 0x1000000 +
        (((buf[pos + 1] ?? 0) << 16) | ((buf[pos + 2] ?? 0) << 8) | (buf[pos + 3] ?? 0))) >>>
      0;
    const lo =
      ((buf[pos + 4] ?? 0) * 0x1000000 +
        (((buf[pos + 5] ?? 0) << 16) | ((buf[pos + 6] ?? 0) << 8) | (buf[pos + 7] ?? 0))) >>>
      0;
    len = hi >= 0x200000 ? Infinity : hi * 0x100000000 + lo;
    pos += 8;
  }
  if (masked) {
    if (end - pos < 4) return null;
    pos += 4;
  }
  return {
    fin: (b0 & 0x80) !== 0,
    rsv: (b0 >> 4) & 0x07,
    opcode: b0 & 0x0f,
    masked,
    payloadLength: len,
    headerLength: pos - at,
  };
}
