// The pacer as a user sees it on a real server: which pacer runs (/health), and what /metrics
// says when the server cannot keep its schedule (--burn-us makes every tick cost CPU, the aid
// the bench's "server saturated" / "pacer behind" verdicts are tested with).
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import {
  ALL_MODES,
  Cleanup,
  getMetrics,
  sample,
  sleep,
  startServer,
  type ServerProcess,
} from '../testkit/server-harness.js';
import type { Health } from './http.js';

async function health(server: ServerProcess): Promise<Health> {
  const res = await fetch(server.url('/health'));
  assert.equal(res.status, 200);
  return (await res.json()) as Health;
}

const DEFAULT_PACER = { 'ws-naive': 'interval', ws: 'sleep', uws: 'sleep' } as const;

describe('pacer on a real server', () => {
  const cleanup = new Cleanup();
  afterEach(() => cleanup.run());

  for (const mode of ALL_MODES) {
    it(`${mode}: /health names the pacer (${DEFAULT_PACER[mode]} by default, --pacer overrides) and the turn`, async () => {
      const a = await startServer(['--mode', mode, '--rate', '100'], {}, cleanup);
      cleanup.add(() => a.stop());
      const h = await health(a);
      assert.equal(h.pacer, DEFAULT_PACER[mode]);
      assert.equal(h.burnUs, 0);
      assert.equal(h.turnMs, 1);
      const b = await startServer(
        ['--mode', mode, '--rate', '100', '--pacer', 'spin', '--turn-ms', '7'],
        {},
        cleanup,
      );
      cleanup.add(() => b.stop());
      const hb = await health(b);
      assert.equal(hb.pacer, 'spin');
      assert.equal(hb.turnMs, 7, '/health reports --turn-ms');
    });
  }

  it('a server that burns CPU per tick falls behind and says so in /metrics', async () => {
    // 1000 ticks/s x 3 ms each = 3 cores of work: no machine here keeps that schedule.
    const server = await startServer(
      ['--mode', 'ws', '--rate', '1000', '--burn-us', '3000'],
      {},
      cleanup,
    );
    cleanup.add(() => server.stop());
    assert.equal((await health(server)).burnUs, 3000);
    const l = 'mode="ws"';
    let m = await getMetrics(server);
    for (
      let i = 0;
      i < 60 && (m.get(`wsbench_server_pacer_skipped_ticks_total{${l}}`) ?? 0) === 0;
      i++
    ) {
      await sleep(250);
      m = await getMetrics(server);
    }
    const skipped = sample(m, `wsbench_server_pacer_skipped_ticks_total{${l}}`);
    assert.ok(skipped > 0, 'more than a second behind: the backlog is skipped and counted');
    const generated = sample(m, `wsbench_server_ticks_generated_total{${l}}`);
    const lateTurns =
      sample(m, `wsbench_server_pacer_lag_seconds_count{${l}}`) -
      sample(m, `wsbench_server_pacer_lag_seconds_bucket{le="0.01",${l}}`);
    assert.ok(lateTurns > 0, 'turns started more than 10 ms behind their first due tick');
    assert.ok(generated > 0);
    // The burn is per tick: ~333 ticks/s fit in a core, far below the 1000/s asked for.
    const up = (await health(server)).uptimeSec;
    assert.ok(generated < 1000 * up * 0.6, `${generated} ticks in ${up} s`);
  });

  it("a server with time to spare skips nothing and observes every turn's lag", async () => {
    const server = await startServer(['--mode', 'ws', '--rate', '200'], {}, cleanup);
    cleanup.add(() => server.stop());
    await sleep(1000);
    const m = await getMetrics(server);
    const l = 'mode="ws"';
    assert.equal(sample(m, `wsbench_server_pacer_skipped_ticks_total{${l}}`), 0);
    assert.ok(sample(m, `wsbench_server_pacer_lag_seconds_count{${l}}`) > 0);
  });
});
