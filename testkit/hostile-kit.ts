// Shared by the hostile-input tests (server/hostile*.test.ts): a healthy subscriber that must keep
// receiving every tick while another connection misbehaves, and the checks a user would make
// afterwards (the process is up, /health answers, the healthy stream has no gap, no duplicate).
import assert from 'node:assert/strict';
import {
  connect,
  getMetrics,
  sleep,
  type Cleanup,
  type ServerProcess,
  type TestClient,
} from './server-harness.js';

/** A real `ws` client subscribed to every symbol, with its first tick received. */
export async function healthyClient(server: ServerProcess, cleanup: Cleanup): Promise<TestClient> {
  const c = await connect(server.wsUrl, cleanup);
  await c.command({ op: 'subscribe', symbols: ['*'] }, 'subscribed');
  await c.waitFor(() => c.ticks.length > 0, 'the first tick');
  return c;
}

/** Every symbol's seq goes up by exactly one from tick to tick. */
export function assertNoGaps(c: TestClient, what: string): void {
  const last = new Map<string, number>();
  for (const t of c.ticks) {
    const prev = last.get(t.symbol);
    if (prev !== undefined)
      assert.equal(t.seq, prev + 1, `${what}: ${t.symbol} seq ${t.seq} after ${prev}`);
    last.set(t.symbol, t.seq);
  }
}

/**
 * The server survived: still running, /health 200, the healthy client still open, gets `more`
 * ticks after this point with no gap in its whole stream, and answers a ping.
 */
export async function assertServerHealthy(
  server: ServerProcess,
  healthy: TestClient,
  what: string,
  more = 200,
): Promise<void> {
  assert.ok(server.alive, `${what}: server exited; stderr: ${server.stderr.slice(-2000)}`);
  assert.equal(healthy.closeCode, null, `${what}: the healthy client was closed`);
  const n = healthy.ticks.length;
  await healthy.waitFor(() => healthy.ticks.length >= n + more, `${what}: ${more} more ticks`);
  assertNoGaps(healthy, what);
  const pong = await healthy.command({ op: 'ping', id: 7 }, 'pong');
  assert.equal(pong.id, 7);
  // One retry: after an event-loop stall the server may run its keep-alive timeout before it
  // reads the next request on that socket (undici reports "other side closed"); a second GET on
  // a fresh connection must answer.
  const get = () => fetch(server.url('/health'));
  const health = await get().catch(async (first: unknown) =>
    get().catch((err: unknown) => {
      const cause = (e: unknown) => (e instanceof Error ? String(e.cause) : '');
      throw new Error(`${what}: GET /health failed twice: ${cause(first)}; ${cause(err)}`);
    }),
  );
  assert.equal(health.status, 200, `${what}: /health`);
  await health.arrayBuffer();
}

/** Polls /metrics until `pred` holds; throws with the last value of `key` after `ms`. */
export async function metricsUntil(
  server: ServerProcess,
  key: string,
  pred: (v: number | undefined) => boolean,
  ms = 10000,
): Promise<Map<string, number>> {
  const end = Date.now() + ms;
  for (;;) {
    const m = await getMetrics(server);
    if (pred(m.get(key))) return m;
    if (Date.now() > end) throw new Error(`timed out waiting on ${key} (last ${m.get(key)})`);
    await sleep(100);
  }
}
