// The ws engine's optimisation switches (--opt) on a real server: every set sends the same bytes
// (byte-identical to protocol's encodeTick, seq contiguous), /health and the opts_info label name
// the set, and each switch changes what the server does, as its counters show: serialisations
// per client or per tick, socket writes per tick or per turn, the pacer.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { encodeTick, type Tick } from '../protocol/index.js';
import {
  Cleanup,
  connect,
  getMetrics,
  runServer,
  sample,
  startServer,
  type ParsedTick,
} from '../testkit/server-harness.js';
import type { Health } from './http.js';
import { WS_OPTS } from './opts.js';

const SETS: readonly (readonly string[])[] = [[], ...WS_OPTS.map((o) => [o]), WS_OPTS];

function assertWire(frames: readonly string[], ticks: readonly ParsedTick[], what: string): void {
  const tickFrames = frames.filter((f) => f.startsWith('{"type":"tick"'));
  for (const f of tickFrames) {
    const t = JSON.parse(f) as Tick;
    assert.equal(f, encodeTick(t), `${what}: frame bytes are encodeTick's`);
  }
  const last = new Map<string, number>();
  for (const t of ticks) {
    const prev = last.get(t.symbol);
    if (prev !== undefined) assert.equal(t.seq, prev + 1, `${what}: ${t.symbol} seq`);
    last.set(t.symbol, t.seq);
  }
}

describe('ws engine switches (--opt)', () => {
  const cleanup = new Cleanup();
  afterEach(() => cleanup.run());

  for (const set of SETS) {
    const name = set.length === 0 ? 'none' : set.join('+');
    it(`--opt ${name}: same bytes, named in /health and /metrics, counters follow the switches`, async () => {
      const server = await startServer(
        ['--mode', 'ws', '--rate', '5000', '--turn-ms', '5', '--opt', name],
        {},
        cleanup,
      );
      cleanup.add(() => server.stop());
      const all = await connect(server.wsUrl, cleanup);
      const one = await connect(server.wsUrl, cleanup);
      await all.command({ op: 'subscribe', symbols: ['*'] }, 'subscribed');
      await one.command({ op: 'subscribe', symbols: ['ETH-USD'] }, 'subscribed');
      await all.waitFor(() => all.ticks.length >= 2000, '2000 ticks');
      await one.waitFor(() => one.ticks.length >= 100, '100 ETH-USD ticks');
      assertWire(all.frames, all.ticks, `${name} all`);
      assertWire(one.frames, one.ticks, `${name} one`);
      assert.ok(
        one.ticks.every((t) => t.symbol === 'ETH-USD'),
        'filtered by subscription',
      );
      // A reply between ticks arrives whole, whatever the write path.
      assert.equal((await all.command({ op: 'ping', id: 9 }, 'pong')).id, 9);

      const h = (await (await fetch(server.url('/health'))).json()) as Health;
      assert.deepEqual(h.opts, set);
      assert.equal(h.pacer, set.includes('pacer') ? 'sleep' : 'interval');
      const m = await getMetrics(server);
      const l = 'mode="ws"';
      assert.equal(m.get(`wsbench_server_opts_info{${l},opts="${name}",pacer="${h.pacer}"}`), 1);
      const sent = sample(m, `wsbench_server_messages_sent_total{${l}}`);
      const serial = sample(m, `wsbench_server_serializations_total{${l}}`);
      const writes = sample(m, `wsbench_server_socket_writes_total{${l}}`);
      const generated = sample(m, `wsbench_server_ticks_generated_total{${l}}`);
      if (set.includes('serialize-once'))
        assert.ok(serial <= generated, `once per tick: ${serial} <= ${generated} ticks`);
      else assert.equal(serial, sent, 'one JSON.stringify per client per tick');
      if (set.includes('batch'))
        assert.ok(writes < sent / 3, `one write per client per turn: ${writes} for ${sent}`);
      else assert.equal(writes, sent, 'one write per tick per client');
    });
  }

  it('a bad --opt and a ws switch with uws are refused, naming what is allowed', async () => {
    const bad = await runServer(['--opt', 'batch,warp']);
    assert.equal(bad.code, 2);
    assert.match(
      bad.stderr,
      /invalid --opt "batch,warp": expected .*pacer, serialize-once, frame-once, batch, nodelay/,
    );
    const uws = await runServer(['--mode', 'uws', '--opt', 'batch']);
    assert.equal(uws.code, 2);
    assert.match(
      uws.stderr,
      /invalid --opt "batch" with --mode uws: "batch" is not a switch of uws; expected .*pubsub/,
    );
  });
});
