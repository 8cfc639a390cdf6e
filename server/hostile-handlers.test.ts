// A handler that throws must not take the process down (guard.ts): the exception is counted in
// wsbench_server_handler_errors_total{handler}, that connection is closed with 1011, and every
// other client keeps its stream. No frame found here makes a handler throw, so the test arms the
// test-only fault (WSBENCH_TEST_FAULT=<token> in the server's environment, unreachable from the
// network alone): the token as a text frame throws in the message handler, `<token>:close` makes
// that connection's close handler throw, `<token>:drain` its drain handler (uws: uWS calls drain
// when a connection that had backpressure can be written again). uws's open handler is guarded
// the same way but no test reaches it: no frame comes before open, and uWS's open gets no request.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, it } from 'node:test';
import { RawClient } from '../testkit/raw-client.js';
import { assertServerHealthy, healthyClient, metricsUntil } from '../testkit/hostile-kit.js';
import {
  ALL_MODES,
  Cleanup,
  connect,
  getMetrics,
  socketOf,
  startServer,
} from '../testkit/server-harness.js';

for (const mode of ALL_MODES) {
  describe(`server mode ${mode}: a throwing handler`, () => {
    const cleanup = new Cleanup();
    afterEach(() => cleanup.run());

    it('is caught and counted, closes only that connection (1011), the others keep receiving', async () => {
      const token = 'fault-' + randomBytes(8).toString('hex');
      const server = await startServer(
        ['--mode', mode, '--rate', '2000'],
        { WSBENCH_TEST_FAULT: token },
        cleanup,
      );
      cleanup.add(() => server.stop());
      const l = `mode="${mode}"`;
      const healthy = await healthyClient(server, cleanup);

      // The message handler throws, three times over on fresh connections.
      for (let i = 0; i < 3; i++) {
        const bad = await RawClient.connect(server.port);
        cleanup.add(() => {
          bad.destroy();
        });
        bad.sendText(token);
        const end = await bad.ending();
        assert.equal(end.closeFrame?.code, 1011, `message fault ${i}: close code`);
        assert.ok(end.socketClosed, `message fault ${i}: connection gone`);
      }
      await metricsUntil(
        server,
        `wsbench_server_handler_errors_total{handler="message",${l}}`,
        (v) => v === 3,
      );

      // The close handler throws: the client still leaves every list (no ticks to a dead socket).
      const doomed = await connect(server.wsUrl, cleanup);
      await doomed.command({ op: 'subscribe', symbols: ['*'] }, 'subscribed');
      doomed.send(`${token}:close`);
      await doomed.reply('error');
      doomed.ws.close(1000);
      assert.equal(await doomed.closed, 1000);
      const m = await metricsUntil(
        server,
        `wsbench_server_handler_errors_total{handler="close",${l}}`,
        (v) => v === 1,
      );
      assert.equal(m.get(`wsbench_server_clients_connected{${l}}`), 1);

      await assertServerHealthy(server, healthy, 'after the handler faults');
      assert.match(server.stderr, /message handler failed .*InjectedFault/s);
    });

    if (mode === 'uws')
      it('in drain is caught and counted, closes only that connection (1011), the others keep receiving', async () => {
        const token = 'fault-' + randomBytes(8).toString('hex');
        // 40k ticks/s fill a non-reading client's kernel buffers within seconds; the healthy
        // client takes one symbol (5k/s), which it keeps up with on a busy machine.
        const server = await startServer(
          ['--mode', mode, '--rate', '40000', '--max-backpressure', '65536'],
          { WSBENCH_TEST_FAULT: token },
          cleanup,
        );
        cleanup.add(() => server.stop());
        const l = `mode="${mode}"`;
        const healthy = await connect(server.wsUrl, cleanup);
        await healthy.command({ op: 'subscribe', symbols: ['BTC-USD'] }, 'subscribed');
        await healthy.waitFor(() => healthy.ticks.length > 0, 'the first tick');

        const doomed = await connect(server.wsUrl, cleanup);
        await doomed.command({ op: 'subscribe', symbols: ['*'] }, 'subscribed');
        // Stop reading until the server holds back (its backlog past --max-backpressure)...
        socketOf(doomed.ws).pause();
        await metricsUntil(
          server,
          `wsbench_server_messages_dropped_total{${l},reason="backpressure"}`,
          (v) => (v ?? 0) > 0,
          60_000,
        );
        // ...arm the drain fault (the server reads it at once: its answer, an error, is counted)...
        doomed.send(`${token}:drain`);
        await metricsUntil(
          server,
          `wsbench_server_client_errors_total{code="bad_json",${l}}`,
          (v) => v === 1,
        );
        const drainKey = `wsbench_server_handler_errors_total{handler="drain",${l}}`;
        assert.equal(
          (await getMetrics(server)).get(drainKey),
          0,
          'no drain while it does not read',
        );
        // ...and read again: uWS calls drain once the backlog is written, and drain throws.
        socketOf(doomed.ws).resume();
        await metricsUntil(server, drainKey, (v) => v === 1, 60_000);
        assert.equal(await doomed.closed, 1011, 'that connection closed with 1011');
        const m = await metricsUntil(
          server,
          `wsbench_server_clients_connected{${l}}`,
          (v) => v === 1,
        );
        assert.equal(m.get(`wsbench_server_handler_errors_total{handler="message",${l}}`), 0);
        await assertServerHealthy(server, healthy, 'after the drain fault');
        assert.match(server.stderr, /drain handler failed .*InjectedFault/s);
      });
  });
}
