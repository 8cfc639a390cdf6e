// Capacity check: against the same server and load, client-bench's msg/s must be >= 0.9 of the
// reference counter's (a frame-header counter doing nothing else). Runs each server mode with 1
// and 100 clients, alternating reference and client-bench runs, and prints a table + JSON.
//   flock /tmp/wsbench-bench.lock node dist/client-bench/capacity.js [--modes uws,ws] \
//     [--clients 1,100] [--duration 3] [--repeats 2] [--pin]
// --pin (needs taskset and 2+ CPUs) puts the server on CPU 0 and the measuring side on CPU 1:
// on a small machine a heavier client otherwise takes CPU from the server and the comparison
// measures the scheduler; pinned, both sides get one core and the reference the same one.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { MAIN } from './run-client.js';
import type { Result } from './result.js';
import { median } from './aggregate.js';

const SERVER = fileURLToPath(new URL('../server/main.js', import.meta.url));
const REFERENCE = fileURLToPath(new URL('./reference-counter.js', import.meta.url));

const USAGE = `usage: node dist/client-bench/capacity.js [options]
  --modes LIST     server modes, comma list of ws-naive, ws, uws   (default ws-naive,ws,uws)
  --clients LIST   client counts, comma list of integers >= 1       (default 1,100)
  --duration S     measured seconds per run, integer >= 1           (default 3)
  --repeats N      runs per mode and client count, integer >= 1    (default 2)
  --pin            server on CPU 0, measuring side on CPU 1 (taskset)
  --help           this text`;
const VALUE_FLAGS = ['--modes', '--clients', '--duration', '--repeats'];
const args = process.argv.slice(2);
function usageError(msg: string): never {
  process.stderr.write(`capacity: ${msg}\n${USAGE}\n`);
  process.exit(2);
}
if (args.includes('--help') || args.includes('-h')) {
  process.stdout.write(USAGE + '\n');
  process.exit(0);
}
for (let i = 0; i < args.length; i++) {
  if (VALUE_FLAGS.includes(args[i])) i++;
  else if (args[i] !== '--pin') usageError(`unknown argument "${args[i]}"`);
}
const opt = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? (args[i + 1] ?? usageError(`--${name} needs a value`)) : def;
};
const positiveInt = (name: string, v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1)
    usageError(`invalid --${name} "${v}": expected an integer >= 1`);
  return n;
};
const modes = opt('modes', 'ws-naive,ws,uws').split(',');
for (const m of modes) {
  if (!['ws-naive', 'ws', 'uws'].includes(m)) {
    usageError(`invalid --modes "${m}": expected ws-naive, ws or uws`);
  }
}
const clientCounts = opt('clients', '1,100')
  .split(',')
  .map((c) => positiveInt('clients', c));
const duration = positiveInt('duration', opt('duration', '3'));
const repeats = positiveInt('repeats', opt('repeats', '2'));
const pin = args.includes('--pin');

/** Command prefix that pins to one CPU (or nothing). */
function onCpu(cpu: number, cmd: string[]): [string, string[]] {
  return pin ? ['taskset', ['-c', String(cpu), ...cmd]] : [cmd[0], cmd.slice(1)];
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
    child.stdout!.on('data', (d) => {
      buf += String(d);
      const m = /"port":(\d+)/.exec(buf);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`server ${mode} exited with ${code}`)));
  });
  return { child, url: `ws://127.0.0.1:${port}/` };
}

function run(cpu: number, cmd: string[]): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve) => {
    const [bin, argv] = onCpu(cpu, cmd);
    const c = spawn(bin, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    c.stdout!.on('data', (d) => (stdout += String(d)));
    c.on('close', (code) => resolve({ code, stdout }));
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
