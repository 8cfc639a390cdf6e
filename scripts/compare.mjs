#!/usr/bin/env node
// make compare: every mode in MODES over SCENARIOS, REPEATS times, in alternating order (A B C,
// C B A, ...) so drift cancels out. Each run is a full native run (runs/<n>-<scenario>-<mode>-r<k>/
// result.json); compare.json lists them; report.md/report.html hold median, min–max, ratios vs
// ws-naive and the success table. Ctrl-C stops the current run and reports what finished.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { compareConfig } from './lib/config.mjs';
import { seconds } from './lib/format.mjs';
import { configOrExit, runNative } from './lib/native-run.mjs';
import { Progress } from './lib/progress.mjs';
import { writeCompareReports, writeRunReports } from './lib/report.mjs';
import { displayPath, makeUniqueDir, pointLink, resultsDir, stampId } from './lib/results.mjs';
import { runFigures, runOrder } from './lib/summary.mjs';
import { machineInfo, versions } from './lib/versions.mjs';

const NAME = 'wsbench-compare';
const RUN_OVERHEAD_SEC = 3; // server start, connect, result, stop: measured a little under this

const cfg = configOrExit(NAME, compareConfig);

const root = resultsDir();
const { id: compareId, dir: compareDir } = await makeUniqueDir(root, stampId('compare'));
const order = runOrder(
  cfg.modes,
  cfg.scenarios.map((s) => s.name),
  cfg.repeats,
);
const perRunSec = cfg.warmup + cfg.duration + RUN_OVERHEAD_SEC;
const controller = new AbortController();
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    if (controller.signal.aborted) return;
    console.error(`[compare] ${sig}: stopping the current run, reporting what finished…`);
    controller.abort();
  });
}

const command =
  `MODES="${cfg.modes.join(' ')}" SCENARIOS="${cfg.scenarios.map((s) => s.name).join(' ')}" ` +
  `REPEATS=${cfg.repeats} DURATION=${cfg.duration} WARMUP=${cfg.warmup} CLIENTS=${cfg.clients} ` +
  `STEADY_RATE=${cfg.steadyRate} SYMBOLS=${cfg.symbols} node scripts/compare.mjs`;
const compare = {
  kind: 'compare',
  compareId,
  startedAt: new Date().toISOString(),
  endedAt: null,
  command,
  machine: machineInfo(),
  versions: versions(),
  config: {
    modes: cfg.modes,
    scenarios: cfg.scenarios,
    repeats: cfg.repeats,
    duration: cfg.duration,
    warmup: cfg.warmup,
    symbols: cfg.symbols,
    clients: cfg.clients,
    steadyRate: cfg.steadyRate,
    pin: cfg.pin !== false,
    httpLoad: cfg.httpLoad,
  },
  plannedRuns: order.length,
  order: order.map((o) => `${o.scenario}:${o.mode}`),
  runs: [],
  aborted: null,
};
const saveIndex = () =>
  writeFile(path.join(compareDir, 'compare.json'), JSON.stringify(compare, null, 2) + '\n');
await saveIndex();

console.error(
  `[compare] ${compareId}: ${order.length} runs (${cfg.modes.join(' ')} × ${cfg.scenarios.map((s) => s.name).join(' ')} × ${cfg.repeats}), ` +
    `about ${seconds(order.length * perRunSec)} → ${displayPath(compareDir)}`,
);

let failures = 0;
for (let i = 0; i < order.length && !controller.signal.aborted; i++) {
  const { scenario: name, mode, repeat } = order[i];
  const scenario = cfg.scenarios.find((s) => s.name === name);
  const runName = `${String(i + 1).padStart(2, '0')}-${name}-${mode}-r${repeat + 1}`;
  const { id: runId, dir: runDir } = await makeUniqueDir(path.join(compareDir, 'runs'), runName);
  const progress = new Progress(
    `compare ${i + 1}/${order.length} ${name} ${mode} r${repeat + 1}`,
    (order.length - i) * perRunSec,
  );
  const runCfg = { ...cfg, mode, clients: scenario.clients, rate: scenario.rate };
  let outcome = null;
  try {
    outcome = await runNative(runCfg, {
      runDir,
      runId: `${compareId}-${runId}`,
      progress,
      signal: controller.signal,
      scenario: name,
      command: `${command} (run ${i + 1})`,
    });
    await writeRunReports(runDir);
  } catch (err) {
    progress.endLine();
    console.error(`${NAME}: run ${runName}: ${err.message}`);
  }
  progress.endLine();
  const entry = {
    scenario: name,
    mode,
    repeat,
    dir: path.relative(compareDir, runDir),
    exitCode: outcome?.exitCode ?? 1,
  };
  compare.runs.push(entry);
  await saveIndex();
  if (outcome?.exitCode === 2) {
    console.error(`${NAME}: run ${runName} rejected its input (exit 2); stopping`);
    failures++;
    break;
  }
  if (outcome && !outcome.interrupted) {
    const f = runFigures(outcome.result);
    console.error(
      `[compare] ${runName}: ${Math.round(f.msgsPerSec ?? 0).toLocaleString('en-US')} msg/s${f.clientBound ? ' ⚠ client-bound' : ''}${outcome.exitCode ? ` (exit ${outcome.exitCode}: ${outcome.result.aborted?.reason ?? ''})` : ''}`,
    );
  }
  if (!outcome || (outcome.exitCode !== 0 && !outcome.interrupted)) failures++;
}

if (controller.signal.aborted) compare.aborted = { reason: 'interrupted (SIGINT)' };
compare.endedAt = new Date().toISOString();
await saveIndex();
const reports = await writeCompareReports(compareDir);
await pointLink(root, 'latest-compare', compareDir);

// The tables on stderr (the same ones report.md holds), without the machine/config sections.
const md = await readFile(reports.md, 'utf8');
console.error('\n' + md.split('\n## Charts')[0].split('\n## Runs')[0].trimEnd() + '\n');
console.error(
  `  compare  ${path.join(compareDir, 'compare.json')}\n  report   ${reports.md}\n           ${reports.html}`,
);
console.log(
  JSON.stringify({
    event: 'compare',
    compareId,
    compareDir,
    compare: path.join(compareDir, 'compare.json'),
    reportMd: reports.md,
    reportHtml: reports.html,
  }),
);
process.exitCode = controller.signal.aborted ? 130 : failures ? 1 : 0;
