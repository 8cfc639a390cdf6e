// Turns compare runs into per-(scenario, mode) statistics and the success table. Pure functions:
// compare.mjs prints from them and report.mjs renders them, so both always agree.
import { median, minMax } from './format.mjs';

export const BASELINE_MODE = 'ws-naive';

/**
 * Success criteria. `seed` are the original project's targets, `ours` the stricter ones this
 * harness aims for. minMsgsPerSec is an absolute floor, minRatio the improvement over ws-naive.
 */
export const TARGETS = [
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
 * The scenario whose numbers the success table quotes: fan-out when it was run, else firehose.
 * A fixed-rate scenario measures latency, not capacity, so it never fills the table.
 */
export const SUCCESS_SCENARIO_PREFERENCE = ['fanout', 'firehose'];

/** Extracts the numbers a comparison needs from one extended result.json. */
export function runFigures(result) {
  const d = result.delivery ?? {};
  return {
    msgsPerSec: result.throughput?.msgsPerSec ?? null,
    bytesPerSec: result.throughput?.bytesPerSec ?? null,
    latencyUs: result.latencyUs ?? null,
    deliveredRatio: d.expected > 0 ? d.received / d.expected : null,
    gaps: d.gaps ?? 0,
    serverCpuCores: result.server?.cpuCores ?? null,
    serverRssMaxBytes: result.server?.rssMaxBytes ?? null,
    clientCpuCores: result.resources?.client?.cpuCores ?? result.client?.cpuCores ?? null,
    clientBound: Boolean(result.client?.clientBound),
    aborted: result.aborted ?? null,
    httpReqPerSec: result.http?.reqPerSec ?? null,
    httpP99Ms: result.http?.latencyMs?.p99 ?? null,
  };
}

/**
 * runs: [{ scenario, mode, repeat, figures }] -> [{ scenario, mode, n, clientBoundRuns, abortedRuns,
 * msgsPerSec{median,min,max}, ratio{median,min,max} (vs ws-naive medians), latencyUs{p50,...}
 * (medians), serverCpuCores, serverRssMaxBytes, clientCpuCores, httpReqPerSec (medians) }]
 */
export function summarise(runs, modes, scenarios) {
  const rows = [];
  for (const scenario of scenarios) {
    const baseRuns = runs.filter(
      (r) => r.scenario === scenario && r.mode === BASELINE_MODE && !r.figures.aborted,
    );
    const baseMedian = median(baseRuns.map((r) => r.figures.msgsPerSec));
    for (const mode of modes) {
      const all = runs.filter((r) => r.scenario === scenario && r.mode === mode);
      // An aborted run (Ctrl-C, server died) measured only part of its window: listed with the
      // runs, but kept out of the statistics.
      const mine = all.filter((r) => !r.figures.aborted);
      if (all.length === 0) continue;
      const f = mine.map((r) => r.figures);
      const tput = f.map((x) => x.msgsPerSec);
      const med = median(tput);
      const { min, max } = minMax(tput);
      const ratioOf = (v) => (baseMedian > 0 && Number.isFinite(v) ? v / baseMedian : null);
      const pct = (k) => median(f.map((x) => x.latencyUs?.[k]));
      rows.push({
        scenario,
        mode,
        n: mine.length,
        clientBoundRuns: f.filter((x) => x.clientBound).length,
        abortedRuns: all.length - mine.length,
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
        httpReqPerSec: median(f.map((x) => x.httpReqPerSec)),
        httpP99Ms: median(f.map((x) => x.httpP99Ms)),
      });
    }
  }
  return rows;
}

/** The rows of the success table: mode | target | measured | improvement | met?. */
export function successRows(summaryRows) {
  const scenarios = [...new Set(summaryRows.map((r) => r.scenario))];
  const scenario = SUCCESS_SCENARIO_PREFERENCE.find((s) => scenarios.includes(s));
  if (!scenario) return [];
  const out = [];
  for (const t of TARGETS) {
    const row = summaryRows.find((r) => r.scenario === scenario && r.mode === t.mode);
    if (!row) continue;
    const measured = row.msgsPerSec.median;
    const improvement = row.ratio.median;
    // null: nothing to judge (no completed run of this mode or of the baseline)
    const met =
      Number.isFinite(measured) && Number.isFinite(improvement)
        ? measured > t.minMsgsPerSec && improvement >= t.minRatio
        : null;
    out.push({
      scenario,
      mode: t.mode,
      kind: t.kind,
      target: t.label,
      measured,
      improvement,
      met,
      clientBound: row.clientBoundRuns > 0,
      clientBoundRuns: row.clientBoundRuns,
      n: row.n,
    });
  }
  return out;
}

/** Alternating run order: repeat 0 runs A B C, repeat 1 runs C B A, ... within each scenario. */
export function runOrder(modes, scenarios, repeats) {
  const order = [];
  for (let repeat = 0; repeat < repeats; repeat++) {
    for (const scenario of scenarios) {
      const seq = repeat % 2 === 0 ? modes : [...modes].reverse();
      for (const mode of seq) order.push({ scenario, mode, repeat });
    }
  }
  return order;
}
