// Nothing a client does may crash the server or disturb other clients: bad frames, oversized
// frames, abrupt disconnects mid-broadcast, aborted HTTP requests, clients that stop reading.
// And SIGTERM closes every client with 1001 and exits 0. Every mode, real processes, port 0.
import assert from 'node:assert/strict';
import net from 'node:net';
import { afterEach, describe, it } from 'node:test';
import {
  ALL_MODES,
  Cleanup,
  connect,
  getMetrics,
  sample,
  socketOf,
  sleep,
  startServer,
  TestClient,
  type ParsedTick,
  type ServerProcess,
} from '../testkit/server-harness.js';

function assertContiguous(ticks: ParsedTick[], what: string): void {
  const last = new Map<string, number>();
  for (const t of ticks) {
    const prev = last.get(t.symbol);
    if (prev !== undefined)
      assert.equal(t.seq, prev + 1, `${what}: ${t.symbol} seq ${t.seq} after ${prev}`);
    last.set(t.symbol, t.seq);
  }
}

/** Opens a raw TCP connection, writes `data`, and destroys it right away (or after `ms`). */
async function abortedRequest(port: number, data: string, ms = 0): Promise<void> {
  const s = net.connect(port, '127.0.0.1');
  s.on('error', () => {});
  await new Promise<void>((r) =>
    s.once('connect', () => {
      r();
    }),
  );
  s.write(data);
  if (ms > 0) await sleep(ms);
  s.destroy();
}

/** Polls /metrics until `pred` holds; returns the last sample. */
async function metricsUntil(
  server: ServerProcess,
  pred: (m: Map<string, number>) => boolean,
  what: string,
  ms = 15000,
): Promise<Map<string, number>> {
  const end = Date.now() + ms;
  for (;;) {
    const m = await getMetrics(server);
    if (pred(m)) return m;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

for (const mode of ALL_MODES) {
  describe(`server mode ${mode} under bad input`, () => {
    const cleanup = new Cleanup();
    afterEach(() => cleanup.run());

    it('answers bad frames with error codes, keeps the connection, closes oversized frames with 1009', async () => {
      const server = await startServer(
        ['--mode', mode, '--rate', '2000', '--max-payload', '1024'],
        {},
        cleanup,
      );
      cleanup.add(() => server.stop());
      const observer = await connect(server.wsUrl, cleanup);
      await observer.command({ op: 'subscribe', symbols: ['*'] }, 'subscribed');
      const bad = await connect(server.wsUrl, cleanup);
      const cases: [string | Buffer, string][] = [
        ['{not json', 'bad_json'],
        ['', 'bad_json'],
        ['[1,2]', 'bad_command'],
        ['null', 'bad_command'],
        ['{"op":"dance"}', 'unknown_op'],
        ['{"symbols":["BTC-USD"]}', 'unknown_op'],
        ['{"op":"subscribe","symbols":"BTC-USD"}', 'bad_symbols'],
        ['{"op":"subscribe","symbols":["NOPE-USD"]}', 'bad_symbols'],
        ['{"op":"subscribe","symbols":[]}', 'bad_symbols'],
        ['{"op":"ping","id":"x"}', 'bad_command'],
        [Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00]), 'binary_not_supported'],
      ];
      for (const [frame, code] of cases) {
        const from = bad.frames.length;
        bad.ws.send(frame);
        const e = await bad.reply('error', from);
        assert.equal(e.code, code, `reply to ${JSON.stringify(String(frame))}`);
        assert.equal(typeof e.message, 'string');
      }
      // Still up and still serving after all that.
      const pong = await bad.command({ op: 'ping', id: 99 }, 'pong');
      assert.equal(pong.id, 99);
      const m = await getMetrics(server);
      assert.equal(m.get(`wsbench_server_client_errors_total{code="bad_json",mode="${mode}"}`), 2);
      assert.equal(
        m.get(`wsbench_server_client_errors_total{code="bad_symbols",mode="${mode}"}`),
        3,
      );
      assert.equal(
        m.get(`wsbench_server_client_errors_total{code="binary_not_supported",mode="${mode}"}`),
        1,
      );

      // A frame over --max-payload closes that connection (and only that one) with 1009.
      const big = await connect(server.wsUrl, cleanup);
      big.send('{"op":"ping","id":1,"pad":"' + 'x'.repeat(2000) + '"}');
      assert.equal(await big.closed, 1009);
      // Far over the limit: that connection is closed too, nothing else notices.
      const huge = await connect(server.wsUrl, cleanup);
      huge.send('x'.repeat(4 * 2 ** 20));
      assert.ok([1009, 1006].includes(await huge.closed), `huge frame close ${huge.closeCode}`);
      const n = observer.ticks.length;
      await observer.waitFor(() => observer.ticks.length >= n + 100, '100 more ticks');
      await bad.command({ op: 'ping', id: 100 }, 'pong');
      assertContiguous(observer.ticks, 'observer');
      assert.ok(server.alive);
    });

    it('survives abrupt disconnects mid-broadcast and aborted HTTP requests', async () => {
      const server = await startServer(['--mode', mode, '--rate', '0'], {}, cleanup);
      cleanup.add(() => server.stop());
      const observer = await connect(server.wsUrl, cleanup);
      await observer.command({ op: 'subscribe', symbols: ['BTC-USD'] }, 'subscribed');
      for (let round = 0; round < 3; round++) {
        const crowd: TestClient[] = [];
        for (let i = 0; i < 15; i++) crowd.push(new TestClient(server.wsUrl, cleanup));
        await Promise.all(crowd.map((c) => c.opened()));
        for (const c of crowd) c.send({ op: 'subscribe', symbols: ['*'] });
        await Promise.all(crowd.map((c) => c.waitFor(() => c.ticks.length > 0, 'a tick')));
        // TCP reset / FIN without a close frame while ticks are in flight.
        crowd.forEach((c, i) => {
          if (i % 2 === 1) c.ws.terminate();
          else socketOf(c.ws).destroy();
        });
        // HTTP requests whose client vanishes: mid-headers, right after a full request (the
        // async /metrics route included), and during a WebSocket upgrade.
        await Promise.all([
          abortedRequest(server.port, 'GET /metr'),
          abortedRequest(server.port, 'GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n'),
          abortedRequest(server.port, 'GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n', 1),
          abortedRequest(server.port, 'GET /snapshot HTTP/1.1\r\nHost: x\r\n\r\n'),
          abortedRequest(
            server.port,
            'GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nab',
          ),
          abortedRequest(
            server.port,
            'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
              'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
          ),
          ...Array.from({ length: 10 }, () =>
            abortedRequest(server.port, 'GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n'),
          ),
        ]);
      }
      const n = observer.ticks.length;
      await observer.waitFor(() => observer.ticks.length >= n + 1000, '1000 more ticks');
      assertContiguous(observer.ticks, 'observer');
      const health = await fetch(server.url('/health'));
      assert.equal(health.status, 200);
      const m = await metricsUntil(
        server,
        (x) => x.get(`wsbench_server_clients_connected{mode="${mode}"}`) === 1,
        'the crowd to be gone',
      );
      // 1 observer + 45 crowd, plus up to 3 upgrades that completed before their client vanished.
      const conns = sample(m, `wsbench_server_connections_total{mode="${mode}"}`);
      assert.ok(conns >= 46 && conns <= 49, `connections_total ${conns}`);
      assert.ok(server.alive, 'server still running');
    });
  });

  describe(`server mode ${mode} with a client that stops reading`, () => {
    const cleanup = new Cleanup();
    afterEach(() => cleanup.run());

    for (const policy of ['drop', 'close'] as const) {
      it(`policy ${policy}: memory stays bounded, the slow client is ${policy === 'drop' ? 'dropped' : 'closed'} and counted, others keep receiving`, async () => {
        const server = await startServer(
          [
            '--mode',
            mode,
            '--rate',
            '100000',
            '--max-backpressure',
            '65536',
            '--slow-client',
            policy,
          ],
          {},
          cleanup,
        );
        cleanup.add(() => server.stop());
        // 100k ticks/s fill a non-reading client's kernel buffers within seconds, while the
        // healthy client (one symbol, 12.5k/s) keeps up even on a busy machine.
        const l = `mode="${mode}"`;
        const healthy = await connect(server.wsUrl, cleanup);
        await healthy.command({ op: 'subscribe', symbols: ['BTC-USD'] }, 'subscribed');
        const slow = await connect(server.wsUrl, cleanup);
        await slow.command({ op: 'subscribe', symbols: ['*'] }, 'subscribed');
        // Stop reading: the kernel buffers fill, then the server-side backlog grows.
        socketOf(slow.ws).pause();
        const rss0 = sample(await getMetrics(server), `process_resident_memory_bytes{${l}}`);
        const key =
          policy === 'drop'
            ? `wsbench_server_messages_dropped_total{${l},reason="backpressure"}`
            : `wsbench_server_slow_client_closes_total{${l}}`;
        const m1 = await metricsUntil(server, (m) => (m.get(key) ?? 0) > 0, `${key} > 0`, 30000);
        await sleep(1500);
        const m2 = await getMetrics(server);
        const rss1 = sample(m1, `process_resident_memory_bytes{${l}}`);
        const rss2 = sample(m2, `process_resident_memory_bytes{${l}}`);
        // The backlog bound is 64 KiB; what RSS still moves is the V8 heap breathing between
        // collections (tens of MB). Unbounded queueing at max rate adds far more than that.
        const mb = (x: number) => (x / 2 ** 20).toFixed(1);
        assert.ok(
          rss2 - rss1 < 64 * 2 ** 20,
          `RSS grew ${mb(rss2 - rss1)} MB after the limit was hit`,
        );
        assert.ok(rss2 < rss0 + 160 * 2 ** 20, `RSS ${mb(rss2)} MB vs ${mb(rss0)} MB at start`);
        if (policy === 'drop') {
          assert.ok(
            sample(m2, key) > sample(m1, key),
            'drops keep being counted while it does not read',
          );
          assert.equal(
            m2.get(`wsbench_server_clients_connected{${l}}`),
            2,
            'a dropped client stays connected',
          );
          assert.equal(m2.get(`wsbench_server_slow_client_closes_total{${l}}`), 0);
        } else {
          assert.equal(m2.get(key), 1);
          const m3 = await metricsUntil(
            server,
            (m) => m.get(`wsbench_server_clients_connected{${l}}`) === 1,
            'the slow client to be disconnected',
          );
          assert.ok(
            (m3.get(`wsbench_server_disconnects_total{code="1008",${l}}`) ?? 0) +
              (m3.get(`wsbench_server_disconnects_total{code="1006",${l}}`) ?? 0) >=
              1,
          );
        }
        // The healthy client is unaffected.
        const n = healthy.ticks.length;
        await healthy.waitFor(
          () => healthy.ticks.length >= n + 200,
          '200 more ticks for the healthy client',
        );
        const pong = await healthy.command({ op: 'ping', id: 5 }, 'pong');
        assert.equal(pong.id, 5);
        assert.ok(server.alive);
      });
    }
  });

  describe(`server mode ${mode} shutdown`, () => {
    const cleanup = new Cleanup();
    afterEach(() => cleanup.run());

    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      it(`${signal} closes every client with 1001 and exits 0 within 5 s`, async () => {
        const server = await startServer(['--mode', mode, '--rate', '5000'], {}, cleanup);
        const clients = await Promise.all(
          Array.from({ length: 5 }, () => connect(server.wsUrl, cleanup)),
        );
        for (const c of clients) await c.command({ op: 'subscribe', symbols: ['*'] }, 'subscribed');
        await Promise.all(clients.map((c) => c.waitFor(() => c.ticks.length > 10, 'ticks')));
        const t0 = Date.now();
        server.proc.kill(signal);
        const codes = await Promise.all(clients.map((c) => c.closed));
        const exit = await server.exited;
        const ms = Date.now() - t0;
        assert.deepEqual(codes, [1001, 1001, 1001, 1001, 1001]);
        assert.deepEqual(exit, { code: 0, signal: null });
        assert.ok(ms < 5000, `exited after ${ms} ms`);
        for (const c of clients) assertContiguous(c.ticks, 'client before shutdown');
        // Nothing listens on the port any more.
        const err = await new Promise<NodeJS.ErrnoException | null>((resolve) => {
          const s = net.connect(server.port, '127.0.0.1');
          s.once('connect', () => {
            s.destroy();
            resolve(null);
          });
          s.once('error', resolve);
        });
        assert.equal(err?.code, 'ECONNREFUSED');
      });
    }
  });
}

describe('uws mode without the native binary', () => {
  it('refuses to start (exit 1) instead of benchmarking the JS fallback', async () => {
    const { runServer } = await import('../testkit/server-harness.js');
    const r = await runServer(['--mode', 'uws', '--port', '0'], { UWS_USE_FALLBACK: '1' });
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '', 'no ready line');
    assert.match(r.stderr, /native binary is not loaded/);
  });
});
