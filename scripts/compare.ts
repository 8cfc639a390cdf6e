// make compare: every mode in MODES over SCENARIOS, REPEATS times, in alternating order (A B C,
// C B A, ...) so drift cancels out. Each run is a full native run (runs/<n>-<scenario>-<mode>-r<k>/
// result.json); compare.json lists them; report.md/report.html hold median, min–max, ratios vs
// ws-naive and the success table. Ctrl-C stops the current run and reports what finished.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { machineInfo } from '../client-bench/result.js';
import { runMain } from '../protocol/cli.js';
import { EXIT } from '../protocol/codes.js';
import { COMPARE_FLAGS, COMPARE_HELP, planOf, readConfig, withPlans } from './lib/config.js';
import { runCapacity } from './lib/capacity.js';
import { errorText, seconds } from './lib/format.js';
import { Progress } from './lib/progress.js';
import { writeCompareReports, writeRunReports, type CompareIndex } from './lib/report.js';
import { displayPath, makeUniqueDir, pointLink, resultsDir, stampId } from './lib/results.js';
import { runBench, type RunOutcome } from './lib/run.js';
import { abortOnSignals } from './lib/signals.js';
import { runFigures, runOrder } from './lib/summary.js';
import { versions } from './lib/versions.js';
import { assertBuilt, NativeRuntime } from './runtimes/native.js';

const NAME = 'wsbench-compare';
const RUN_OVERHEAD_SEC = 3; // server start, connect, result, stop: measured a little under this

async function main(): Promise<number> {
  const values = readConfig(NAME, COMPARE_FLAGS, COMPARE_HELP);
  if (values === null) return EXIT.ok;
  const cfg = withPlans(values);
  try {
    assertBuilt();
  } catch (err) {
    console.error(`${NAME}: ${errorText(err)}`);
    return EXIT.failed;
  }
  const root = resultsDir();
  const { id: compareId, dir: compareDir } = await makeUniqueDir(root, stampId('compare'));
  // A search scenario (capacity) runs once per mode: it is many runs already.
  const order = runOrder(cfg.modes, cfg.scenarios, cfg.repeats).filter(
    (o) => o.repeat === 0 || cfg.plans.find((p) => p.name === o.scenario)?.search !== true,
  );
  const perRunSec = cfg.warmup + cfg.duration + RUN_OVERHEAD_SEC;
  const searches = order.filter(
    (o) => cfg.plans.find((p) => p.name === o.scenario)?.search === true,
  ).length;
  const plannedSec = (order.length - searches) * perRunSec + searches * cfg.budgetS;
  const controller = abortOnSignals((sig) => {
    console.error(`[compare] ${sig}: stopping the current run, reporting what finished…`);
  });
  const command =
    `MODES="${cfg.modes.join(' ')}" SCENARIOS="${cfg.scenarios.join(' ')}" ` +
    `REPEATS=${cfg.repeats} DURATION=${cfg.duration} WARMUP=${cfg.warmup} CLIENTS=${cfg.clients} ` +
    `STEADY_RATE=${cfg.steadyRate} SYMBOLS=${cfg.symbols} SLO_P99_MS=${cfg.sloP99Ms} CAPACITY_BUDGET_S=${cfg.budgetS} node dist/scripts/compare.js`;
  const compare: CompareIndex = {
    kind: 'compare',
    compareId,
    startedAt: new Date().toISOString(),
    endedAt: null,
    command,
    machine: machineInfo(),
    versions: versions(),
    config: {
      modes: cfg.modes,
      scenarios: cfg.plans,
      repeats: cfg.repeats,
      duration: cfg.duration,
      warmup: cfg.warmup,
      symbols: cfg.symbols,
      clients: cfg.clients,
      pin: cfg.pin !== false,
    },
    plannedRuns: order.length,
    runs: [],
    aborted: null,
  };
  const saveIndex = (): Promise<void> =>
    writeFile(path.join(compareDir, 'compare.json'), JSON.stringify(compare, null, 2) + '\n');
  await saveIndex();
  console.error(
    `[compare] ${compareId}: ${order.length} runs (${cfg.modes.join(' ')} × ${cfg.scenarios.join(' ')} × ${cfg.repeats}), ` +
      `at most about ${seconds(plannedSec)} → ${displayPath(compareDir)}`,
  );

  let failures = 0;
  for (const [i, { scenario: name, mode, repeat }] of order.entries()) {
    if (controller.signal.aborted) break;
    const plan = cfg.plans.find((s) => s.name === name);
    if (plan === undefined) continue;
    const runName = `${String(i + 1).padStart(2, '0')}-${name}-${mode}-r${repeat + 1}`;
    const { id: runId, dir: runDir } = await makeUniqueDir(path.join(compareDir, 'runs'), runName);
    const progress = new Progress(
      `compare ${i + 1}/${order.length} ${name} ${mode} r${repeat + 1}`,
      (order.length - i) * perRunSec,
    );
    if (plan.search) {
      const cap = await runCapacity({
        mode,
        vary: 'rate',
        clients: plan.clients,
        rate: cfg.startRate,
        base: {
          duration: cfg.stepS,
          warmup: cfg.stepWarmupS,
          symbols: cfg.symbols,
          httpLoad: false,
          httpConnections: cfg.httpConnections,
        },
        sloP99Ms: cfg.sloP99Ms,
        budgetS: cfg.budgetS,
        precision: cfg.precision,
        dir: runDir,
        capacityId: `${compareId}-${runId}`,
        runtime: () => new NativeRuntime(cfg, controller.signal),
        signal: controller.signal,
        command: `${command} (run ${i + 1})`,
        note: (line) => {
          progress.note(line);
        },
      });
      await writeFile(path.join(runDir, 'result.json'), JSON.stringify(cap, null, 2) + '\n');
      await writeRunReports(runDir);
      const exitCode =
        cap.stoppedBy === 'error'
          ? EXIT.failed
          : cap.stoppedBy === 'interrupted'
            ? EXIT.interrupted
            : EXIT.ok;
      compare.runs.push({
        scenario: name,
        mode,
        repeat,
        dir: path.relative(compareDir, runDir),
        exitCode,
      });
      await saveIndex();
      console.error(`[compare] ${runName}: ${cap.verdict.summary}`);
      if (exitCode === EXIT.failed) failures++;
      continue;
    }
    let outcome: RunOutcome | null = null;
    try {
      outcome = await runBench(
        new NativeRuntime(cfg, controller.signal),
        planOf({ ...cfg, mode, rate: plan.rate }, { clients: plan.clients }),
        {
          runDir,
          runId: `${compareId}-${runId}`,
          progress,
          signal: controller.signal,
          scenario: name,
          command: `${command} (run ${i + 1})`,
          prometheus: cfg.prometheus,
          sloP99Ms: cfg.sloP99Ms,
        },
      );
      await writeRunReports(runDir);
    } catch (err) {
      progress.endLine();
      console.error(`${NAME}: run ${runName}: ${errorText(err)}`);
    }
    progress.endLine();
    compare.runs.push({
      scenario: name,
      mode,
      repeat,
      dir: path.relative(compareDir, runDir),
      exitCode: outcome?.exitCode ?? EXIT.failed,
    });
    await saveIndex();
    if (outcome?.exitCode === EXIT.badInput) {
      console.error(`${NAME}: run ${runName} rejected its input (exit 2); stopping`);
      failures++;
      break;
    }
    if (outcome !== null && !outcome.interrupted) {
      const f = runFigures(outcome.result);
      const exit =
        outcome.exitCode !== EXIT.ok
          ? ` (exit ${outcome.exitCode}: ${outcome.result.aborted?.reason ?? ''})`
          : '';
      console.error(
        `[compare] ${runName}: ${Math.round(f.msgsPerSec ?? 0).toLocaleString('en-US')} msg/s${f.clientBound ? ' ⚠ client-bound' : ''}${exit}`,
      );
    }
    if (outcome === null || (outcome.exitCode !== EXIT.ok && !outcome.interrupted)) failures++;
  }

  if (controller.signal.aborted) compare.aborted = { reason: 'interrupted (SIGINT)' };
  compare.endedAt = new Date().toISOString();
  await saveIndex();
  const reports = await writeCompareReports(compareDir);
  await pointLink(root, 'latest-compare', compareDir);

  // The tables on stderr (the same ones report.md holds), without the machine/config sections.
  const md = await readFile(reports.md, 'utf8');
  console.error('\n' + (md.split('\n## Charts')[0] ?? '').split('\n## Runs')[0]?.trimEnd() + '\n');
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
  return controller.signal.aborted ? EXIT.interrupted : failures > 0 ? EXIT.failed : EXIT.ok;
}

runMain(main);
