// make soak: the slope (least squares), the per-interval p99 from histogram bucket deltas, the
// verdicts, and a real ~20 s soak through the Makefile whose report draws the chart over time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { requireTool } from '../testkit/require-tool.js';
import { inspectReport, processesMentioning, run, tempDir } from './test-helpers.js';
import { leastSquares, summariseSoak, type SoakLimits } from './lib/soak-analysis.js';
import { parseExposition, buckets, quantileBetween, type SoakSample } from './lib/soak-sampler.js';
import type { SoakFile } from './soak.js';

const LIMITS: SoakLimits = {
  maxSlopeMbPerHour: 20,
  maxP99Growth: 2,
  sloP99Ms: null,
  minLeakSeconds: 300,
};

test('least squares recovers a known slope', () => {
  const fit = leastSquares([0, 1, 2, 3, 4].map((x) => [x, 5 + 2 * x] as [number, number]));
  assert.ok(fit !== null);
  assert.equal(fit.slope, 2);
  assert.equal(fit.r2, 1);
  assert.equal(leastSquares([[0, 1]]), null);
});

test('p99 of one interval from the deltas of cumulative buckets', () => {
  const at = (counts: number[]): Map<number, number> =>
    buckets(
      parseExposition(
        [0.001, 0.01, 0.1, Infinity]
          .map(
            (le, i) =>
              `lat_bucket{le="${le === Infinity ? '+Inf' : le}",run_id="x"} ${counts[i] ?? 0}`,
          )
          .join('\n'),
      ),
      'lat',
    );
  // before: 100 fast; the interval adds 90 at <=1ms, 10 at <=100ms -> p99 is the 100 ms bucket
  const before = at([100, 100, 100, 100]);
  const after = at([190, 190, 200, 200]);
  assert.equal(quantileBetween(before, after, 0.5), 0.001);
  assert.equal(quantileBetween(before, after, 0.99), 0.1);
  assert.equal(quantileBetween(after, after, 0.99), null, 'nothing observed');
});

function samples(
  n: number,
  stepSec: number,
  rss: (t: number) => number,
  over: Partial<SoakSample> = {},
): SoakSample[] {
  return Array.from({ length: n }, (_, i) => ({
    t: i * stepSec,
    at: i * stepSec * 1000,
    rssBytes: rss(i * stepSec),
    heapUsedBytes: 10e6,
    loopLagP99Ms: 1,
    sentPerSec: 1000,
    droppedPerSec: 0,
    receivedPerSec: 1000,
    gaps: 0,
    p99Ms: 5,
    clients: 10,
    serverUp: true,
    ...over,
  }));
}

test('verdicts: stable, leak, too short to call a leak, unstable with gaps', () => {
  const flat = summariseSoak(
    samples(60, 30, () => 80e6),
    LIMITS,
  );
  assert.equal(flat.verdict, 'stable');
  assert.equal(flat.rss.mbPerHour, 0);
  // 100 MB/h over 30 min
  const leak = summariseSoak(
    samples(60, 30, (t) => 80e6 + (100e6 * t) / 3600),
    LIMITS,
  );
  assert.equal(leak.verdict, 'leak');
  assert.equal(leak.rss.mbPerHour, 100);
  const short = summariseSoak(
    samples(10, 2, (t) => 80e6 + (100e6 * t) / 3600),
    LIMITS,
  );
  assert.equal(short.verdict, 'too-short');
  const gaps = summariseSoak(
    samples(60, 30, () => 80e6, { gaps: 1 }),
    LIMITS,
  );
  assert.equal(gaps.verdict, 'unstable');
  assert.match(gaps.reasons.join(), /60 gaps/);
});

test('make soak SOAK_MINUTES=0.34: samples over time, slope, verdict, chart drawn', async (t) => {
  const tmp = await tempDir('wsbench-soak-');
  t.after(tmp.remove);
  const res = await run(
    'make',
    ['--no-print-directory', '-o', 'build', '-o', 'install', 'soak'],
    {
      SOAK_MINUTES: '0.34',
      SOAK_SAMPLE_SEC: '2',
      WARMUP: '2',
      MODE: 'uws',
      CLIENTS: '10',
      SOAK_RATE: '100',
      RESULTS_DIR: tmp.dir,
    },
    120_000,
  );
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stderr, /RSS slope -?[\d.]+ MB\/h/);
  const out = JSON.parse(res.stdout.trim().split('\n').pop() ?? '{}') as {
    soak: string;
    reportHtml: string;
  };
  const soak = JSON.parse(readFileSync(out.soak, 'utf8')) as SoakFile;
  assert.ok(soak.summary.samples >= 6, `samples after warm-up: ${soak.summary.samples}`);
  assert.ok(soak.summary.rss.mbPerHour !== null);
  assert.equal(soak.summary.gaps, 0, 'a steady rate well within capacity loses nothing');
  assert.ok(['stable', 'too-short', 'unstable'].includes(soak.summary.verdict));
  assert.ok(
    soak.samples.some((s) => (s.receivedPerSec ?? 0) > 0),
    "client-bench's received counter was sampled",
  );
  assert.ok(
    soak.samples.every((s) => (s.rssBytes ?? 0) > 10e6),
    'server RSS in every sample',
  );
  assert.deepEqual(processesMentioning(tmp.dir), []);
  const chromium = requireTool(t, 'chromium');
  if (chromium === null) return;
  const page = await inspectReport(chromium, out.reportHtml);
  assert.deepEqual(page.errors, []);
  const c = page.charts.find((x) => x.canvasId === 'chart-soak');
  assert.ok(c !== undefined && c.points > 10 && c.paintedPixels > 0);
});
