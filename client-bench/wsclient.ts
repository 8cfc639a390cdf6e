// A lean WebSocket client on net.Socket (RFC 6455, client side, no extensions): the handshake by
// hand, a streaming frame parser that hands text payloads to a sink *in place* (no copy, no
// string, no event emitter per message), masked client frames, ping -> pong, the close handshake.
// It exists because a measuring client must absorb ~1M+ msg/s per connection; the `ws` library's
// per-message Buffer + event costs more than the scan and the accounting together.
import net from 'node:net';
import { createHash, randomBytes, randomFillSync } from 'node:crypto';
import { nowUs } from '../protocol/index.js';

export interface FrameSink {
  /** The upgrade completed. */
  onOpen(): void;
  /**
   * One complete text message: buf[start..end). `buf` is reused after the call returns, so the
   * sink must not keep it. `nowUs` is the receive time of the read that carried it.
   */
  onText(buf: Buffer, start: number, end: number, nowUs: number): void;
  /** The connection is gone (code 1006 = no close frame; error set on a failure). */
  onClose(code: number, reason: string, error: Error | null): void;
}

export interface ConnectOptions {
  host: string;
  port: number;
  /** Path and query, e.g. "/". */
  path: string;
  localAddress?: string;
  /** Handshake must finish within this, else the connection fails with ETIMEDOUT. */
  timeoutMs: number;
  /** Messages above this close the connection with 1009 (guards the reassembly buffer). */
  maxMessageBytes?: number;
}

export const CONNECTING = 0;
export const OPEN = 1;
export const CLOSING = 2;
export const CLOSED = 3;

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const HEADER_END = Buffer.from('\r\n\r\n', 'latin1');
const MAX_HANDSHAKE_BYTES = 16 * 1024;
const READ_BUFFER_BYTES = 256 * 1024;
const CLOSE_TIMEOUT_MS = 2000;

// One read buffer per thread, shared by every socket of the thread: libuv reads into it and the
// callback parses it synchronously before any other socket reads, so sharing is safe and 10,000
// connections do not need 10,000 buffers. Partial frames are copied out (see `carry`).
// One event-loop turn reads at most TURN_BUDGET_BYTES over all of this thread's sockets. libuv
// reads up to 32 times per readable socket per turn; with 100 sockets of a fast server a turn took
// seconds (event-loop p99 2.2 s with a competing process on the core), starving the timers and the
// main thread's window-end message: the worker missed its report deadline and the run came out
// empty. Past the budget a socket pauses (readStop) until the loop's check phase resumes it.
const TURN_BUDGET_BYTES = 8 * 1024 * 1024;
let turnBytes = 0;
let turnEndScheduled = false;
let pausedThisTurn: net.Socket[] = [];
function endTurn(): void {
  turnEndScheduled = false;
  turnBytes = 0;
  const paused = pausedThisTurn;
  pausedThisTurn = [];
  for (let i = 0; i < paused.length; i++) if (!paused[i].destroyed) paused[i].resume();
}
/** Counts a read against the turn's budget; pauses `socket` when the budget is spent. */
function chargeRead(socket: net.Socket, n: number): void {
  if (!turnEndScheduled) {
    turnEndScheduled = true;
    setImmediate(endTurn);
  }
  turnBytes += n;
  if (turnBytes > TURN_BUDGET_BYTES) {
    socket.pause();
    pausedThisTurn.push(socket);
  }
}

let sharedReadBuffer: Buffer | null = null;
function readBuffer(): Buffer {
  if (!sharedReadBuffer) sharedReadBuffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
  return sharedReadBuffer;
}

/** Total length of the frame at buf[off..end) when its header is complete, else -1. */
function frameLength(buf: Buffer, off: number, end: number): number {
  if (end - off < 2) return -1;
  const b1 = buf[off + 1];
  const len = b1 & 0x7f;
  const maskBytes = b1 & 0x80 ? 4 : 0;
  if (len < 126) return 2 + maskBytes + len;
  if (len === 126) {
    if (end - off < 4) return -1;
    return 4 + maskBytes + ((buf[off + 2] << 8) | buf[off + 3]);
  }
  if (end - off < 10) return -1;
  return 10 + maskBytes + buf.readUInt32BE(off + 2) * 0x100000000 + buf.readUInt32BE(off + 6);
}

export class ConnectError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

export class LeanWebSocket {
  readyState = CONNECTING;
  private readonly socket: net.Socket;
  private readonly key: string;
  private readonly maxMessageBytes: number;
  private handshake: Buffer | null = Buffer.alloc(0);
  private carry: Buffer = Buffer.alloc(0);
  private carryLen = 0;
  private fragments: Buffer[] | null = null;
  private fragmentBytes = 0;
  private closeCode = 1006;
  private closeReason = '';
  private error: Error | null = null;
  private closeSent = false;
  /** Receive time of the read being parsed: one clock read per read, not per message. */
  private readUs = 0;
  private timer: NodeJS.Timeout | null;

  constructor(
    private readonly opts: ConnectOptions,
    private readonly sink: FrameSink,
  ) {
    this.key = randomBytes(16).toString('base64');
    this.maxMessageBytes = opts.maxMessageBytes ?? 64 * 1024 * 1024;
    this.socket = net.connect({
      host: opts.host,
      port: opts.port,
      localAddress: opts.localAddress,
      noDelay: true,
      onread: { buffer: readBuffer(), callback: (n: number, buf: Buffer) => this.onRead(n, buf) },
    } as unknown as net.NetConnectOpts);
    this.socket.on('connect', () => this.onConnect());
    this.socket.on('error', (err) => {
      this.error ??= err;
    });
    this.socket.on('close', () => this.onSocketClose());
    this.timer = setTimeout(() => {
      this.fail(new ConnectError(`handshake timed out after ${opts.timeoutMs} ms`, 'ETIMEDOUT'));
    }, opts.timeoutMs);
  }

  /** Sends one text message (masked, as a client must). */
  sendText(text: string): void {
    if (this.readyState !== OPEN) return;
    this.socket.write(this.frame(0x1, Buffer.from(text)));
  }

  /** Starts the close handshake; the socket is destroyed if the server does not answer. */
  close(code = 1000): void {
    if (this.readyState === CONNECTING) {
      this.fail(new ConnectError('closed before the handshake completed', 'ECLOSED'));
      return;
    }
    if (this.readyState !== OPEN) return;
    this.readyState = CLOSING;
    this.sendClose(code);
    this.timer = setTimeout(() => this.socket.destroy(), CLOSE_TIMEOUT_MS);
  }

  /** Drops the connection at once (no close frame). */
  terminate(): void {
    this.socket.destroy();
  }

  private frame(opcode: number, payload: Buffer): Buffer {
    const len = payload.length;
    const hdr = len < 126 ? 2 : len < 65536 ? 4 : 10;
    const out = Buffer.allocUnsafe(hdr + 4 + len);
    out[0] = 0x80 | opcode;
    if (hdr === 2) out[1] = 0x80 | len;
    else if (hdr === 4) {
      out[1] = 0x80 | 126;
      out.writeUInt16BE(len, 2);
    } else {
      out[1] = 0x80 | 127;
      out.writeUInt32BE(Math.floor(len / 0x100000000), 2);
      out.writeUInt32BE(len >>> 0, 6);
    }
    randomFillSync(out, hdr, 4);
    for (let i = 0; i < len; i++) out[hdr + 4 + i] = payload[i] ^ out[hdr + (i & 3)];
    return out;
  }

  private sendClose(code: number): void {
    if (this.closeSent || this.socket.destroyed) return;
    this.closeSent = true;
    const body = Buffer.allocUnsafe(2);
    body.writeUInt16BE(code, 0);
    this.socket.write(this.frame(0x8, body));
  }

  private onConnect(): void {
    const { host, port, path } = this.opts;
    this.socket.write(
      `GET ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${this.key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
  }

  private fail(err: Error, code = 1006): void {
    this.error ??= err;
    this.closeCode = code;
    this.socket.destroy();
  }

  private onSocketClose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const wasConnecting = this.readyState === CONNECTING;
    this.readyState = CLOSED;
    if (wasConnecting && !this.error) {
      this.error = new ConnectError('connection closed during the handshake', 'ECONNRESET');
    }
    this.sink.onClose(this.closeCode, this.closeReason, this.error);
  }

  private onRead(n: number, buf: Buffer): void {
    this.readUs = nowUs();
    chargeRead(this.socket, n);
    let off = 0;
    if (this.readyState === CONNECTING) {
      off = this.readHandshake(buf, n);
      if (off < 0) return;
    }
    if (this.carryLen > 0) {
      off = this.fillCarry(buf, off, n);
      if (this.carryLen > 0) return;
    }
    const rest = this.parse(buf, off, n);
    if (rest < n && this.readyState !== CLOSED) this.saveCarry(buf, rest, n);
  }

  /** Returns the offset after the response headers, or -1 while they are incomplete. */
  private readHandshake(buf: Buffer, n: number): number {
    const prev = this.handshake!;
    const all = Buffer.concat([prev, buf.subarray(0, n)]);
    const end = all.indexOf(HEADER_END);
    if (end < 0) {
      if (all.length > MAX_HANDSHAKE_BYTES)
        this.fail(new ConnectError('handshake response too large', 'EPROTO'));
      else this.handshake = all;
      return -1;
    }
    this.handshake = null;
    const head = all.subarray(0, end).toString('latin1');
    const lines = head.split('\r\n');
    const status = /^HTTP\/1\.1 (\d{3})/.exec(lines[0]);
    if (!status || status[1] !== '101') {
      this.fail(
        new ConnectError(`unexpected server response: ${JSON.stringify(lines[0])}`, 'EHANDSHAKE'),
      );
      return -1;
    }
    const expected = createHash('sha1')
      .update(this.key + GUID)
      .digest('base64');
    const accept = lines.find((l) => /^sec-websocket-accept:/i.test(l));
    if (!accept || accept.slice(accept.indexOf(':') + 1).trim() !== expected) {
      this.fail(new ConnectError('invalid Sec-WebSocket-Accept header', 'EHANDSHAKE'));
      return -1;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.readyState = OPEN;
    this.sink.onOpen();
    // Bytes after the headers belong to the first frames; they sit at the tail of `buf`.
    const tail = all.length - (end + HEADER_END.length);
    return n - tail;
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
        this.protocolError(1009, 'message too big');
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
      this.protocolError(1009, 'message too big');
      return;
    }
    this.ensureCarry(Math.max(len, total));
    buf.copy(this.carry, 0, from, n);
    this.carryLen = len;
  }

  /** Handles every complete frame in buf[off..end); returns the offset of the first partial one. */
  private parse(buf: Buffer, off: number, end: number): number {
    const sink = this.sink;
    while (end - off >= 2) {
      const b0 = buf[off];
      const b1 = buf[off + 1];
      let len = b1 & 0x7f;
      let hdr = 2;
      if (len === 126) {
        if (end - off < 4) break;
        len = (buf[off + 2] << 8) | buf[off + 3];
        hdr = 4;
      } else if (len === 127) {
        if (end - off < 10) break;
        len = buf.readUInt32BE(off + 2) * 0x100000000 + buf.readUInt32BE(off + 6);
        hdr = 10;
      }
      if (b1 & 0x80) {
        this.protocolError(1002, 'server frames must not be masked');
        return end;
      }
      if (off + hdr + len > end) break;
      const start = off + hdr;
      off = start + len;
      if (b0 === 0x81) sink.onText(buf, start, off, this.readUs);
      else {
        // Only control frames (and protocol errors) end the connection mid-read.
        this.onOtherFrame(b0, buf, start, off);
        if (this.readyState === CLOSED || this.socket.destroyed) return end;
      }
    }
    return off;
  }

  private onOtherFrame(b0: number, buf: Buffer, start: number, end: number): void {
    const fin = (b0 & 0x80) !== 0;
    const opcode = b0 & 0x0f;
    if ((b0 & 0x70) !== 0) return this.protocolError(1002, 'RSV bits set without an extension');
    switch (opcode) {
      case 0x0: // continuation
      case 0x1: // text, fragmented
      case 0x2: {
        // binary frames are not part of the protocol but are reassembled like text
        if ((opcode === 0 && !this.fragments) || (opcode !== 0 && this.fragments)) {
          return this.protocolError(1002, 'unexpected continuation frame');
        }
        this.fragments ??= [];
        this.fragmentBytes += end - start;
        if (this.fragmentBytes > this.maxMessageBytes)
          return this.protocolError(1009, 'message too big');
        this.fragments.push(Buffer.from(buf.subarray(start, end)));
        if (fin) {
          const whole = Buffer.concat(this.fragments);
          this.fragments = null;
          this.fragmentBytes = 0;
          this.sink.onText(whole, 0, whole.length, this.readUs);
        }
        return;
      }
      case 0x8: {
        this.closeCode = end - start >= 2 ? buf.readUInt16BE(start) : 1005;
        this.closeReason = end - start > 2 ? buf.toString('utf8', start + 2, end) : '';
        if (this.readyState === OPEN) this.readyState = CLOSING;
        this.sendClose(this.closeCode === 1005 ? 1000 : this.closeCode);
        this.socket.end();
        return;
      }
      case 0x9:
        if (this.readyState === OPEN)
          this.socket.write(this.frame(0xa, Buffer.from(buf.subarray(start, end))));
        return;
      case 0xa:
        return;
      default:
        return this.protocolError(1002, `unknown opcode ${opcode}`);
    }
  }

  private protocolError(code: number, message: string): void {
    this.error ??= new ConnectError(message, 'EPROTO');
    this.closeCode = code;
    if (this.readyState === OPEN) this.sendClose(code);
    this.readyState = CLOSING;
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 100).unref();
  }
}
