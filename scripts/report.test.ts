// make report / report.html: a hand-written fixture result (test data, not a measurement) is
// rendered by the real script and opened in headless Chromium.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { requireTool } from '../testkit/require-tool.js';
import { inspectReport, repoRoot, run, tempDir } from './test-helpers.js';

const fixture = path.join(repoRoot, 'scripts/fixtures/sample-result.json');

test('make report rebuilds report.md and a self-contained report.html whose charts draw data', async (t) => {
  const tmp = await tempDir('wsbench-report-');
  t.after(tmp.remove);
  const runDir = path.join(tmp.dir, 'fixture-run');
  await mkdir(runDir);
  await copyFile(fixture, path.join(runDir, 'result.json'));

  const res = await run('node', ['dist/scripts/report.js'], { RESULTS_DIR: tmp.dir });
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stderr, /rebuilt 1 run report/);

  const md = await readFile(path.join(runDir, 'report.md'), 'utf8');
  assert.match(md, /\| uws \| 10 \| 1k \|/, 'summary row with mode, clients, msg/s');
  assert.match(md, /client-bound/, 'the fixture is client-bound and must say so');
  assert.match(md, /a <b>markup<\/b> & \\\| pipe/, 'pipes in cells are escaped');
  assert.match(md, /v20\.0\.0/, 'Node version shown');

  const html = await readFile(path.join(runDir, 'report.html'), 'utf8');
  assert.doesNotMatch(html, /<script[^>]+src=|<link[^>]+href=/i, 'no external scripts or styles');
  assert.match(html, /a &lt;b&gt;markup&lt;\/b&gt; &amp;/, 'error text is escaped in HTML');

  const chromium = requireTool(t, 'chromium', 'make deps (apt-get install chromium)');
  if (!chromium) return;
  const page = await inspectReport(chromium, path.join(runDir, 'report.html'));
  assert.deepEqual(page.errors, [], 'no console errors');
  assert.deepEqual(page.requests, [], 'no network requests');
  assert.deepEqual(page.charts.map((c) => c.canvasId).sort(), [
    'chart-latency',
    'chart-resources',
    'chart-throughput',
  ]);
  for (const c of page.charts) {
    assert.ok(c.points > 0, `${c.canvasId} has data points`);
    assert.ok(c.paintedPixels > 1000, `${c.canvasId} is drawn (${c.paintedPixels} painted pixels)`);
  }
  // throughput chart: total + per-client min/median/max; resources: 12 samples x 4 series
  assert.equal(page.charts.find((c) => c.canvasId === 'chart-throughput')?.points, 4);
  assert.equal(page.charts.find((c) => c.canvasId === 'chart-resources')?.points, 48);
  assert.match(page.text, /Machine and versions/);
  assert.match(page.text, /Configuration/);
});

test('make report with an empty results folder says there is nothing to do', async (t) => {
  const tmp = await tempDir('wsbench-report-');
  t.after(tmp.remove);
  const res = await run('node', ['dist/scripts/report.js'], { RESULTS_DIR: tmp.dir });
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stderr, /nothing to do/);
});
