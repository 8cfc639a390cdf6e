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
  maxLiveSlopeMbPerHour: 5,
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
    heapTotalBytes: 20e6,
    newSpaceBytes: 2e6,
    externalBytes: 3e6,
    heapLiveBytes: 7e6,
    // a major GC every other sample
    majorGcs: Math.floor(i / 2),
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

// RSS over 30 min (samples every 30 s) that climbs 60 -> 100 MB in steps for the first 10 min
const warmUp = (t: number): number => (t < 600 ? 60e6 + (40e6 * Math.floor(t / 150)) / 4 : 100e6);

test('an RSS rise that levelled off with a flat live heap is noted, not called a leak', () => {
  const s = summariseSoak(samples(60, 30, warmUp), LIMITS);
  assert.ok((s.rss.mbPerHour ?? 0) > LIMITS.maxSlopeMbPerHour, `whole slope ${s.rss.mbPerHour}`);
  assert.equal(s.rss.lastThird.mbPerHour, 0);
  assert.equal(s.verdict, 'stable', s.reasons.join('; '));
  assert.equal(s.heapLive.n, 30, 'one live-heap point per new major GC');
  assert.equal(s.heapLive.mbPerHour, 0);
  assert.match(s.notes.join(), /levelled off.*live heap.*7\.0 → 7\.0 MB/);
  assert.deepEqual([s.outsideHeap.firstMb, s.outsideHeap.lastMb], [40, 80]);
});

test('a late step that is all V8 committing heap, with a flat live heap, is noted, not a leak', () => {
  // the young generation's last doubling at 25 min: heap committed and RSS rise by the same 16 MB
  const step = (t: number): number => (t >= 1500 ? 16e6 : 0);
  const s = summariseSoak(
    samples(60, 30, (t) => warmUp(t) + step(t)).map((x) => ({
      ...x,
      heapTotalBytes: warmUp(x.t) - 40e6 + step(x.t),
    })),
    LIMITS,
  );
  assert.ok((s.rss.lastThird.mbPerHour ?? 0) > LIMITS.maxSlopeMbPerHour);
  assert.equal(s.verdict, 'stable', s.reasons.join('; '));
  assert.equal(s.outsideHeap.mbPerHour, 0);
  assert.match(s.notes.join(), /V8's committed heap \(20\.0 → 76\.0 MB\).*40\.0 → 40\.0 MB/);
});

test('RSS still rising in the last third, a growing live heap, or no live heap: a leak', () => {
  // the same rise, then one more step at 25 min that V8's committed heap does not account for
  const late = summariseSoak(
    samples(60, 30, (t) => warmUp(t) + (t >= 1500 ? 15e6 : 0)),
    LIMITS,
  );
  assert.equal(late.verdict, 'leak');
  assert.match(late.reasons.join(), /over the last third [\d.]+ MB\/h/);
  // RSS flat, but the live heap gains 10 MB/h: retained objects
  const objects = summariseSoak(
    samples(60, 30, () => 80e6).map((x) => ({
      ...x,
      heapLiveBytes: 7e6 + (10e6 * x.t) / 3600,
    })),
    LIMITS,
  );
  assert.equal(objects.verdict, 'leak');
  assert.match(objects.reasons.join(), /live heap .* 7\.0 → 11\.8 MB.*objects are retained/);
  // the early rise without any major GC to tell the live heap: not excused
  const blind = summariseSoak(
    samples(60, 30, warmUp, { heapLiveBytes: null, majorGcs: 0 }),
    LIMITS,
  );
  assert.equal(blind.verdict, 'leak');
  assert.match(blind.reasons.join(), /too few major GCs/);
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
  assert.ok(
    soak.samples.every(
      (s) => (s.heapTotalBytes ?? 0) >= (s.heapUsedBytes ?? Infinity) && s.majorGcs !== null,
    ),
    "V8's committed heap (>= heap used) and the major-GC count in every sample",
  );
  assert.ok(
    soak.samples.every(
      (s) => (s.newSpaceBytes ?? 0) >= 1 << 20 && (s.newSpaceBytes ?? 0) < (s.heapTotalBytes ?? 0),
    ),
    'the young generation (>= 1 MiB, part of the committed heap) in every sample',
  );
  // prom-client's lag figures include its 20 ms sampling interval, which the sampler takes off: a
  // server this lightly loaded lags by a few ms, never by the interval itself
  const lag = soak.summary.loopLagP99Ms.median;
  assert.ok(lag !== null && lag < 15, `event-loop lag p99 median ${lag} ms`);
  // after a major GC, the live heap is a real figure below the committed heap
  for (const s of soak.samples.filter((x) => (x.majorGcs ?? 0) > 0))
    assert.ok((s.heapLiveBytes ?? 0) > 1e6 && (s.heapLiveBytes ?? 0) <= (s.heapTotalBytes ?? 0));
  assert.deepEqual(processesMentioning(tmp.dir), []);
  const chromium = requireTool(t, 'chromium');
  if (chromium === null) return;
  const page = await inspectReport(chromium, out.reportHtml);
  assert.deepEqual(page.errors, []);
  const c = page.charts.find((x) => x.canvasId === 'chart-soak');
  assert.ok(c !== undefined && c.points > 10 && c.paintedPixels > 0);
});
