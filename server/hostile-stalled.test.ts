// ws-naive with clients that never read: the backlog check counts what a queued ws.send() holds
// in memory, not only its bytes, so a stalled reader costs about the cap (plus kernel buffers,
// which are not RSS), not four times it. Ten stalled readers on loopback at a 4 MiB cap; RSS from
// /proc once every one of them is at its limit (every tick dropped for all ten).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { afterEach, describe, it } from 'node:test';
import { assertServerHealthy, healthyClient } from '../testkit/hostile-kit.js';
import { RawClient } from '../testkit/raw-client.js';
import { Cleanup, getMetrics, sleep, startServer } from '../testkit/server-harness.js';

const STALLED = 10;
const CAP = 4 * 2 ** 20;
const FILL_TIMEOUT_MS = 90_000;

function vmRss(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) * 1024;
}

describe('server mode ws-naive with stalled readers', () => {
  const cleanup = new Cleanup();
  afterEach(() => cleanup.run());

  it(`${STALLED} clients that never read cost at most 2x the ${CAP / 2 ** 20} MiB cap each in RSS`, async (t) => {
    const mode = 'ws-naive';
    const l = `mode="${mode}"`;
    const server = await startServer(
      ['--mode', mode, '--rate', '0', '--max-backpressure', String(CAP)],
      {},
      cleanup,
    );
    cleanup.add(() => server.stop());
    const healthy = await healthyClient(server, cleanup);
    await sleep(500);
    const rss0 = vmRss(server.ready.pid);
    for (let i = 0; i < STALLED; i++) {
      const c = await RawClient.connect(server.port);
      cleanup.add(() => {
        c.destroy();
      });
      c.sendText('{"op":"subscribe","symbols":["*"]}');
      c.socket.pause();
    }
    // All of them are at the limit once (nearly) every generated tick is dropped for each.
    const end = Date.now() + FILL_TIMEOUT_MS;
    const read = async () => {
      const m = await getMetrics(server);
      return {
        gen: m.get(`wsbench_server_ticks_generated_total{${l}}`) ?? 0,
        drop: m.get(`wsbench_server_messages_dropped_total{${l},reason="backpressure"}`) ?? 0,
      };
    };
    let prev = await read();
    let ratio = 0;
    while (Date.now() < end) {
      await sleep(1000);
      const cur = await read();
      ratio = (cur.drop - prev.drop) / Math.max(1, cur.gen - prev.gen);
      prev = cur;
      if (ratio >= STALLED * 0.95) break;
    }
    assert.ok(ratio >= STALLED * 0.95, `stalled readers not all at the limit (ratio ${ratio})`);
    await sleep(2000);
    const per = (vmRss(server.ready.pid) - rss0) / STALLED;
    t.diagnostic(`RSS per stalled reader: ${(per / 2 ** 20).toFixed(2)} MB`);
    assert.ok(
      per < 2 * CAP,
      `RSS per stalled reader ${(per / 2 ** 20).toFixed(1)} MB (cap ${CAP / 2 ** 20} MiB)`,
    );
    await assertServerHealthy(server, healthy, 'with stalled readers', 50);
  });
});
