// make compare: every mode in MODES over SCENARIOS, REPEATS times, in alternating order (A B C,
// C B A, ...) so drift cancels out. Each run is a full run (runs/<n>-<scenario>-<mode>-r<k>/
// result.json); compare.json lists them; report.md/report.html hold median, min–max, ratios vs
// ws-naive and the success table. Ctrl-C stops the current run and reports what finished.
// RUNTIMES="native docker" runs each of them in every slot (alternating which goes first): the
// scenarios then read <scenario>@<runtime>, and a Docker/native table follows.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { machineInfo } from '../client-bench/result.js';
import { runMain } from '../protocol/cli.js';
import { EXIT } from '../protocol/codes.js';
import { COMPARE_FLAGS, COMPARE_HELP, planOf, readConfig, withPlans } from './lib/config.js';
import { runCapacity } from './lib/capacity.js';
import { searchSettings } from './lib/capacity-cli.js';
import { errorText, seconds } from './lib/format.js';
import { Progress } from './lib/progress.js';
import { writeCompareReports, writeRunReports, type CompareIndex } from './lib/report.js';
import { displayPath, makeUniqueDir, pointLink, resultsDir, stampId } from './lib/results.js';
import { runBench, type RunOutcome } from './lib/run.js';
import { abortOnSignals } from './lib/signals.js';
import { runFigures, runOrder } from './lib/summary.js';
import { versions } from './lib/versions.js';
import { DockerRuntime, stack } from './runtimes/docker.js';
import { unbuiltExit, NativeRuntime } from './runtimes/native.js';
import type { Runtime } from './runtimes/runtime.js';
import type { RuntimeName, StoredResult } from './lib/result.js';

const NAME = 'wsbench-compare';
const RUN_OVERHEAD_SEC = 3; // server start, connect, result, stop: measured a little under this

async function main(): Promise<number> {
  const values = readConfig(NAME, COMPARE_FLAGS, COMPARE_HELP);
  if (values === null) return EXIT.ok;
  const cfg = withPlans(values);
  const unbuilt = unbuiltExit(NAME);
  if (unbuilt !== null) return unbuilt;
  const runtimes = cfg.runtimes;
  const several = runtimes.length > 1;
  /** The scenario as the report groups it: per runtime when there are several. */
  const label = (scenario: string, runtime: RuntimeName): string =>
    several ? `${scenario}@${runtime}` : scenario;
  if (runtimes.includes('docker')) {
    // Builds the images (cached when nothing changed) and starts Prometheus; the servers are
    // started per run (DockerRuntime manageServer) and removed after it.
    console.error(`[compare] docker: make up (images, Prometheus) …`);
    try {
      await stack('up-images');
    } catch (err) {
      console.error(`${NAME}: ${errorText(err)}`);
      return EXIT.failed;
    }
  }
  const root = resultsDir();
  const { id: compareId, dir: compareDir } = await makeUniqueDir(root, stampId('compare'));
  // A search scenario (capacity) runs once per mode: it is many runs already.
  const order = runOrder(cfg.modes, cfg.scenarios, cfg.repeats)
    .filter((o) => o.repeat === 0 || cfg.plans.find((p) => p.name === o.scenario)?.search !== true)
    .flatMap((slot, i) =>
      (i % 2 === 0 ? runtimes : [...runtimes].reverse()).map((runtime) => ({ ...slot, runtime })),
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
    `REPEATS=${cfg.repeats} RUNTIMES="${runtimes.join(' ')}" DURATION=${cfg.duration} WARMUP=${cfg.warmup} CLIENTS=${cfg.clients} ` +
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
      scenarios: cfg.plans.flatMap((p) =>
        runtimes.map((rt) => ({ ...p, name: label(p.name, rt) })),
      ),
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
    `[compare] ${compareId}: ${order.length} runs (${cfg.modes.join(' ')} × ${cfg.scenarios.join(' ')} × ${cfg.repeats}${several ? ` × ${runtimes.join(' ')}` : ''}), ` +
      `at most about ${seconds(plannedSec)} → ${displayPath(compareDir)}`,
  );

  let failures = 0;
  for (const [i, { scenario: name, mode, repeat, runtime: rt }] of order.entries()) {
    if (controller.signal.aborted) break;
    const plan = cfg.plans.find((s) => s.name === name);
    if (plan === undefined) continue;
    const runName = `${String(i + 1).padStart(2, '0')}-${name}-${mode}-r${repeat + 1}${several ? `-${rt}` : ''}`;
    const { id: runId, dir: runDir } = await makeUniqueDir(path.join(compareDir, 'runs'), runName);
    const progress = new Progress(
      `compare ${i + 1}/${order.length} ${name} ${mode} r${repeat + 1}${several ? ` ${rt}` : ''}`,
      (order.length - i) * perRunSec,
    );
    if (plan.search) {
      const cap = await runCapacity({
        mode,
        vary: 'rate',
        clients: plan.clients,
        rate: cfg.startRate,
        ...searchSettings(cfg),
        dir: runDir,
        capacityId: `${compareId}-${runId}`,
        runtime: () =>
          rt === 'docker'
            ? new DockerRuntime({ manageServer: true })
            : new NativeRuntime(cfg, controller.signal),
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
        scenario: label(name, rt),
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
      const runtime: Runtime =
        rt === 'docker'
          ? new DockerRuntime({ manageServer: true })
          : new NativeRuntime(cfg, controller.signal);
      outcome = await runBench(
        runtime,
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
      scenario: label(name, rt),
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
  if (several) await appendRuntimeTable(compareDir, compare, reports.md, runtimes);
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

/** Docker/native (or any second runtime vs the first) per scenario and mode: ratio of medians. */
async function appendRuntimeTable(
  dir: string,
  compare: CompareIndex,
  mdFile: string,
  runtimes: readonly RuntimeName[],
): Promise<void> {
  const [base, ...others] = runtimes;
  if (base === undefined) return;
  const medians = new Map<string, number>();
  const byKey = new Map<string, number[]>();
  for (const run of compare.runs) {
    if (run.exitCode !== EXIT.ok) continue;
    try {
      const r = JSON.parse(
        await readFile(path.join(dir, run.dir, 'result.json'), 'utf8'),
      ) as StoredResult;
      const v = r.throughput?.msgsPerSec;
      if (typeof v !== 'number') continue;
      const key = `${run.scenario}|${run.mode}`;
      byKey.set(key, [...(byKey.get(key) ?? []), v]);
    } catch {
      // a run without a result: left out
    }
  }
  for (const [key, vs] of byKey) {
    const s = [...vs].sort((a, b) => a - b);
    const mid = Math.floor(s.length / 2);
    medians.set(key, s.length % 2 === 1 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2);
  }
  const scenarios = [...new Set(compare.runs.map((r) => r.scenario.split('@')[0] ?? ''))];
  const lines = [
    '',
    `## ${others.map((o) => `${o}/${base}`).join(', ')} (median msg/s, same settings)`,
    '',
    `| scenario | mode | ${runtimes.join(' | ')} | ${others.map((o) => `${o}/${base}`).join(' | ')} |`,
    `| --- | --- | ${runtimes.map(() => '---:').join(' | ')} | ${others.map(() => '---:').join(' | ')} |`,
  ];
  const fmt = (v: number | undefined): string =>
    v === undefined ? '–' : Math.round(v).toLocaleString('en-US');
  for (const sc of scenarios)
    for (const mode of compare.config.modes) {
      const at = (rt: RuntimeName): number | undefined => medians.get(`${sc}@${rt}|${mode}`);
      const b = at(base);
      const ratios = others.map((o) => {
        const v = at(o);
        return v !== undefined && b !== undefined && b > 0 ? (v / b).toFixed(2) : '–';
      });
      lines.push(
        `| ${sc} | ${mode} | ${runtimes.map((rt) => fmt(at(rt))).join(' | ')} | ${ratios.join(' | ')} |`,
      );
    }
  const table = lines.join('\n') + '\n';
  await writeFile(mdFile, (await readFile(mdFile, 'utf8')).trimEnd() + '\n' + table);
  console.error(table);
}

runMain(main);
