// Turns compare runs into per-(scenario, mode) statistics and the success table. Pure functions:
// compare prints from them and the report renders them, so both always agree.
import type { ModeName } from '../../protocol/modes.js';
import { median, minMax } from './format.js';
import type { StoredResult } from './result.js';

export const BASELINE_MODE: ModeName = 'ws-naive';

export interface Target {
  mode: ModeName;
  kind: 'seed' | 'ours';
  label: string;
  /** an absolute floor (msg/s) */
  minMsgsPerSec: number;
  /** the improvement over ws-naive */
  minRatio: number;
}

/** Success criteria: `seed` are the original project's targets, `ours` the stricter ones. */
export const TARGETS: readonly Target[] = [
  {
    mode: 'ws',
    kind: 'seed',
    label: 'seed: > 300k msg/s and ≥ 1.5x',
    minMsgsPerSec: 300e3,
    minRatio: 1.5,
  },
  { mode: 'ws', kind: 'ours', label: 'ours: ≥ 5x', minMsgsPerSec: 0, minRatio: 5 },
  {
    mode: 'uws',
    kind: 'seed',
    label: 'seed: > 1M msg/s and ≥ 5x',
    minMsgsPerSec: 1e6,
    minRatio: 5,
  },
  { mode: 'uws', kind: 'ours', label: 'ours: ≥ 7x', minMsgsPerSec: 0, minRatio: 7 },
];

/**
 * The success table quotes capacity (deliveries/s at the SLO, from the capacity search) and the
 * 1-client firehose (max-rate msg/s to one socket). Max-rate fan-out is overload: its msg/s mixes
 * drops and seconds of latency, so it has its own section and never fills the table.
 */
export const SUCCESS_SOURCES = ['capacity', 'firehose'] as const;

/** One mode's capacity search, as the success table reads it. */
export interface CapacityFigure {
  mode: ModeName;
  deliveriesPerSec: number | null;
  lowerBound: boolean;
  limit: string;
}

export interface Latency {
  p50: number | null;
  p90: number | null;
  p99: number | null;
  p999: number | null;
  max: number | null;
}

/** The numbers a comparison needs from one result.json. */
export interface Figures {
  msgsPerSec: number | null;
  bytesPerSec?: number | null;
  latencyUs: Partial<Latency> | null;
  deliveredRatio?: number | null;
  gaps?: number;
  serverCpuCores?: number | null;
  serverRssMaxBytes?: number | null;
  clientCpuCores?: number | null;
  /** server CPU µs per delivered message */
  cpuUsPerMsg?: number | null;
  clientBound: boolean;
  aborted?: { reason: string } | null;
  httpReqPerSec?: number | null;
  httpP99Ms?: number | null;
}

/** Server CPU µs per delivered message: cores × 1e6 / msg/s. */
export function cpuUsPerMsg(
  cores: number | null | undefined,
  msgsPerSec: number | null | undefined,
): number | null {
  if (cores === null || cores === undefined || msgsPerSec === null || msgsPerSec === undefined)
    return null;
  return msgsPerSec > 0 ? (cores * 1e6) / msgsPerSec : null;
}

export function runFigures(result: StoredResult): Figures {
  const d = result.delivery;
  const msgsPerSec = result.throughput?.msgsPerSec ?? null;
  const serverCpuCores = result.server?.cpuCores ?? null;
  const expected = d?.expected ?? 0;
  const lat = result.latencyUs;
  return {
    msgsPerSec,
    bytesPerSec: result.throughput?.bytesPerSec ?? null,
    latencyUs:
      lat !== null && lat !== undefined
        ? {
            p50: lat.p50 ?? null,
            p90: lat.p90 ?? null,
            p99: lat.p99 ?? null,
            p999: lat.p999 ?? null,
            max: lat.max ?? null,
          }
        : null,
    deliveredRatio: expected > 0 ? (d?.received ?? 0) / expected : null,
    gaps: d?.gaps ?? 0,
    serverCpuCores,
    serverRssMaxBytes: result.server?.rssMaxBytes ?? null,
    clientCpuCores: result.resources?.client?.cpuCores ?? result.client?.cpuCores ?? null,
    cpuUsPerMsg: cpuUsPerMsg(serverCpuCores, msgsPerSec),
    clientBound: result.client?.clientBound === true,
    aborted:
      result.aborted !== null && result.aborted !== undefined
        ? { reason: result.aborted.reason ?? 'unknown' }
        : null,
    httpReqPerSec: result.http?.reqPerSec ?? null,
    httpP99Ms: result.http?.latencyMs?.p99 ?? null,
  };
}

export interface CompareRun {
  scenario: string;
  mode: ModeName;
  repeat: number;
  dir?: string;
  figures: Figures;
  result?: StoredResult;
}

export interface Stat {
  median: number | null;
  min: number | null;
  max: number | null;
}

export interface SummaryRow {
  scenario: string;
  mode: ModeName;
  n: number;
  clientBoundRuns: number;
  abortedRuns: number;
  msgsPerSec: Stat;
  ratio: Stat;
  latencyUs: Latency;
  deliveredRatio: number | null;
  gaps: number;
  serverCpuCores: number | null;
  serverRssMaxBytes: number | null;
  clientCpuCores: number | null;
  cpuUsPerMsg: number | null;
  httpReqPerSec: number | null;
  httpP99Ms: number | null;
}

/** Median, min–max and ratio vs ws-naive per (scenario, mode); aborted runs are left out. */
export function summarise(
  runs: readonly CompareRun[],
  modes: readonly ModeName[],
  scenarios: readonly string[],
): SummaryRow[] {
  const rows: SummaryRow[] = [];
  for (const scenario of scenarios) {
    const baseRuns = runs.filter(
      (r) => r.scenario === scenario && r.mode === BASELINE_MODE && !isAborted(r.figures),
    );
    const baseMedian = median(baseRuns.map((r) => r.figures.msgsPerSec));
    for (const mode of modes) {
      const all = runs.filter((r) => r.scenario === scenario && r.mode === mode);
      if (all.length === 0) continue;
      // An aborted run (Ctrl-C, server died) measured only part of its window: listed with the
      // runs, but kept out of the statistics.
      const f = all.filter((r) => !isAborted(r.figures)).map((r) => r.figures);
      const tput = f.map((x) => x.msgsPerSec);
      const med = median(tput);
      const { min, max } = minMax(tput);
      const ratioOf = (v: number | null): number | null =>
        baseMedian !== null && baseMedian > 0 && v !== null ? v / baseMedian : null;
      const pct = (k: keyof Latency): number | null => median(f.map((x) => x.latencyUs?.[k]));
      rows.push({
        scenario,
        mode,
        n: f.length,
        clientBoundRuns: f.filter((x) => x.clientBound).length,
        abortedRuns: all.length - f.length,
        msgsPerSec: { median: med, min, max },
        ratio: { median: ratioOf(med), min: ratioOf(min), max: ratioOf(max) },
        latencyUs: {
          p50: pct('p50'),
          p90: pct('p90'),
          p99: pct('p99'),
          p999: pct('p999'),
          max: pct('max'),
        },
        deliveredRatio: median(f.map((x) => x.deliveredRatio)),
        gaps: f.reduce((a, x) => a + (x.gaps ?? 0), 0),
        serverCpuCores: median(f.map((x) => x.serverCpuCores)),
        serverRssMaxBytes: median(f.map((x) => x.serverRssMaxBytes)),
        clientCpuCores: median(f.map((x) => x.clientCpuCores)),
        cpuUsPerMsg: median(f.map((x) => x.cpuUsPerMsg)),
        httpReqPerSec: median(f.map((x) => x.httpReqPerSec)),
        httpP99Ms: median(f.map((x) => x.httpP99Ms)),
      });
    }
  }
  return rows;
}

function isAborted(f: Figures): boolean {
  return f.aborted !== null && f.aborted !== undefined;
}

export interface SuccessRow {
  /** capacity or firehose */
  scenario: string;
  mode: ModeName;
  kind: Target['kind'];
  target: string;
  measured: number | null;
  improvement: number | null;
  /** null: nothing to judge (no completed run of this mode or of the baseline) */
  met: boolean | null;
  clientBound: boolean;
  clientBoundRuns: number;
  n: number;
}

/** The rows of the success table: mode | target | measured (capacity, firehose) | improvement | met?. */
export function successRows(
  summaryRows: readonly SummaryRow[],
  capacity: readonly CapacityFigure[] = [],
): SuccessRow[] {
  const out: SuccessRow[] = [];
  const judge = (t: Target, measured: number | null, improvement: number | null): boolean | null =>
    measured !== null && improvement !== null
      ? measured > t.minMsgsPerSec && improvement >= t.minRatio
      : null;
  if (capacity.length > 0) {
    const base = capacity.find((c) => c.mode === BASELINE_MODE)?.deliveriesPerSec ?? null;
    for (const t of TARGETS) {
      const c = capacity.find((x) => x.mode === t.mode);
      if (c === undefined) continue;
      const measured = c.deliveriesPerSec;
      const improvement = measured !== null && base !== null && base > 0 ? measured / base : null;
      out.push({
        scenario: 'capacity',
        mode: t.mode,
        kind: t.kind,
        target: t.label,
        measured,
        improvement,
        met: judge(t, measured, improvement),
        clientBound: c.lowerBound,
        clientBoundRuns: c.lowerBound ? 1 : 0,
        n: 1,
      });
    }
  }
  if (summaryRows.some((r) => r.scenario === 'firehose')) {
    for (const t of TARGETS) {
      const row = summaryRows.find((r) => r.scenario === 'firehose' && r.mode === t.mode);
      if (row === undefined) continue;
      const measured = row.msgsPerSec.median;
      const improvement = row.ratio.median;
      out.push({
        scenario: 'firehose',
        mode: t.mode,
        kind: t.kind,
        target: t.label,
        measured,
        improvement,
        met: judge(t, measured, improvement),
        clientBound: row.clientBoundRuns > 0,
        clientBoundRuns: row.clientBoundRuns,
        n: row.n,
      });
    }
  }
  return out;
}

/** Alternating run order: repeat 0 runs A B C, repeat 1 runs C B A, ... within each scenario. */
export function runOrder<M extends string, S extends string>(
  modes: readonly M[],
  scenarios: readonly S[],
  repeats: number,
): { scenario: S; mode: M; repeat: number }[] {
  const order: { scenario: S; mode: M; repeat: number }[] = [];
  for (let repeat = 0; repeat < repeats; repeat++) {
    for (const scenario of scenarios) {
      const seq = repeat % 2 === 0 ? modes : [...modes].reverse();
      for (const mode of seq) order.push({ scenario, mode, repeat });
    }
  }
  return order;
}
