import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMetrics, ServerStats } from './metrics.js';
import { parseMetrics } from '../testkit/server-harness.js';

describe('server metrics', () => {
  it('folds plain counters in at scrape time, with the mode label on everything', async () => {
    const stats = new ServerStats();
    let generated = 0;
    const pacer = { skipped: 0, behind: 0 };
    const m = createMetrics({
      mode: 'ws',
      stats,
      ticksGenerated: () => generated,
      targetRate: 500,
      pacer: { skipped: () => pacer.skipped, behindSeconds: () => pacer.behind },
      opts: 'pacer+batch',
      pacerKind: () => 'sleep',
    });
    stats.messagesSent = 10;
    stats.bytesSent = 900;
    stats.droppedBackpressure = 3;
    stats.clientsConnected = 2;
    stats.disconnected(1006);
    stats.clientError('bad_json');
    stats.httpRequest('health');
    generated = 7;
    let x = parseMetrics(await m.registry.metrics());
    assert.equal(x.get('wsbench_server_messages_sent_total{mode="ws"}'), 10);
    assert.equal(x.get('wsbench_server_bytes_sent_total{mode="ws"}'), 900);
    assert.equal(x.get('wsbench_server_ticks_generated_total{mode="ws"}'), 7);
    assert.equal(
      x.get('wsbench_server_messages_dropped_total{mode="ws",reason="backpressure"}'),
      3,
    );
    assert.equal(x.get('wsbench_server_clients_connected{mode="ws"}'), 1);
    assert.equal(x.get('wsbench_server_disconnects_total{code="1006",mode="ws"}'), 1);
    assert.equal(x.get('wsbench_server_client_errors_total{code="bad_json",mode="ws"}'), 1);
    assert.equal(x.get('wsbench_server_http_requests_total{mode="ws",route="health"}'), 1);
    assert.equal(x.get('wsbench_server_http_requests_total{mode="ws",route="snapshot"}'), 0);
    assert.equal(x.get('wsbench_server_target_rate{mode="ws"}'), 500);
    assert.equal(x.get('wsbench_server_opts_info{mode="ws",opts="pacer+batch",pacer="sleep"}'), 1);
    assert.equal(x.get('wsbench_server_pacer_skipped_ticks_total{mode="ws"}'), 0);
    assert.equal(x.get('wsbench_server_pacer_behind_seconds{mode="ws"}'), 0);
    pacer.skipped = 40;
    pacer.behind = 1.5;
    m.observeLag(0.0003);
    // A second scrape adds only what happened since the first.
    stats.messagesSent += 5;
    x = parseMetrics(await m.registry.metrics());
    assert.equal(x.get('wsbench_server_messages_sent_total{mode="ws"}'), 15);
    assert.equal(x.get('wsbench_server_disconnects_total{code="1006",mode="ws"}'), 1);
    assert.equal(x.get('wsbench_server_pacer_skipped_ticks_total{mode="ws"}'), 40);
    assert.equal(x.get('wsbench_server_pacer_behind_seconds{mode="ws"}'), 1.5);
    assert.equal(x.get('wsbench_server_pacer_lag_seconds_bucket{le="0.0005",mode="ws"}'), 1);
    assert.equal(x.get('wsbench_server_pacer_lag_seconds_bucket{le="0.00025",mode="ws"}'), 0);
  });

  it('the turn histogram has cumulative le buckets, sum and count', async () => {
    const m = createMetrics({
      mode: 'uws',
      stats: new ServerStats(),
      ticksGenerated: () => 0,
      targetRate: 0,
      pacer: { skipped: () => 0, behindSeconds: () => 0 },
      opts: 'none',
      pacerKind: () => 'interval',
    });
    for (const v of [4e-6, 5e-6, 6e-6, 0.003, 5]) m.observeTurn(v);
    const x = parseMetrics(await m.registry.metrics());
    const b = (le: string) =>
      x.get(`wsbench_server_broadcast_duration_seconds_bucket{le="${le}",mode="uws"}`);
    assert.equal(b('0.000005'), 2, 'le is inclusive');
    assert.equal(b('0.00001'), 3);
    assert.equal(b('0.0025'), 3);
    assert.equal(b('0.005'), 4);
    assert.equal(b('1'), 4);
    assert.equal(b('+Inf'), 5);
    assert.equal(x.get('wsbench_server_broadcast_duration_seconds_count{mode="uws"}'), 5);
    const sum = x.get('wsbench_server_broadcast_duration_seconds_sum{mode="uws"}') ?? NaN;
    assert.ok(Math.abs(sum - 5.003015) < 1e-9);
  });
});
