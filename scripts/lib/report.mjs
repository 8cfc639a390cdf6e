// Builds the reports of a run (result.json) and of a comparison (compare.json + the runs' result
// files) as one model, then renders it twice: report.md (tables) and report.html (tables + charts,
// self-contained). The Docker runtime reuses writeRunReports for its runs.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { bytes, fixed, percent, ratio, si, us } from './format.mjs';
import { renderHtml } from './render-html.mjs';
import { renderMarkdown } from './render-md.mjs';
import { BASELINE_MODE, runFigures, successRows, summarise } from './summary.mjs';

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

async function readJson(file) {
  return JSON.parse(await readFile(file, 'utf8'));
}

/** Reads runDir/result.json and writes runDir/report.md and runDir/report.html. */
export async function writeRunReports(runDir) {
  const result = await readJson(path.join(runDir, 'result.json'));
  const model = runModel(result);
  await writeFile(path.join(runDir, 'report.md'), renderMarkdown(model));
  await writeFile(path.join(runDir, 'report.html'), await renderHtml(model));
  return { md: path.join(runDir, 'report.md'), html: path.join(runDir, 'report.html') };
}

/** Reads compareDir/compare.json and every run's result.json; writes report.md and report.html. */
export async function writeCompareReports(compareDir) {
  const compare = await readJson(path.join(compareDir, 'compare.json'));
  const runs = [];
  for (const r of compare.runs) {
    let result;
    try {
      result = await readJson(path.join(compareDir, r.dir, 'result.json'));
    } catch {
      continue; // a run interrupted before it wrote anything: nothing to count
    }
    runs.push({ ...r, result, figures: runFigures(result) });
  }
  const model = compareModel(compare, runs);
  await writeFile(path.join(compareDir, 'report.md'), renderMarkdown(model));
  await writeFile(path.join(compareDir, 'report.html'), await renderHtml(model));
  return { md: path.join(compareDir, 'report.md'), html: path.join(compareDir, 'report.html') };
}

const table = (columns, rows, caption) => ({ kind: 'table', columns, rows, caption });
const text = (t) => ({ kind: 'text', text: t });
const chart = (id, title, config) => ({ kind: 'chart', id, title, config });

function boundMark(isBound) {
  return isBound ? '⚠ client-bound' : 'no';
}

function rateLabel(rate) {
  return rate > 0 ? `${si(rate)} ticks/s` : 'max';
}

// ---------------------------------------------------------------------------------------------
// One run

export function runModel(r) {
  const mode = r.server?.mode ?? r.target?.mode ?? 'unknown';
  const cfg = r.bench?.config ?? {};
  const bound = Boolean(r.client?.clientBound);
  const warnings = [];
  if (bound) {
    warnings.push(
      'client-bound: the measuring client saturated its CPU, so these numbers measure the client, not the server.',
    );
  }
  if (r.aborted)
    warnings.push(`run aborted (${r.aborted.reason}): the result covers only what was measured.`);
  const d = r.delivery ?? {};
  if (d.gaps || d.duplicates || d.reordered) {
    warnings.push(
      `delivery anomalies: ${d.gaps} gaps, ${d.duplicates} duplicates, ${d.reordered} reordered.`,
    );
  }

  const lat = r.latencyUs ?? {};
  const tp = r.throughput ?? {};
  const sections = [];
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
          'server RSS max',
          'client-bound',
        ],
        [
          [
            mode,
            String(r.config?.clients ?? '–'),
            si(tp.msgsPerSec),
            fixed((tp.bytesPerSec ?? NaN) / 1e6),
            us(lat.p50),
            us(lat.p99),
            fixed(r.server?.cpuCores),
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
            ['min', 'median', 'max'].map((k) => si(tp.perClient?.[k])).join(' / '),
          ],
          ['received', String(d.received ?? '–')],
          ['expected', String(d.expected ?? '–')],
          ['delivered / expected', percent(d.expected > 0 ? d.received / d.expected : NaN)],
          [
            'server sent (deliveries)',
            d.serverSent === null || d.serverSent === undefined ? '–' : String(d.serverSent),
          ],
          [
            'gaps / duplicates / reordered',
            `${d.gaps ?? '–'} / ${d.duplicates ?? '–'} / ${d.reordered ?? '–'}`,
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
          ...(r.rttUs
            ? [
                [
                  'ping round trip',
                  us(r.rttUs.p50),
                  us(r.rttUs.p90),
                  us(r.rttUs.p99),
                  us(r.rttUs.p999),
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
        pl.pinned
          ? `Pinned with taskset (server on core ${pl.server?.cores}, client on core ${pl.client?.cores}; orchestrator and autocannon on ${pl.orchestrator?.cores ?? '–'}). PIN=0 disables pinning.`
          : `Not pinned: ${pl.reason ?? 'unknown'}.`,
      ),
    ],
  });

  const h = r.http;
  sections.push({
    title: 'HTTP under broadcast load (autocannon → /snapshot)',
    blocks: h
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
                String(h.requests ?? '–'),
                String(h.errors ?? '–'),
                String(h.non2xx ?? '–'),
                String(h.connections ?? '–'),
                fixed(h.durationSec, 1),
              ],
            ],
            bound ? '⚠ client-bound run' : undefined,
          ),
        ]
      : [text('Not measured in this run (HTTP_LOAD=0 or the run ended before its window).')],
  });

  const errRows = (r.errors ?? []).map((e) => [e.type, String(e.count), e.message ?? '']);
  const closeRows = Object.entries(r.closes ?? {}).map(([code, n]) => [code, String(n)]);
  sections.push({
    title: 'Errors and closes',
    blocks: [
      errRows.length ? table(['error', 'count', 'message'], errRows) : text('No errors.'),
      closeRows.length ? table(['close code', 'count'], closeRows) : text('No closes recorded.'),
    ],
  });

  sections.push(
    machineSection(r.machine, r.bench?.versions ?? r.server?.versions, r.target?.health?.versions),
  );
  sections.push({
    title: 'Configuration',
    blocks: [
      table(
        ['setting', 'value'],
        [
          ['run id', r.runId],
          ['runtime', r.bench?.runtime ?? '–'],
          ['scenario', r.bench?.scenario ?? '–'],
          ['mode', mode],
          ['clients', String(r.config?.clients ?? '–')],
          ['measured duration (s)', String(r.config?.duration ?? '–')],
          ['warm-up (s)', String(r.config?.warmup ?? '–')],
          ['rate', rateLabel(cfg.rate ?? r.target?.health?.rate ?? 0)],
          ['symbols', String(cfg.symbols ?? r.config?.symbols ?? '–')],
          ['client workers', String(r.config?.workers ?? '–')],
          ['url', r.config?.url ?? '–'],
          ['started', r.startedAt ?? '–'],
          ['ended', r.endedAt ?? '–'],
          ['command', r.bench?.command ?? '–'],
        ],
      ),
    ],
  });

  return {
    title: `wsbench run ${r.runId}`,
    subtitle: `${mode} · ${r.config?.clients ?? '?'} clients · ${r.config?.duration ?? '?'} s measured after ${r.config?.warmup ?? '?'} s warm-up · rate ${rateLabel(cfg.rate ?? 0)}${bound ? ' · ⚠ client-bound' : ''}`,
    warnings,
    sections,
  };
}

function machineSection(machine, versions, healthVersions) {
  const m = machine ?? {};
  const rows = [
    ['CPUs', `${m.cpus ?? '–'} × ${m.model ?? '–'}`],
    ['memory', bytes(m.totalMemBytes)],
    ['OS / arch', `${m.os ?? '–'} / ${m.arch ?? '–'}`],
    ['Node', m.node ?? versions?.node ?? '–'],
  ];
  const all = { ...(healthVersions ?? {}), ...(versions ?? {}) };
  for (const [name, v] of Object.entries(all)) if (name !== 'node') rows.push([name, String(v)]);
  return { title: 'Machine and versions', blocks: [table(['', ''], rows)] };
}

function runThroughputChart(r, mode) {
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

function runLatencyChart(r, mode) {
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

function runResourceChart(r) {
  const res = r.resources ?? {};
  const line = (proc, idx, label, color, axis) => ({
    label,
    data: (res[proc]?.samples ?? []).map((s) => ({ x: s[0], y: idx === 2 ? s[2] / MiB : s[1] })),
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

export function compareModel(compare, runs) {
  const modes = compare.config.modes;
  const scenarios = compare.config.scenarios.map((s) => s.name);
  const rows = summarise(runs, modes, scenarios);
  const success = successRows(rows);
  const boundRuns = runs.filter((r) => r.figures.clientBound).length;
  const warnings = [];
  if (boundRuns) {
    warnings.push(
      `${boundRuns} of ${runs.length} runs were client-bound: their throughput measures the client, not the server (marked ⚠ in every table).`,
    );
  }
  const abortedRuns = runs.filter((r) => r.figures.aborted);
  if (abortedRuns.length) {
    warnings.push(
      `${abortedRuns.length} aborted run(s) are listed under Runs but left out of the statistics: ${abortedRuns.map((r) => `${r.dir} (${r.figures.aborted.reason})`).join('; ')}.`,
    );
  }
  const missing = compare.runs.length - runs.length;
  if (missing > 0 || compare.aborted) {
    warnings.push(
      `comparison incomplete: ${runs.length - abortedRuns.length} of ${compare.plannedRuns ?? compare.runs.length} planned runs completed${compare.aborted ? ` (${compare.aborted.reason})` : ''}.`,
    );
  }

  const sections = [];
  sections.push({
    title: 'Success criteria',
    blocks: success.length
      ? [
          table(
            ['mode', 'target', 'measured', 'improvement', 'met?'],
            success.map((s) => [
              s.mode,
              s.target,
              `${si(s.measured)} msg/s${s.clientBound ? ` ⚠ client-bound (${s.clientBoundRuns}/${s.n})` : ''}`,
              `${ratio(s.improvement)} vs ${BASELINE_MODE}`,
              (s.met === null ? '–' : s.met ? 'yes' : 'no') +
                (s.clientBound ? ' ⚠ client-bound: not conclusive' : ''),
            ]),
            `Scenario ${success[0].scenario}: median delivered msg/s over ${success[0].n} repeat(s); improvement = median / median of ${BASELINE_MODE}.`,
          ),
        ]
      : [
          text(
            `No success table: it needs a max-rate scenario (fanout or firehose) with ${BASELINE_MODE} and ws or uws in MODES.`,
          ),
        ],
  });

  for (const scenario of compare.config.scenarios) {
    const mine = rows.filter((r) => r.scenario === scenario.name);
    // At a fixed rate every client should get rate msg/s; a mode that delivers less fell behind,
    // and its latency then measures the backlog.
    const behind =
      scenario.rate > 0
        ? mine.filter((r) => r.msgsPerSec.median < 0.9 * scenario.rate * scenario.clients)
        : [];
    sections.push({
      title: `Scenario ${scenario.name}: ${scenario.clients} client(s), rate ${rateLabel(scenario.rate)}`,
      blocks: [
        text(scenario.description ?? ''),
        ...behind.map((r) => ({
          kind: 'warning',
          text: `${r.mode} did not sustain the rate: ${si(r.msgsPerSec.median)} of ${si(scenario.rate * scenario.clients)} msg/s expected; its latency includes the backlog.`,
        })),
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
            bytes(r.serverRssMaxBytes),
            fixed(r.clientCpuCores),
            si(r.httpReqPerSec),
            r.clientBoundRuns ? `⚠ ${r.clientBoundRuns}/${r.n}` : 'no',
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
        ['#', 'scenario', 'mode', 'repeat', 'msg/s', 'p99', 'server CPU', 'client-bound', 'result'],
        runs.map((r, i) => [
          String(i + 1),
          r.scenario,
          r.mode,
          String(r.repeat + 1),
          si(r.figures.msgsPerSec),
          us(r.figures.latencyUs?.p99),
          fixed(r.figures.serverCpuCores),
          boundMark(r.figures.clientBound),
          r.figures.aborted ? `aborted: ${r.figures.aborted.reason} (${r.dir})` : r.dir,
        ]),
      ),
    ],
  });

  const first = runs[0]?.result;
  sections.push(
    machineSection(
      compare.machine ?? first?.machine,
      compare.versions,
      first?.target?.health?.versions,
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
          ['repeats', String(c.repeats)],
          ['order', 'alternating per repeat (A B C, C B A, ...)'],
          ['measured duration (s)', String(c.duration)],
          ['warm-up (s)', String(c.warmup)],
          ['symbols', String(c.symbols)],
          ['pinning', c.pin ? 'server core 0, client core 1 (taskset)' : 'off'],
          ['started', compare.startedAt ?? '–'],
          ['ended', compare.endedAt ?? '–'],
          ['command', compare.command ?? '–'],
        ],
      ),
    ],
  });

  return {
    title: `wsbench comparison ${compare.compareId}`,
    subtitle: `${modes.join(' vs ')} · ${scenarios.join(', ')} · ${c.repeats} repeat(s) · ${c.duration} s each${boundRuns ? ' · ⚠ client-bound runs present' : ''}`,
    warnings,
    sections,
  };
}

function modeColor(mode, modes) {
  return COLORS[Math.max(0, modes.indexOf(mode)) % COLORS.length];
}

function compareThroughputChart(rows, modes, scenarios) {
  const datasets = [];
  for (const mode of modes) {
    const pick = (s) => rows.find((r) => r.mode === mode && r.scenario === s);
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
        return r ? [r.msgsPerSec.min, r.msgsPerSec.max] : null;
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

function compareLatencyChart(rows) {
  const keys = [
    ['p50', 'p50'],
    ['p90', 'p90'],
    ['p99', 'p99'],
    ['p999', 'p99.9'],
  ];
  return {
    type: 'bar',
    data: {
      labels: rows.map((r) => `${r.scenario} · ${r.mode}${r.clientBoundRuns ? ' ⚠' : ''}`),
      datasets: keys.map(([k, label], i) => ({
        label,
        data: rows.map((r) => r.latencyUs[k] ?? null),
        backgroundColor: COLORS[i],
      })),
    },
    options: { scales: { y: { type: 'logarithmic', title: { display: true, text: 'µs' } } } },
  };
}

function compareResourceChart(rows) {
  return {
    type: 'bar',
    data: {
      labels: rows.map((r) => `${r.scenario} · ${r.mode}${r.clientBoundRuns ? ' ⚠' : ''}`),
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
