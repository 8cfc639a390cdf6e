// The capacity reference: the least work a client can do per message — read frame headers and
// skip payloads, nothing else (no scan, no seq, no latency, no copy). client-bench must absorb
// at least 0.9 of what this counts from the same server and load (see capacity.ts).
//   node dist/client-bench/reference-counter.js --url ws://127.0.0.1:8080/ -c 1 -d 5 -w 1
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';

export interface ReferenceOptions {
  url: string;
  clients: number;
  duration: number;
  warmup: number;
  symbols?: string[];
}

export interface ReferenceResult {
  received: number;
  seconds: number;
  msgsPerSec: number;
}

function masked(text: string): Buffer {
  const payload = Buffer.from(text);
  const out = Buffer.alloc(2 + 4 + payload.length);
  out[0] = 0x81;
  out[1] = 0x80 | payload.length; // commands are < 126 bytes
  randomBytes(4).copy(out, 2);
  for (let i = 0; i < payload.length; i++) out[6 + i] = payload[i] ^ out[2 + (i & 3)];
  return out;
}

/** One connection: a counter of complete data frames. */
class CountingSocket {
  frames = 0;
  /** Bytes of the current frame's payload still to skip. */
  private skip = 0;
  /** Header bytes carried over a chunk boundary. */
  private readonly head = Buffer.alloc(14);
  private headLen = 0;
  private upgraded = false;
  readonly socket: net.Socket;

  constructor(
    host: string,
    port: number,
    path: string,
    subscribe: string,
    onOpen: () => void,
    onFail: (e: Error) => void,
  ) {
    this.socket = net.connect({ host, port, noDelay: true }, () => {
      this.socket.write(
        `GET ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
    let pre = Buffer.alloc(0);
    this.socket.on('error', onFail);
    this.socket.on('data', (chunk: Buffer) => {
      if (!this.upgraded) {
        pre = Buffer.concat([pre, chunk]);
        const end = pre.indexOf('\r\n\r\n');
        if (end < 0) return;
        if (!pre.subarray(0, 12).toString('latin1').includes(' 101'))
          return onFail(new Error('upgrade refused'));
        this.upgraded = true;
        this.socket.write(masked(subscribe));
        onOpen();
        chunk = pre.subarray(end + 4);
      }
      this.count(chunk);
    });
  }

  private count(buf: Buffer): void {
    let off = 0;
    const n = buf.length;
    while (off < n) {
      if (this.skip > 0) {
        const s = Math.min(this.skip, n - off);
        this.skip -= s;
        off += s;
        continue;
      }
      if (this.headLen > 0 || n - off < 10) {
        // A header that may be split across chunks: one byte at a time (rare).
        this.head[this.headLen++] = buf[off++];
        const need = headerLength(this.head, this.headLen);
        if (need < 0 || this.headLen < need) continue;
        this.frames++;
        this.skip = payloadLength(this.head);
        this.headLen = 0;
        continue;
      }
      const b1 = buf[off + 1] & 0x7f;
      let payload = b1;
      let hdr = 2;
      if (b1 === 126) {
        payload = (buf[off + 2] << 8) | buf[off + 3];
        hdr = 4;
      } else if (b1 === 127) {
        payload = buf.readUInt32BE(off + 2) * 0x100000000 + buf.readUInt32BE(off + 6);
        hdr = 10;
      }
      this.frames++;
      off += hdr;
      this.skip = payload;
    }
  }
}

function headerLength(h: Buffer, have: number): number {
  if (have < 2) return -1;
  const b1 = h[1] & 0x7f;
  const need = b1 < 126 ? 2 : b1 === 126 ? 4 : 10;
  return have >= need ? need : -1;
}

function payloadLength(h: Buffer): number {
  const b1 = h[1] & 0x7f;
  if (b1 < 126) return b1;
  if (b1 === 126) return (h[2] << 8) | h[3];
  return h.readUInt32BE(2) * 0x100000000 + h.readUInt32BE(6);
}

export async function runReference(o: ReferenceOptions): Promise<ReferenceResult> {
  const u = new URL(o.url);
  const host = u.hostname;
  const port = Number(u.port || 80);
  const subscribe = JSON.stringify({ op: 'subscribe', symbols: o.symbols ?? ['*'] });
  const socks: CountingSocket[] = [];
  await new Promise<void>((resolve, reject) => {
    let open = 0;
    for (let i = 0; i < o.clients; i++) {
      socks.push(
        new CountingSocket(
          host,
          port,
          u.pathname + u.search,
          subscribe,
          () => ++open === o.clients && resolve(),
          reject,
        ),
      );
    }
  });
  const total = () => socks.reduce((a, s) => a + s.frames, 0);
  await new Promise((r) => setTimeout(r, o.warmup * 1000));
  const before = total();
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, o.duration * 1000));
  const received = total() - before;
  const seconds = (performance.now() - t0) / 1000;
  for (const s of socks) s.socket.destroy();
  return { received, seconds, msgsPerSec: received / seconds };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = process.argv.slice(2);
  const get = (short: string, long: string, def: string) => {
    const i = args.findIndex((a) => a === short || a === long);
    return i >= 0 ? args[i + 1] : def;
  };
  const r = await runReference({
    url: get('-u', '--url', 'ws://127.0.0.1:8080/'),
    clients: Number(get('-c', '--clients', '1')),
    duration: Number(get('-d', '--duration', '5')),
    warmup: Number(get('-w', '--warmup', '1')),
  });
  process.stdout.write(JSON.stringify(r) + '\n');
}
