// Capacity check: against the same server and load, client-bench's msg/s must be >= 0.9 of the
// reference counter's (a frame-header counter doing nothing else). Runs each server mode with 1
// and 100 clients, alternating reference and client-bench runs, and prints a table + JSON.
//   flock /tmp/wsbench-bench.lock node dist/client-bench/capacity.js [--modes uws,ws] \
//     [--clients 1,100] [--duration 3] [--repeats 2]
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { runClient } from './run-client.js';
import { median } from './aggregate.js';

const SERVER = fileURLToPath(new URL('../server/main.js', import.meta.url));
const REFERENCE = fileURLToPath(new URL('./reference-counter.js', import.meta.url));

const args = process.argv.slice(2);
const opt = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const modes = opt('modes', 'ws-naive,ws,uws').split(',');
const clientCounts = opt('clients', '1,100').split(',').map(Number);
const duration = Number(opt('duration', '3'));
const repeats = Number(opt('repeats', '2'));

async function startServer(mode: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [SERVER, '--mode', mode, '--port', '0', '--rate', '0'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
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

function reference(url: string, clients: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const c = spawn(
      process.execPath,
      [REFERENCE, '-u', url, '-c', String(clients), '-d', String(duration), '-w', '1'],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    c.stdout!.on('data', (d) => (out += String(d)));
    c.on('close', (code) =>
      code === 0
        ? resolve((JSON.parse(out) as { msgsPerSec: number }).msgsPerSec)
        : reject(new Error(`reference exited ${code}`)),
    );
  });
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
        const res = await runClient([
          '-u',
          server.url,
          '-c',
          String(clients),
          '-d',
          String(duration),
          '-w',
          '1',
          '-j',
          '-q',
        ]);
        if (!res.result) throw new Error(`client-bench failed (exit ${res.code}): ${res.stderr}`);
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
process.stdout.write(JSON.stringify({ duration, repeats, rows }) + '\n');
