// Behaviour of every mode, against the real server process on port 0 with real ws clients:
// streams, subscriptions, ping/pong, HTTP routes and metrics that agree with what clients got.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, afterEach, before, describe, it, type TestContext } from 'node:test';
import { requireTool } from '../testkit/require-tool.js';
import type { Health } from './http.js';
import {
  ALL_MODES,
  Cleanup,
  connect,
  getMetrics,
  startServer,
  type ParsedTick,
  type ServerProcess,
} from '../testkit/server-harness.js';

const RATE = 2000;

/** Asserts seq grows by exactly 1 per symbol (no gap, duplicate or reorder). */
function assertContiguous(ticks: ParsedTick[]): Map<string, number> {
  const last = new Map<string, number>();
  for (const t of ticks) {
    const prev = last.get(t.symbol);
    if (prev !== undefined)
      assert.equal(t.seq, prev + 1, `${t.symbol}: seq ${t.seq} after ${prev}`);
    last.set(t.symbol, t.seq);
  }
  return last;
}

for (const mode of ALL_MODES) {
  describe(`server mode ${mode}`, () => {
    const cleanup = new Cleanup();
    let server: ServerProcess;

    before(async () => {
      server = await startServer(['--mode', mode, '--rate', String(RATE)]);
    });
    after(async () => {
      await cleanup.run();
      const exit = await server.stop();
      assert.equal(exit.code, 0, `server exit; stderr: ${server.stderr}`);
    });
    afterEach(() => cleanup.run());

    it('prints one ready line with mode, host, port and pid', () => {
      assert.equal(server.ready.event, 'listening');
      assert.equal(server.ready.mode, mode);
      assert.equal(server.ready.host, '127.0.0.1');
      assert.ok(server.ready.port > 0);
      assert.equal(server.ready.pid, server.proc.pid);
    });

    it('streams every symbol with seq +1 per symbol, stamped at the target rate', async () => {
      const c = await connect(server.wsUrl, cleanup);
      const sub = await c.command({ op: 'subscribe', symbols: ['*'] }, 'subscribed');
      assert.deepEqual(sub, { type: 'subscribed', symbols: ['*'] });
      await c.waitFor(() => c.ticks.length >= 400, '400 ticks');
      const last = assertContiguous(c.ticks);
      assert.equal(last.size, 8, 'all 8 symbols arrive');
      // The pacer stamps due times: consecutive ticks are 1/rate apart whatever the load (or a
      // whole multiple of it, if a stall of over a second made the pacer skip a backlog).
      const step = 1e6 / RATE;
      let exact = 0;
      for (let i = 1; i < c.ticks.length; i++) {
        const d = (c.ticks[i]?.ts ?? 0) - (c.ticks[i - 1]?.ts ?? 0);
        const k = Math.round(d / step);
        assert.ok(k >= 1 && Math.abs(d - k * step) <= 1, `ts step ${d} µs, expected ${step}`);
        if (k === 1) exact++;
      }
      assert.ok(exact >= c.ticks.length - 10, `${exact} of ${c.ticks.length} steps are 1/rate`);
      for (const t of c.ticks) {
        assert.ok(t.price > 0 && Number.isFinite(t.price));
        assert.ok(t.size > 0);
      }
    });

    it('filters by subscription and stops a symbol after unsubscribe', async () => {
      const c = await connect(server.wsUrl, cleanup);
      const none = await connect(server.wsUrl, cleanup);
      await c.command({ op: 'subscribe', symbols: ['BTC-USD', 'ETH-USD'] }, 'subscribed');
      await c.waitFor(
        () => c.ticks.filter((t) => t.symbol === 'ETH-USD').length >= 20,
        '20 ETH-USD ticks',
      );
      assert.deepEqual(new Set(c.ticks.map((t) => t.symbol)), new Set(['BTC-USD', 'ETH-USD']));
      const un = await c.command({ op: 'unsubscribe', symbols: ['ETH-USD'] }, 'unsubscribed');
      assert.deepEqual(un, { type: 'unsubscribed', symbols: ['ETH-USD'] });
      const at = c.frames.indexOf(JSON.stringify(un));
      const btcBefore = c.ticks.filter((t) => t.symbol === 'BTC-USD').length;
      await c.waitFor(
        () => c.ticks.filter((t) => t.symbol === 'BTC-USD').length >= btcBefore + 20,
        '20 more BTC-USD ticks',
      );
      const afterUnsub = c.frames.slice(at + 1).filter((f) => f.includes('"symbol":"ETH-USD"'));
      assert.deepEqual(afterUnsub, [], 'no ETH-USD tick after the unsubscribed reply');
      assertContiguous(c.ticks);
      // A connection that never subscribed receives no ticks at all.
      assert.equal(none.ticks.length, 0);
      assert.equal(none.frames.length, 0);
    });

    it('answers ping with pong carrying the id and a µs timestamp', async () => {
      const c = await connect(server.wsUrl, cleanup);
      await c.command({ op: 'subscribe', symbols: ['*'] }, 'subscribed');
      const pong = await c.command({ op: 'ping', id: 12345 }, 'pong');
      assert.equal(pong.id, 12345);
      assert.ok(Number.isInteger(pong.ts) && (pong.ts as number) > 0);
      // The pong is a whole frame between ticks: the stream around it is intact.
      await c.waitFor(() => c.ticks.length >= 50, '50 ticks');
      assertContiguous(c.ticks);
    });

    it('GET /health reports mode, clients, symbols, versions and clock', async () => {
      const c = await connect(server.wsUrl, cleanup);
      await c.command({ op: 'ping', id: 1 }, 'pong');
      const res = await fetch(server.url('/health'));
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /application\/json/);
      const h = (await res.json()) as Health;
      assert.equal(h.status, 'ok');
      assert.equal(h.mode, mode);
      assert.equal(h.pid, server.proc.pid);
      assert.equal(h.rate, RATE);
      assert.equal(h.clients, 1);
      assert.equal(h.clock, 'monotonic-us');
      assert.ok(h.uptimeSec >= 0);
      assert.deepEqual(h.symbols.slice(0, 3), ['BTC-USD', 'ETH-USD', 'SOL-USD']);
      assert.equal(h.symbols.length, 8);
      assert.equal(h.versions.node, process.version);
      assert.match(h.versions.ws, /^8\./);
      assert.match(h.versions.uws, /^20\.30\./);
      assert.match(h.versions.wsbench, /^\d+\.\d+\.\d+/);
    });

    it('GET /snapshot returns the latest tick per symbol', async () => {
      const res = await fetch(server.url('/snapshot?x=1'));
      assert.equal(res.status, 200);
      const s = (await res.json()) as {
        ts: number;
        ticks: Record<string, Record<string, unknown>>;
      };
      assert.ok(s.ts > 0);
      assert.equal(Object.keys(s.ticks).length, 8);
      for (const [sym, t] of Object.entries(s.ticks)) {
        assert.equal(t.type, 'tick');
        assert.equal(t.symbol, sym);
        assert.ok((t.seq as number) >= 1);
        assert.ok((t.ts as number) <= s.ts, 'a snapshot tick is not from the future');
      }
    });

    it('answers unknown paths with a JSON 404', async () => {
      const res = await fetch(server.url('/nope/deeper?q=1'));
      assert.equal(res.status, 404);
      assert.deepEqual(await res.json(), { error: 'not_found', path: '/nope/deeper' });
    });

    it('at rate 0 idles until a client subscribes, then streams at full speed', async () => {
      const own = await startServer(['--mode', mode, '--rate', '0'], {}, cleanup);
      cleanup.add(() => own.stop());
      const watcher = await connect(own.wsUrl, cleanup); // connected, not subscribed
      await watcher.command({ op: 'ping', id: 1 }, 'pong');
      const gen = `wsbench_server_ticks_generated_total{mode="${mode}"}`;
      assert.equal((await getMetrics(own)).get(gen), 0, 'no ticks while nobody subscribed');
      const c = await connect(own.wsUrl, cleanup);
      await c.command({ op: 'subscribe', symbols: ['*'] }, 'subscribed');
      await c.waitFor(() => c.ticks.length >= 2000, '2000 ticks');
      assertContiguous(c.ticks);
      // Nothing was generated before: the first tick of each symbol is seq 1.
      assert.equal(c.ticks[0]?.seq, 1);
      assert.equal(watcher.ticks.length, 0);
    });

    it('/metrics parses, and sent/bytes counters equal what the clients received', async (t) => {
      // Fresh server: only this test's clients count.
      const own = await startServer(['--mode', mode, '--rate', String(RATE)], {}, cleanup);
      cleanup.add(() => own.stop());
      const all = await connect(own.wsUrl, cleanup);
      const one = await connect(own.wsUrl, cleanup);
      const idle = await connect(own.wsUrl, cleanup);
      await all.command({ op: 'subscribe', symbols: ['*'] }, 'subscribed');
      await one.command({ op: 'subscribe', symbols: ['BTC-USD'] }, 'subscribed');
      await all.waitFor(() => all.ticks.length >= 300, '300 ticks');
      // After the unsubscribed reply no tick follows: the counters and the clients can agree.
      await all.command({ op: 'unsubscribe', symbols: ['*'] }, 'unsubscribed');
      await one.command({ op: 'unsubscribe', symbols: ['*'] }, 'unsubscribed');
      const m = await getMetrics(own);
      const v = (name: string) => {
        const x = m.get(name);
        assert.ok(x !== undefined, `metric ${name} present`);
        return x;
      };
      const l = `mode="${mode}"`;
      const received = all.ticks.length + one.ticks.length;
      assert.ok(one.ticks.length > 0);
      assert.equal(v(`wsbench_server_messages_sent_total{${l}}`), received);
      assert.equal(v(`wsbench_server_bytes_sent_total{${l}}`), all.tickBytes + one.tickBytes);
      assert.equal(v(`wsbench_server_messages_dropped_total{${l},reason="backpressure"}`), 0);
      assert.equal(v(`wsbench_server_messages_dropped_total{${l},reason="closed"}`), 0);
      assert.ok(v(`wsbench_server_ticks_generated_total{${l}}`) >= all.ticks.length);
      assert.equal(v(`wsbench_server_clients_connected{${l}}`), 3);
      assert.equal(v(`wsbench_server_connections_total{${l}}`), 3);
      assert.equal(v(`wsbench_server_target_rate{${l}}`), RATE);
      assert.ok(v(`wsbench_server_broadcast_duration_seconds_count{${l}}`) > 0);
      assert.ok(v(`wsbench_server_http_requests_total{${l},route="metrics"}`) >= 1);
      assert.ok(v(`process_resident_memory_bytes{${l}}`) > 0, 'default metrics carry mode');
      assert.ok(m.has(`nodejs_eventloop_lag_p99_seconds{${l}}`));
      assert.equal(idle.ticks.length, 0);

      // Disconnect codes are counted by code.
      all.ws.close(1000);
      await all.closed;
      await idle.command({ op: 'ping', id: 2 }, 'pong');
      let m2 = await getMetrics(own);
      for (
        let i = 0;
        i < 50 && m2.get(`wsbench_server_disconnects_total{code="1000",${l}}`) !== 1;
        i++
      ) {
        await new Promise((r) => setTimeout(r, 20));
        m2 = await getMetrics(own);
      }
      assert.equal(m2.get(`wsbench_server_disconnects_total{code="1000",${l}}`), 1);
      assert.equal(m2.get(`wsbench_server_clients_connected{${l}}`), 2);
      await promtoolCheck(t, own);
    });
  });
}

/** Real Prometheus tooling must accept the exposition; our own metrics must lint clean. */
async function promtoolCheck(t: TestContext, server: ServerProcess): Promise<void> {
  const promtool = requireTool(t, 'promtool');
  if (!promtool) return;
  const text = await (await fetch(server.url('/metrics'))).text();
  const r = spawnSync(promtool, ['check', 'metrics'], { input: text, encoding: 'utf8' });
  // Exit 1 = parse error; 3 = lint findings, which prom-client's default metrics have.
  assert.notEqual(r.status, 1, `promtool could not parse /metrics: ${r.stderr}${r.stdout}`);
  const ours = `${r.stdout}${r.stderr}`.split('\n').filter((line) => line.startsWith('wsbench_'));
  assert.deepEqual(ours, [], 'promtool lint findings for wsbench_* metrics');
}
