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
