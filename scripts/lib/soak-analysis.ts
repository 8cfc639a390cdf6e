// What a soak says: the server's memory slope (least squares over the samples after warm-up, in
// MB/h) for RSS and heap, event-loop lag, gaps, and whether p99 stayed stable (the last third of
// the soak against the first), with one verdict; and the chart over time for report.html.
import { fixed, median } from './format.js';
import { chart, table, text, warning, type Block, type ChartConfig } from './model.js';
import type { SoakSample } from './soak-sampler.js';

export interface SoakLimits {
  /** |RSS slope| above this (MB/h) fails */
  maxSlopeMbPerHour: number;
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
  rss: Slope & { firstMb: number | null; lastMb: number | null; maxMb: number | null };
  heap: Slope;
  loopLagP99Ms: { median: number | null; max: number | null };
  gaps: number;
  /** sample intervals in which the server did not answer /metrics */
  serverDown: number;
  p99Ms: { first: number | null; last: number | null; max: number | null };
  receivedPerSec: number | null;
  droppedPerSec: number | null;
  verdict: 'stable' | 'leak' | 'unstable' | 'too-short' | 'no-data';
  reasons: string[];
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
  const lag = samples.map((s) => s.loopLagP99Ms).filter((x): x is number => x !== null);
  const p99All = samples.map((s) => s.p99Ms).filter((x): x is number => x !== null);
  const reasons: string[] = [];
  if (rss.mbPerHour !== null && Math.abs(rss.mbPerHour) > limits.maxSlopeMbPerHour)
    reasons.push(
      `RSS slope ${fixed(rss.mbPerHour)} MB/h exceeds ±${limits.maxSlopeMbPerHour} MB/h`,
    );
  if (gaps > 0) reasons.push(`${gaps} gaps (ticks lost)`);
  if (serverDown > 0) reasons.push(`the server did not answer /metrics in ${serverDown} samples`);
  if (first !== null && last !== null && last > first * limits.maxP99Growth && last - first > 1)
    reasons.push(
      `p99 grew from ${fixed(first)} ms to ${fixed(last)} ms (> ${limits.maxP99Growth}×)`,
    );
  if (limits.sloP99Ms !== null && last !== null && last > limits.sloP99Ms)
    reasons.push(`p99 ${fixed(last)} ms at the end is over the SLO of ${limits.sloP99Ms} ms`);
  const noData = samples.length < 3 || rss.mbPerHour === null;
  const seconds =
    samples.length > 1 ? (samples[samples.length - 1]?.t ?? 0) - (samples[0]?.t ?? 0) : 0;
  const steep = reasons.some((r) => r.startsWith('RSS slope'));
  const short = seconds < limits.minLeakSeconds;
  if (steep && short)
    reasons.push(
      `the soak is shorter than ${limits.minLeakSeconds} s: warm-up growth dominates the slope, so it is not called a leak`,
    );
  const others = reasons.filter(
    (r) => !r.startsWith('RSS slope') && !r.startsWith('the soak is shorter'),
  );
  return {
    samples: samples.length,
    seconds,
    rss: {
      ...rss,
      firstMb: mb(rssVals[0]),
      lastMb: mb(rssVals[rssVals.length - 1]),
      maxMb: mb(rssVals.length > 0 ? Math.max(...rssVals) : null),
    },
    heap: slopeOf(samples, (s) => s.heapUsedBytes),
    loopLagP99Ms: { median: median(lag), max: lag.length > 0 ? Math.max(...lag) : null },
    gaps,
    serverDown,
    p99Ms: { first, last, max: p99All.length > 0 ? Math.max(...p99All) : null },
    receivedPerSec: median(samples.map((s) => s.receivedPerSec)),
    droppedPerSec: median(samples.map((s) => s.droppedPerSec)),
    verdict: noData
      ? 'no-data'
      : others.length > 0
        ? 'unstable'
        : steep
          ? short
            ? 'too-short'
            : 'leak'
          : 'stable',
    reasons: noData ? ['fewer than 3 samples with RSS after warm-up'] : reasons,
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
  const v = (n: number | null, d = 2): string => (n === null ? '–' : fixed(n, d));
  const blocks: Block[] = [
    table(
      ['', 'value'],
      [
        ['verdict', s.verdict === 'stable' ? 'stable' : `⚠ ${s.verdict}`],
        ['samples (after warm-up)', `${s.samples} over ${v(s.seconds, 0)} s`],
        [
          'server RSS slope (least squares)',
          `${v(s.rss.mbPerHour)} MB/h (r² ${v(s.rss.r2, 3)}; limit ±${limits.maxSlopeMbPerHour})`,
        ],
        [
          'server RSS first / last / max',
          `${v(s.rss.firstMb, 1)} / ${v(s.rss.lastMb, 1)} / ${v(s.rss.maxMb, 1)} MB`,
        ],
        ['server heap used slope', `${v(s.heap.mbPerHour)} MB/h (r² ${v(s.heap.r2, 3)})`],
        [
          'event-loop lag p99 median / max',
          `${v(s.loopLagP99Ms.median)} / ${v(s.loopLagP99Ms.max)} ms`,
        ],
        [
          'client p99 first third / last third / max',
          `${v(s.p99Ms.first)} / ${v(s.p99Ms.last)} / ${v(s.p99Ms.max)} ms`,
        ],
        ['gaps', String(s.gaps)],
        [
          'deliveries received / dropped by the server (median per s)',
          `${v(s.receivedPerSec, 0)} / ${v(s.droppedPerSec, 0)}`,
        ],
      ],
    ),
  ];
  if (s.reasons.length > 0) blocks.push(warning(s.reasons.join('; ') + '.'));
  else blocks.push(text('Memory flat within the limit, no gaps, p99 stable.'));
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
