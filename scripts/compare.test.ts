// make compare: a tiny real comparison (2 modes x 1 repeat, one short scenario) through the
// Makefile, plus the pure parts (alternating order, medians, ratios, success criteria).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { requireTool, which } from '../testkit/require-tool.js';
import {
  inspectReport,
  processesMentioning,
  run,
  tempDir,
  validateBenchResult,
} from './test-helpers.js';

import { runOrder, successRows, summarise, type CompareRun } from './lib/summary.js';

/** The last JSON line make compare prints on stdout. */
interface CompareOut {
  compare: string;
  compareDir: string;
  reportMd: string;
  reportHtml: string;
}

/** compare.json (the parts this test reads). */
interface CompareJson {
  runs: { scenario: string; mode: string; exitCode: number; dir: string }[];
  config: { scenarios: { clients: number; rate: number }[] };
}

/** A run's result.json (the parts this test reads). */
interface RunResult {
  bench: { scenario: string };
  server: { mode: string };
  throughput: { msgsPerSec: number };
  placement: {
    pinned: boolean;
    reason: string;
    server: { cores: string | null };
    client: { cores: string | null };
  };
}

test('make compare (ws-naive vs uws, 1 repeat, firehose) prints and writes the success table', async (t) => {
  const tmp = await tempDir('wsbench-compare-');
  t.after(tmp.remove);
  const res = await run(
    'make',
    ['--no-print-directory', '-o', 'build', '-o', 'install', 'compare'],
    {
      MODES: 'ws-naive uws',
      REPEATS: '1',
      SCENARIOS: 'firehose',
      DURATION: '2',
      WARMUP: '1',
      RESULTS_DIR: tmp.dir,
    },
    120_000,
  );
  assert.equal(res.code, 0, res.stderr);
  // the table on stderr, in the shape of the seed's success criteria
  assert.match(res.stderr, /\| mode \| target \| measured \| improvement \| met\? \|/);
  assert.match(
    res.stderr,
    /\| uws \| seed: > 1M msg\/s and ≥ 5x \| [\d.]+[kM]? msg\/s.* \| [\d.]+x vs ws-naive \| (yes|no).*\|/,
  );
  assert.match(res.stderr, /\| uws \| ours: ≥ 7x \|/);
  assert.match(
    res.stderr,
    /\| ws-naive \| 1 \| [\d.]+[kM]? \| .* \| 1\.00x/,
    'baseline row, ratio 1.00x',
  );

  const out = JSON.parse(
    res.stdout
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .pop() ?? '',
  ) as CompareOut;
  const compare = JSON.parse(readFileSync(out.compare, 'utf8')) as CompareJson;
  assert.deepEqual(
    compare.runs.map((r) => `${r.scenario}:${r.mode}:${r.exitCode}`),
    ['firehose:ws-naive:0', 'firehose:uws:0'],
  );
  assert.equal(compare.config.scenarios[0]?.clients, 1, 'firehose is one client');
  assert.equal(compare.config.scenarios[0].rate, 0, 'firehose is max rate');
  for (const r of compare.runs) {
    const result = JSON.parse(
      readFileSync(path.join(out.compareDir, r.dir, 'result.json'), 'utf8'),
    ) as RunResult;
    assert.deepEqual(validateBenchResult(result), [], `${r.dir} validates`);
    assert.equal(result.bench.scenario, 'firehose');
    assert.equal(result.server.mode, r.mode);
    assert.ok(result.throughput.msgsPerSec > 0);
    // Every run gets the same placement: the first run pins the orchestrator to the client's
    // core, and a later run must not mistake that for a one-CPU machine.
    if (os.availableParallelism() >= 2 && which('taskset')) {
      assert.equal(result.placement.pinned, true, `${r.dir} pinned: ${result.placement.reason}`);
      assert.notEqual(result.placement.server.cores, result.placement.client.cores);
    }
  }
  const md = readFileSync(out.reportMd, 'utf8');
  assert.match(md, /## Success criteria/);
  assert.match(md, /## Scenario firehose: 1 client\(s\), rate max/);
  assert.match(md, /client-bound/, 'the client-bound column is in the table');
  assert.equal(
    path.resolve(tmp.dir, readlinkSync(path.join(tmp.dir, 'latest-compare'))),
    out.compareDir,
  );
  assert.deepEqual(processesMentioning(tmp.dir), [], 'no process left behind');

  const chromium = requireTool(t, 'chromium', 'make deps (apt-get install chromium)');
  if (!chromium) return;
  const page = await inspectReport(chromium, out.reportHtml);
  assert.deepEqual(page.errors, []);
  assert.deepEqual(page.requests, []);
  assert.equal(page.charts.length, 3);
  for (const c of page.charts)
    assert.ok(c.points > 0 && c.paintedPixels > 1000, `${c.canvasId} drawn with data`);
});

test('compare: bad MODES / SCENARIOS / REPEATS exit 2 with the allowed values', async (t) => {
  const tmp = await tempDir('wsbench-compare-bad-');
  t.after(tmp.remove);
  const modes = await run('node', ['dist/scripts/compare.js'], {
    MODES: 'ws-naive socketio',
    RESULTS_DIR: tmp.dir,
  });
  assert.equal(modes.code, 2);
  assert.match(
    modes.stderr,
    /invalid MODES \(env for --modes\) "ws-naive socketio": expected a space-separated list of ws-naive, ws, uws/,
  );
  const sc = await run('node', ['dist/scripts/compare.js'], {
    SCENARIOS: 'burst',
    RESULTS_DIR: tmp.dir,
  });
  assert.equal(sc.code, 2);
  assert.match(
    sc.stderr,
    /invalid SCENARIOS \(env for --scenarios\) "burst": expected a space-separated list of capacity, firehose, fanout, steady/,
  );
  const rep = await run('node', ['dist/scripts/compare.js'], {
    REPEATS: '0',
    RESULTS_DIR: tmp.dir,
  });
  assert.equal(rep.code, 2);
  assert.match(rep.stderr, /invalid REPEATS \(env for --repeats\) "0": expected an integer 1-100/);
  const twice = await run('node', ['dist/scripts/compare.js'], {
    MODES: 'ws ws',
    RESULTS_DIR: tmp.dir,
  });
  assert.equal(twice.code, 2);
  assert.match(twice.stderr, /invalid MODES .*"ws ws".*each at most once/);
});

test('runOrder alternates the mode order per repeat (A B C, C B A, A B C)', () => {
  const order = runOrder(['a', 'b', 'c'], ['s'], 3)
    .map((o) => o.mode)
    .join(' ');
  assert.equal(order, 'a b c c b a a b c');
  const two = runOrder(['a', 'b'], ['x', 'y'], 2).map((o) => `${o.scenario}${o.mode}${o.repeat}`);
  assert.deepEqual(two, ['xa0', 'xb0', 'ya0', 'yb0', 'xb1', 'xa1', 'yb1', 'ya1']);
});

test('summarise and successRows: medians, min–max, ratios vs ws-naive, met? and client-bound', () => {
  const fig = (msgsPerSec: number, clientBound = false): CompareRun['figures'] => ({
    msgsPerSec,
    clientBound,
    latencyUs: { p50: 10 },
  });
  const runs: CompareRun[] = [
    { scenario: 'firehose', mode: 'ws-naive', repeat: 0, figures: fig(100e3) },
    { scenario: 'firehose', mode: 'ws-naive', repeat: 1, figures: fig(120e3) },
    { scenario: 'firehose', mode: 'ws-naive', repeat: 2, figures: fig(80e3) },
    { scenario: 'firehose', mode: 'ws', repeat: 0, figures: fig(400e3) },
    { scenario: 'firehose', mode: 'ws', repeat: 1, figures: fig(350e3) },
    { scenario: 'firehose', mode: 'ws', repeat: 2, figures: fig(600e3) },
    { scenario: 'firehose', mode: 'uws', repeat: 0, figures: fig(900e3, true) },
    { scenario: 'firehose', mode: 'uws', repeat: 1, figures: fig(1.2e6) },
    { scenario: 'firehose', mode: 'uws', repeat: 2, figures: fig(1.1e6) },
  ];
  const rows = summarise(runs, ['ws-naive', 'ws', 'uws'], ['firehose']);
  const ws = rows.find((r) => r.mode === 'ws');
  assert.deepEqual(ws?.msgsPerSec, { median: 400e3, min: 350e3, max: 600e3 });
  assert.equal(ws.ratio.median, 4);
  const uws = rows.find((r) => r.mode === 'uws');
  assert.equal(uws?.clientBoundRuns, 1);
  const success = successRows(rows);
  const pick = (mode: string, kind: string) =>
    success.find((s) => s.mode === mode && s.kind === kind);
  assert.equal(pick('ws', 'seed')?.met, true, 'ws: 400k > 300k and 4x >= 1.5x');
  assert.equal(pick('ws', 'ours')?.met, false, 'ws: 4x < 5x');
  assert.equal(pick('uws', 'seed')?.met, true, 'uws: 1.1M > 1M and 11x >= 5x');
  assert.equal(pick('uws', 'ours')?.met, true);
  assert.equal(
    pick('uws', 'seed')?.clientBound,
    true,
    'a client-bound run is carried into the table',
  );
});
