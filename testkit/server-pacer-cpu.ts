// What the server costs at a fixed rate: starts each mode at --rate ticks/s with --clients light
// counting clients (raw sockets, every symbol; not client-bench), and prints the server's CPU from
// /proc over a window after a warm-up, with deliveries, drops, skipped ticks and due-time ->
// receive latency. A benchmark, not a test: run it under the bench lock on a shared machine:
//   flock /tmp/wsbench-bench.lock node dist/testkit/server-pacer-cpu.js --mode ws-naive,ws,uws
// `-- <server flags>` passes flags to every server (e.g. `-- --pacer spin`).
import { defineFlags, helpText, parse, parseCli, runMain, type Values } from '../protocol/cli.js';
import { EXIT, MODE_NAMES } from '../protocol/index.js';
import {
  cpuSeconds,
  LatencyCounter,
  openCountingClient,
  quantile,
  scrapeSums,
} from './server-counting-clients.js';
import { startServer } from './server-harness.js';

const PROGRAM = 'server-pacer-cpu';

const FLAGS = defineFlags({
  modes: {
    long: 'mode',
    short: 'm',
    arg: 'LIST',
    help: 'modes to measure, in this order',
    default: [...MODE_NAMES] as string[],
    parse: parse.list(parse.oneOf(MODE_NAMES), `a comma list of ${MODE_NAMES.join(', ')}`),
  },
  rate: {
    long: 'rate',
    short: 'r',
    arg: 'N',
    help: 'ticks per second (over all symbols)',
    default: 300,
    parse: parse.int(1, 10_000_000),
  },
  clients: {
    long: 'clients',
    short: 'c',
    arg: 'N',
    help: 'counting connections, each subscribed to every symbol',
    default: 100,
    parse: parse.int(1, 10000),
  },
  seconds: {
    long: 'seconds',
    short: 'd',
    arg: 'S',
    help: 'measured window',
    default: 10,
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

const METRICS = [
  'wsbench_server_ticks_generated_total',
  'wsbench_server_messages_sent_total',
  'wsbench_server_messages_dropped_total',
  'wsbench_server_pacer_skipped_ticks_total',
] as const;

async function measure(mode: string, o: Options) {
  const server = await startServer(['--mode', mode, '--rate', String(o.rate), ...o.serverArgs]);
  const { port, pid } = server.ready;
  try {
    const health = (await (await fetch(server.url('/health'))).json()) as Record<string, unknown>;
    const counters = await Promise.all(
      Array.from({ length: o.clients }, () => openCountingClient(port, new LatencyCounter())),
    );
    await new Promise((r) => setTimeout(r, o.warmup * 1000));
    for (const c of counters) c.take();
    const [g0 = 0, s0 = 0, d0 = 0, k0 = 0] = await scrapeSums(port, METRICS);
    const f0 = counters.reduce((a, c) => a + c.frames, 0);
    const cpu0 = cpuSeconds(pid);
    const t0 = process.hrtime.bigint();
    await new Promise((r) => setTimeout(r, o.seconds * 1000));
    const cpu1 = cpuSeconds(pid);
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    const f1 = counters.reduce((a, c) => a + c.frames, 0);
    const [g1 = 0, s1 = 0, d1 = 0, k1 = 0] = await scrapeSums(port, METRICS);
    const lat = counters.flatMap((c) => c.take()).sort((a, b) => a - b);
    const round = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d;
    return {
      mode,
      pacer: typeof health.pacer === 'string' ? health.pacer : 'n/a',
      opts: Array.isArray(health.opts) ? (health.opts as string[]).join('+') : 'n/a',
      rate: o.rate,
      clients: o.clients,
      seconds: round(secs, 2),
      serverCpuCores: round((cpu1 - cpu0) / secs),
      ticksPerSec: Math.round((g1 - g0) / secs),
      receivedPerSec: Math.round((f1 - f0) / secs),
      serverSentPerSec: Math.round((s1 - s0) / secs),
      droppedPerSec: Math.round((d1 - d0) / secs),
      skippedTicks: k1 - k0,
      latencyUs: {
        p50: quantile(lat, 0.5),
        p99: quantile(lat, 0.99),
        p999: quantile(lat, 0.999),
        max: lat[lat.length - 1] ?? 0,
        count: lat.length,
      },
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
          'Server CPU (from /proc) per mode at a fixed tick rate, with light counting clients;',
          'one JSON line per mode on stdout, a summary on stderr. Run under the bench lock.',
        ],
      }),
    );
    return EXIT.ok;
  }
  const o: Options = { ...r.values, serverArgs: dashes < 0 ? [] : argv.slice(dashes + 1) };
  for (const mode of o.modes) {
    const res = await measure(mode, o);
    process.stderr.write(
      `${mode.padEnd(9)} pacer=${res.pacer} opts=${res.opts} ${o.rate} ticks/s x ${o.clients} clients: ` +
        `server CPU ${res.serverCpuCores} cores, received ${res.receivedPerSec}/s, ` +
        `dropped ${res.droppedPerSec}/s, skipped ${res.skippedTicks}, latency p50 ${res.latencyUs.p50} ` +
        `p99 ${res.latencyUs.p99} p99.9 ${res.latencyUs.p999} max ${res.latencyUs.max} µs\n`,
    );
    process.stdout.write(JSON.stringify(res) + '\n');
  }
  // Raw client sockets stay open until the process ends.
  setImmediate(() => process.exit(EXIT.ok));
  return EXIT.ok;
}

runMain(main);
