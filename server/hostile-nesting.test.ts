// A text frame of ~8 KB (well under the 16 KiB payload limit) holding a command nested a few
// thousand arrays deep once overflowed the stack while the server built the error reply
// (RangeError in JSON.stringify): the process died and every client got 1006. Every mode must
// answer it with an error frame on that connection, stay up, and keep the other clients' streams
// whole. The hostile side is a raw client (testkit/raw-client.ts), the healthy side a real `ws`.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { RawClient } from '../testkit/raw-client.js';
import { assertServerHealthy, healthyClient } from '../testkit/hostile-kit.js';
import { ALL_MODES, Cleanup, getMetrics, startServer } from '../testkit/server-harness.js';

/**
 * ~8 KB (4000 deep, the size that was reported) and ~14 KB (7000 deep, still under the 16 KiB
 * limit). How deep JSON.stringify may recurse depends on the stack already in use, so the deeper
 * case is the one that crashed the old reply path in every mode here (checked by hand).
 */
const DEPTHS = [4000, 7000];

/** Where the nesting sits, and the error code the server must answer with. */
function cases(depth: number): { name: string; text: string; code: string }[] {
  const deep = '['.repeat(depth) + ']'.repeat(depth);
  const chain = Math.round(depth / 3);
  return [
    { name: 'the whole frame', text: deep, code: 'bad_command' },
    { name: 'symbols', text: `{"op":"subscribe","symbols":${deep}}`, code: 'bad_symbols' },
    { name: 'a symbol', text: `{"op":"unsubscribe","symbols":[${deep}]}`, code: 'bad_symbols' },
    { name: 'id', text: `{"op":"ping","id":${deep}}`, code: 'bad_command' },
    { name: 'op', text: `{"op":${deep}}`, code: 'unknown_op' },
    {
      name: 'an object chain',
      text: '{"op":'.repeat(chain) + '1' + '}'.repeat(chain),
      code: 'unknown_op',
    },
  ].map((c) => ({ ...c, name: `${c.name}, ${depth} deep` }));
}

for (const mode of ALL_MODES) {
  describe(`server mode ${mode}: deeply nested commands`, () => {
    const cleanup = new Cleanup();
    afterEach(() => cleanup.run());

    it('answers each with an error frame, keeps that connection, stays up; the healthy client sees no gap', async () => {
      const server = await startServer(['--mode', mode, '--rate', '2000'], {}, cleanup);
      cleanup.add(() => server.stop());
      const healthy = await healthyClient(server, cleanup);
      const hostile = await RawClient.connect(server.port);
      cleanup.add(() => {
        hostile.destroy();
      });
      for (const { name, text, code } of DEPTHS.flatMap(cases)) {
        const bytes = Buffer.byteLength(text);
        assert.ok(bytes > 7000 && bytes < 16384, `${name}: ${bytes} B, under the 16 KiB limit`);
        const from = hostile.texts.length;
        hostile.sendText(text);
        const got = await hostile.until(() => hostile.texts.length > from || hostile.socketClosed);
        assert.ok(got && !hostile.socketClosed, `${name}: answered, connection kept`);
        const reply = JSON.parse(hostile.texts[from] ?? '') as { type: string; code: string };
        assert.equal(reply.type, 'error', name);
        assert.equal(reply.code, code, name);
        assert.ok(await hostile.ping(), `${name}: the same connection still answers pings`);
      }
      await assertServerHealthy(server, healthy, 'after the nested commands');
      const m = await getMetrics(server);
      assert.equal(
        m.get(`wsbench_server_handler_errors_total{handler="message",mode="${mode}"}`),
        0,
      );
      assert.equal(m.get(`wsbench_server_clients_connected{mode="${mode}"}`), 2);
    });
  });
}
