// A quick, bounded throughput check for the server modes (not the real instrument — that is
// client-bench/). It starts `main.js --mode X --port 0 --rate 0`, opens N raw WebSocket
// connections that subscribe to everything and only count frames (header parsing, no UTF-8, no
// JSON), and reports delivered frames/s over a measured window after a warm-up. Run it under
// `flock /tmp/wsbench-bench.lock` on a shared machine:
//   node dist/testkit/server-bench-quick.js --mode uws --clients 100 --seconds 5
import { defineFlags, helpText, parse, parseCli, runMain, type Values } from '../protocol/cli.js';
import { EXIT, MODE_NAMES } from '../protocol/index.js';
import {
  cpuSeconds,
  FrameCounter,
  openCountingClient,
  scrapeSums,
} from './server-counting-clients.js';
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

async function benchMode(mode: string, o: Options) {
  const server = await startServer(['--mode', mode, '--rate', '0', ...o.serverArgs]);
  server.proc.stderr.pipe(process.stderr);
  const { port, pid } = server.ready;
  try {
    const counters = await Promise.all(
      Array.from({ length: o.clients }, () => openCountingClient(port, new FrameCounter())),
    );
    await new Promise((r) => setTimeout(r, o.warmup * 1000));
    const sum = () => counters.reduce((a, c) => a + c.frames, 0);
    const names = ['wsbench_server_messages_sent_total', 'wsbench_server_messages_dropped_total'];
    await scrapeSums(port, names); // warm the HTTP client up so both samples cost the same
    // Client counts are read right after each scrape returns, so both windows line up.
    const [s0 = 0, d0 = 0] = await scrapeSums(port, names);
    const f0 = sum();
    const cpu0 = cpuSeconds(pid);
    const t0 = process.hrtime.bigint();
    await new Promise((r) => setTimeout(r, o.seconds * 1000));
    const [s1 = 0, d1 = 0] = await scrapeSums(port, names);
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
