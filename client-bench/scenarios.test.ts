// The scenario features against the real wsbench server (dist/server/main.js): churn, a
// reconnect storm and slow consumers, each checked the way a user reads the result.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { runClient } from '../testkit/client-run.js';
import { loadResultSchema, validate } from '../testkit/client-schema-check.js';
import { Cleanup, startServer } from '../testkit/server-harness.js';

const schema = loadResultSchema();
const cleanup = new Cleanup();
after(() => cleanup.run());

async function server(args: string[]): Promise<string> {
  const s = await startServer(args, {}, cleanup);
  return s.wsUrl;
}

test('churn: connections closed and reopened during the window keep the accounting exact', async () => {
  const url = await server(['--mode', 'ws', '--rate', '2000']);
  const { code, result, stderr } = await runClient([
    '-u',
    url,
    '-c',
    '10',
    '-W',
    '2',
    '-d',
    '3',
    '-w',
    '1',
    '--churn-rate',
    '10',
    '-j',
    '-q',
  ]);
  assert.equal(code, 0, stderr);
  assert.ok(result?.churn);
  assert.deepEqual(validate(result, schema), []);
  // 10/s over 3 s: about 30 closes, every one reopened.
  assert.ok(
    result.churn.closed >= 20 && result.churn.closed <= 32,
    `closed ${result.churn.closed}`,
  );
  assert.ok(result.churn.reopened >= result.churn.closed - 2, JSON.stringify(result.churn));
  // A reopened socket starts a new seq baseline: no gaps, no duplicates, received == expected.
  assert.equal(result.delivery.gaps, 0);
  assert.equal(result.delivery.duplicates, 0);
  assert.equal(result.delivery.received, result.delivery.expected);
  assert.ok(result.delivery.received > 0);
  // Churn is not a server failure.
  assert.equal(result.aborted, null);
  assert.equal(
    result.errors.find((e) => e.type === 'disconnect'),
    undefined,
  );
  assert.equal(result.connections.openAtEnd >= 8, true, `open ${result.connections.openAtEnd}`);
});

test('reconnect storm: every connection drops at once, reconnects, and the recovery is timed', async () => {
  const url = await server(['--mode', 'uws', '--rate', '1000']);
  const { code, result, stderr } = await runClient([
    '-u',
    url,
    '-c',
    '50',
    '-d',
    '4',
    '-w',
    '1',
    '--reconnect-at',
    '1',
    '--slo-p99-ms',
    '200',
    '-j',
    '-q',
  ]);
  assert.equal(code, 0, stderr);
  assert.ok(result?.reconnect);
  assert.deepEqual(validate(result, schema), []);
  const r = result.reconnect;
  assert.equal(r.atSec, 1);
  assert.equal(r.dropped, 50);
  assert.equal(r.reopened, 50);
  assert.equal(r.receiving, 50);
  assert.ok(r.allOpenSec !== null && r.allOpenSec < 2, `all open after ${r.allOpenSec} s`);
  assert.ok(
    r.allReceivingSec !== null && r.allReceivingSec >= r.allOpenSec,
    `receiving after ${r.allReceivingSec} s`,
  );
  assert.ok(r.p99RecoveredSec !== null && r.p99RecoveredSec < 3, JSON.stringify(r));
  assert.equal(result.aborted, null, 'a storm is not the server closing every connection');
  assert.equal(result.delivery.gaps, 0);
  assert.equal(result.delivery.duplicates, 0);
  assert.equal(result.delivery.received, result.delivery.expected);
  // The timeline shows the dip: a window second with fewer open connections or deliveries.
  const win = (result.timeline ?? []).filter((e) => e.phase === 'window');
  assert.ok(win.length >= 4);
  assert.equal(win[win.length - 1]?.open, 50);
});

test('slow consumers: read at their rate and counted apart; the healthy connections stay exact', async () => {
  const url = await server(['--mode', 'ws', '--rate', '4000']);
  const { code, result, stderr } = await runClient([
    '-u',
    url,
    '-c',
    '10',
    '-W',
    '1',
    '-d',
    '3',
    '-w',
    '1',
    '--slow-share',
    '0.2',
    '--slow-read-rate',
    '4096',
    '-j',
    '-q',
  ]);
  assert.equal(code, 0, stderr);
  assert.ok(result?.slowConsumers);
  assert.deepEqual(validate(result, schema), []);
  const slow = result.slowConsumers;
  assert.equal(slow.connections, 2);
  assert.equal(slow.share, 0.2);
  assert.equal(slow.readBytesPerSec, 4096);
  // 4 KiB/s is ~45 ticks/s against ~4,000: far behind, and their latency shows it.
  const perSlow = slow.received / slow.connections / result.throughput.windowSec;
  assert.ok(perSlow < 200, `a slow consumer read ${perSlow.toFixed(0)} ticks/s`);
  assert.ok(slow.latencyUs.p99 > result.latencyUs.p99, JSON.stringify(slow.latencyUs));
  // The healthy eight: every tick, in order; the top-level figures are theirs alone.
  assert.equal(result.perConnection.received.length, 8);
  assert.ok(result.throughput.perClient.min > 1000, JSON.stringify(result.throughput.perClient));
  assert.equal(result.delivery.gaps, 0);
  assert.equal(result.delivery.received, result.delivery.expected);
  assert.deepEqual(result.closes, {}, 'no healthy connection was closed');
  assert.equal(result.aborted, null);
});
