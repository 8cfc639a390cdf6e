// Floods from one hostile connection, in every mode, while a healthy `ws` client receives ticks:
// pings sent as fast as TCP takes them by a client that never reads the pongs, and one subscribe
// naming 100,000 symbols. The server stays up, its memory stays bounded, the healthy stream has no
// gap. What happens to the flooder is per mode (docs/server.md, "Hostile input").
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { OPCODE } from '../protocol/framing.js';
import { assertServerHealthy, healthyClient } from '../testkit/hostile-kit.js';
import { buildFrame, RawClient } from '../testkit/raw-client.js';
import { ALL_MODES, Cleanup, getMetrics, sleep, startServer } from '../testkit/server-harness.js';

const PINGS = 100_000;
/** Pongs of the flood are ~13 MB; queueing them all would show. */
const RSS_GROWTH_LIMIT = 48 * 2 ** 20;

for (const mode of ALL_MODES) {
  describe(`server mode ${mode}: floods`, () => {
    const cleanup = new Cleanup();
    afterEach(() => cleanup.run());

    it(`${PINGS} pings from a client that never reads: memory bounded, others unaffected`, async () => {
      const server = await startServer(['--mode', mode, '--rate', '2000'], {}, cleanup);
      cleanup.add(() => server.stop());
      const rssKey = `process_resident_memory_bytes{mode="${mode}"}`;
      const healthy = await healthyClient(server, cleanup);
      const rss0 = (await getMetrics(server)).get(rssKey) ?? 0;
      const flooder = await RawClient.connect(server.port);
      cleanup.add(() => {
        flooder.destroy();
      });
      flooder.socket.pause();
      const one = buildFrame({ opcode: OPCODE.ping, payload: Buffer.alloc(125, 0x61) });
      const burst = Buffer.concat(Array.from({ length: 1000 }, () => one));
      let sent = 0;
      const deadline = Date.now() + 10_000;
      while (sent < PINGS && !flooder.socketClosed && Date.now() < deadline) {
        if (!flooder.socket.write(burst))
          await Promise.race([new Promise((r) => flooder.socket.once('drain', r)), sleep(500)]);
        sent += 1000;
      }
      await sleep(1000);
      const rss1 = (await getMetrics(server)).get(rssKey) ?? 0;
      const mb = (x: number) => `${(x / 2 ** 20).toFixed(1)} MB`;
      assert.ok(
        rss1 - rss0 < RSS_GROWTH_LIMIT,
        `RSS grew ${mb(rss1 - rss0)} after ${sent} pings (${mb(sent * one.length)})`,
      );
      if (mode === 'uws') {
        // uWS answers while it can and drops pongs over its backpressure limit; stays open.
        assert.equal(flooder.socketClosed, false, 'uws keeps the flooder');
      } else {
        // ws terminates a connection with 60 auto-pongs pending (maxPendingAutoPongs).
        assert.equal(flooder.socketClosed, true, 'ws terminates the flooder');
      }
      await assertServerHealthy(server, healthy, 'after the ping flood');
    });

    it('a subscribe naming 100,000 symbols: 1009 at the default limit, an error reply under a raised one', async () => {
      const frame = JSON.stringify({
        op: 'subscribe',
        symbols: Array.from({ length: 100_000 }, (_, i) => `SYM-${i}`),
      });
      for (const maxPayload of [16384, 4 * 2 ** 20]) {
        const server = await startServer(
          ['--mode', mode, '--rate', '2000', '--max-payload', String(maxPayload)],
          {},
          cleanup,
        );
        cleanup.add(() => server.stop());
        const healthy = await healthyClient(server, cleanup);
        const c = await RawClient.connect(server.port);
        cleanup.add(() => {
          c.destroy();
        });
        c.sendText(frame);
        if (maxPayload < frame.length) {
          const end = await c.ending();
          assert.ok(end.socketClosed, 'closed');
          // ~1 MB is beyond uWS's own limit (64 KiB here): uWS cuts it without a close frame.
          assert.equal(end.closeFrame?.code, mode === 'uws' ? undefined : 1009);
        } else {
          await c.until(() => c.texts.length > 0);
          const reply = JSON.parse(c.texts[0] ?? '{}') as { type?: string; code?: string };
          assert.deepEqual([reply.type, reply.code], ['error', 'bad_symbols']);
          assert.ok(await c.ping(), 'the connection is kept');
        }
        await assertServerHealthy(server, healthy, `after 100,000 symbols (limit ${maxPayload})`);
        await server.stop();
      }
    });
  });
}
