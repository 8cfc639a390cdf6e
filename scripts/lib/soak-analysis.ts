// What a soak says: the server's memory slope (least squares over the samples after warm-up, in
// MB/h) for RSS, heap used and the live heap (the old generation after each major GC), event-loop
// lag, gaps, and whether p99 stayed stable (the last third of the soak against the first), with
// one verdict; and the chart over time for report.html.
//
// RSS alone cannot tell a leak from warm-up: V8 grows its heap's committed size (the young
// generation doubles up to --max-semi-space-size while scavenges are frequent; old-space pages
// follow the live size) and the allocator keeps what it was given, in steps that can come half an
// hour in. So with the live heap flat, a steep RSS slope is not called a leak when RSS levelled off
// (its last third within the limit) or when the rise is all V8's committed heap (RSS outside it
// within the limit): both are reported as notes. Otherwise it is a leak, as is a growing live heap.
import { fixed, median } from './format.js';
import { chart, table, text, warning, type Block, type ChartConfig } from './model.js';
import type { SoakSample } from './soak-sampler.js';

export interface SoakLimits {
  /** |RSS slope| above this (MB/h) fails, unless RSS levelled off (see above) */
  maxSlopeMbPerHour: number;
  /** a live-heap slope above this (MB/h) is a leak of JS objects */
  maxLiveSlopeMbPerHour: number;
  /** the last third's median p99 above this × the first third's fails */
  maxP99Growth: number;
  /** p99 SLO in ms (null: none) */
  sloP99Ms: number | null;
  /** a soak shorter than this (s) cannot call a slope a leak: warm-up growth dominates it */
  minLeakSeconds: number;
}

export interface Slope {
  mbPerHour: number | null;
  /** coefficient of determination of the fit */
  r2: number | null;
  n: number;
}

export interface SoakSummary {
  samples: number;
  seconds: number;
  rss: Slope & {
    firstMb: number | null;
    lastMb: number | null;
    maxMb: number | null;
    /** the slope over the last third of the soak: does RSS still grow at the end? */
    lastThird: Slope;
  };
  heap: Slope;
  /** V8's committed heap, first and last sample */
  heapTotal: { firstMb: number | null; lastMb: number | null };
  /** the young generation's committed size in it, first and last sample */
  newSpace: { firstMb: number | null; lastMb: number | null };
  /** the old generation after each major GC (one point per sample that saw a new one) */
  heapLive: Slope & { firstMb: number | null; lastMb: number | null; majorGcs: number | null };
  /** RSS − V8's committed heap (code, the allocator, buffers): first and last sample, slope */
  outsideHeap: { firstMb: number | null; lastMb: number | null; mbPerHour: number | null };
  loopLagP99Ms: { median: number | null; max: number | null };
  gaps: number;
  /** sample intervals in which the server did not answer /metrics */
  serverDown: number;
  p99Ms: { first: number | null; last: number | null; max: number | null };
  receivedPerSec: number | null;
  droppedPerSec: number | null;
  verdict: 'stable' | 'leak' | 'unstable' | 'too-short' | 'no-data';
  reasons: string[];
  /** what was seen and did not fail the soak (an RSS rise that levelled off) */
  notes: string[];
}

/** Least squares y = a + b·t; slope in y-units per second, and r². */
export function leastSquares(
  points: readonly [number, number][],
): { slope: number; r2: number } | null {
  const n = points.length;
  if (n < 3) return null;
  let sx = 0;
  let sy = 0;
  for (const [x, y] of points) {
    sx += x;
    sy += y;
  }
  const mx = sx / n;
  const my = sy / n;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (const [x, y] of points) {
    sxx += (x - mx) ** 2;
    sxy += (x - mx) * (y - my);
    syy += (y - my) ** 2;
  }
  if (sxx === 0) return null;
  const slope = sxy / sxx;
  const r2 = syy === 0 ? 1 : (sxy * sxy) / (sxx * syy);
  return { slope, r2 };
}

function slopeOf(samples: readonly SoakSample[], pick: (s: SoakSample) => number | null): Slope {
  const pts: [number, number][] = [];
  for (const s of samples) {
    const v = pick(s);
    if (v !== null) pts.push([s.t, v]);
  }
  const fit = leastSquares(pts);
  return {
    mbPerHour: fit !== null ? Math.round(((fit.slope * 3600) / 1e6) * 100) / 100 : null,
    r2: fit !== null ? Math.round(fit.r2 * 1000) / 1000 : null,
    n: pts.length,
  };
}

const mb = (b: number | null | undefined): number | null =>
  b === null || b === undefined ? null : Math.round((b / 1e6) * 10) / 10;

/** The samples that saw a new major GC: each carries a fresh live-heap figure. */
function liveHeapPoints(samples: readonly SoakSample[]): SoakSample[] {
  const out: SoakSample[] = [];
  let gcs: number | null = null;
  for (const s of samples) {
    if (s.heapLiveBytes !== null && s.majorGcs !== null && s.majorGcs !== gcs) out.push(s);
    if (s.majorGcs !== null) gcs = s.majorGcs;
  }
  return out;
}

const firstLast = (
  samples: readonly SoakSample[],
  pick: (s: SoakSample) => number | null,
): { firstMb: number | null; lastMb: number | null } => {
  const vals = samples.map(pick).filter((x): x is number => x !== null);
  return { firstMb: mb(vals[0]), lastMb: mb(vals[vals.length - 1]) };
};

/** `samples` after warm-up only (the caller drops the warm-up ones). */
export function summariseSoak(samples: readonly SoakSample[], limits: SoakLimits): SoakSummary {
  const rssVals = samples.map((s) => s.rssBytes).filter((x): x is number => x !== null);
  const third = Math.max(1, Math.floor(samples.length / 3));
  const p99s = (list: readonly SoakSample[]): number | null => median(list.map((s) => s.p99Ms));
  const first = p99s(samples.slice(0, third));
  const last = p99s(samples.slice(-third));
  const gaps = samples.reduce((a, s) => a + (s.gaps ?? 0), 0);
  const serverDown = samples.filter((s) => !s.serverUp).length;
  const rss = slopeOf(samples, (s) => s.rssBytes);
  const rssLastThird = slopeOf(samples.slice(-third), (s) => s.rssBytes);
  const outside = (x: SoakSample): number | null =>
    x.rssBytes !== null && x.heapTotalBytes !== null ? x.rssBytes - x.heapTotalBytes : null;
  const outsideSlope = slopeOf(samples, outside);
  const committed = firstLast(samples, (x) => x.heapTotalBytes);
  const outsideMb = firstLast(samples, outside);
  const livePts = liveHeapPoints(samples);
  const live = slopeOf(livePts, (s) => s.heapLiveBytes);
  const liveMb = firstLast(livePts, (s) => s.heapLiveBytes);
  const lastGcs = [...samples].reverse().find((s) => s.majorGcs !== null)?.majorGcs ?? null;
  const lag = samples.map((s) => s.loopLagP99Ms).filter((x): x is number => x !== null);
  const p99All = samples.map((s) => s.p99Ms).filter((x): x is number => x !== null);
  const reasons: string[] = [];
  const notes: string[] = [];
  const seconds =
    samples.length > 1 ? (samples[samples.length - 1]?.t ?? 0) - (samples[0]?.t ?? 0) : 0;
  const short = seconds < limits.minLeakSeconds;
  const over = (x: Slope, limit: number): boolean =>
    x.mbPerHour !== null && Math.abs(x.mbPerHour) > limit;
  const liveGrows = live.mbPerHour !== null && live.mbPerHour > limits.maxLiveSlopeMbPerHour;
  const liveText =
    live.mbPerHour === null
      ? `the live heap had too few major GCs to fit (${livePts.length})`
      : `the live heap (old generation after each of ${livePts.length} major GCs) went ` +
        `${fixed(liveMb.firstMb, 1)} → ${fixed(liveMb.lastMb, 1)} MB ` +
        `(${fixed(live.mbPerHour)} MB/h)`;
  let steep = false;
  if (over(rss, limits.maxSlopeMbPerHour)) {
    const rssText = `RSS slope ${fixed(rss.mbPerHour)} MB/h exceeds ±${limits.maxSlopeMbPerHour} MB/h`;
    const liveFlat = live.mbPerHour !== null && !liveGrows;
    const levelled = liveFlat && !over(rssLastThird, limits.maxSlopeMbPerHour);
    const inV8 =
      liveFlat && outsideSlope.mbPerHour !== null && !over(outsideSlope, limits.maxSlopeMbPerHour);
    if (levelled && !short)
      notes.push(
        `${rssText}, but RSS levelled off: its slope over the last third is ` +
          `${fixed(rssLastThird.mbPerHour ?? 0)} MB/h and ${liveText}. ` +
          'The rise is V8 and the allocator settling their committed memory, not retained objects',
      );
    else if (inV8 && !short)
      notes.push(
        `${rssText} (over the last third ${fixed(rssLastThird.mbPerHour ?? 0)} MB/h), but the rise is ` +
          `V8's committed heap (${fixed(committed.firstMb, 1)} → ${fixed(committed.lastMb, 1)} MB) while RSS outside ` +
          `it went ${fixed(outsideMb.firstMb, 1)} → ${fixed(outsideMb.lastMb, 1)} MB (${fixed(outsideSlope.mbPerHour)} MB/h), ` +
          `and ${liveText}. V8 is sizing its heap to the allocation rate (the young generation ` +
          'doubles up to --max-semi-space-size), which is bounded: not retained objects',
      );
    else {
      steep = true;
      reasons.push(
        `${rssText} (over the last third ${fixed(rssLastThird.mbPerHour ?? 0)} MB/h; ${liveText})`,
      );
    }
  }
  if (liveGrows && !steep) {
    steep = true;
    reasons.push(`${liveText}: above ${limits.maxLiveSlopeMbPerHour} MB/h, objects are retained`);
  }
  // what makes the soak unstable, whatever memory did
  let problems = 0;
  const problem = (r: string): void => {
    reasons.push(r);
    problems++;
  };
  if (gaps > 0) problem(`${gaps} gaps (ticks lost)`);
  if (serverDown > 0) problem(`the server did not answer /metrics in ${serverDown} samples`);
  if (first !== null && last !== null && last > first * limits.maxP99Growth && last - first > 1)
    problem(`p99 grew from ${fixed(first)} ms to ${fixed(last)} ms (> ${limits.maxP99Growth}×)`);
  if (limits.sloP99Ms !== null && last !== null && last > limits.sloP99Ms)
    problem(`p99 ${fixed(last)} ms at the end is over the SLO of ${limits.sloP99Ms} ms`);
  const noData = samples.length < 3 || rss.mbPerHour === null;
  if (steep && short)
    reasons.push(
      `the soak is shorter than ${limits.minLeakSeconds} s: warm-up growth dominates the slope, so it is not called a leak`,
    );
  return {
    samples: samples.length,
    seconds,
    rss: {
      ...rss,
      ...firstLast(samples, (s) => s.rssBytes),
      maxMb: mb(rssVals.length > 0 ? Math.max(...rssVals) : null),
      lastThird: rssLastThird,
    },
    heap: slopeOf(samples, (s) => s.heapUsedBytes),
    heapTotal: committed,
    newSpace: firstLast(samples, (x) => x.newSpaceBytes),
    heapLive: { ...live, ...liveMb, majorGcs: lastGcs },
    outsideHeap: { ...outsideMb, mbPerHour: outsideSlope.mbPerHour },
    loopLagP99Ms: { median: median(lag), max: lag.length > 0 ? Math.max(...lag) : null },
    gaps,
    serverDown,
    p99Ms: { first, last, max: p99All.length > 0 ? Math.max(...p99All) : null },
    receivedPerSec: median(samples.map((s) => s.receivedPerSec)),
    droppedPerSec: median(samples.map((s) => s.droppedPerSec)),
    verdict: noData
      ? 'no-data'
      : problems > 0
        ? 'unstable'
        : steep
          ? short
            ? 'too-short'
            : 'leak'
          : 'stable',
    reasons: noData ? ['fewer than 3 samples with RSS after warm-up'] : reasons,
    notes,
  };
}

export function soakChart(samples: readonly SoakSample[]): ChartConfig {
  const xy = (pick: (s: SoakSample) => number | null): { x: number; y: number | null }[] =>
    samples.map((s) => ({ x: s.t, y: pick(s) }));
  return {
    type: 'line',
    data: {
      datasets: [
        {
          label: 'server RSS (MB)',
          data: xy((s) => mb(s.rssBytes)),
          yAxisID: 'mem',
          borderColor: '#3a6fd8',
        },
        {
          label: 'server heap used (MB)',
          data: xy((s) => mb(s.heapUsedBytes)),
          yAxisID: 'mem',
          borderColor: '#2e9e5b',
        },
        {
          label: 'server V8 heap committed (MB)',
          data: xy((s) => mb(s.heapTotalBytes)),
          yAxisID: 'mem',
          borderColor: '#8a63c9',
        },
        {
          label: 'server live heap after major GC (MB)',
          data: xy((s) => mb(s.heapLiveBytes)),
          yAxisID: 'mem',
          borderColor: '#1b6e3c',
        },
        {
          label: 'event-loop lag p99 (ms)',
          data: xy((s) => s.loopLagP99Ms),
          yAxisID: 'ms',
          borderColor: '#f0a020',
        },
        {
          label: 'client p99 (ms)',
          data: xy((s) => s.p99Ms),
          yAxisID: 'ms',
          borderColor: '#d04545',
        },
      ],
    },
    options: {
      animation: false,
      parsing: true,
      scales: {
        x: { type: 'linear', title: { display: true, text: 's since start' } },
        mem: { type: 'linear', position: 'left', title: { display: true, text: 'MB' } },
        ms: {
          type: 'linear',
          position: 'right',
          title: { display: true, text: 'ms' },
          grid: { drawOnChartArea: false },
        },
      },
    },
  };
}

export function soakBlocks(
  s: SoakSummary,
  samples: readonly SoakSample[],
  limits: SoakLimits,
): Block[] {
  const blocks: Block[] = [
    table(
      ['', 'value'],
      [
        ['verdict', s.verdict === 'stable' ? 'stable' : `⚠ ${s.verdict}`],
        ['samples (after warm-up)', `${s.samples} over ${fixed(s.seconds, 0)} s`],
        [
          'server RSS slope (least squares)',
          `${fixed(s.rss.mbPerHour)} MB/h (r² ${fixed(s.rss.r2, 3)}; limit ±${limits.maxSlopeMbPerHour})`,
        ],
        [
          'server RSS first / last / max',
          `${fixed(s.rss.firstMb, 1)} / ${fixed(s.rss.lastMb, 1)} / ${fixed(s.rss.maxMb, 1)} MB`,
        ],
        [
          'server RSS slope over the last third',
          `${fixed(s.rss.lastThird.mbPerHour)} MB/h (r² ${fixed(s.rss.lastThird.r2, 3)})`,
        ],
        ['server heap used slope', `${fixed(s.heap.mbPerHour)} MB/h (r² ${fixed(s.heap.r2, 3)})`],
        [
          'server live heap (old generation after each major GC)',
          `${fixed(s.heapLive.firstMb, 1)} → ${fixed(s.heapLive.lastMb, 1)} MB, ${fixed(s.heapLive.mbPerHour)} MB/h over ${s.heapLive.n} major GCs (limit ${limits.maxLiveSlopeMbPerHour})`,
        ],
        [
          'V8 committed heap (young generation in it) / RSS outside it, first → last',
          `${fixed(s.heapTotal.firstMb, 1)} → ${fixed(s.heapTotal.lastMb, 1)} MB (${fixed(s.newSpace.firstMb, 1)} → ${fixed(s.newSpace.lastMb, 1)} MB) / ${fixed(s.outsideHeap.firstMb, 1)} → ${fixed(s.outsideHeap.lastMb, 1)} MB`,
        ],
        [
          'event-loop lag p99 median / max',
          `${fixed(s.loopLagP99Ms.median)} / ${fixed(s.loopLagP99Ms.max)} ms`,
        ],
        [
          'client p99 first third / last third / max',
          `${fixed(s.p99Ms.first)} / ${fixed(s.p99Ms.last)} / ${fixed(s.p99Ms.max)} ms`,
        ],
        ['gaps', String(s.gaps)],
        [
          'deliveries received / dropped by the server (median per s)',
          `${fixed(s.receivedPerSec, 0)} / ${fixed(s.droppedPerSec, 0)}`,
        ],
      ],
    ),
  ];
  if (s.reasons.length > 0) blocks.push(warning(s.reasons.join('; ') + '.'));
  else
    blocks.push(
      text(
        s.notes.length > 0
          ? 'Memory levelled off, no gaps, p99 stable.'
          : 'Memory flat within the limit, no gaps, p99 stable.',
      ),
    );
  for (const n of s.notes) blocks.push(text(n + '.'));
  blocks.push(
    chart(
      'chart-soak',
      'Server memory, event-loop lag and client p99 over time',
      soakChart(samples),
    ),
  );
  return blocks;
}

export interface Stall {
  /** seconds since the sampler started */
  from: number;
  to: number;
  kind: 'network' | 'server';
  why: string;
}

/**
 * Intervals in which the clients received nothing, and whose fault it was: the server answering
 * /metrics with a free event loop (lag p99 < 1 s) means the bytes stopped between server and
 * client — a network cut, not a slow server (whether it still writes or its socket buffers are
 * already full); a server that does not answer or whose loop is stalled is the server's fault.
 */
export function classifyStalls(samples: readonly SoakSample[]): Stall[] {
  const out: Stall[] = [];
  for (const s of samples) {
    if (s.receivedPerSec === null || s.receivedPerSec > 0) continue;
    const producing = (s.sentPerSec ?? 0) + (s.droppedPerSec ?? 0) > 0;
    const lagged = (s.loopLagP99Ms ?? 0) >= 1000;
    const kind: Stall['kind'] = s.serverUp && !lagged ? 'network' : 'server';
    const why =
      kind === 'network'
        ? `client received 0/s while the server answered with a free event loop (lag p99 ${fixed(s.loopLagP99Ms)} ms), ` +
          (producing
            ? `sending ${fixed(s.sentPerSec, 0)}/s, dropping ${fixed(s.droppedPerSec, 0)}/s`
            : 'its sockets full (nothing more written)')
        : !s.serverUp
          ? 'the server did not answer /metrics'
          : `server event loop stalled (lag p99 ${fixed(s.loopLagP99Ms)} ms)`;
    const last = out[out.length - 1];
    if (last !== undefined && last.kind === kind && s.t - last.to < 60) last.to = s.t;
    else out.push({ from: s.t, to: s.t, kind, why });
  }
  return out;
}
