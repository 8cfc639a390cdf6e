// The uws engine's optimisation switches (--opt) on a real uWS server: every set sends the same
// bytes (encodeTick's, seq contiguous), /health and the opts_info label name the set, each switch
// changes what the server does (its counters: serialisations per client or per tick, sends per
// tick or one cork per client per turn, the pacer); the naive port (per-client ws.send) delivers
// every tick exactly once per subscribed client, and enforces the backpressure limit per client
// (drop: counted, resumed when the client reads again; close: 1008), as pub/sub does.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { encodeTick, type Tick } from '../protocol/index.js';
import {
  Cleanup,
  connect,
  getMetrics,
  runServer,
  sample,
  sleep,
  socketOf,
  startServer,
  type ParsedTick,
  type ServerProcess,
  type TestClient,
} from '../testkit/server-harness.js';
import type { Health } from './http.js';
import { UWS_OPTS } from './opts.js';

const L = 'mode="uws"';
const SETS: readonly (readonly string[])[] = [[], ...UWS_OPTS.map((o) => [o]), UWS_OPTS];
const label = (set: readonly string[]) => (set.length === 0 ? 'none' : set.join('+'));

/** Per symbol: seq +1 each time (no gap, duplicate or reorder); returns first/last per symbol. */
function contiguous(ticks: readonly ParsedTick[], what: string): Map<string, [number, number]> {
  const span = new Map<string, [number, number]>();
  for (const t of ticks) {
    const s = span.get(t.symbol);
    if (s !== undefined) {
      assert.equal(t.seq, s[1] + 1, `${what}: ${t.symbol} seq ${t.seq} after ${s[1]}`);
      s[1] = t.seq;
    } else span.set(t.symbol, [t.seq, t.seq]);
  }
  return span;
}

function assertBytes(c: TestClient, what: string): void {
  for (const f of c.frames.filter((x) => x.startsWith('{"type":"tick"')))
    assert.equal(f, encodeTick(JSON.parse(f) as Tick), `${what}: frame bytes are encodeTick's`);
}

async function metricsUntil(
  server: ServerProcess,
  pred: (m: Map<string, number>) => boolean,
  what: string,
  ms = 30000,
): Promise<Map<string, number>> {
  const end = Date.now() + ms;
  for (;;) {
    const m = await getMetrics(server);
    if (pred(m)) return m;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(100);
  }
}

describe('uws engine switches (--opt)', () => {
  const cleanup = new Cleanup();
  afterEach(() => cleanup.run());

  for (const set of SETS) {
    const name = label(set);
    it(`--opt ${name}: same bytes, named in /health and /metrics, counters follow the switches`, async () => {
      const server = await startServer(
        ['--mode', 'uws', '--rate', '5000', '--turn-ms', '5', '--opt', name],
        {},
        cleanup,
      );
      cleanup.add(() => server.stop());
      const all = await connect(server.wsUrl, cleanup);
      const one = await connect(server.wsUrl, cleanup);
      await all.command({ op: 'subscribe', symbols: ['*'] }, 'subscribed');
      await one.command({ op: 'subscribe', symbols: ['ETH-USD'] }, 'subscribed');
      await all.waitFor(() => all.ticks.length >= 2000, '2000 ticks', 30000);
      await one.waitFor(() => one.ticks.length >= 100, '100 ETH-USD ticks', 30000);
      // A reply between ticks arrives whole, whatever the send path.
      assert.equal((await all.command({ op: 'ping', id: 9 }, 'pong')).id, 9);
      // After the unsubscribed replies no tick follows: counters and clients can agree.
      await all.command({ op: 'unsubscribe', symbols: ['*'] }, 'unsubscribed');
      await one.command({ op: 'unsubscribe', symbols: ['*'] }, 'unsubscribed');
      assertBytes(all, `${name} all`);
      assertBytes(one, `${name} one`);
      contiguous(all.ticks, `${name} all`);
      contiguous(one.ticks, `${name} one`);
      assert.ok(
        one.ticks.every((t) => t.symbol === 'ETH-USD'),
        'filtered by subscription',
      );

      const h = (await (await fetch(server.url('/health'))).json()) as Health;
      assert.deepEqual(h.opts, set);
      assert.equal(h.pacer, set.includes('pacer') ? 'sleep' : 'interval');
      const m = await getMetrics(server);
      assert.equal(m.get(`wsbench_server_opts_info{${L},opts="${name}",pacer="${h.pacer}"}`), 1);
      const sent = sample(m, `wsbench_server_messages_sent_total{${L}}`);
      const serial = sample(m, `wsbench_server_serializations_total{${L}}`);
      const writes = sample(m, `wsbench_server_socket_writes_total{${L}}`);
      const generated = sample(m, `wsbench_server_ticks_generated_total{${L}}`);
      assert.equal(sent, all.ticks.length + one.ticks.length, 'sent = received');
      assert.equal(
        sample(m, `wsbench_server_bytes_sent_total{${L}}`),
        all.tickBytes + one.tickBytes,
      );
      assert.equal(
        sample(m, `wsbench_server_messages_dropped_total{${L},reason="backpressure"}`),
        0,
      );
      if (set.includes('serialize-once') || set.includes('pubsub'))
        assert.ok(serial <= generated, `once per tick: ${serial} <= ${generated} ticks`);
      else assert.equal(serial, sent, 'one JSON.stringify per client per tick');
      if (set.includes('pubsub')) assert.equal(writes, 0, 'uWS writes the topics itself');
      else if (set.includes('cork'))
        assert.ok(writes < sent / 3, `one cork per client per turn: ${writes} for ${sent}`);
      else assert.equal(writes, sent, 'one send per tick per client');
    });
  }

  for (const set of [[], ['cork'], ['serialize-once']] as const) {
    const name = label(set);
    it(`--opt ${name} (per-client ws.send) at a fixed rate: every tick exactly once per subscribed client`, async () => {
      const server = await startServer(
        ['--mode', 'uws', '--rate', '2000', '--opt', name],
        {},
        cleanup,
      );
      cleanup.add(() => server.stop());
      const clients = await Promise.all(
        Array.from({ length: 4 }, () => connect(server.wsUrl, cleanup)),
      );
      const btc = await connect(server.wsUrl, cleanup);
      const idle = await connect(server.wsUrl, cleanup);
      for (const c of clients) await c.command({ op: 'subscribe', symbols: ['*'] }, 'subscribed');
      await btc.command({ op: 'subscribe', symbols: ['BTC-USD'] }, 'subscribed');
      // Mark where every client is subscribed; everything generated from then on is for all.
      const from = sample(await getMetrics(server), `wsbench_server_ticks_generated_total{${L}}`);
      const n0 = clients.map((c) => c.ticks.length);
      await Promise.all(
        clients.map((c, i) =>
          c.waitFor(() => c.ticks.length >= (n0[i] ?? 0) + 1500, '1500 more ticks', 30000),
        ),
      );
      const to = sample(await getMetrics(server), `wsbench_server_ticks_generated_total{${L}}`);
      for (const c of [...clients, btc])
        await c.command({ op: 'unsubscribe', symbols: ['*'] }, 'unsubscribed');
      const m = await getMetrics(server);
      let received = btc.ticks.length;
      // The generator emits the symbols round-robin: global tick k (1-based) is symbol (k-1)%8
      // with seq ceil(k/8). So each symbol's first tick after the mark has a seq of at most
      // ceil(from/8)+1 and its last by `to` at least floor(to/8): a contiguous, duplicate-free
      // span covering both holds every tick of [from+1, to] exactly once.
      for (const [i, c] of clients.entries()) {
        const span = contiguous(c.ticks, `client ${i}`);
        assert.equal(span.size, 8, `client ${i}: all 8 symbols`);
        const seen = new Set(c.ticks.map((t) => `${t.symbol}/${t.seq}`));
        assert.equal(seen.size, c.ticks.length, `client ${i}: no tick twice`);
        for (const [sym, [first, last]] of span) {
          assert.ok(first <= Math.ceil(from / 8) + 1, `client ${i} ${sym} starts by the mark`);
          assert.ok(last >= Math.floor(to / 8), `client ${i} ${sym} runs past the mark`);
        }
        received += c.ticks.length;
      }
      contiguous(btc.ticks, 'BTC-USD client');
      assert.ok(btc.ticks.length > 0 && btc.ticks.every((t) => t.symbol === 'BTC-USD'));
      assert.equal(idle.ticks.length, 0, 'an unsubscribed client gets nothing');
      assert.equal(sample(m, `wsbench_server_messages_sent_total{${L}}`), received);
      assert.equal(
        sample(m, `wsbench_server_messages_dropped_total{${L},reason="backpressure"}`),
        0,
      );
      assert.equal(sample(m, `wsbench_server_messages_dropped_total{${L},reason="closed"}`), 0);
    });
  }

  for (const opt of ['none', 'cork'] as const) {
    for (const policy of ['drop', 'close'] as const) {
      it(`--opt ${opt}, a client that stops reading: policy ${policy} is enforced per client and counted`, async () => {
        const server = await startServer(
          // prettier-ignore
          ['--mode', 'uws', '--opt', opt, '--rate', '100000', '--max-backpressure', '65536', '--slow-client', policy],
          {},
          cleanup,
        );
        cleanup.add(() => server.stop());
        const healthy = await connect(server.wsUrl, cleanup);
        await healthy.command({ op: 'subscribe', symbols: ['BTC-USD'] }, 'subscribed');
        const slow = await connect(server.wsUrl, cleanup);
        await slow.command({ op: 'subscribe', symbols: ['*'] }, 'subscribed');
        socketOf(slow.ws).pause();
        const key =
          policy === 'drop'
            ? `wsbench_server_messages_dropped_total{${L},reason="backpressure"}`
            : `wsbench_server_slow_client_closes_total{${L}}`;
        const m1 = await metricsUntil(server, (m) => (m.get(key) ?? 0) > 0, `${key} > 0`);
        if (policy === 'drop') {
          const m2 = await metricsUntil(
            server,
            (m) => sample(m, key) > sample(m1, key),
            'drops to keep being counted while it does not read',
          );
          assert.equal(m2.get(`wsbench_server_clients_connected{${L}}`), 2, 'stays connected');
          assert.equal(m2.get(`wsbench_server_slow_client_closes_total{${L}}`), 0);
          // It reads again: its backlog drains and ticks flow again (resumed in `drain`).
          socketOf(slow.ws).resume();
          const n = slow.ticks.length;
          await slow.waitFor(() => slow.ticks.length >= n + 5000, 'ticks after resuming', 30000);
          contiguous(
            slow.ticks.filter((t) => t.symbol === 'BTC-USD').slice(-100),
            'after resuming',
          );
        } else {
          assert.equal(m1.get(key), 1);
          // Its socket is paused, so it never reads the close frame: the server's count says it.
          const m2 = await metricsUntil(
            server,
            (m) => m.get(`wsbench_server_clients_connected{${L}}`) === 1,
            'the slow client to be gone',
          );
          assert.equal(m2.get(`wsbench_server_disconnects_total{code="1008",${L}}`), 1);
        }
        const n = healthy.ticks.length;
        await healthy.waitFor(() => healthy.ticks.length >= n + 200, '200 more ticks', 30000);
        contiguous(healthy.ticks, 'healthy');
        assert.equal((await healthy.command({ op: 'ping', id: 5 }, 'pong')).id, 5);
        assert.ok(server.alive);
      });
    }
  }

  it('a switch of the other engine is refused for the mode, naming the mode’s switches', async () => {
    const uws = await runServer(['--mode', 'uws', '--opt', 'pacer,frame-once']);
    assert.equal(uws.code, 2);
    assert.match(
      uws.stderr,
      /invalid --opt "pacer,frame-once" with --mode uws: "frame-once" is not a switch of uws; expected .*pacer, serialize-once, pubsub, cork/,
    );
    const ws = await runServer(['--mode', 'ws', '--opt', 'pubsub,cork']);
    assert.equal(ws.code, 2);
    assert.match(
      ws.stderr,
      /invalid --opt "pubsub,cork" with --mode ws: "pubsub", "cork" are not a switch of ws; expected .*pacer, serialize-once, frame-once, batch, nodelay/,
    );
  });
});
