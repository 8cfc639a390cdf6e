// Unit checks of the pieces the end-to-end tests cannot pin exactly: flag defaults and merging,
// the recorder's precision, the in-place scanner, the /metrics parser, the schema validator.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as hdr from 'hdr-histogram-js';
import { UsageError } from '../protocol/cli.js';
import { FLAGS, parseArgs } from './config.js';
import { Recorder } from './recorder.js';
import { parseMessagesSent } from './target.js';
import { loadResultSchema, validate } from '../testkit/client-schema-check.js';
import {
  createScanned,
  encodeTick,
  FRAME_OTHER,
  FRAME_TICK,
  scanFrame,
  scanFrameAt,
} from '../protocol/index.js';

test('defaults come from the flag table; workers = min(cores, clients, 8)', () => {
  const p = parseArgs([], 4);
  assert.ok(!p.help);
  assert.equal(p.config.url, FLAGS.url.default);
  assert.equal(p.config.url, 'ws://127.0.0.1:8080/');
  assert.equal(p.config.clients, 100);
  assert.equal(p.config.duration, 30);
  assert.equal(p.config.warmup, 5);
  assert.equal(p.config.workers, 4);
  assert.deepEqual(p.config.symbols, ['*']);
  assert.equal(p.config.out, null);
  assert.equal(p.config.metricsPort, null);
  const few = parseArgs(['-c', '2'], 16);
  assert.ok(!few.help && few.config.workers === 2);
  const many = parseArgs(['-c', '1000'], 64);
  assert.ok(!many.help && many.config.workers === 8);
});

test('short and long forms, --flag=value, comma lists', () => {
  const p = parseArgs(
    [
      '-u',
      'ws://127.0.0.2:9/x',
      '--clients=7',
      '-d',
      '1.5',
      '-s',
      'BTC-USD,ETH-USD',
      '-j',
      '-q',
      '-M',
      '0',
      '--source-addresses',
      '127.0.0.2,127.0.0.3',
    ],
    2,
  );
  assert.ok(!p.help);
  assert.equal(p.config.url, 'ws://127.0.0.2:9/x');
  assert.equal(p.config.clients, 7);
  assert.equal(p.config.duration, 1.5);
  assert.deepEqual(p.config.symbols, ['BTC-USD', 'ETH-USD']);
  assert.equal(p.config.json, true);
  assert.equal(p.config.quiet, true);
  assert.equal(p.config.metricsPort, 0);
  assert.deepEqual(p.config.sourceAddresses, ['127.0.0.2', '127.0.0.3']);
  assert.throws(() => parseArgs(['--clients', '0']), UsageError);
  assert.throws(() => parseArgs(['--json=yes']), /--json takes no value \(it is a switch\)/);
  assert.throws(() => parseArgs(['--url']), /--url needs a value/);
  assert.throws(() => parseArgs(['-s', '*,BTC-USD']), /invalid --symbols/);
});

test('the recorder agrees with an HDR histogram fed the same values to 0.1%', () => {
  const rec = new Recorder();
  const exact = hdr.build({ numberOfSignificantValueDigits: 3 });
  const drained = hdr.build({ numberOfSignificantValueDigits: 3 });
  let x = 12345;
  for (let i = 0; i < 200_000; i++) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    // Log-uniform from 1 µs to ~10 s.
    const v = Math.floor(Math.exp((x / 2 ** 31) * Math.log(1e7)));
    rec.record(v);
    exact.recordValue(v);
  }
  assert.equal(rec.count, 200_000);
  rec.drainInto(drained);
  assert.equal(drained.totalCount, 200_000);
  for (const p of [50, 90, 99, 99.9, 100]) {
    const a = exact.getValueAtPercentile(p);
    const b = drained.getValueAtPercentile(p);
    assert.ok(Math.abs(a - b) / a <= 0.002, `p${p}: ${a} vs ${b}`);
  }
  assert.equal(rec.count, 0);
  let n = 0;
  rec.drain(() => n++);
  assert.equal(n, 0, 'drain empties the recorder');
  for (const v of [0, 1, 2047, 2048, 2049, 1_000_000, 2 ** 31 - 1]) {
    const r = new Recorder();
    r.record(v);
    r.drain((value) => {
      assert.ok(value <= v && (v - value) / Math.max(1, v) < 0.001, `${v} -> ${value}`);
    });
  }
});

test('scanFrameAt reads a frame in place exactly like scanFrame on a copy', () => {
  const tick = Buffer.from(
    encodeTick({ symbol: 'DOGE-USD', seq: 987654, price: 0.12, size: 3, ts: 123456789012 }),
  );
  const big = Buffer.concat([Buffer.from('xx{"type":"tick"'), tick, Buffer.from(',"ts":5}')]);
  const start = 16;
  const a = createScanned();
  const b = createScanned();
  assert.equal(scanFrameAt(big, start, start + tick.length, a), FRAME_TICK);
  assert.equal(scanFrame(tick, b), FRAME_TICK);
  assert.equal(a.seq, 987654);
  assert.equal(a.ts, 123456789012);
  assert.equal(a.symbolHash, b.symbolHash);
  assert.equal(big.toString('latin1', a.symbolStart, a.symbolEnd), 'DOGE-USD');
  // Bytes outside [start, end) are never read: a frame cut short is not a tick.
  assert.equal(scanFrameAt(big, start, start + tick.length - 1, a), FRAME_OTHER);
});

test('serverSent is the sum of wsbench_server_messages_sent_total over its labels', () => {
  const text = [
    '# TYPE wsbench_server_messages_sent_total counter',
    'wsbench_server_messages_sent_total{mode="uws"} 1200',
    'wsbench_server_messages_sent_total_other 5',
    'wsbench_server_messages_dropped_total{mode="uws",reason="backpressure"} 7',
    'wsbench_server_messages_sent_total{mode="uws",x="y"} 34',
  ].join('\n');
  assert.equal(parseMessagesSent(text), 1234);
  assert.equal(parseMessagesSent('other_metric 1\n'), null);
});

test('the schema validator rejects what the schema forbids', () => {
  const schema = loadResultSchema();
  const errs = validate({ schemaVersion: 2, runId: '' }, schema);
  assert.ok(errs.some((e) => e.includes('$.schemaVersion')));
  assert.ok(errs.some((e) => e.includes('missing "delivery"')));
  assert.ok(errs.some((e) => e.includes('$.runId: shorter than 1')));
});

test('a saturated or lagging worker marks the result client-bound and the summary says so', async () => {
  const { buildResult, formatSummary } = await import('./result.js');
  const { aggregate } = await import('./aggregate.js');
  const { newHistogram } = await import('./connection.js');
  const enc = hdr.encodeIntoCompressedBase64(newHistogram());
  const report = (busy: number, lag: number) => ({
    worker: 0,
    windowUs: 1e6,
    received: 10,
    bytes: 900,
    gaps: 0,
    duplicates: 0,
    reordered: 0,
    expected: 10,
    perClient: [10],
    latency: enc,
    rtt: enc,
    connect: enc,
    busy,
    eventLoopP99Ms: lag,
    errors: [],
    closes: {},
    open: 1,
    opened: 1,
    failed: 0,
    timeline: [],
    restarts: { churned: 0, stormDropped: 0, reopened: 0, failedReopens: 0 },
    storm: null,
    loss: null,
    slow: null,
  });
  const p = parseArgs(['-c', '1'], 1);
  assert.ok(!p.help);
  const ctx = {
    config: p.config,
    runId: 'r',
    startedAt: new Date(),
    endedAt: new Date(),
    window: { start: new Date(Date.now() - 1000), end: new Date(Date.now() - 10) },
    mode: 'uws',
    health: null,
    serverSent: null,
    cpuCores: 1,
    aborted: null,
  };
  const calm = buildResult(aggregate([report(0.5, 20)]), ctx);
  assert.equal(calm.client.clientBound, false);
  // The measured window travels with the result (the bench aligns CPU/RSS samples to it).
  assert.ok(calm.window && Date.parse(calm.window.endedAt) > Date.parse(calm.window.startedAt));
  assert.deepEqual(validate(calm, loadResultSchema()), []);
  assert.doesNotMatch(formatSummary(calm), /CLIENT-BOUND/);
  for (const [busy, lag] of [
    [0.95, 20],
    [0.5, 400],
  ] as const) {
    const r = buildResult(aggregate([report(0.2, 1), report(busy, lag)]), ctx);
    assert.equal(r.client.clientBound, true, `busy ${busy} lag ${lag}`);
    assert.match(formatSummary(r), /!!! CLIENT-BOUND/);
    assert.deepEqual(validate(r, loadResultSchema()), []);
  }
});
