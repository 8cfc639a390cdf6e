// The receive side of RFC 6455 framing for a client, without a socket: walks the frames of each
// read in place, hands complete unfragmented text payloads to the sink without a copy, keeps the
// partial frame at the end of a read (`carry`), reassembles fragments and passes control frames
// on. The wire format itself (header layout, opcodes) is protocol/framing.ts; the per-frame loop
// keeps an inlined copy of its 2-byte case because readHeader allocates one object per call and
// a tick frame (< 126 bytes, unmasked) is exactly that case.
import { OPCODE, readHeader } from '../protocol/framing.js';
import { CLOSE } from '../protocol/codes.js';

/** FIN + text opcode: the first byte of every unfragmented text frame. */
const FIN_TEXT = 0x80 | OPCODE.text;

/** Where text messages go: called once per message, directly (no forwarding on the hot path). */
export interface TextSink {
  /** One complete text message, buf[start..end); `buf` is reused after the call returns. */
  onText(buf: Buffer, start: number, end: number, nowUs: number): void;
}

export interface FrameHandler {
  /** A close, ping or pong frame (payload buf[start..end)). */
  onControl(opcode: number, buf: Buffer, start: number, end: number): void;
  /** The stream broke the protocol: the connection must be failed with `code`. */
  onProtocolError(code: number, message: string): void;
  /** True once the connection is closing or closed: parsing stops at the current frame. */
  readonly stopped: boolean;
}

/** Total length of the frame at buf[off..end) when its header is complete, else -1. */
export function frameLength(buf: Uint8Array, off: number, end: number): number {
  const h = readHeader(buf, off, end);
  return h === null ? -1 : h.headerLength + h.payloadLength;
}

export class FrameReader {
  private carry: Buffer = Buffer.alloc(0);
  private carryLen = 0;
  private fragments: Buffer[] | null = null;
  private fragmentBytes = 0;
  /** Receive time of the read being parsed: one clock read per read, not per message. */
  private readUs = 0;

  constructor(
    private readonly text: TextSink,
    private readonly handler: FrameHandler,
    private readonly maxMessageBytes: number,
  ) {}

  /** Handles buf[off..n) of one read received at `nowUs`. */
  read(buf: Buffer, off: number, n: number, nowUs: number): void {
    this.readUs = nowUs;
    if (this.carryLen > 0) {
      off = this.fillCarry(buf, off, n);
      if (this.carryLen > 0 || this.handler.stopped) return;
    }
    const rest = this.parse(buf, off, n);
    if (rest < n && !this.handler.stopped) this.saveCarry(buf, rest, n);
  }

  /** Completes the frame held in `carry` from buf[off..n); returns the new offset. */
  private fillCarry(buf: Buffer, off: number, n: number): number {
    while (off < n) {
      let total = frameLength(this.carry, 0, this.carryLen);
      // Header still incomplete: take one byte at a time (at most 13) so as not to overshoot.
      const want = total < 0 ? 1 : total - this.carryLen;
      const take = Math.min(want, n - off);
      this.ensureCarry(this.carryLen + take);
      buf.copy(this.carry, this.carryLen, off, off + take);
      this.carryLen += take;
      off += take;
      total = frameLength(this.carry, 0, this.carryLen);
      if (total >= 0 && total > this.maxMessageBytes + 14) {
        this.handler.onProtocolError(CLOSE.tooBig, 'message too big');
        return n;
      }
      if (total >= 0 && this.carryLen === total) {
        this.carryLen = 0;
        this.parse(this.carry, 0, total);
        return off;
      }
    }
    return off;
  }

  private ensureCarry(size: number): void {
    if (this.carry.length >= size) return;
    const next = Buffer.allocUnsafe(Math.max(size, this.carry.length * 2, 1024));
    this.carry.copy(next, 0, 0, this.carryLen);
    this.carry = next;
  }

  private saveCarry(buf: Buffer, from: number, n: number): void {
    const len = n - from;
    const total = frameLength(buf, from, n);
    if (total > this.maxMessageBytes + 14) {
      this.handler.onProtocolError(CLOSE.tooBig, 'message too big');
      return;
    }
    this.ensureCarry(Math.max(len, total));
    buf.copy(this.carry, 0, from, n);
    this.carryLen = len;
  }

  /** Handles every complete frame in buf[off..end); returns the offset of the first partial one. */
  private parse(buf: Buffer, off: number, end: number): number {
    const handler = this.handler;
    const text = this.text;
    const now = this.readUs;
    while (end - off >= 2) {
      const b0 = buf[off] ?? 0;
      const b1 = buf[off + 1] ?? 0;
      if (b0 === FIN_TEXT && b1 < 126) {
        // Fast path: an unmasked text frame with a 7-bit length (every tick).
        const start = off + 2;
        const stop = start + b1;
        if (stop > end) break;
        off = stop;
        text.onText(buf, start, stop, now);
        continue;
      }
      const h = readHeader(buf, off, end);
      if (h === null) break;
      if (h.masked) {
        handler.onProtocolError(CLOSE.protocolError, 'server frames must not be masked');
        return end;
      }
      const start = off + h.headerLength;
      const stop = start + h.payloadLength;
      if (stop > end) break;
      off = stop;
      if (b0 === FIN_TEXT) text.onText(buf, start, stop, now);
      else {
        // Only control frames (and protocol errors) end the connection mid-read.
        this.onOtherFrame(h.fin, h.rsv, h.opcode, buf, start, stop);
        if (handler.stopped) return end;
      }
    }
    return off;
  }

  private onOtherFrame(
    fin: boolean,
    rsv: number,
    opcode: number,
    buf: Buffer,
    start: number,
    end: number,
  ): void {
    const handler = this.handler;
    if (rsv !== 0) {
      handler.onProtocolError(CLOSE.protocolError, 'RSV bits set without an extension');
      return;
    }
    switch (opcode) {
      case OPCODE.continuation:
      case OPCODE.text: // fragmented
      case OPCODE.binary: {
        // binary frames are not part of the protocol but are reassembled like text
        const continuation = opcode === OPCODE.continuation;
        if (continuation !== (this.fragments !== null)) {
          handler.onProtocolError(CLOSE.protocolError, 'unexpected continuation frame');
          return;
        }
        const fragments = (this.fragments ??= []);
        this.fragmentBytes += end - start;
        if (this.fragmentBytes > this.maxMessageBytes) {
          handler.onProtocolError(CLOSE.tooBig, 'message too big');
          return;
        }
        fragments.push(Buffer.from(buf.subarray(start, end)));
        if (fin) {
          const whole = Buffer.concat(fragments);
          this.fragments = null;
          this.fragmentBytes = 0;
          this.text.onText(whole, 0, whole.length, this.readUs);
        }
        return;
      }
      case OPCODE.close:
      case OPCODE.ping:
      case OPCODE.pong:
        handler.onControl(opcode, buf, start, end);
        return;
      default:
        handler.onProtocolError(CLOSE.protocolError, `unknown opcode ${opcode}`);
    }
  }
}
