// Light counting clients for the server benches (not the instrument — that is client-bench/):
// raw net.Socket connections that upgrade by hand, subscribe to every symbol and count the frames
// the server sends. FrameCounter walks frame headers only (for max-rate runs); LatencyCounter also
// reads each tick's `ts` and records due-time -> receive latency (for fixed-rate runs, where a
// few tens of thousands of frames per second cost the bench process little).
// Also here: the /proc CPU reading and /metrics sums the benches share.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { createScanned, FRAME_TICK, nowUs, readHeader, scanFrameAt } from '../protocol/index.js';

export interface Counter {
  frames: number;
  bytes: number;
  feed(buf: Buffer, n: number): void;
}

/** Counts server frames by walking their headers (unfragmented, unmasked server frames). */
export class FrameCounter implements Counter {
  frames = 0;
  bytes = 0;
  /** Payload bytes of the current frame still to come. */
  private skip = 0;
  /** A header split across reads, kept until it is complete. */
  private partial: Buffer | null = null;

  feed(chunk: Buffer, length: number): void {
    this.bytes += length;
    let buf = chunk;
    let n = length;
    if (this.partial) {
      buf = Buffer.concat([this.partial, chunk.subarray(0, length)]);
      n = buf.length;
      this.partial = null;
    }
    let i = 0;
    while (i < n) {
      if (this.skip > 0) {
        const take = Math.min(this.skip, n - i);
        this.skip -= take;
        i += take;
        continue;
      }
      const len7 = (buf[i + 1] ?? 0x7f) & 0x7f;
      if (n - i >= 2 && len7 < 126) {
        // Fast path: a small frame whose header is complete in this chunk.
        this.frames++;
        this.skip = len7;
        i += 2;
        continue;
      }
      const h = readHeader(buf, i, n);
      if (h === null) {
        this.partial = Buffer.from(buf.subarray(i, n));
        return;
      }
      this.frames++;
      this.skip = h.payloadLength;
      i += h.headerLength;
    }
  }
}

/** Counts whole frames and records each tick's latency (receive time - its `ts`) in µs. */
export class LatencyCounter implements Counter {
  frames = 0;
  bytes = 0;
  /** Latencies in µs since the last take(). */
  latencies: number[] = [];
  private carry: Buffer | null = null;
  private readonly scanned = createScanned();

  feed(chunk: Buffer, length: number): void {
    this.bytes += length;
    const now = nowUs();
    let buf = chunk.subarray(0, length);
    if (this.carry) {
      buf = Buffer.concat([this.carry, buf]);
      this.carry = null;
    }
    let i = 0;
    for (;;) {
      const h = readHeader(buf, i);
      if (h === null || i + h.headerLength + h.payloadLength > buf.length) break;
      const start = i + h.headerLength;
      const end = start + h.payloadLength;
      this.frames++;
      if (scanFrameAt(buf, start, end, this.scanned) === FRAME_TICK)
        this.latencies.push(now - this.scanned.ts);
      i = end;
    }
    if (i < buf.length) this.carry = Buffer.from(buf.subarray(i));
  }

  /** The latencies recorded since the last call (and forget them). */
  take(): number[] {
    const l = this.latencies;
    this.latencies = [];
    return l;
  }
}

function maskedTextFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  const mask = randomBytes(4);
  const head = Buffer.from([0x81, 0x80 | payload.length]);
  for (let i = 0; i < payload.length; i++) payload[i] = (payload[i] ?? 0) ^ (mask[i & 3] ?? 0);
  return Buffer.concat([head, mask, payload]);
}

/** Opens one raw connection, upgrades, subscribes to every symbol; resolves once subscribed. */
export function openCountingClient<C extends Counter>(port: number, counter: C): Promise<C> {
  return new Promise((resolve, reject) => {
    let upgraded = false;
    let pending = '';
    const sock = net.connect({
      port,
      host: '127.0.0.1',
      onread: {
        buffer: Buffer.allocUnsafe(256 * 1024),
        callback: (n: number, buf: Uint8Array) => {
          const b = buf as Buffer;
          if (upgraded) {
            counter.feed(b, n);
            return true;
          }
          pending += b.toString('latin1', 0, n);
          const end = pending.indexOf('\r\n\r\n');
          if (end < 0) return true;
          if (!pending.startsWith('HTTP/1.1 101')) {
            reject(new Error(`upgrade refused: ${pending.split('\r\n')[0] ?? ''}`));
            return false;
          }
          upgraded = true;
          sock.write(maskedTextFrame('{"op":"subscribe","symbols":["*"]}'));
          const rest = Buffer.from(pending.slice(end + 4), 'latin1');
          if (rest.length > 0) counter.feed(rest, rest.length);
          resolve(counter);
          return true;
        },
      },
    });
    sock.setNoDelay(true);
    sock.on('error', reject);
    sock.on('connect', () => {
      sock.write(
        'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
  });
}

/** CPU seconds (user + system) of a process from /proc/<pid>/stat (100 Hz clock ticks). */
export function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const parts = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(parts[11] ?? 0) + Number(parts[12] ?? 0)) / 100;
}

/** Sums every sample of each named metric (over its labels) from one /metrics scrape. */
export async function scrapeSums(port: number, names: readonly string[]): Promise<number[]> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const sums = names.map(() => 0);
  for (const line of text.split('\n')) {
    names.forEach((n, i) => {
      if (line.startsWith(n + '{') || line.startsWith(n + ' '))
        sums[i] = (sums[i] ?? 0) + Number(line.split(' ').pop());
    });
  }
  return sums;
}

/** The q-quantile (0..1) of sorted values (nearest rank), or 0 for none. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0;
}
