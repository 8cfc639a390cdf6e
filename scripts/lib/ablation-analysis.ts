// What an ablation's runs say: per configuration the median and min–max msg/s, the ratio to the
// baseline, server CPU µs per delivered message, p99 and a verdict (conclusive or not and why);
// per optimisation its effect alone (+opt vs baseline) and its marginal effect in the combination
// (all vs all-but-it), with an interaction called out when the two ranges do not overlap. Pure
// functions of the result files, so the tests can feed them hand-made runs.
import { fixed, median, minMax, ratio, si, us } from './format.js';
import { chart, table, text, warning, type Block, type ChartConfig } from './model.js';
import type { StoredResult } from './result.js';
import { runFigures, type Figures } from './summary.js';
import type { AblationConfig } from './ablation-plan.js';

/** A server busier than this share of a core is the limit of the run. */
export const SERVER_BOUND_CORES = 0.85;

export type RunVerdict =
  | 'server-bound'
  | 'client-bound'
  | 'kernel-bound'
  | 'schedule-bound'
  | 'paced'
  | 'aborted'
  | 'no-data';

/** Verdicts under which the msg/s measures something other than the server configuration. */
export const INCONCLUSIVE: ReadonlySet<RunVerdict> = new Set<RunVerdict>([
  'client-bound',
  'kernel-bound',
  'schedule-bound',
  'aborted',
  'no-data',
]);

/** lib/verdict.ts's limits that decide an ablation run's verdict on their own. */
const FROM_LIMIT: Record<string, RunVerdict | undefined> = {
  aborted: 'aborted',
  client: 'client-bound',
  'server-cpu': 'server-bound',
  'server-fanout': 'server-bound',
  'cpu-contention': 'schedule-bound',
  'kernel-network': 'kernel-bound',
};

export interface AblationRun {
  config: string;
  repeat: number;
  dir: string;
  figures: Figures;
  verdict: RunVerdict;
  why: string;
}

/**
 * The limit of one run. Max rate: the server at a full core measures the server; the client's
 * saturation measures the client; neither busy while ticks are still not all delivered means the
 * kernel or the loopback set the number — or, when the machine had no idle CPU, the schedule (other
 * processes on the shared cores).
 */
export function runVerdict(r: StoredResult): { verdict: RunVerdict; why: string } {
  const f = runFigures(r);
  // the run's own verdict (lib/verdict.ts) where it names one of these limits
  const v = (r as { verdict?: { limit?: string; summary?: string } }).verdict;
  const mapped = v?.limit !== undefined ? FROM_LIMIT[v.limit] : undefined;
  if (mapped !== undefined) return { verdict: mapped, why: v?.summary ?? v?.limit ?? '' };
  if (f.aborted !== null && f.aborted !== undefined)
    return { verdict: 'aborted', why: f.aborted.reason };
  if (f.msgsPerSec === null) return { verdict: 'no-data', why: 'no client result' };
  if (f.clientBound) return { verdict: 'client-bound', why: 'a client worker was saturated' };
  const rate = r.bench?.config?.rate ?? 0;
  const cores = f.serverCpuCores ?? null;
  if (cores !== null && cores >= SERVER_BOUND_CORES)
    return { verdict: 'server-bound', why: `server at ${fixed(cores)} cores` };
  if (rate > 0 && (f.deliveredRatio ?? 0) >= 0.99 && (f.gaps ?? 0) === 0)
    return { verdict: 'paced', why: `every tick of ${si(rate)}/s delivered` };
  const m = r.resources?.machine;
  const kernel = (m?.systemCores ?? 0) + (m?.softirqCores ?? 0);
  const idle = m?.idleCores ?? null;
  if (idle !== null && m !== null && m !== undefined && idle < 0.1 * (m.cpus ?? 1))
    return {
      verdict: 'schedule-bound',
      why: `server ${cores !== null ? fixed(cores) : '?'} cores while the machine had no idle CPU (${fixed(idle)} cores idle): other processes set the number`,
    };
  return {
    verdict: 'kernel-bound',
    why:
      `server ${cores !== null ? fixed(cores) : '?'} cores, client not saturated` +
      (m !== null && m !== undefined ? `, machine kernel+softirq ${fixed(kernel)} cores` : ''),
  };
}

export interface Stat {
  median: number | null;
  min: number | null;
  max: number | null;
}

export interface ConfigRow {
  config: AblationConfig;
  n: number;
  msgsPerSec: Stat;
  ratio: number | null;
  cpuUsPerMsg: number | null;
  p99Us: number | null;
  verdict: string;
  conclusive: boolean;
}

export interface Effect {
  opt: string;
  /** +opt / baseline (medians), with the range from the runs' min/max */
  alone: Stat;
  /** all / all-but-opt */
  marginal: Stat;
  /** the two ranges do not overlap */
  interaction: boolean;
  conclusive: boolean;
}

function stat(values: readonly (number | null | undefined)[]): Stat {
  const mm = minMax(values);
  return { median: median(values), ...mm };
}

/** A ratio of two measured stats with its range: [min(a)/max(b), max(a)/min(b)]. */
function ratioStat(a: Stat, b: Stat): Stat {
  const div = (x: number | null, y: number | null): number | null =>
    x === null || y === null || y === 0 ? null : x / y;
  return { median: div(a.median, b.median), min: div(a.min, b.max), max: div(a.max, b.min) };
}

export function configRows(
  configs: readonly AblationConfig[],
  runs: readonly AblationRun[],
): ConfigRow[] {
  const valid = (r: AblationRun): boolean => r.verdict !== 'aborted' && r.verdict !== 'no-data';
  const of = (name: string): AblationRun[] => runs.filter((r) => r.config === name && valid(r));
  const base = configs.find((c) => c.kind === 'baseline');
  const baseMedian =
    base !== undefined ? stat(of(base.name).map((r) => r.figures.msgsPerSec)).median : null;
  return configs.map((config) => {
    const mine = of(config.name);
    const all = runs.filter((r) => r.config === config.name);
    const msgs = stat(mine.map((r) => r.figures.msgsPerSec));
    const bad = all.filter((r) => INCONCLUSIVE.has(r.verdict));
    const kinds = [...new Set(all.map((r) => r.verdict))];
    const verdict =
      all.length === 0
        ? 'not run'
        : bad.length > 0
          ? `⚠ not conclusive: ${[...new Set(bad.map((r) => r.verdict))].join(', ')} (${bad.length}/${all.length})`
          : kinds.join(', ');
    return {
      config,
      n: mine.length,
      msgsPerSec: msgs,
      ratio:
        msgs.median !== null && baseMedian !== null && baseMedian > 0
          ? msgs.median / baseMedian
          : null,
      cpuUsPerMsg: median(mine.map((r) => r.figures.cpuUsPerMsg)),
      p99Us: median(mine.map((r) => r.figures.latencyUs?.p99)),
      verdict,
      conclusive: all.length > 0 && bad.length === 0,
    };
  });
}

export function effects(rows: readonly ConfigRow[]): Effect[] {
  const find = (p: (c: AblationConfig) => boolean): ConfigRow | undefined =>
    rows.find((r) => p(r.config));
  const base = find((c) => c.kind === 'baseline');
  const all = find((c) => c.kind === 'all');
  if (base === undefined || all === undefined) return [];
  const out: Effect[] = [];
  for (const alone of rows.filter((r) => r.config.kind === 'alone')) {
    const opt = alone.config.opt ?? alone.config.name;
    const loo = find((c) => c.kind === 'leave-one-out' && c.opt === opt);
    const a = ratioStat(alone.msgsPerSec, base.msgsPerSec);
    const m =
      loo !== undefined
        ? ratioStat(all.msgsPerSec, loo.msgsPerSec)
        : { median: null, min: null, max: null };
    const overlap =
      a.min === null || a.max === null || m.min === null || m.max === null
        ? true
        : a.min <= m.max && m.min <= a.max;
    out.push({
      opt,
      alone: a,
      marginal: m,
      interaction: !overlap,
      conclusive:
        base.conclusive && alone.conclusive && all.conclusive && (loo?.conclusive ?? true),
    });
  }
  return out;
}

const range = (s: Stat, f: (n: number | null) => string): string =>
  s.median === null ? '–' : `${f(s.median)} (${f(s.min)}–${f(s.max)})`;

export const TABLE_COLUMNS = [
  'configuration',
  'msg/s median (min–max)',
  '× baseline',
  'server CPU µs/msg',
  'p99',
  'verdict',
];

export function configTable(rows: readonly ConfigRow[]): Block {
  return table(
    TABLE_COLUMNS,
    rows.map((r) => [
      r.config.name +
        (r.config.opts !== null && r.config.kind !== 'baseline' && r.config.kind !== 'alone'
          ? ` [${r.config.opts.join(',') || '–'}]`
          : ''),
      range(r.msgsPerSec, (n) => si(n)),
      ratio(r.ratio),
      r.cpuUsPerMsg !== null ? fixed(r.cpuUsPerMsg, 3) : '–',
      us(r.p99Us),
      r.verdict,
    ]),
  );
}

export function effectsTable(list: readonly Effect[]): Block {
  return table(
    ['optimisation', 'alone (+opt / baseline)', 'marginal (all / all-but-it)', 'note'],
    list.map((e) => [
      e.opt,
      range(e.alone, (n) => ratio(n)),
      range(e.marginal, (n) => ratio(n)),
      (e.interaction ? 'interaction: alone and marginal differ by more than the spread' : '') +
        (e.conclusive ? '' : `${e.interaction ? '; ' : ''}⚠ built on a run that is not conclusive`),
    ]),
  );
}

/**
 * The waterfall: baseline, then each switch alone as a floating bar from the baseline to its
 * value, then all, then the other library. Floating bars ([from, to]) are Chart.js's own.
 */
export function waterfallChart(rows: readonly ConfigRow[]): ChartConfig {
  const base = rows.find((r) => r.config.kind === 'baseline')?.msgsPerSec.median ?? 0;
  const order: ConfigRow[] = [
    ...rows.filter((r) => r.config.kind === 'baseline'),
    ...rows.filter((r) => r.config.kind === 'alone'),
    ...rows.filter((r) => r.config.kind === 'all'),
    ...rows.filter((r) => r.config.kind === 'library'),
  ];
  const bars = order.map((r) => {
    const v = r.msgsPerSec.median ?? 0;
    return r.config.kind === 'alone' ? [Math.min(base, v), Math.max(base, v)] : [0, v];
  });
  const colour = (r: ConfigRow): string =>
    !r.conclusive
      ? '#bbbbbb'
      : r.config.kind === 'alone'
        ? (r.msgsPerSec.median ?? 0) >= base
          ? '#2e9e5b'
          : '#d04545'
        : '#3a6fd8';
  return {
    type: 'bar',
    data: {
      labels: order.map((r) => r.config.name + (r.conclusive ? '' : ' ⚠')),
      datasets: [
        {
          label: 'msg/s (median)',
          data: bars,
          backgroundColor: order.map(colour),
        },
      ],
    },
    options: {
      animation: false,
      plugins: { legend: { display: false } },
      scales: { y: { beginAtZero: true, title: { display: true, text: 'delivered msg/s' } } },
    },
  };
}

/** The ablation section blocks: table, effects, interactions, the waterfall. */
export function ablationBlocks(
  configs: readonly AblationConfig[],
  runs: readonly AblationRun[],
  presetsOnly: boolean,
): Block[] {
  const rows = configRows(configs, runs);
  const eff = effects(rows);
  const blocks: Block[] = [configTable(rows)];
  if (presetsOnly)
    blocks.push(
      warning(
        "The server publishes no optimisation switches yet (dist/server/opts.js): the configurations are the mode presets, so an optimisation's effect alone and its marginal effect cannot be separated.",
      ),
    );
  if (eff.length > 0) blocks.push(effectsTable(eff));
  const inter = eff.filter((e) => e.interaction);
  if (inter.length > 0)
    blocks.push(
      text(
        'Interactions: ' +
          inter
            .map(
              (e) =>
                `${e.opt} gives ${ratio(e.alone.median)} alone but ${ratio(e.marginal.median)} in the combination`,
            )
            .join('; ') +
          '.',
      ),
    );
  const bad = rows.filter((r) => !r.conclusive);
  if (bad.length > 0)
    blocks.push(
      warning(
        `Not conclusive (the number measures something other than the server): ${bad.map((r) => `${r.config.name} — ${r.verdict}`).join('; ')}.`,
      ),
    );
  blocks.push(
    chart(
      'chart-waterfall',
      'Waterfall: baseline → +each → all → other library',
      waterfallChart(rows),
    ),
  );
  return blocks;
}
