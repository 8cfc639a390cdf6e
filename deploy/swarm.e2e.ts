// make test-swarm: the Docker Swarm path end to end on this one node. Real dockerd, a real
// single-node swarm, the project's images, real Prometheus. It runs `make swarm-bench` with
// SHARDS client-bench replicas and then checks what a user would: the merged result adds up to
// its shards, its percentiles are those of the shards' HDR histograms added together, and every
// shard's series reached Prometheus under its own `shard` label.
// Not a *.test.ts: `make test` does not run it (it needs root for dockerd and takes ~1 min).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import * as hdr from 'hdr-histogram-js';
import { requireTool } from '../testkit/require-tool.js';
import { readResult, repoRoot, type Result } from './results.js';

const SHARDS = Number(process.env.E2E_SHARDS ?? 3);
const CLIENTS = 12 * SHARDS;
const root = repoRoot();

/** Percentile as client-bench reports it: HDR value at p, never above the recorded max. */
function pct(h: hdr.Histogram, p: number): number {
  return h.totalCount > 0 ? Math.min(h.getValueAtPercentile(p), h.maxValue) : 0;
}

function decode(base64: string): hdr.Histogram {
  return hdr.decodeFromCompressedBase64(base64, 64);
}

test(`make swarm-bench SHARDS=${SHARDS}: merged = sum of shards, HDR-merged percentiles, every shard in Prometheus`, (t) => {
  if (!requireTool(t, 'docker', 'make deps (docker.io)')) return;
  const results = mkdtempSync(join(tmpdir(), 'wsbench-swarm-e2e-'));
  let passed = false;
  t.after(() => {
    // Kept on failure: the shards' logs are the only record of what went wrong.
    if (passed) rmSync(results, { recursive: true, force: true });
    else t.diagnostic(`results and logs kept in ${results}`);
  });

  const run = spawnSync(
    'make',
    ['--no-print-directory', 'swarm-bench', `SHARDS=${SHARDS}`, `CLIENTS=${CLIENTS}`],
    {
      cwd: root,
      encoding: 'utf8',
      timeout: 600_000,
      env: {
        ...process.env,
        MODE: 'uws',
        DURATION: '5',
        WARMUP: '2',
        RATE: '2000',
        RESULTS_DIR: results,
        SWARM_STACK: 'wsbench-swarm-e2e',
      },
    },
  );
  const output = `${run.stdout}\n${run.stderr}`;
  t.diagnostic(run.stderr.trim().split('\n').slice(-12).join('\n'));
  assert.equal(run.status, 0, `make swarm-bench failed:\n${output}`);
  const runDir = run.stdout.trim().split('\n').at(-1) ?? '';
  assert.ok(runDir.startsWith(results), `no run folder on stdout:\n${output}`);

  const merged = readResult(join(runDir, 'result.json'));
  const shards: Result[] = [];
  for (let k = 1; k <= SHARDS; k++) {
    shards.push(readResult(join(runDir, `shard-${k}`, 'result.json')));
  }

  // Every shard ran its own share of one run.
  assert.deepEqual(
    shards.map((s) => s.shard?.index),
    Array.from({ length: SHARDS }, (_, i) => i + 1),
  );
  for (const s of shards) {
    assert.ok(s.shard, 'a shard result without its shard block');
    assert.equal(s.shard.count, SHARDS);
    assert.equal(s.runId, merged.runId);
    assert.equal(s.aborted, null, `shard ${s.shard.index} aborted`);
  }
  assert.equal(
    shards.reduce((n, s) => n + (s.shard?.clients ?? 0), 0),
    CLIENTS,
    'shard clients do not add up to CLIENTS',
  );

  // Sums.
  const total = (f: (s: Result) => number) => shards.reduce((n, s) => n + f(s), 0);
  assert.ok(merged.delivery.received > 0, 'nothing received');
  assert.equal(
    merged.delivery.received,
    total((s) => s.delivery.received),
  );
  assert.equal(
    merged.delivery.expected,
    total((s) => s.delivery.expected),
  );
  assert.equal(
    merged.connections.opened,
    total((s) => s.connections.opened),
  );
  assert.equal(
    merged.latencyUs.count,
    total((s) => s.latencyUs.count),
  );
  assert.equal(merged.merge?.count, SHARDS);

  // Percentiles = those of the shards' HDR histograms added together (not averaged).
  const sum = hdr.build({ bitBucketSize: 64, numberOfSignificantValueDigits: 3, autoResize: true });
  for (const s of shards) sum.add(decode(s.histograms.latencyUs));
  assert.equal(sum.totalCount, merged.latencyUs.count);
  const expected = {
    p50: pct(sum, 50),
    p90: pct(sum, 90),
    p99: pct(sum, 99),
    p999: pct(sum, 99.9),
    max: sum.maxValue,
  };
  const actual = {
    p50: merged.latencyUs.p50,
    p90: merged.latencyUs.p90,
    p99: merged.latencyUs.p99,
    p999: merged.latencyUs.p999,
    max: merged.latencyUs.max,
  };
  assert.deepEqual(actual, expected);
  t.diagnostic(
    `merged: ${merged.delivery.received} received, ${merged.throughput.msgsPerSec.toFixed(0)} msg/s, p50 ${actual.p50} µs, p99 ${actual.p99} µs over ${SHARDS} shards`,
  );

  // Prometheus scraped every shard, each under its own shard label.
  const prom = JSON.parse(readFileSync(join(runDir, 'prometheus-shards.json'), 'utf8')) as {
    status: string;
    data: { result: Array<{ metric: { shard?: string } }> };
  };
  assert.equal(prom.status, 'success');
  const labels = prom.data.result.map((r) => r.metric.shard ?? '(none)').sort();
  assert.deepEqual(
    labels,
    Array.from({ length: SHARDS }, (_, i) => String(i + 1)).sort(),
    'shard labels in Prometheus',
  );
  passed = true;
});
