// The capacity reference: the least work a client can do per message — read frame headers and
// skip payloads, nothing else (no scan, no seq, no latency, no copy). client-bench must absorb
// at least 0.9 of what this counts from the same server and load (see client-capacity.ts).
//   node dist/testkit/client-reference-counter.js --url ws://127.0.0.1:8080/ -c 1 -d 5 -w 1
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { defineFlags, helpText, parse, parseCli, runMain } from '../protocol/cli.js';
import { EXIT } from '../protocol/codes.js';

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
  /** CPU of this process over the window, in cores, and per counted frame. */
  cpuCores: number;
  nsPerFrame: number;
}

function masked(text: string): Buffer {
  const payload = Buffer.from(text);
  const out = Buffer.alloc(2 + 4 + payload.length);
  out[0] = 0x81;
  out[1] = 0x80 | payload.length; // commands are < 126 bytes
  randomBytes(4).copy(out, 2);
  for (let i = 0; i < payload.length; i++) out[6 + i] = (payload[i] ?? 0) ^ (out[2 + (i & 3)] ?? 0);
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
        if (!pre.subarray(0, 12).toString('latin1').includes(' 101')) {
          onFail(new Error('upgrade refused'));
          return;
        }
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
        this.head[this.headLen++] = buf[off++] ?? 0;
        const need = headerLength(this.head, this.headLen);
        if (need < 0 || this.headLen < need) continue;
        this.frames++;
        this.skip = payloadLength(this.head);
        this.headLen = 0;
        continue;
      }
      const b1 = (buf[off + 1] ?? 0) & 0x7f;
      let payload = b1;
      let hdr = 2;
      if (b1 === 126) {
        payload = ((buf[off + 2] ?? 0) << 8) | (buf[off + 3] ?? 0);
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
  const b1 = (h[1] ?? 0) & 0x7f;
  const need = b1 < 126 ? 2 : b1 === 126 ? 4 : 10;
  return have >= need ? need : -1;
}

function payloadLength(h: Buffer): number {
  const b1 = (h[1] ?? 0) & 0x7f;
  if (b1 < 126) return b1;
  if (b1 === 126) return ((h[2] ?? 0) << 8) | (h[3] ?? 0);
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
          () => {
            if (++open === o.clients) resolve();
          },
          reject,
        ),
      );
    }
  });
  const total = () => socks.reduce((a, s) => a + s.frames, 0);
  await new Promise((r) => setTimeout(r, o.warmup * 1000));
  const before = total();
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  await new Promise((r) => setTimeout(r, o.duration * 1000));
  const received = total() - before;
  const cpu = process.cpuUsage(cpu0);
  const seconds = (performance.now() - t0) / 1000;
  for (const s of socks) s.socket.destroy();
  const cpuSec = (cpu.user + cpu.system) / 1e6;
  return {
    received,
    seconds,
    msgsPerSec: received / seconds,
    cpuCores: cpuSec / seconds,
    nsPerFrame: received > 0 ? (cpuSec * 1e9) / received : 0,
  };
}

const FLAGS = defineFlags({
  url: {
    long: 'url',
    short: 'u',
    arg: 'URL',
    help: 'server WebSocket URL',
    default: 'ws://127.0.0.1:8080/',
    parse: parse.matching(/^ws:\/\/[^/]+\/?/, 'a ws:// URL such as ws://127.0.0.1:8080/'),
  },
  clients: {
    long: 'clients',
    short: 'c',
    arg: 'N',
    help: 'connections',
    default: 1,
    parse: parse.int(1, 100_000),
  },
  duration: {
    long: 'duration',
    short: 'd',
    arg: 'S',
    help: 'counted seconds',
    default: 5,
    parse: parse.number(0.1, 3600),
  },
  warmup: {
    long: 'warmup',
    short: 'w',
    arg: 'S',
    help: 'seconds before counting',
    default: 1,
    parse: parse.number(0, 3600),
  },
});

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  runMain(async () => {
    const parsed = parseCli('client-reference-counter', FLAGS, process.argv.slice(2));
    if (parsed.help) {
      process.stdout.write(
        helpText(FLAGS, { usage: 'node dist/testkit/client-reference-counter.js [options]' }) +
          '\n',
      );
      return EXIT.ok;
    }
    const r = await runReference(parsed.values);
    process.stdout.write(JSON.stringify(r) + '\n');
    return EXIT.ok;
  });
}
