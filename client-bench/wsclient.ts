// A lean WebSocket client on net.Socket (RFC 6455, client side, no extensions): the handshake by
// hand, a streaming frame parser that hands text payloads to a sink *in place* (no copy, no
// string, no event emitter per message), masked client frames, ping -> pong, the close handshake.
// It exists because a measuring client must absorb ~1M+ msg/s per connection; the `ws` library's
// per-message Buffer + event costs more than the scan and the accounting together.
import net from 'node:net';
import { createHash, randomBytes, randomFillSync } from 'node:crypto';
import { CLOSE, nowUs, OPCODE, writeHeader, headerLength } from '../protocol/index.js';
import { FrameReader, type FrameHandler } from './frames.js';

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
  /** Before the frames of one socket read of `bytes` bytes are handled (once per read). */
  beforeRead?(bytes: number, nowUs: number): void;
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
  /**
   * A slow consumer: read at most this many bytes/s (reads of SLOW_READ_BYTES into its own
   * buffer, the socket paused between them so the kernel buffers fill and the server sees it).
   */
  readBytesPerSec?: number;
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
const SLOW_READ_BYTES = 4096;

// One read buffer per thread, shared by every socket of the thread: libuv reads into it and the
// callback parses it synchronously before any other socket reads, so sharing is safe and 10,000
// connections do not need 10,000 buffers. Partial frames are copied out (see `carry`).
// One event-loop turn reads at most TURN_BUDGET_BYTES over all of this thread's sockets. libuv
// reads up to 32 times per readable socket per turn; with 100 sockets of a fast server a turn took
// seconds (event-loop p99 2.2 s with a competing process on the core), starving the timers and the
// main thread's window-end message: the worker missed its report deadline and the run came out
// empty. Past the budget a socket pauses (readStop) until the loop's check phase resumes it.
// The same for time: a turn whose reads took TURN_BUDGET_US (a slow or --burn-ns client) pauses
// the sockets it reads next, so that timers and messages still run a few times per second.
const TURN_BUDGET_BYTES = 8 * 1024 * 1024;
const TURN_BUDGET_US = 50_000;
let turnBytes = 0;
let turnStartUs = 0;
let turnEndScheduled = false;
let pausedThisTurn: LeanWebSocket[] = [];
function endTurn(): void {
  turnEndScheduled = false;
  turnBytes = 0;
  const paused = pausedThisTurn;
  pausedThisTurn = [];
  for (const ws of paused) ws.resume();
}
/** Counts a read against the turn's budget; pauses `ws` when the budget is spent. */
function chargeRead(ws: LeanWebSocket, socket: net.Socket, n: number, now: number): void {
  if (!turnEndScheduled) {
    turnEndScheduled = true;
    turnStartUs = now;
    setImmediate(endTurn);
  }
  turnBytes += n;
  if (turnBytes > TURN_BUDGET_BYTES || now - turnStartUs > TURN_BUDGET_US) {
    socket.pause();
    pausedThisTurn.push(ws);
  }
}

let sharedReadBuffer: Buffer | null = null;
function readBuffer(): Buffer {
  sharedReadBuffer ??= Buffer.allocUnsafe(READ_BUFFER_BYTES);
  return sharedReadBuffer;
}

export class ConnectError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

/** A masked client frame (RFC 6455 §5.3): the header of protocol/framing.ts plus the mask bit. */
function clientFrame(opcode: number, payload: Buffer): Buffer {
  const len = payload.length;
  const hdr = headerLength(len);
  const out = Buffer.allocUnsafe(hdr + 4 + len);
  writeHeader(out, 0, len);
  out[0] = 0x80 | opcode;
  out[1] = (out[1] ?? 0) | 0x80;
  randomFillSync(out, hdr, 4);
  for (let i = 0; i < len; i++) out[hdr + 4 + i] = (payload[i] ?? 0) ^ (out[hdr + (i & 3)] ?? 0);
  return out;
}

export class LeanWebSocket implements FrameHandler {
  readyState = CONNECTING;
  private readonly socket: net.Socket;
  private readonly key: string;
  private readonly frames: FrameReader;
  private handshake: Buffer | null = Buffer.alloc(0);
  private closeCode: number = CLOSE.abnormal;
  private closeReason = '';
  private error: Error | null = null;
  private closeSent = false;
  private timer: NodeJS.Timeout | null;
  private readonly readBytesPerSec: number;
  /** Paused by the slow-consumer rate (the turn budget must not resume it early). */
  private throttled = false;

  constructor(
    private readonly opts: ConnectOptions,
    private readonly sink: FrameSink,
  ) {
    this.key = randomBytes(16).toString('base64');
    this.frames = new FrameReader(sink, this, opts.maxMessageBytes ?? 64 * 1024 * 1024);
    this.readBytesPerSec = opts.readBytesPerSec ?? 0;
    const onread = {
      buffer: this.readBytesPerSec > 0 ? Buffer.allocUnsafe(SLOW_READ_BYTES) : readBuffer(),
      // The buffer handed back is always the shared one (`buf` is typed Uint8Array).
      callback: (n: number): boolean => {
        this.onRead(n, onread.buffer);
        return true;
      },
    };
    this.socket = net.connect({
      host: opts.host,
      port: opts.port,
      localAddress: opts.localAddress,
      noDelay: true,
      onread,
    });
    this.socket.on('connect', () => {
      this.onConnect();
    });
    this.socket.on('error', (err) => {
      this.error ??= err;
    });
    this.socket.on('close', () => {
      this.onSocketClose();
    });
    this.timer = setTimeout(() => {
      this.fail(new ConnectError(`handshake timed out after ${opts.timeoutMs} ms`, 'ETIMEDOUT'));
    }, opts.timeoutMs);
  }

  /** FrameHandler: parsing stops once the connection is gone. */
  get stopped(): boolean {
    return this.readyState === CLOSED || this.socket.destroyed;
  }

  /** Sends one text message (masked, as a client must). */
  sendText(text: string): void {
    if (this.readyState !== OPEN) return;
    this.socket.write(clientFrame(OPCODE.text, Buffer.from(text)));
  }

  /** Starts the close handshake; the socket is destroyed if the server does not answer. */
  close(code: number = CLOSE.normal): void {
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

  /** Stops reading from the socket (the kernel buffers fill; the server sees backpressure). */
  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    if (!this.throttled && !this.socket.destroyed) this.socket.resume();
  }

  /** Slow consumer: after a read of `n` bytes, no reading for n / rate seconds. */
  private throttle(n: number): void {
    this.throttled = true;
    this.socket.pause();
    setTimeout(
      () => {
        this.throttled = false;
        this.resume();
      },
      (n * 1000) / this.readBytesPerSec,
    );
  }

  private sendClose(code: number): void {
    if (this.closeSent || this.socket.destroyed) return;
    this.closeSent = true;
    const body = Buffer.allocUnsafe(2);
    body.writeUInt16BE(code, 0);
    this.socket.write(clientFrame(OPCODE.close, body));
  }

  private onConnect(): void {
    const { host, port, path } = this.opts;
    this.socket.write(
      `GET ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${this.key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
  }

  private fail(err: Error, code: number = CLOSE.abnormal): void {
    this.error ??= err;
    this.closeCode = code;
    this.socket.destroy();
  }

  private onSocketClose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const wasConnecting = this.readyState === CONNECTING;
    this.readyState = CLOSED;
    if (wasConnecting && this.error === null) {
      this.error = new ConnectError('connection closed during the handshake', 'ECONNRESET');
    }
    this.sink.onClose(this.closeCode, this.closeReason, this.error);
  }

  private onRead(n: number, buf: Buffer): void {
    const now = nowUs();
    chargeRead(this, this.socket, n, now);
    let off = 0;
    if (this.readyState === CONNECTING) {
      off = this.readHandshake(buf, n);
      if (off < 0) return;
    }
    this.sink.beforeRead?.(n, now);
    this.frames.read(buf, off, n, now);
    if (this.readBytesPerSec > 0 && this.readyState === OPEN) this.throttle(n);
  }

  /** Returns the offset after the response headers, or -1 while they are incomplete. */
  private readHandshake(buf: Buffer, n: number): number {
    const all = Buffer.concat([this.handshake ?? Buffer.alloc(0), buf.subarray(0, n)]);
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
    const statusLine = lines[0] ?? '';
    const status = /^HTTP\/1\.1 (\d{3})/.exec(statusLine);
    if (status?.[1] !== '101') {
      this.fail(
        new ConnectError(`unexpected server response: ${JSON.stringify(statusLine)}`, 'EHANDSHAKE'),
      );
      return -1;
    }
    const expected = createHash('sha1')
      .update(this.key + GUID)
      .digest('base64');
    const accept = lines.find((l) => /^sec-websocket-accept:/i.test(l));
    if (accept?.slice(accept.indexOf(':') + 1).trim() !== expected) {
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

  // FrameHandler

  onControl(opcode: number, buf: Buffer, start: number, end: number): void {
    if (opcode === OPCODE.close) {
      this.closeCode = end - start >= 2 ? buf.readUInt16BE(start) : CLOSE.noStatus;
      this.closeReason = end - start > 2 ? buf.toString('utf8', start + 2, end) : '';
      if (this.readyState === OPEN) this.readyState = CLOSING;
      this.sendClose(this.closeCode === CLOSE.noStatus ? CLOSE.normal : this.closeCode);
      this.socket.end();
    } else if (opcode === OPCODE.ping && this.readyState === OPEN) {
      this.socket.write(clientFrame(OPCODE.pong, Buffer.from(buf.subarray(start, end))));
    }
  }

  onProtocolError(code: number, message: string): void {
    this.error ??= new ConnectError(message, 'EPROTO');
    this.closeCode = code;
    if (this.readyState === OPEN) this.sendClose(code);
    this.readyState = CLOSING;
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 100).unref();
  }
}
