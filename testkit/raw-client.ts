// A hostile WebSocket client for tests: net.Socket, the upgrade written by hand, and frames built
// byte by byte so that a test can send what no well-behaved library would (reserved bits, unknown
// opcodes, fragmented control frames, unmasked frames, a 64-bit length it never sends, invalid
// UTF-8, bad close codes). It records every frame the server sends back and how the connection
// ended, so a test can assert what a user would see on the wire.
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { OPCODE, readHeader } from '../protocol/framing.js';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const HEADER_END = '\r\n\r\n';

export interface FrameSpec {
  opcode: number;
  payload?: Buffer | string;
  /** FIN bit; default true. */
  fin?: boolean;
  /** RSV1-3 as a 3-bit number (4 = RSV1); default 0. */
  rsv?: number;
  /** Mask the payload (clients must, RFC 6455 §5.1); default true. */
  mask?: boolean;
  /**
   * The length written in the header instead of the payload's (a lie the server must not
   * believe); forces the 64-bit length form when above 65535.
   */
  declaredLength?: number;
}

/** One frame's bytes exactly as `spec` says, valid or not. */
export function buildFrame(spec: FrameSpec): Buffer {
  const payload =
    typeof spec.payload === 'string'
      ? Buffer.from(spec.payload)
      : (spec.payload ?? Buffer.alloc(0));
  const mask = spec.mask ?? true;
  const len = spec.declaredLength ?? payload.length;
  const ext = len < 126 ? 0 : len < 65536 ? 2 : 8;
  const head = Buffer.alloc(2 + ext + (mask ? 4 : 0));
  head[0] = ((spec.fin ?? true) ? 0x80 : 0) | (((spec.rsv ?? 0) & 7) << 4) | (spec.opcode & 0x0f);
  const lenBits = ext === 0 ? len : ext === 2 ? 126 : 127;
  head[1] = (mask ? 0x80 : 0) | lenBits;
  if (ext === 2) head.writeUInt16BE(len, 2);
  else if (ext === 8) head.writeBigUInt64BE(BigInt(len), 2);
  if (!mask) return Buffer.concat([head, payload]);
  const key = randomBytes(4);
  key.copy(head, 2 + ext);
  const body = Buffer.allocUnsafe(payload.length);
  for (let i = 0; i < payload.length; i++) body[i] = (payload[i] ?? 0) ^ (key[i & 3] ?? 0);
  return Buffer.concat([head, body]);
}

/** The payload of a close frame: the code (2 bytes) and a reason. */
export function closePayload(code: number, reason = ''): Buffer {
  const b = Buffer.alloc(2 + Buffer.byteLength(reason));
  b.writeUInt16BE(code, 0);
  b.write(reason, 2);
  return b;
}

export interface ReceivedFrame {
  fin: boolean;
  rsv: number;
  opcode: number;
  payload: Buffer;
}

/** How the connection ended, as the client saw it. */
export interface Ending {
  /** The server's close frame: its code (1005 when it carried none) and reason; null if none. */
  closeFrame: { code: number; reason: string } | null;
  /** The TCP connection is gone (FIN or RST). */
  socketClosed: boolean;
}

export class RawClient {
  readonly frames: ReceivedFrame[] = [];
  closeFrame: { code: number; reason: string } | null = null;
  socketClosed = false;
  /** Bytes the server sent that are not a frame we could parse (after the handshake). */
  private buf: Buffer = Buffer.alloc(0);
  private waiters: (() => void)[] = [];

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
      this.parse();
      this.notify();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.socketClosed = true;
      this.notify();
    });
  }

  /** Opens a TCP connection and completes the upgrade; rejects unless the answer is 101. */
  static async connect(port: number, host = '127.0.0.1', path = '/'): Promise<RawClient> {
    const socket = net.connect(port, host);
    socket.setNoDelay(true);
    const key = randomBytes(16).toString('base64');
    const accept = createHash('sha1')
      .update(key + GUID)
      .digest('base64');
    const rest = await new Promise<Buffer>((resolve, reject) => {
      let head = Buffer.alloc(0);
      const timer = setTimeout(() => {
        fail(new Error('no upgrade answer in 5 s'));
      }, 5000);
      const fail = (err: Error) => {
        clearTimeout(timer);
        socket.destroy();
        reject(err);
      };
      const onData = (d: Buffer) => {
        head = Buffer.concat([head, d]);
        const end = head.indexOf(HEADER_END);
        if (end < 0) return;
        clearTimeout(timer);
        socket.off('data', onData);
        socket.off('error', fail);
        const text = head.subarray(0, end).toString('latin1');
        if (!text.startsWith('HTTP/1.1 101') || !text.toLowerCase().includes(accept.toLowerCase()))
          fail(new Error(`upgrade refused: ${JSON.stringify(text.slice(0, 200))}`));
        else resolve(head.subarray(end + HEADER_END.length));
      };
      socket.on('data', onData);
      socket.once('error', fail);
      socket.once('connect', () =>
        socket.write(
          `GET ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nUpgrade: websocket\r\n` +
            `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
        ),
      );
    });
    const c = new RawClient(socket);
    if (rest.length) socket.emit('data', rest);
    return c;
  }

  private parse(): void {
    for (;;) {
      const h = readHeader(this.buf, 0);
      if (!h) return;
      const end = h.headerLength + h.payloadLength;
      if (this.buf.length < end) return;
      const payload = Buffer.from(this.buf.subarray(h.headerLength, end));
      this.buf = this.buf.subarray(end);
      this.frames.push({ fin: h.fin, rsv: h.rsv, opcode: h.opcode, payload });
      if (h.opcode === OPCODE.close && !this.closeFrame) {
        this.closeFrame =
          payload.length >= 2
            ? { code: payload.readUInt16BE(0), reason: payload.subarray(2).toString() }
            : { code: 1005, reason: '' };
      }
    }
  }

  private notify(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const fn of w) fn();
  }

  /** Resolves once `pred()` holds after some input; resolves false after `ms`. */
  until(pred: () => boolean, ms = 5000): Promise<boolean> {
    if (pred()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        resolve(false);
      }, ms);
      const check = () => {
        if (pred()) {
          clearTimeout(timer);
          resolve(true);
        } else this.waiters.push(check);
      };
      this.waiters.push(check);
    });
  }

  /** The text payloads received so far. */
  get texts(): string[] {
    return this.frames.filter((f) => f.opcode === OPCODE.text).map((f) => f.payload.toString());
  }

  send(spec: FrameSpec): void {
    this.socket.write(buildFrame(spec));
  }

  sendText(text: string, mask = true): void {
    this.send({ opcode: OPCODE.text, payload: text, mask });
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /**
   * Waits until the server sent a close frame and the socket is gone, or `ms` passed, and
   * reports what happened. A server that closes properly answers a close frame and ends TCP.
   */
  async ending(ms = 3000): Promise<Ending> {
    await this.until(() => this.socketClosed, ms);
    return { closeFrame: this.closeFrame, socketClosed: this.socketClosed };
  }

  /** Sends a ping and resolves whether a pong with the same payload came back within `ms`. */
  async ping(payload = 'are you there', ms = 3000): Promise<boolean> {
    const from = this.frames.length;
    this.send({ opcode: OPCODE.ping, payload });
    return this.until(
      () =>
        this.frames
          .slice(from)
          .some((f) => f.opcode === OPCODE.pong && f.payload.toString() === payload),
      ms,
    );
  }

  destroy(): void {
    this.socket.destroy();
  }
}
