// Capacity check: against the same server and load, client-bench's msg/s must be >= 0.9 of the
// reference counter's (a frame-header counter doing nothing else). Runs each server mode with 1
// and 100 clients, alternating reference and client-bench runs, and prints a table + JSON.
//   flock /tmp/wsbench-bench.lock node dist/testkit/client-capacity.js [--modes uws,ws] \
//     [--clients 1,100] [--duration 3] [--repeats 2] [--pin]
// --pin (needs taskset and 2+ CPUs) puts the server on CPU 0 and the measuring side on CPU 1:
// on a small machine a heavier client otherwise takes CPU from the server and the comparison
// measures the scheduler; pinned, both sides get one core and the reference the same one.
import { spawn, type ChildProcess } from 'node:child_process';
import { defineFlags, helpText, parse, parseCli } from '../protocol/cli.js';
import { EXIT } from '../protocol/codes.js';
import { MODE_NAMES, type ModeName } from '../protocol/modes.js';
import { fileURLToPath } from 'node:url';
import { MAIN } from './client-run.js';
import type { Result } from '../client-bench/result.js';
import { median } from '../client-bench/aggregate.js';

const SERVER = fileURLToPath(new URL('../server/main.js', import.meta.url));
const REFERENCE = fileURLToPath(new URL('./client-reference-counter.js', import.meta.url));

const FLAGS = defineFlags({
  modes: {
    long: 'modes',
    arg: 'LIST',
    help: 'server modes',
    default: ['ws-naive', 'ws', 'uws'] as ModeName[],
    parse: parse.list(parse.oneOf(MODE_NAMES), `a comma list of ${MODE_NAMES.join(', ')}`),
  },
  clients: {
    long: 'clients',
    arg: 'LIST',
    help: 'client counts',
    default: [1, 100],
    parse: parse.list(parse.int(1, 100_000), 'a comma list of integers 1-100000'),
  },
  duration: {
    long: 'duration',
    arg: 'S',
    help: 'measured seconds per run',
    default: 3,
    parse: parse.int(1, 3600),
  },
  repeats: {
    long: 'repeats',
    arg: 'N',
    help: 'runs per mode and client count',
    default: 2,
    parse: parse.int(1, 100),
  },
  pin: { long: 'pin', help: 'server on CPU 0, measuring side on CPU 1 (taskset)', default: false },
});
const parsed = parseCli('client-capacity', FLAGS, process.argv.slice(2));
if (parsed.help) {
  process.stdout.write(
    helpText(FLAGS, { usage: 'node dist/testkit/client-capacity.js [options]' }) + '\n',
  );
  process.exit(EXIT.ok);
}
const { modes, clients: clientCounts, duration, repeats, pin } = parsed.values;

/** Command prefix that pins to one CPU (or nothing). */
function onCpu(cpu: number, cmd: string[]): [string, string[]] {
  return pin ? ['taskset', ['-c', String(cpu), ...cmd]] : [cmd[0] ?? '', cmd.slice(1)];
}

async function startServer(mode: string): Promise<{ child: ChildProcess; url: string }> {
  const [cmd, argv] = onCpu(0, [
    process.execPath,
    SERVER,
    '--mode',
    mode,
    '--port',
    '0',
    '--rate',
    '0',
  ]);
  const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'ignore'] });
  const port = await new Promise<number>((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (d) => {
      buf += String(d);
      const m = /"port":(\d+)/.exec(buf);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => {
      reject(new Error(`server ${mode} exited with ${code}`));
    });
  });
  return { child, url: `ws://127.0.0.1:${port}/` };
}

function run(cpu: number, cmd: string[]): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve) => {
    const [bin, argv] = onCpu(cpu, cmd);
    const c = spawn(bin, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    c.stdout.on('data', (d) => (stdout += String(d)));
    c.on('close', (code) => {
      resolve({ code, stdout });
    });
  });
}

async function reference(url: string, clients: number): Promise<number> {
  const common = ['-u', url, '-c', String(clients), '-d', String(duration), '-w', '1'];
  const { code, stdout } = await run(1, [process.execPath, REFERENCE, ...common]);
  if (code !== 0) throw new Error(`reference exited ${code}`);
  return (JSON.parse(stdout) as { msgsPerSec: number }).msgsPerSec;
}

async function client(
  url: string,
  clients: number,
): Promise<{ code: number | null; result: Result | null }> {
  const common = ['-u', url, '-c', String(clients), '-d', String(duration), '-w', '1'];
  const { code, stdout } = await run(1, [process.execPath, MAIN, ...common, '-j', '-q']);
  const line = stdout.trim().split('\n').pop() ?? '';
  return { code, result: line.startsWith('{') ? (JSON.parse(line) as Result) : null };
}

interface Row {
  mode: string;
  clients: number;
  referenceMsgsPerSec: number;
  clientMsgsPerSec: number;
  ratio: number;
  clientBusyMax: number;
  clientBound: boolean;
  gaps: number;
}

const rows: Row[] = [];
for (const mode of modes) {
  for (const clients of clientCounts) {
    const server = await startServer(mode);
    try {
      const ref: number[] = [];
      const cli: number[] = [];
      let busy = 0;
      let bound = false;
      let gaps = 0;
      for (let r = 0; r < repeats; r++) {
        ref.push(await reference(server.url, clients));
        const res = await client(server.url, clients);
        if (!res.result) throw new Error(`client-bench failed (exit ${res.code})`);
        cli.push(res.result.throughput.msgsPerSec);
        busy = Math.max(busy, ...res.result.client.workers.map((w) => w.cpuCores));
        bound ||= res.result.client.clientBound;
        gaps += res.result.delivery.gaps;
      }
      const row: Row = {
        mode,
        clients,
        referenceMsgsPerSec: Math.round(median(ref.sort((a, b) => a - b))),
        clientMsgsPerSec: Math.round(median(cli.sort((a, b) => a - b))),
        ratio: 0,
        clientBusyMax: Math.round(busy * 100) / 100,
        clientBound: bound,
        gaps,
      };
      row.ratio = Math.round((row.clientMsgsPerSec / row.referenceMsgsPerSec) * 1000) / 1000;
      rows.push(row);
      process.stderr.write(
        `${mode.padEnd(9)} clients ${String(clients).padStart(4)}  reference ${row.referenceMsgsPerSec.toLocaleString('en-US').padStart(11)} msg/s` +
          `  client-bench ${row.clientMsgsPerSec.toLocaleString('en-US').padStart(11)} msg/s  ratio ${row.ratio.toFixed(3)}` +
          `  busiest worker ${row.clientBusyMax}  ${bound ? 'CLIENT-BOUND' : ''}\n`,
      );
    } finally {
      server.child.kill('SIGTERM');
      await new Promise((r) => server.child.once('exit', r));
    }
  }
}
process.stdout.write(JSON.stringify({ duration, repeats, pinned: pin, rows }) + '\n');
