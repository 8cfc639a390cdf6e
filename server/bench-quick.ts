// A quick, bounded throughput check for the server modes (not the real instrument — that is
// client-bench/). It starts `main.js --mode X --port 0 --rate 0`, opens N raw WebSocket
// connections that subscribe to everything and only count frames (header parsing, no UTF-8, no
// JSON), and reports delivered frames/s over a measured window after a warm-up. Run it under
// `flock /tmp/wsbench-bench.lock` on a shared machine:
//   node dist/server/bench-quick.js --mode uws --clients 100 --seconds 5
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));

interface Options {
  modes: string[];
  clients: number;
  seconds: number;
  warmup: number;
  serverArgs: string[];
}

function parseArgs(argv: string[]): Options {
  const o: Options = {
    modes: ['ws-naive', 'ws', 'uws'],
    clients: 1,
    seconds: 5,
    warmup: 2,
    serverArgs: [],
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    const num = (min: number) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < min) {
        process.stderr.write(
          `bench-quick: invalid ${a} ${JSON.stringify(v)}: expected an integer >= ${min}\n`,
        );
        process.exit(2);
      }
      i++;
      return n;
    };
    if (a === '--mode' || a === '-m') {
      o.modes = v.split(',');
      i++;
    } else if (a === '--clients' || a === '-c') o.clients = num(1);
    else if (a === '--seconds' || a === '-d') o.seconds = num(1);
    else if (a === '--warmup' || a === '-w') o.warmup = num(0);
    else if (a === '--') {
      o.serverArgs = argv.slice(i + 1);
      break;
    } else {
      process.stderr.write(
        `bench-quick: unknown argument ${JSON.stringify(a)}: expected --mode a,b --clients N --seconds N --warmup N [-- server flags]\n`,
      );
      process.exit(2);
    }
  }
  return o;
}

/** Counts server frames on one raw connection; assumes unfragmented, unmasked server frames. */
class FrameCounter {
  frames = 0;
  bytes = 0;
  private skip = 0; // payload bytes of the current frame still to come
  private header = Buffer.alloc(14);
  private headerLen = 0;

  feed(buf: Buffer, n: number): void {
    this.bytes += n;
    let i = 0;
    while (i < n) {
      if (this.skip > 0) {
        const take = Math.min(this.skip, n - i);
        this.skip -= take;
        i += take;
        continue;
      }
      if (this.headerLen === 0 && n - i >= 2 && (buf[i + 1] & 0x7f) < 126) {
        // Fast path: a small frame whose header is complete in this chunk.
        this.frames++;
        this.skip = buf[i + 1] & 0x7f;
        i += 2;
        continue;
      }
      this.header[this.headerLen++] = buf[i++];
      if (this.headerLen < 2) continue;
      const l7 = this.header[1] & 0x7f;
      const need = l7 < 126 ? 2 : l7 === 126 ? 4 : 10;
      if (this.headerLen < need) continue;
      this.skip =
        l7 < 126
          ? l7
          : l7 === 126
            ? this.header.readUInt16BE(2)
            : Number(this.header.readBigUInt64BE(2));
      this.headerLen = 0;
      this.frames++;
    }
  }
}

function maskedTextFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  const mask = randomBytes(4);
  const head = Buffer.from([0x81, 0x80 | payload.length]);
  for (let i = 0; i < payload.length; i++) payload[i] ^= mask[i & 3];
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
  return (Number(parts[11]) + Number(parts[12])) / 100;
}

/** Sums every sample of each named metric (over its labels) from one /metrics scrape. */
async function scrape(port: number, names: string[]): Promise<number[]> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const sums = names.map(() => 0);
  for (const line of text.split('\n')) {
    names.forEach((n, i) => {
      if (line.startsWith(n + '{') || line.startsWith(n + ' '))
        sums[i] += Number(line.split(' ').pop());
    });
  }
  return sums;
}

async function benchMode(mode: string, o: Options) {
  const proc = spawn(
    process.execPath,
    [MAIN, '--mode', mode, '--port', '0', '--rate', '0', ...o.serverArgs],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  try {
    const port = await new Promise<number>((resolve, reject) => {
      proc.stdout.once('data', (d: Buffer) =>
        resolve((JSON.parse(d.toString()) as { port: number }).port),
      );
      proc.once('exit', (c) => reject(new Error(`server exited ${c}`)));
    });
    const counters = await Promise.all(Array.from({ length: o.clients }, () => openClient(port)));
    await new Promise((r) => setTimeout(r, o.warmup * 1000));
    const sum = () => counters.reduce((a, c) => a + c.frames, 0);
    const names = ['wsbench_server_messages_sent_total', 'wsbench_server_messages_dropped_total'];
    await scrape(port, names); // warm the HTTP client up so both samples cost the same
    // Client counts are read right after each scrape returns, so both windows line up.
    const [s0, d0] = await scrape(port, names);
    const f0 = sum();
    const cpu0 = cpuSeconds(proc.pid!);
    const t0 = process.hrtime.bigint();
    await new Promise((r) => setTimeout(r, o.seconds * 1000));
    const [s1, d1] = await scrape(port, names);
    const f1 = sum();
    const cpu1 = cpuSeconds(proc.pid!);
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
    proc.kill('SIGTERM');
    await new Promise((r) => (proc.exitCode !== null ? r(null) : proc.once('exit', r)));
  }
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  for (const mode of o.modes) {
    const r = await benchMode(mode, o);
    process.stderr.write(
      `${mode.padEnd(9)} clients=${r.clients} received ${r.receivedPerSec.toLocaleString('en')} msg/s ` +
        `(server sent ${r.serverSentPerSec.toLocaleString('en')}/s, dropped ${r.serverDroppedPerSec}/s, ` +
        `server CPU ${r.serverCpuCores} cores)\n`,
    );
    process.stdout.write(JSON.stringify(r) + '\n');
  }
  process.exit(0);
}

main().catch((err: Error) => {
  process.stderr.write(`bench-quick: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
