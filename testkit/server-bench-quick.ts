// A quick, bounded throughput check for the server modes (not the real instrument — that is
// client-bench/). It starts `main.js --mode X --port 0 --rate 0`, opens N raw WebSocket
// connections that subscribe to everything and only count frames (header parsing, no UTF-8, no
// JSON), and reports delivered frames/s over a measured window after a warm-up. Run it under
// `flock /tmp/wsbench-bench.lock` on a shared machine:
//   node dist/testkit/server-bench-quick.js --mode uws --clients 100 --seconds 5
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { defineFlags, helpText, parse, parseCli, runMain, type Values } from '../protocol/cli.js';
import { EXIT, MODE_NAMES, readHeader } from '../protocol/index.js';
import { startServer } from './server-harness.js';

const PROGRAM = 'server-bench-quick';

const FLAGS = defineFlags({
  modes: {
    long: 'mode',
    short: 'm',
    arg: 'LIST',
    help: 'modes to measure, in this order',
    default: [...MODE_NAMES] as string[],
    parse: parse.list(parse.oneOf(MODE_NAMES), `a comma list of ${MODE_NAMES.join(', ')}`),
  },
  clients: {
    long: 'clients',
    short: 'c',
    arg: 'N',
    help: 'raw counting connections',
    default: 1,
    parse: parse.int(1, 100000),
  },
  seconds: {
    long: 'seconds',
    short: 'd',
    arg: 'S',
    help: 'measured window',
    default: 5,
    parse: parse.int(1, 3600),
  },
  warmup: {
    long: 'warmup',
    short: 'w',
    arg: 'S',
    help: 'warm-up before the window',
    default: 2,
    parse: parse.int(0, 3600),
  },
});

type Options = Values<typeof FLAGS> & { serverArgs: string[] };

/** Counts server frames on one raw connection; assumes unfragmented, unmasked server frames. */
class FrameCounter {
  frames = 0;
  bytes = 0;
  /** Payload bytes of the current frame still to come. */
  private skip = 0;
  /** A header split across reads, kept until it is complete. */
  private partial: Buffer | null = null;

  feed(buf: Buffer, n: number): void {
    this.bytes += n;
    let i = 0;
    if (this.partial) {
      buf = Buffer.concat([this.partial, buf.subarray(0, n)]);
      n = buf.length;
      this.partial = null;
    }
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

function maskedTextFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  const mask = randomBytes(4);
  const head = Buffer.from([0x81, 0x80 | payload.length]);
  for (let i = 0; i < payload.length; i++) payload[i] = (payload[i] ?? 0) ^ (mask[i & 3] ?? 0);
  return Buffer.concat([head, mask, payload]);
}

function openClient(port: number): Promise<FrameCounter> {
  return new Promise((resolve, reject) => {
    const counter = new FrameCounter();
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
            reject(new Error(`upgrade refused: ${pending.split('\r\n')[0]}`));
            return false;
          }
          upgraded = true;
          sock.write(maskedTextFrame('{"op":"subscribe","symbols":["*"]}'));
          const rest = Buffer.from(pending.slice(end + 4), 'latin1');
          if (rest.length) counter.feed(rest, rest.length);
          resolve(counter);
          return true;
        },
      },
    });
    sock.setNoDelay(true);
    sock.on('error', reject);
    sock.on('connect', () =>
      sock.write(
        'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      ),
    );
  });
}

function cpuSeconds(pid: number): number {
  // /proc/<pid>/stat fields 14 and 15: utime and stime in clock ticks (100 Hz on Linux).
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const parts = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(parts[11] ?? 0) + Number(parts[12] ?? 0)) / 100;
}

/** Sums every sample of each named metric (over its labels) from one /metrics scrape. */
async function scrape(port: number, names: string[]): Promise<number[]> {
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

async function benchMode(mode: string, o: Options) {
  const server = await startServer(['--mode', mode, '--rate', '0', ...o.serverArgs]);
  server.proc.stderr.pipe(process.stderr);
  const { port, pid } = server.ready;
  try {
    const counters = await Promise.all(Array.from({ length: o.clients }, () => openClient(port)));
    await new Promise((r) => setTimeout(r, o.warmup * 1000));
    const sum = () => counters.reduce((a, c) => a + c.frames, 0);
    const names = ['wsbench_server_messages_sent_total', 'wsbench_server_messages_dropped_total'];
    await scrape(port, names); // warm the HTTP client up so both samples cost the same
    // Client counts are read right after each scrape returns, so both windows line up.
    const [s0 = 0, d0 = 0] = await scrape(port, names);
    const f0 = sum();
    const cpu0 = cpuSeconds(pid);
    const t0 = process.hrtime.bigint();
    await new Promise((r) => setTimeout(r, o.seconds * 1000));
    const [s1 = 0, d1 = 0] = await scrape(port, names);
    const f1 = sum();
    const cpu1 = cpuSeconds(pid);
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    const perClient = counters.map((c) => c.frames);
    return {
      mode,
      clients: o.clients,
      seconds: Math.round(secs * 100) / 100,
      receivedPerSec: Math.round((f1 - f0) / secs),
      serverSentPerSec: Math.round((s1 - s0) / secs),
      serverDroppedPerSec: Math.round((d1 - d0) / secs),
      serverCpuCores: Math.round(((cpu1 - cpu0) / secs) * 100) / 100,
      minClientTotal: Math.min(...perClient),
    };
  } finally {
    await server.stop();
  }
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const dashes = argv.indexOf('--');
  const r = parseCli(PROGRAM, FLAGS, dashes < 0 ? argv : argv.slice(0, dashes));
  if (r.help) {
    process.stdout.write(
      helpText(FLAGS, {
        usage: `node dist/testkit/${PROGRAM}.js [options] [-- server flags]`,
        about: [
          'Frames/s per server mode at rate 0, counted on raw connections (header walk only).',
        ],
      }),
    );
    return EXIT.ok;
  }
  const o: Options = { ...r.values, serverArgs: dashes < 0 ? [] : argv.slice(dashes + 1) };
  for (const mode of o.modes) {
    const res = await benchMode(mode, o);
    process.stderr.write(
      `${mode.padEnd(9)} clients=${res.clients} received ${res.receivedPerSec.toLocaleString('en')} msg/s ` +
        `(server sent ${res.serverSentPerSec.toLocaleString('en')}/s, dropped ${res.serverDroppedPerSec}/s, ` +
        `server CPU ${res.serverCpuCores} cores)\n`,
    );
    process.stdout.write(JSON.stringify(res) + '\n');
  }
  // Raw sockets stay open until the process ends.
  setImmediate(() => process.exit(process.exitCode ?? EXIT.ok));
  return EXIT.ok;
}

runMain(main);
