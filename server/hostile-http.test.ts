// The HTTP side of hostile clients, in every mode: slowloris upgrades (headers dribbled byte by
// byte, never finished) must not hang anyone else and are closed after a bounded time; oversized
// header blocks are refused without touching other clients. A healthy `ws` client keeps
// receiving throughout; a new client can still connect while the slowloris sockets are open.
import assert from 'node:assert/strict';
import net from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { assertServerHealthy, healthyClient } from '../testkit/hostile-kit.js';
import {
  ALL_MODES,
  Cleanup,
  connect,
  sleep,
  startServer,
  type ServerProcess,
} from '../testkit/server-harness.js';

const UPGRADE_HEAD =
  'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
  'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n';
/** Slowloris clients per mode (loopback, bounded). */
const SLOW_CLIENTS = 20;
/** ws modes: 10 s headers/request timeout checked every 1 s; uWS: ~10 s HTTP idle timeout. */
const CLOSED_WITHIN_MS = 20_000;

interface Slowloris {
  closedAfterMs: Promise<number>;
  answer: () => string;
  stop: () => void;
}

/** Dribbles an upgrade request one byte per `gapMs`, followed by a header that never ends. */
function slowloris(port: number, gapMs: number): Slowloris {
  const t0 = Date.now();
  const s = net.connect(port, '127.0.0.1');
  const bytes = UPGRADE_HEAD + 'X-Never-Ends: ' + 'a'.repeat(10_000);
  let i = 0;
  let answer = '';
  s.on('data', (d: Buffer) => (answer += d.toString('latin1')));
  s.on('error', () => {});
  const timer = setInterval(() => {
    if (i < bytes.length && s.writable) s.write(bytes.charAt(i++));
  }, gapMs);
  const closedAfterMs = new Promise<number>((resolve) =>
    s.once('close', () => {
      clearInterval(timer);
      resolve(Date.now() - t0);
    }),
  );
  return {
    closedAfterMs,
    answer: () => answer,
    stop: () => {
      clearInterval(timer);
      s.destroy();
    },
  };
}

/** Sends one request with a header of `size` bytes; resolves with the answer and whether it closed. */
async function bigHeaders(
  server: ServerProcess,
  head: string,
  size: number,
): Promise<{ answer: string; closed: boolean }> {
  const s = net.connect(server.port, '127.0.0.1');
  let answer = '';
  s.on('data', (d: Buffer) => (answer += d.toString('latin1')));
  s.on('error', () => {});
  await new Promise<void>((r) =>
    s.once('connect', () => {
      r();
    }),
  );
  const closed = new Promise<boolean>((r) =>
    s.once('close', () => {
      r(true);
    }),
  );
  s.write(head + 'X-Pad: ' + 'a'.repeat(size) + '\r\n\r\n');
  const done = await Promise.race([closed, sleep(3000).then(() => false)]);
  s.destroy();
  return { answer, closed: done };
}

for (const mode of ALL_MODES) {
  describe(`server mode ${mode}: hostile HTTP`, () => {
    const cleanup = new Cleanup();
    afterEach(() => cleanup.run());

    it(`${SLOW_CLIENTS} slowloris upgrades hang no one and are closed within ${CLOSED_WITHIN_MS / 1000} s`, async () => {
      const server = await startServer(['--mode', mode, '--rate', '2000'], {}, cleanup);
      cleanup.add(() => server.stop());
      const healthy = await healthyClient(server, cleanup);
      const slow = Array.from({ length: SLOW_CLIENTS }, () => slowloris(server.port, 200));
      for (const s of slow)
        cleanup.add(() => {
          s.stop();
        });
      await sleep(2000);
      // While they dribble: a new client connects, subscribes and gets ticks; HTTP answers.
      const late = await connect(server.wsUrl, cleanup);
      await late.command({ op: 'subscribe', symbols: ['BTC-USD'] }, 'subscribed');
      await late.waitFor(() => late.ticks.length >= 10, '10 ticks for a client that came later');
      const health = await fetch(server.url('/health'));
      assert.equal(health.status, 200);
      await health.arrayBuffer();
      const closedAfter = await Promise.race([
        Promise.all(slow.map((s) => s.closedAfterMs)),
        sleep(CLOSED_WITHIN_MS).then(() => null),
      ]);
      assert.ok(closedAfter, `slowloris sockets still open after ${CLOSED_WITHIN_MS} ms`);
      for (const s of slow) assert.doesNotMatch(s.answer(), /101 Switching/, 'never upgraded');
      if (mode !== 'uws') {
        // node:http answers the timeout with 408 before closing (uWS closes without a word).
        for (const s of slow) assert.match(s.answer(), /^HTTP\/1\.1 408 /);
      }
      await assertServerHealthy(server, healthy, 'after the slowloris clients');
    });

    it('refuses oversized header blocks, the others keep receiving', async () => {
      const server = await startServer(['--mode', mode, '--rate', '2000'], {}, cleanup);
      cleanup.add(() => server.stop());
      const healthy = await healthyClient(server, cleanup);
      // node:http: 16 KiB of headers at most (431); uWS 20.30: ~64-128 KiB, then closes silently.
      const sizes = mode === 'uws' ? [256 * 1024, 1 << 20] : [20 * 1024, 256 * 1024, 1 << 20];
      for (const size of sizes) {
        for (const head of [UPGRADE_HEAD, 'GET /health HTTP/1.1\r\nHost: x\r\n']) {
          const r = await bigHeaders(server, head, size);
          const what = `${head.slice(0, 12)}... with a ${size} B header`;
          assert.ok(r.closed, `${what}: connection closed`);
          if (mode === 'uws') assert.doesNotMatch(r.answer, /^HTTP\/1\.1 [12]/, what);
          else assert.match(r.answer, /^HTTP\/1\.1 431 /, what);
        }
      }
      await assertServerHealthy(server, healthy, 'after the oversized headers');
    });
  });
}
