// make ablation MODE=ws|uws [SCENARIO=firehose|fanout|capacity] [REPEATS=3]: every configuration
// of the server's optimisation switches that attributes a speed-up — the baseline, each switch
// alone, all but each one, all, and the other library — REPEATS times in alternating order. Each
// run is a full native run (runs/<n>-<config>-r<k>/result.json); ablation.json lists them;
// report.md/report.html hold the table, each switch's effect alone and in the combination, the
// interactions and the waterfall chart. The configurations come from the server's switch table
// (scripts/lib/ablation-plan.ts); without one, from the mode presets.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { machineInfo } from '../client-bench/result.js';
import { defineFlags, parse, runMain, type Values } from '../protocol/cli.js';
import { runCapacity } from './lib/capacity.js';
import { EXIT } from '../protocol/codes.js';
import { MODE_NAMES } from '../protocol/modes.js';
import {
  ablationConfigs,
  ablationOrder,
  loadSwitchTable,
  type AblationConfig,
} from './lib/ablation-plan.js';
import { runVerdict } from './lib/ablation-analysis.js';
import { writeAblationReports, type AblationIndex } from './lib/ablation-report.js';
import { planOf, readConfig, RUN_FLAGS } from './lib/config.js';
import { errorText, seconds, si } from './lib/format.js';
import { Progress } from './lib/progress.js';
import { writeRunReports } from './lib/report.js';
import { displayPath, makeUniqueDir, pointLink, resultsDir, stampId } from './lib/results.js';
import { runBench, type RunOutcome } from './lib/run.js';
import { abortOnSignals } from './lib/signals.js';
import { versions } from './lib/versions.js';
import { unbuiltExit, NativeRuntime } from './runtimes/native.js';
import { readFile } from 'node:fs/promises';

const NAME = 'wsbench-ablation';
const RUN_OVERHEAD_SEC = 3;
export const ABLATION_SCENARIOS = ['firehose', 'fanout', 'capacity'] as const;

export const ABLATION_FLAGS = defineFlags({
  mode: {
    long: 'mode',
    short: 'm',
    env: ['MODE'],
    arg: 'MODE',
    help: 'the engine whose switches are ablated (its library is the last bar)',
    default: 'ws',
    parse: parse.oneOf(MODE_NAMES),
  },
  scenario: {
    long: 'scenario',
    env: ['SCENARIO'],
    arg: 'NAME',
    help: 'firehose (1 client, max rate), fanout (CLIENTS, max rate) or capacity (the capacity search)',
    default: 'firehose',
    parse: parse.oneOf(ABLATION_SCENARIOS),
  },
  plan: {
    long: 'plan',
    env: ['ABLATION_PLAN'],
    arg: 'PLAN',
    help: 'switches (baseline, each alone, leave-one-out, all, the other library) or presets (ws-naive, ws, uws)',
    default: 'switches',
    parse: parse.oneOf(['switches', 'presets']),
  },
  repeats: {
    long: 'repeats',
    env: ['REPEATS'],
    arg: 'N',
    help: 'repeats per configuration (alternating order)',
    default: 3,
    parse: parse.int(1, 100),
  },
  sloP99Ms: {
    long: 'slo-p99-ms',
    env: ['SLO_P99_MS'],
    arg: 'MS',
    help: 'SCENARIO=capacity: the p99 objective of each search',
    default: 10,
    parse: parse.number(0.1, 600_000),
  },
  capacityBudget: {
    long: 'capacity-budget',
    env: ['ABLATION_CAPACITY_BUDGET_S'],
    arg: 'S',
    help: 'SCENARIO=capacity: seconds per capacity search (one per configuration and repeat)',
    default: 40,
    parse: parse.number(5, 3600),
  },
  ...RUN_FLAGS,
  duration: { ...RUN_FLAGS.duration, default: 10 },
  warmup: { ...RUN_FLAGS.warmup, default: 2 },
  // off: on 2 cores autocannon and Prometheus would take CPU from the runs being compared
  httpLoad: { ...RUN_FLAGS.httpLoad, default: false },
  prometheus: { ...RUN_FLAGS.prometheus, default: false },
});

type AblationSettings = Values<typeof ABLATION_FLAGS>;

const HELP = {
  usage:
    'make ablation MODE=ws|uws [SCENARIO=firehose|fanout|capacity] [REPEATS=3]  |  node dist/scripts/ablation.js [options]',
  about: [
    'Attributes every speed-up: baseline, each optimisation alone, all but each one, all, and the',
    'other library, in alternating order over the repeats. docs/ablation.md.',
  ],
};

async function main(): Promise<number> {
  const cfg = readConfig(NAME, ABLATION_FLAGS, HELP);
  if (cfg === null) return EXIT.ok;
  const unbuilt = unbuiltExit(NAME);
  if (unbuilt !== null) return unbuilt;
  const table = await loadSwitchTable();
  const configs = ablationConfigs(cfg.mode, cfg.plan === 'presets' ? null : table);
  const order = ablationOrder(configs, cfg.repeats);
  const clients = cfg.scenario === 'firehose' ? 1 : cfg.clients;
  const root = resultsDir();
  const { id: ablationId, dir } = await makeUniqueDir(root, stampId(`ablation-${cfg.mode}`));
  const perRunSec = cfg.warmup + cfg.duration + RUN_OVERHEAD_SEC;
  const command =
    `MODE=${cfg.mode} SCENARIO=${cfg.scenario} REPEATS=${cfg.repeats} DURATION=${cfg.duration} ` +
    `WARMUP=${cfg.warmup} CLIENTS=${clients} SYMBOLS=${cfg.symbols} node dist/scripts/ablation.js`;
  const index: AblationIndex = {
    kind: 'ablation',
    ablationId,
    startedAt: new Date().toISOString(),
    endedAt: null,
    command,
    mode: cfg.mode,
    scenario: cfg.scenario,
    repeats: cfg.repeats,
    switches:
      table !== null && configs.some((c) => c.kind === 'alone')
        ? { source: table.source, flag: table.flag }
        : null,
    configs,
    machine: machineInfo(),
    versions: versions(),
    settings: {
      clients,
      duration: cfg.duration,
      warmup: cfg.warmup,
      symbols: cfg.symbols,
      pin: cfg.pin,
    },
    plannedRuns: order.length,
    runs: [],
    aborted: null,
  };
  const save = (): Promise<void> =>
    writeFile(path.join(dir, 'ablation.json'), JSON.stringify(index, null, 2) + '\n');
  await save();
  const controller = abortOnSignals((sig) => {
    console.error(`[ablation] ${sig}: stopping the current run, reporting what finished…`);
  });
  console.error(
    `[ablation] ${ablationId}: ${configs.length} configurations (${configs.map((c) => c.name).join(', ')}) × ${cfg.repeats}, ` +
      `${clients} client(s), about ${seconds(order.length * perRunSec)} → ${displayPath(dir)}` +
      (index.switches === null
        ? '\n[ablation] no switch table in the server yet: the configurations are the mode presets'
        : ''),
  );
  let failures = 0;
  for (const [i, { config, repeat }] of order.entries()) {
    if (controller.signal.aborted) break;
    await runOne(
      cfg,
      config,
      repeat,
      i,
      order.length,
      dir,
      controller.signal,
      clients,
      command,
      perRunSec,
    );
    const last = index.runs[index.runs.length - 1];
    if (last === undefined || (last.exitCode !== EXIT.ok && last.exitCode !== EXIT.interrupted))
      failures++;
    await save();
    if (last?.exitCode === EXIT.badInput) {
      console.error(
        `${NAME}: configuration ${config.name} was refused by the server or client (exit 2); stopping`,
      );
      break;
    }
  }
  if (controller.signal.aborted) index.aborted = { reason: 'interrupted (SIGINT)' };
  index.endedAt = new Date().toISOString();
  await save();
  const reports = await writeAblationReports(dir);
  await pointLink(root, 'latest-ablation', dir);
  const md = await readFile(reports.md, 'utf8');
  console.error('\n' + (md.split('\n## Runs')[0] ?? '').trimEnd() + '\n');
  console.error(
    `  ablation ${path.join(dir, 'ablation.json')}\n  report   ${reports.md}\n           ${reports.html}`,
  );
  console.log(
    JSON.stringify({
      event: 'ablation',
      ablationId,
      dir,
      reportMd: reports.md,
      reportHtml: reports.html,
    }),
  );
  return controller.signal.aborted ? EXIT.interrupted : failures > 0 ? EXIT.failed : EXIT.ok;

  async function runOne(
    c: AblationSettings,
    config: AblationConfig,
    repeat: number,
    i: number,
    total: number,
    into: string,
    signal: AbortSignal,
    nClients: number,
    cmd: string,
    perRun: number,
  ): Promise<RunOutcome | null> {
    const runName = `${String(i + 1).padStart(2, '0')}-${config.name.replace(/[^A-Za-z0-9_.-]/g, '_')}-r${repeat + 1}`;
    const { id: runId, dir: runDir } = await makeUniqueDir(path.join(into, 'runs'), runName);
    const progress = new Progress(
      `ablation ${i + 1}/${total} ${config.name} r${repeat + 1}`,
      (total - i) * perRun,
    );
    let outcome: RunOutcome | null = null;
    try {
      if (c.scenario === 'capacity') {
        const cap = await runCapacity({
          mode: config.mode,
          vary: 'rate',
          clients: nClients,
          rate: 1000,
          base: {
            duration: c.duration,
            warmup: c.warmup,
            symbols: c.symbols,
            httpLoad: false,
            httpConnections: c.httpConnections,
          },
          sloP99Ms: c.sloP99Ms,
          budgetS: c.capacityBudget,
          precision: 0.1,
          dir: runDir,
          capacityId: `${ablationId}-${runId}`,
          runtime: () => new NativeRuntime(c, signal, config.serverArgs),
          signal,
          command: `${cmd} (run ${i + 1}: ${config.name})`,
          note: (l) => {
            progress.note(l);
          },
        });
        await writeFile(path.join(runDir, 'result.json'), JSON.stringify(cap, null, 2) + '\n');
        const code =
          cap.stoppedBy === 'interrupted'
            ? EXIT.interrupted
            : cap.stoppedBy === 'error'
              ? EXIT.failed
              : EXIT.ok;
        index.runs.push({
          config: config.name,
          repeat,
          dir: path.relative(into, runDir),
          exitCode: code,
        });
        console.error(
          `[ablation] ${runName}: capacity ${si(cap.best?.deliveriesPerSec ?? 0)} deliveries/s (${cap.verdict.summary})`,
        );
        return null;
      }
      outcome = await runBench(
        new NativeRuntime(c, signal, config.serverArgs),
        planOf({ ...c, mode: config.mode, rate: 0 }, { clients: nClients }),
        {
          runDir,
          runId: `${ablationId}-${runId}`,
          progress,
          signal,
          scenario: `ablation-${c.scenario}`,
          command: `${cmd} (run ${i + 1}: ${config.name})`,
          prometheus: c.prometheus,
        },
      );
      await writeRunReports(runDir);
    } catch (err) {
      progress.endLine();
      console.error(`${NAME}: run ${runName}: ${errorText(err)}`);
    }
    progress.endLine();
    index.runs.push({
      config: config.name,
      repeat,
      dir: path.relative(into, runDir),
      exitCode: outcome?.exitCode ?? EXIT.failed,
    });
    if (outcome !== null && !outcome.interrupted) {
      const v = runVerdict(outcome.result);
      console.error(
        `[ablation] ${runName}: ${si(outcome.result.throughput?.msgsPerSec ?? 0)} msg/s, ${v.verdict} (${v.why})`,
      );
    }
    return outcome;
  }
}

runMain(main);
