// Builds the reports of a run (result.json) and of a comparison (compare.json + the runs' result
// files) as one model, then renders it twice: report.md (tables) and report.html (tables + charts,
// self-contained). Every runtime uses writeRunReports for its runs.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ModeName } from '../../protocol/modes.js';
import { bytes, fixed, percent, ratio, si, us } from './format.js';
import {
  chart,
  table,
  text,
  warning,
  type ChartConfig,
  type ReportModel,
  type Section,
} from './model.js';
import { renderHtml } from './render-html.js';
import { renderMarkdown } from './render-md.js';
import type { CapacityResult } from './capacity.js';
import { capacityModel } from './report-capacity.js';
import { runTimeline, timelineChart } from './report-timeline.js';
import type { StoredResult } from './result.js';
import type { ScenarioPlan } from '../scenarios/index.js';
import {
  BASELINE_MODE,
  cpuUsPerMsg,
  runFigures,
  successRows,
  summarise,
  type CapacityFigure,
  type CompareRun,
  type SuccessRow,
  type SummaryRow,
} from './summary.js';

/** A compare run read back: one run, or a capacity search. */
export type CompareEntry = CompareRun & { dir: string; capacity?: CapacityResult };

/** compare.json as written by compare.ts (read back: any field may be missing). */
export interface CompareIndex {
  kind: 'compare';
  compareId: string;
  startedAt?: string;
  endedAt?: string | null;
  command?: string;
  machine?: StoredResult['machine'];
  versions?: Record<string, string | null>;
  config: {
    modes: ModeName[];
    scenarios: ScenarioPlan[];
    repeats: number;
    duration: number;
    warmup: number;
    symbols: number;
    clients?: number;
    pin?: boolean;
  };
  plannedRuns?: number;
  runs: { scenario: string; mode: ModeName; repeat: number; dir: string; exitCode: number }[];
  aborted: { reason: string } | null;
}

/** The two y axes of every CPU/RSS chart: cores on the left, MiB on the right. */
const CPU_RSS_AXES = {
  cpu: {
    type: 'linear',
    position: 'left',
    beginAtZero: true,
    title: { display: true, text: 'cores' },
  },
  rss: {
    type: 'linear',
    position: 'right',
    beginAtZero: true,
    title: { display: true, text: 'MiB' },
    grid: { drawOnChartArea: false },
  },
};

const COLORS = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1'];
const MiB = 1024 * 1024;

async function readJson<T>(file: string): Promise<T> {
  return JSON.parse(await readFile(file, 'utf8')) as T;
}

/** Reads runDir/result.json and writes runDir/report.md and runDir/report.html. */
export async function writeRunReports(runDir: string): Promise<{ md: string; html: string }> {
  const result = await readJson<StoredResult | CapacityResult>(path.join(runDir, 'result.json'));
  const model = 'kind' in result ? capacityModel(result) : runModel(result);
  await writeFile(path.join(runDir, 'report.md'), renderMarkdown(model));
  await writeFile(path.join(runDir, 'report.html'), await renderHtml(model));
  return { md: path.join(runDir, 'report.md'), html: path.join(runDir, 'report.html') };
}

/** Reads compareDir/compare.json and every run's result.json; writes report.md and report.html. */
export async function writeCompareReports(
  compareDir: string,
): Promise<{ md: string; html: string }> {
  const compare = await readJson<CompareIndex>(path.join(compareDir, 'compare.json'));
  const runs: CompareEntry[] = [];
  for (const r of compare.runs) {
    let result: StoredResult;
    try {
      result = await readJson<StoredResult>(path.join(compareDir, r.dir, 'result.json'));
    } catch {
      continue; // a run interrupted before it wrote anything: nothing to count
    }
    if ((result as { kind?: string }).kind === 'capacity') {
      const capacity = result as unknown as CapacityResult;
      runs.push({
        ...r,
        figures: {
          msgsPerSec: capacity.best?.deliveriesPerSec ?? null,
          latencyUs: null,
          clientBound: capacity.lowerBound,
        },
        capacity,
      });
      continue;
    }
    runs.push({ ...r, result, figures: runFigures(result) });
  }
  const model = compareModel(compare, runs);
  await writeFile(path.join(compareDir, 'report.md'), renderMarkdown(model));
  await writeFile(path.join(compareDir, 'report.html'), await renderHtml(model));
  return { md: path.join(compareDir, 'report.md'), html: path.join(compareDir, 'report.html') };
}

function boundMark(isBound: boolean): string {
  return isBound ? '⚠ client-bound' : 'no';
}

function rateLabel(rate: number | null | undefined): string {
  return rate !== null && rate !== undefined && rate > 0 ? `${si(rate)} ticks/s` : 'max';
}

const str = (v: string | number | null | undefined): string =>
  v === null || v === undefined ? '–' : String(v);

// ---------------------------------------------------------------------------------------------
// One run

export function runModel(r: StoredResult): ReportModel {
  const mode = r.server?.mode ?? r.target?.mode ?? 'unknown';
  const cfg = r.bench?.config ?? {};
  const bound = Boolean(r.client?.clientBound);
  const warnings: string[] = [];
  if (bound) {
    warnings.push(
      'client-bound: the measuring client saturated its CPU, so these numbers measure the client, not the server.',
    );
  }
  if (r.aborted !== null && r.aborted !== undefined)
    warnings.push(
      `run aborted (${r.aborted.reason ?? 'unknown'}): the result covers only what was measured.`,
    );
  const d = r.delivery ?? {};
  if ((d.gaps ?? 0) > 0 || (d.duplicates ?? 0) > 0 || (d.reordered ?? 0) > 0) {
    warnings.push(
      `delivery anomalies: ${d.gaps ?? 0} gaps, ${d.duplicates ?? 0} duplicates, ${d.reordered ?? 0} reordered.`,
    );
  }

  const lat = r.latencyUs ?? {};
  const tp = r.throughput ?? {};
  const sections: Section[] = [];
  const timeline = runTimeline(r);
  const v = r.verdict;
  if (v?.summary !== undefined) {
    sections.push({
      title: 'Verdict',
      blocks: [
        text(`limit: ${v.limit ?? '?'} — ${v.summary}`),
        ...(v.reasons !== undefined && v.reasons.length > 0
          ? [text(`findings: ${v.reasons.join('; ')}`)]
          : []),
      ],
    });
  }
  const perMsg = cpuUsPerMsg(r.server?.cpuCores, tp.msgsPerSec);
  sections.push({
    title: 'Summary',
    blocks: [
      table(
        [
          'mode',
          'clients',
          'delivered msg/s',
          'MB/s',
          'p50',
          'p99',
          'server CPU (cores)',
          'server CPU µs/msg',
          'server RSS max',
          'client-bound',
        ],
        [
          [
            mode,
            str(r.config?.clients),
            si(tp.msgsPerSec),
            fixed((tp.bytesPerSec ?? NaN) / 1e6),
            us(lat.p50),
            us(lat.p99),
            fixed(r.server?.cpuCores),
            fixed(perMsg, 3),
            bytes(r.server?.rssMaxBytes),
            boundMark(bound),
          ],
        ],
      ),
    ],
  });

  sections.push({
    title: 'Charts',
    blocks: [
      chart('chart-throughput', 'Throughput (msg/s)', runThroughputChart(r, mode)),
      chart('chart-latency', 'Latency percentiles (µs)', runLatencyChart(r, mode)),
      chart(
        'chart-resources',
        'CPU (cores) and RSS (MiB) during the measured window',
        runResourceChart(r),
      ),
      ...(timeline !== null
        ? [
            chart(
              'chart-timeline',
              'Per second across warm-up and window: delivered msg/s and p99',
              timelineChart(timeline),
            ),
          ]
        : []),
    ],
  });

  sections.push({
    title: 'Throughput and delivery',
    blocks: [
      table(
        ['metric', 'value'],
        [
          ['delivered msg/s (all clients)', si(tp.msgsPerSec)],
          ['bytes/s', si(tp.bytesPerSec) + 'B'],
          [
            'per-client msg/s min / median / max',
            [tp.perClient?.min, tp.perClient?.median, tp.perClient?.max]
              .map((v) => si(v))
              .join(' / '),
          ],
          ['received', str(d.received)],
          ['expected', str(d.expected)],
          [
            'delivered / expected',
            percent((d.expected ?? 0) > 0 ? (d.received ?? 0) / (d.expected ?? 1) : NaN),
          ],
          ['server sent (deliveries)', str(d.serverSent)],
          [
            'gaps / duplicates / reordered',
            `${str(d.gaps)} / ${str(d.duplicates)} / ${str(d.reordered)}`,
          ],
          ['client-bound', boundMark(bound)],
        ],
      ),
    ],
  });

  sections.push({
    title: 'Latency',
    blocks: [
      table(
        ['', 'p50', 'p90', 'p99', 'p99.9', 'max', 'samples'],
        [
          [
            'tick latency (send due → receive)',
            us(lat.p50),
            us(lat.p90),
            us(lat.p99),
            us(lat.p999),
            us(lat.max),
            si(lat.count),
          ],
          ...(r.rttUs !== null && r.rttUs !== undefined
            ? [
                [
                  'ping round trip',
                  us(r.rttUs.p50),
                  '–',
                  us(r.rttUs.p99),
                  '–',
                  us(r.rttUs.max),
                  si(r.rttUs.count),
                ],
              ]
            : []),
        ],
        bound ? '⚠ client-bound run: latency includes the client falling behind.' : undefined,
      ),
      table(
        ['connect (ms)', 'p50', 'p99', 'max'],
        [
          [
            'connect time',
            fixed(r.connectMs?.p50),
            fixed(r.connectMs?.p99),
            fixed(r.connectMs?.max),
          ],
        ],
      ),
    ],
  });

  const pl = r.placement ?? {};
  const res = r.resources ?? {};
  sections.push({
    title: 'CPU, memory and placement',
    blocks: [
      table(
        ['process', 'pinned to cores', 'CPU (cores, measured window)', 'RSS max', 'client-bound'],
        [
          [
            'server',
            pl.server?.cores ?? 'not pinned',
            fixed(r.server?.cpuCores),
            bytes(r.server?.rssMaxBytes),
            '',
          ],
          [
            'client-bench',
            pl.client?.cores ?? 'not pinned',
            fixed(res.client?.cpuCores ?? r.client?.cpuCores),
            bytes(res.client?.rssMaxBytes),
            boundMark(bound),
          ],
        ],
      ),
      text(
        pl.pinned === true
          ? `Pinned (server on core ${str(pl.server?.cores)}, client on core ${str(pl.client?.cores)}; orchestrator and autocannon on ${str(pl.orchestrator?.cores)}). PIN=0 disables pinning.`
          : `Not pinned: ${pl.reason ?? 'unknown'}.`,
      ),
    ],
  });

  const h = r.http;
  sections.push({
    title: 'HTTP under broadcast load (autocannon → /snapshot)',
    blocks:
      h !== null && h !== undefined
        ? [
            table(
              [
                'req/s',
                'p50',
                'p99',
                'max',
                'requests',
                'errors',
                'non-2xx',
                'connections',
                'seconds',
              ],
              [
                [
                  si(h.reqPerSec),
                  fixed(h.latencyMs?.p50) + ' ms',
                  fixed(h.latencyMs?.p99) + ' ms',
                  fixed(h.latencyMs?.max) + ' ms',
                  str(h.requests),
                  str(h.errors),
                  str(h.non2xx),
                  str(h.connections),
                  fixed(h.durationSec, 1),
                ],
              ],
              bound ? '⚠ client-bound run' : undefined,
            ),
          ]
        : [text('Not measured in this run (HTTP_LOAD=0 or the run ended before its window).')],
  });

  const errRows = (r.errors ?? []).map((e) => [str(e.type), str(e.count), e.message ?? '']);
  const closeRows = Object.entries(r.closes ?? {}).map(([code, n]) => [code, str(n)]);
  sections.push({
    title: 'Errors and closes',
    blocks: [
      errRows.length > 0 ? table(['error', 'count', 'message'], errRows) : text('No errors.'),
      closeRows.length > 0
        ? table(['close code', 'count'], closeRows)
        : text('No closes recorded.'),
    ],
  });

  sections.push(
    machineSection(
      r.machine,
      r.bench?.versions ?? (r.server?.versions as Record<string, unknown> | undefined),
      r.target?.health?.versions as Record<string, unknown> | undefined,
    ),
  );
  sections.push({
    title: 'Configuration',
    blocks: [
      table(
        ['setting', 'value'],
        [
          ['run id', str(r.runId)],
          ['runtime', r.bench?.runtime ?? '–'],
          ['network', networkLabel(r)],
          ['placement', r.placement?.reason ?? '–'],
          ['node / uWS', runtimeLabel(r)],
          ['scenario', r.bench?.scenario ?? '–'],
          ['mode', mode],
          ['clients', str(r.config?.clients)],
          ['measured duration (s)', str(r.config?.duration)],
          ['warm-up (s)', str(r.config?.warmup)],
          ['rate', rateLabel(cfg.rate ?? (r.target?.health?.rate as number | undefined))],
          ['symbols', str(cfg.symbols ?? r.config?.symbols?.join(','))],
          ['client workers', str(r.config?.workers)],
          ['url', r.config?.url ?? '–'],
          ['started', r.startedAt ?? '–'],
          ['ended', r.endedAt ?? '–'],
          ['command', r.bench?.command ?? '–'],
        ],
      ),
    ],
  });

  return {
    title: `wsbench run ${str(r.runId)}`,
    subtitle: `${mode} · ${str(r.config?.clients)} clients · ${str(r.config?.duration)} s measured after ${str(r.config?.warmup)} s warm-up · rate ${rateLabel(cfg.rate)}${bound ? ' · ⚠ client-bound' : ''}`,
    warnings,
    sections,
  };
}

function machineSection(
  machine: StoredResult['machine'],
  versions: Record<string, unknown> | undefined,
  healthVersions: Record<string, unknown> | undefined,
): Section {
  const m = machine ?? {};
  const rows = [
    ['CPUs', `${str(m.cpus)} × ${str(m.model)}`],
    ['memory', bytes(m.totalMemBytes)],
    ['OS / arch', `${str(m.os)} / ${str(m.arch)}`],
    ['Node', m.node ?? (typeof versions?.node === 'string' ? versions.node : '–')],
  ];
  const all = { ...(healthVersions ?? {}), ...(versions ?? {}) };
  for (const [name, v] of Object.entries(all))
    if (name !== 'node') rows.push([name, typeof v === 'string' ? v : JSON.stringify(v)]);
  return { title: 'Machine and versions', blocks: [table(['', ''], rows)] };
}

function runThroughputChart(r: StoredResult, mode: string): ChartConfig {
  const tp = r.throughput ?? {};
  const pc = tp.perClient ?? {};
  return {
    type: 'bar',
    data: {
      labels: [mode],
      datasets: [
        {
          label: 'delivered msg/s (all clients)',
          data: [tp.msgsPerSec ?? 0],
          backgroundColor: COLORS[0],
        },
        { label: 'per-client min', data: [pc.min ?? 0], backgroundColor: COLORS[1] },
        { label: 'per-client median', data: [pc.median ?? 0], backgroundColor: COLORS[2] },
        { label: 'per-client max', data: [pc.max ?? 0], backgroundColor: COLORS[3] },
      ],
    },
    options: { scales: { y: { type: 'logarithmic', title: { display: true, text: 'msg/s' } } } },
  };
}

function runLatencyChart(r: StoredResult, mode: string): ChartConfig {
  const lat = r.latencyUs ?? {};
  return {
    type: 'bar',
    data: {
      labels: ['p50', 'p90', 'p99', 'p99.9', 'max'],
      datasets: [
        {
          label: `${mode} latency (µs)`,
          data: [lat.p50, lat.p90, lat.p99, lat.p999, lat.max].map((v) => v ?? 0),
          backgroundColor: COLORS[0],
        },
      ],
    },
    options: { scales: { y: { type: 'logarithmic', title: { display: true, text: 'µs' } } } },
  };
}

function runResourceChart(r: StoredResult): ChartConfig {
  const res = r.resources ?? {};
  const line = (
    proc: 'server' | 'client',
    idx: 1 | 2,
    label: string,
    color: string | undefined,
    axis: string,
  ): Record<string, unknown> => ({
    label,
    data: (res[proc]?.samples ?? []).map((s) => ({
      x: s[0],
      y: idx === 2 ? (s[2] ?? 0) / MiB : s[1],
    })),
    borderColor: color,
    backgroundColor: color,
    yAxisID: axis,
    pointRadius: 0,
  });
  return {
    type: 'line',
    data: {
      datasets: [
        line('server', 1, 'server CPU (cores)', COLORS[0], 'cpu'),
        line('client', 1, 'client CPU (cores)', COLORS[1], 'cpu'),
        line('server', 2, 'server RSS (MiB)', COLORS[2], 'rss'),
        line('client', 2, 'client RSS (MiB)', COLORS[3], 'rss'),
      ],
    },
    options: {
      parsing: true,
      scales: {
        x: { type: 'linear', title: { display: true, text: 's into the measured window' } },
        ...CPU_RSS_AXES,
      },
    },
  };
}

// ---------------------------------------------------------------------------------------------
// A comparison

export function compareModel(compare: CompareIndex, allRuns: CompareEntry[]): ReportModel {
  const runs = allRuns.filter((r) => r.capacity === undefined);
  const modes = compare.config.modes;
  const scenarios = compare.config.scenarios.filter((s) => !s.search).map((s) => s.name);
  const rows = summarise(runs, modes, scenarios);
  const boundRuns = runs.filter((r) => r.figures.clientBound).length;
  const warnings: string[] = [];
  if (boundRuns > 0) {
    warnings.push(
      `${boundRuns} of ${runs.length} runs were client-bound: their throughput measures the client, not the server (marked ⚠ in every table).`,
    );
  }
  const abortedRuns = runs.filter(
    (r) => r.figures.aborted !== null && r.figures.aborted !== undefined,
  );
  if (abortedRuns.length > 0) {
    warnings.push(
      `${abortedRuns.length} aborted run(s) are listed under Runs but left out of the statistics: ${abortedRuns.map((r) => `${r.dir} (${r.figures.aborted?.reason ?? ''})`).join('; ')}.`,
    );
  }
  const missing = compare.runs.length - allRuns.length;
  if (missing > 0 || compare.aborted !== null) {
    warnings.push(
      `comparison incomplete: ${allRuns.length - abortedRuns.length} of ${compare.plannedRuns ?? compare.runs.length} planned runs completed${compare.aborted !== null ? ` (${compare.aborted.reason})` : ''}.`,
    );
  }

  const sections: Section[] = [];
  const capacityRuns = allRuns.filter((r) => r.capacity !== undefined);
  const capFigures: CapacityFigure[] = capacityRuns.map((r) => ({
    mode: r.mode,
    deliveriesPerSec: r.capacity?.best?.deliveriesPerSec ?? null,
    lowerBound: r.capacity?.lowerBound === true,
    limit: r.capacity?.verdict.summary ?? '',
  }));
  const success = successRows(rows, capFigures);
  const sourceText = (s: SuccessRow): string =>
    s.scenario === 'capacity'
      ? 'capacity: deliveries/s at the SLO'
      : `firehose: median msg/s to 1 client over ${s.n} run(s)`;
  sections.push({
    title: 'Success criteria',
    blocks:
      success.length > 0
        ? [
            table(
              ['mode', 'target', 'measured', 'improvement', 'met?'],
              success.map((s) => [
                s.mode,
                s.target,
                `${si(s.measured)} msg/s (${sourceText(s)})${s.clientBound ? (s.scenario === 'capacity' ? ' ⚠ lower bound: client-limited' : ` ⚠ client-bound (${s.clientBoundRuns}/${s.n})`) : ''}`,
                `${ratio(s.improvement)} vs ${BASELINE_MODE}`,
                (s.met === null ? '–' : s.met ? 'yes' : 'no') +
                  (s.clientBound ? ' ⚠ client-bound: not conclusive' : ''),
              ]),
              `Improvement = the mode's figure / ${BASELINE_MODE}'s, per source (capacity search at the SLO; 1-client firehose at max rate).`,
            ),
          ]
        : [
            text(
              `No success table: it needs the capacity or the firehose scenario with ${BASELINE_MODE} and ws or uws in MODES.`,
            ),
          ],
  });
  if (capacityRuns.length > 0) {
    sections.push({
      title: 'Capacity at the SLO (every tick delivered, p99 within the objective)',
      blocks: [
        table(
          [
            'mode',
            'ticks/s',
            'deliveries/s',
            `vs ${BASELINE_MODE}`,
            'p99 at capacity',
            'server CPU',
            'CPU µs/msg',
            'first failing',
            'limit',
            'steps',
          ],
          capacityRuns.map((r) => {
            const c = r.capacity;
            const b = c?.best ?? null;
            const base = capFigures.find((f) => f.mode === BASELINE_MODE)?.deliveriesPerSec ?? null;
            return [
              r.mode,
              si(b?.ticksPerSec),
              `${si(b?.deliveriesPerSec)}${c?.lowerBound === true ? ' (lower bound)' : ''}`,
              ratio(b !== null && base !== null && base > 0 ? b.deliveriesPerSec / base : null),
              us(b?.p99Us),
              fixed(b?.serverCpuCores),
              fixed(b?.cpuUsPerMsg, 3),
              c?.firstFail === null || c?.firstFail === undefined
                ? '–'
                : `${si(c.firstFail.rate)} ticks/s`,
              c?.firstFail?.summary ?? '–',
              `${c?.steps.length ?? 0} (${c?.stoppedBy ?? '?'}) · ${r.dir}`,
            ];
          }),
        ),
      ],
    });
  }

  for (const scenario of compare.config.scenarios.filter((sc) => !sc.search)) {
    const overload = scenario.rate === 0 && scenario.clients > 1;
    const mine = rows.filter((r) => r.scenario === scenario.name);
    // At a fixed rate every client should get rate msg/s; a mode that delivers less fell behind,
    // and its latency then measures the backlog.
    const behind =
      scenario.rate > 0
        ? mine.filter((r) => (r.msgsPerSec.median ?? 0) < 0.9 * scenario.rate * scenario.clients)
        : [];
    sections.push({
      title: `Scenario ${scenario.name}: ${scenario.clients} client(s), rate ${rateLabel(scenario.rate)}`,
      blocks: [
        text(
          scenario.description +
            (overload
              ? ' — an overload run: the server generates as fast as it can, so msg/s mixes drops and latency (see delivered, p99, RSS).'
              : ''),
        ),
        ...behind.map((r) =>
          warning(
            `${r.mode} did not sustain the rate: ${si(r.msgsPerSec.median)} of ${si(scenario.rate * scenario.clients)} msg/s expected; its latency includes the backlog.`,
          ),
        ),
        table(
          [
            'mode',
            'runs',
            'median msg/s',
            'min–max msg/s',
            `vs ${BASELINE_MODE}`,
            'p50',
            'p99',
            'p99.9',
            'delivered',
            'server CPU',
            'CPU µs/msg',
            'server RSS',
            'client CPU',
            'HTTP req/s',
            'client-bound',
          ],
          mine.map((r) => [
            r.mode,
            String(r.n),
            si(r.msgsPerSec.median),
            `${si(r.msgsPerSec.min)}–${si(r.msgsPerSec.max)}`,
            r.ratio.median === null
              ? '–'
              : `${ratio(r.ratio.median)} (${ratio(r.ratio.min)}–${ratio(r.ratio.max)})`,
            us(r.latencyUs.p50),
            us(r.latencyUs.p99),
            us(r.latencyUs.p999),
            percent(r.deliveredRatio),
            fixed(r.serverCpuCores),
            fixed(r.cpuUsPerMsg, 3),
            bytes(r.serverRssMaxBytes),
            fixed(r.clientCpuCores),
            si(r.httpReqPerSec),
            r.clientBoundRuns > 0 ? `⚠ ${r.clientBoundRuns}/${r.n}` : 'no',
          ]),
        ),
      ],
    });
  }

  sections.push({
    title: 'Charts',
    blocks: [
      chart(
        'chart-throughput',
        'Throughput per mode (median msg/s; bars = min–max)',
        compareThroughputChart(rows, modes, scenarios),
      ),
      chart('chart-latency', 'Latency percentiles per mode (median µs)', compareLatencyChart(rows)),
      chart(
        'chart-resources',
        'Server CPU (cores) and RSS (MiB) per mode',
        compareResourceChart(rows),
      ),
    ],
  });

  sections.push({
    title: 'Runs (in the order they ran)',
    blocks: [
      table(
        [
          '#',
          'scenario',
          'mode',
          'repeat',
          'msg/s',
          'p99',
          'server CPU',
          'CPU µs/msg',
          'client-bound',
          'result',
        ],
        runs.map((r, i) => [
          String(i + 1),
          r.scenario,
          r.mode,
          String(r.repeat + 1),
          si(r.figures.msgsPerSec),
          us(r.figures.latencyUs?.p99),
          fixed(r.figures.serverCpuCores),
          fixed(r.figures.cpuUsPerMsg, 3),
          boundMark(r.figures.clientBound),
          r.figures.aborted !== null && r.figures.aborted !== undefined
            ? `aborted: ${r.figures.aborted.reason} (${r.dir})`
            : r.dir,
        ]),
      ),
    ],
  });

  const first = runs[0]?.result;
  sections.push(
    machineSection(
      compare.machine ?? first?.machine,
      compare.versions,
      first?.target?.health?.versions as Record<string, unknown> | undefined,
    ),
  );
  const c = compare.config;
  sections.push({
    title: 'Configuration',
    blocks: [
      table(
        ['setting', 'value'],
        [
          ['compare id', compare.compareId],
          ['modes', modes.join(' ')],
          ['scenarios', scenarios.join(' ')],
          ['repeats', str(c.repeats)],
          ['order', 'alternating per repeat (A B C, C B A, ...)'],
          ['measured duration (s)', str(c.duration)],
          ['warm-up (s)', str(c.warmup)],
          ['symbols', str(c.symbols)],
          ['pinning', c.pin === true ? 'server core 0, client core 1 (taskset)' : 'off'],
          ['started', compare.startedAt ?? '–'],
          ['ended', compare.endedAt ?? '–'],
          ['command', compare.command ?? '–'],
        ],
      ),
    ],
  });

  return {
    title: `wsbench comparison ${compare.compareId}`,
    subtitle: `${modes.join(' vs ')} · ${scenarios.join(', ')} · ${c.repeats} repeat(s) · ${c.duration} s each${boundRuns > 0 ? ' · ⚠ client-bound runs present' : ''}`,
    warnings,
    sections,
  };
}

function modeColor(mode: ModeName, modes: readonly ModeName[]): string {
  return COLORS[Math.max(0, modes.indexOf(mode)) % COLORS.length] ?? '#888888';
}

function compareThroughputChart(
  rows: SummaryRow[],
  modes: readonly ModeName[],
  scenarios: string[],
): ChartConfig {
  const datasets: Record<string, unknown>[] = [];
  for (const mode of modes) {
    const pick = (s: string): SummaryRow | undefined =>
      rows.find((r) => r.mode === mode && r.scenario === s);
    datasets.push({
      type: 'bar',
      label: `${mode} median`,
      data: scenarios.map((s) => pick(s)?.msgsPerSec.median ?? null),
      backgroundColor: modeColor(mode, modes),
    });
    datasets.push({
      type: 'bar',
      label: `${mode} min–max`,
      data: scenarios.map((s) => {
        const r = pick(s);
        return r !== undefined ? [r.msgsPerSec.min, r.msgsPerSec.max] : null;
      }),
      backgroundColor: modeColor(mode, modes) + '55',
    });
  }
  return {
    type: 'bar',
    data: { labels: scenarios, datasets },
    options: {
      scales: { y: { type: 'logarithmic', title: { display: true, text: 'delivered msg/s' } } },
    },
  };
}

function compareLatencyChart(rows: SummaryRow[]): ChartConfig {
  const keys: [keyof SummaryRow['latencyUs'], string][] = [
    ['p50', 'p50'],
    ['p90', 'p90'],
    ['p99', 'p99'],
    ['p999', 'p99.9'],
  ];
  return {
    type: 'bar',
    data: {
      labels: rows.map((r) => `${r.scenario} · ${r.mode}${r.clientBoundRuns > 0 ? ' ⚠' : ''}`),
      datasets: keys.map(([k, label], i) => ({
        label,
        data: rows.map((r) => r.latencyUs[k]),
        backgroundColor: COLORS[i],
      })),
    },
    options: { scales: { y: { type: 'logarithmic', title: { display: true, text: 'µs' } } } },
  };
}

function compareResourceChart(rows: SummaryRow[]): ChartConfig {
  return {
    type: 'bar',
    data: {
      labels: rows.map((r) => `${r.scenario} · ${r.mode}${r.clientBoundRuns > 0 ? ' ⚠' : ''}`),
      datasets: [
        {
          label: 'server CPU (cores)',
          data: rows.map((r) => r.serverCpuCores),
          backgroundColor: COLORS[0],
          yAxisID: 'cpu',
        },
        {
          label: 'client CPU (cores)',
          data: rows.map((r) => r.clientCpuCores),
          backgroundColor: COLORS[1],
          yAxisID: 'cpu',
        },
        {
          label: 'server RSS max (MiB)',
          data: rows.map((r) => (r.serverRssMaxBytes === null ? null : r.serverRssMaxBytes / MiB)),
          backgroundColor: COLORS[2],
          yAxisID: 'rss',
        },
      ],
    },
    options: {
      scales: {
        ...CPU_RSS_AXES,
      },
    },
  };
}

/** Where the bytes went: loopback for native runs, the containers' network for Docker runs. */
function networkLabel(r: StoredResult): string {
  const b = r.bench as { runtime?: string; docker?: { network?: string } } | undefined;
  if (b?.runtime === 'docker') return b.docker?.network ?? 'unknown';
  return b?.runtime === 'native' ? 'host loopback' : '–';
}

/** The Node and the uWS package the server ran (its /health `runtime`). */
function runtimeLabel(r: StoredResult): string {
  const rt = (r.target?.health as { runtime?: unknown } | undefined)?.runtime as
    { node?: string; uws?: { package?: string; version?: string } | null } | undefined;
  if (rt === undefined) return '–';
  const uws = rt.uws ? `${rt.uws.package ?? '?'}@${rt.uws.version ?? '?'}` : 'not loaded';
  return `${rt.node ?? '?'} / ${uws}`;
}
