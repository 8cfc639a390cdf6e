// Memory per stalled reader: starts the server in each mode, connects N clients that subscribe to
// every symbol and then never read (loopback only, N <= 500), plus one healthy client on one
// symbol, and reports the server's RSS (/proc/<pid>/status) and V8 heap before and once every
// stalled client is at its backpressure limit. Prints one JSON line per mode on stdout, a summary
// on stderr. Run under the bench lock:
//   flock /tmp/wsbench-bench.lock node dist/testkit/stalled-readers.js --modes ws-naive,ws,uws \
//     --clients 100 --seconds 20 [-- <server flags>]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { MODE_NAMES, type ModeName } from '../protocol/modes.js';
import { RawClient } from './raw-client.js';
import { Cleanup, connect, getMetrics, sleep, startServer } from './server-harness.js';

const MAX_CLIENTS = 500;

function vmRssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) * 1024;
}

interface Sample {
  rss: number;
  heapUsed: number;
  external: number;
}

async function sample(pid: number, get: () => Promise<Map<string, number>>, mode: string) {
  const m = await get();
  const l = `{mode="${mode}"}`;
  const s: Sample = {
    rss: vmRssBytes(pid),
    heapUsed: m.get(`nodejs_heap_size_used_bytes${l}`) ?? 0,
    external: m.get(`nodejs_external_memory_bytes${l}`) ?? 0,
  };
  return { s, m };
}

async function measure(mode: ModeName, clients: number, seconds: number, extra: string[]) {
  const cleanup = new Cleanup();
  try {
    const server = await startServer(['--mode', mode, ...extra], {}, cleanup);
    cleanup.add(() => server.stop());
    const pid = server.ready.pid;
    const get = () => getMetrics(server);
    const healthy = await connect(server.wsUrl, cleanup);
    await healthy.command({ op: 'subscribe', symbols: ['BTC-USD'] }, 'subscribed');
    await sleep(1000);
    const before = (await sample(pid, get, mode)).s;
    const stalled: RawClient[] = [];
    for (let i = 0; i < clients; i++) {
      const c = await RawClient.connect(server.port);
      cleanup.add(() => {
        c.destroy();
      });
      c.sendText('{"op":"subscribe","symbols":["*"]}');
      c.socket.pause();
      stalled.push(c);
    }
    const t0 = Date.now();
    const h0 = healthy.ticks.length;
    let peak = before;
    let last = before;
    let m = new Map<string, number>();
    while (Date.now() - t0 < seconds * 1000) {
      await sleep(1000);
      const r = await sample(pid, get, mode);
      last = r.s;
      m = r.m;
      if (last.rss > peak.rss) peak = last;
    }
    const secs = (Date.now() - t0) / 1000;
    const l = `mode="${mode}"`;
    const per = (x: number, y: number) => Math.round((x - y) / clients);
    return {
      mode,
      clients,
      seconds: Math.round(secs),
      serverFlags: extra,
      rssBeforeBytes: before.rss,
      rssEndBytes: last.rss,
      rssPeakBytes: peak.rss,
      rssPerStalledClientBytes: per(last.rss, before.rss),
      rssPeakPerStalledClientBytes: per(peak.rss, before.rss),
      heapUsedPerStalledClientBytes: per(last.heapUsed, before.heapUsed),
      externalPerStalledClientBytes: per(last.external, before.external),
      droppedBackpressure: m.get(
        `wsbench_server_messages_dropped_total{${l},reason="backpressure"}`,
      ),
      slowClientCloses: m.get(`wsbench_server_slow_client_closes_total{${l}}`),
      healthyTicksPerSec: Math.round((healthy.ticks.length - h0) / secs),
      stalledStillOpen: stalled.filter((c) => !c.socketClosed).length,
    };
  } finally {
    await cleanup.run();
  }
}

async function main(): Promise<void> {
  const dash = process.argv.indexOf('--');
  const own = dash >= 0 ? process.argv.slice(2, dash) : process.argv.slice(2);
  const extra = dash >= 0 ? process.argv.slice(dash + 1) : ['--rate', '20000'];
  const { values } = parseArgs({
    args: own,
    options: {
      modes: { type: 'string', default: MODE_NAMES.join(',') },
      clients: { type: 'string', default: '100' },
      seconds: { type: 'string', default: '20' },
    },
  });
  const modes = values.modes.split(',');
  for (const m of modes) {
    if (!(MODE_NAMES as readonly string[]).includes(m))
      throw new Error(`invalid --modes entry "${m}": expected ${MODE_NAMES.join(', ')}`);
  }
  const clients = Number(values.clients);
  if (!Number.isInteger(clients) || clients < 1 || clients > MAX_CLIENTS)
    throw new Error(`invalid --clients "${values.clients}": expected 1..${MAX_CLIENTS}`);
  const seconds = Number(values.seconds);
  if (!(seconds > 0)) throw new Error(`invalid --seconds "${values.seconds}": expected > 0`);
  for (const mode of modes as ModeName[]) {
    const r = await measure(mode, clients, seconds, extra);
    process.stdout.write(JSON.stringify(r) + '\n');
    const mb = (x: number) => (x / 2 ** 20).toFixed(2);
    process.stderr.write(
      `${mode}: ${clients} stalled, RSS ${mb(r.rssBeforeBytes)} -> ${mb(r.rssEndBytes)} MB ` +
        `(peak ${mb(r.rssPeakBytes)}), ${mb(r.rssPerStalledClientBytes)} MB per stalled client ` +
        `(heap ${mb(r.heapUsedPerStalledClientBytes)}, external ${mb(r.externalPerStalledClientBytes)}), ` +
        `healthy ${r.healthyTicksPerSec} ticks/s\n`,
    );
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`stalled-readers: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
