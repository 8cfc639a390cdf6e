// make bench SCENARIO=slow-consumers|reconnect-storm|churn (and make compare with these names in
// SCENARIOS): the hostile-client scenarios of docs/scenarios.md, per mode in MODES (alternating
// order over REPEATS). Each run is a full native run whose one client-bench does the scenario with
// its own flags (scenarios/hostile.ts: --slow-share, --reconnect-at, --churn-rate), so result.json
// carries its slowConsumers, reconnect and churn blocks; slow-consumers also runs the same healthy
// clients without the slow ones, so their delivery and p99 can be compared. scenario.json,
// report.md and report.html hold the per-mode table; every run keeps its result.json under runs/.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Churn, Reconnect, SlowConsumers } from '../client-bench/result.js';
import { machineInfo } from '../client-bench/result.js';
import { defineFlags, parse, runMain, UsageError, type Values } from '../protocol/cli.js';
import { EXIT } from '../protocol/codes.js';
import { MODE_NAMES, type ModeName } from '../protocol/modes.js';
import { planOf, QUIET_RUN_FLAGS, readConfig, RUN_FLAGS } from './lib/config.js';
import { errorText, fixed, percent, si, us } from './lib/format.js';
import { table, text, type ReportModel } from './lib/model.js';
import { Progress } from './lib/progress.js';
import { renderHtml } from './lib/render-html.js';
import { renderMarkdown } from './lib/render-md.js';
import { writeRunReports } from './lib/report.js';
import type { BenchResult } from './lib/result.js';
import { displayPath, makeUniqueDir, pointLink, resultsDir, stampId } from './lib/results.js';
import { runBench } from './lib/run.js';
import { ScenarioRuntime, type ServerCounters } from './lib/scenario-runtime.js';
import { abortOnSignals } from './lib/signals.js';
import { runFigures } from './lib/summary.js';
import { versions } from './lib/versions.js';
import { unbuiltExit, NativeRuntime } from './runtimes/native.js';
import { HOSTILE_SCENARIOS, hostilePlan, type HostileScenario } from './scenarios/hostile.js';

const NAME = 'wsbench-scenario';

export const SCENARIO_FLAGS = defineFlags({
  scenario: {
    long: 'scenario',
    env: ['SCENARIO'],
    arg: 'NAME',
    help: 'the hostile-client scenario',
    default: 'slow-consumers',
    parse: parse.oneOf(HOSTILE_SCENARIOS),
  },
  modes: {
    long: 'modes',
    env: ['MODES'],
    arg: 'LIST',
    help: 'modes, each run in turn (alternating order over the repeats)',
    default: ['ws'] as ModeName[],
    parse: parse.list(
      parse.oneOf(MODE_NAMES),
      `a space-separated list of ${MODE_NAMES.join(', ')}`,
    ),
  },
  repeats: {
    long: 'repeats',
    env: ['REPEATS'],
    arg: 'N',
    help: 'repeats per mode',
    default: 1,
    parse: parse.int(1, 100),
  },
  rate: {
    long: 'rate',
    short: 'r',
    env: ['SCENARIO_RATE'],
    arg: 'N',
    help: 'ticks/s over all symbols (a fixed rate, so p99 compares)',
    default: 1000,
    parse: parse.int(1, 100_000_000),
  },
  slowShare: {
    long: 'slow-share',
    env: ['SLOW_SHARE'],
    arg: 'F',
    help: 'slow-consumers: share of CLIENTS that read slowly',
    default: 0.1,
    parse: parse.number(0.01, 0.9),
  },
  slowReadBps: {
    long: 'slow-read-bps',
    env: ['SLOW_READ_BPS'],
    arg: 'B',
    help: 'slow-consumers: bytes/s each slow client reads (client-bench --slow-read-rate)',
    default: 2000,
    parse: parse.int(1, 1e9),
  },
  stormClients: {
    long: 'storm-clients',
    env: ['STORM_CLIENTS'],
    arg: 'N',
    help: 'reconnect-storm: connections that drop at once and reconnect',
    default: 1000,
    parse: parse.int(1, 100_000),
  },
  churnRate: {
    long: 'churn-rate',
    env: ['CHURN_RATE'],
    arg: 'N',
    help: 'churn: connections closed and reopened per second, round-robin over CLIENTS',
    default: 20,
    parse: parse.number(0.1, 10_000),
  },
  sloP99Ms: {
    long: 'slo-p99-ms',
    env: ['SLO_P99_MS'],
    arg: 'MS',
    // the project's one objective (the Makefile's SLO_P99_MS), so that `make bench SCENARIO=…` and
    // `node dist/scripts/scenario.js` judge the storm alike
    help: 'reconnect-storm: p99 counts as recovered when every second is within this',
    default: 10,
    parse: parse.number(0.1, 600_000),
  },
  ...QUIET_RUN_FLAGS,
  duration: { ...RUN_FLAGS.duration, default: 10 },
  warmup: { ...RUN_FLAGS.warmup, default: 3 },
});

type Settings = Values<typeof SCENARIO_FLAGS>;

const HELP = {
  usage:
    'make bench SCENARIO=slow-consumers|reconnect-storm|churn [MODE=...]  |  node dist/scripts/scenario.js [options]',
  about: ['Hostile-client scenarios, done by client-bench itself. docs/scenarios.md.'],
};

export interface ScenarioRun {
  mode: ModeName;
  repeat: number;
  variant: 'with' | 'reference';
  dir: string;
  exitCode: number;
  description: string;
  /** client-bench's scenario flags in this run */
  clientArgs: string[];
  /** the top-level figures of result.json: the healthy connections' (all of them but the slow) */
  healthy: {
    clients: number;
    msgsPerSec: number | null;
    deliveredRatio: number | null;
    gaps: number;
    p50Us: number | null;
    p99Us: number | null;
    clientBound: boolean;
    aborted: string | null;
  };
  /** result.json's scenario blocks (null when the run had none or wrote no result) */
  slowConsumers: SlowConsumers | null;
  reconnect: Reconnect | null;
  churn: (Churn & { windowSec: number; closedPerSec: number; reopenedPerSec: number }) | null;
  /** the server's counters over the whole run, read just before it stopped */
  server: ServerCounters | null;
  /** the server's drops over the measured window (result.json serverWindow) */
  serverWindow: { droppedBackpressure: number; droppedClosed: number } | null;
}

export interface ScenarioIndex {
  kind: 'scenario';
  scenario: HostileScenario;
  id: string;
  startedAt: string;
  endedAt: string | null;
  command: string;
  settings: Record<string, unknown>;
  machine: ReturnType<typeof machineInfo>;
  versions: Record<string, string | null>;
  runs: ScenarioRun[];
}

async function main(): Promise<number> {
  const cfg: Settings | null = readConfig(NAME, SCENARIO_FLAGS, HELP);
  if (cfg === null) return EXIT.ok;
  if (cfg.scenario === 'slow-consumers' && cfg.clients < 2)
    throw new UsageError(
      `${NAME}: slow-consumers needs CLIENTS of at least 2 (one slow, one healthy), got ${cfg.clients}`,
    );
  const unbuilt = unbuiltExit(NAME);
  if (unbuilt !== null) return unbuilt;
  const root = resultsDir();
  const { id, dir } = await makeUniqueDir(root, stampId(`scenario-${cfg.scenario}`));
  const command =
    `SCENARIO=${cfg.scenario} MODES="${cfg.modes.join(' ')}" REPEATS=${cfg.repeats} CLIENTS=${cfg.clients} ` +
    `DURATION=${cfg.duration} WARMUP=${cfg.warmup} SCENARIO_RATE=${cfg.rate}` +
    (cfg.scenario === 'slow-consumers'
      ? ` SLOW_SHARE=${cfg.slowShare} SLOW_READ_BPS=${cfg.slowReadBps}`
      : '') +
    (cfg.scenario === 'reconnect-storm'
      ? ` STORM_CLIENTS=${cfg.stormClients} SLO_P99_MS=${cfg.sloP99Ms}`
      : '') +
    (cfg.scenario === 'churn' ? ` CHURN_RATE=${cfg.churnRate}` : '') +
    ' node dist/scripts/scenario.js';
  const index: ScenarioIndex = {
    kind: 'scenario',
    scenario: cfg.scenario,
    id,
    startedAt: new Date().toISOString(),
    endedAt: null,
    command,
    settings: { ...cfg },
    machine: machineInfo(),
    versions: versions(),
    runs: [],
  };
  const save = (): Promise<void> =>
    writeFile(path.join(dir, 'scenario.json'), JSON.stringify(index, null, 2) + '\n');
  const variants: ('reference' | 'with')[] =
    cfg.scenario === 'slow-consumers' ? ['reference', 'with'] : ['with'];
  const order: { mode: ModeName; repeat: number; variant: 'reference' | 'with' }[] = [];
  for (let repeat = 0; repeat < cfg.repeats; repeat++) {
    const modes = repeat % 2 === 0 ? cfg.modes : [...cfg.modes].reverse();
    for (const mode of modes) for (const variant of variants) order.push({ mode, repeat, variant });
  }
  const controller = abortOnSignals((sig) => {
    console.error(`[scenario] ${sig}: stopping the current run…`);
  });
  console.error(`[scenario] ${id}: ${cfg.scenario}, ${order.length} run(s) → ${displayPath(dir)}`);
  let failures = 0;
  for (const [i, o] of order.entries()) {
    if (controller.signal.aborted) break;
    const hp = hostilePlan(cfg.scenario, cfg, o.variant === 'reference');
    const runName = `${String(i + 1).padStart(2, '0')}-${o.mode}-${o.variant}-r${o.repeat + 1}`;
    const { id: runId, dir: runDir } = await makeUniqueDir(path.join(dir, 'runs'), runName);
    const progress = new Progress(`scenario ${i + 1}/${order.length} ${o.mode} ${o.variant}`, null);
    const runtime = new ScenarioRuntime(
      new NativeRuntime(cfg, controller.signal, hp.serverArgs),
      hp.clientArgs,
    );
    let result: BenchResult | null = null;
    let exitCode: number = EXIT.failed;
    try {
      const outcome = await runBench(
        runtime,
        planOf({ ...cfg, mode: o.mode, rate: cfg.rate }, { clients: hp.clients }),
        {
          runDir,
          runId: `${id}-${runId}`,
          progress,
          signal: controller.signal,
          scenario: cfg.scenario,
          command: `${command} (run ${i + 1})`,
          prometheus: cfg.prometheus,
        },
      );
      result = outcome.result;
      exitCode = outcome.exitCode;
      await writeRunReports(runDir);
    } catch (err) {
      console.error(`${NAME}: run ${runName}: ${errorText(err)}`);
    }
    progress.endLine();
    if (exitCode !== EXIT.ok) failures++;
    const f = result !== null ? runFigures(result) : null;
    const run: ScenarioRun = {
      mode: o.mode,
      repeat: o.repeat,
      variant: o.variant,
      dir: path.relative(dir, runDir),
      exitCode,
      description: hp.description,
      clientArgs: hp.clientArgs,
      healthy: {
        clients: hp.healthyClients,
        msgsPerSec: f?.msgsPerSec ?? null,
        deliveredRatio: f?.deliveredRatio ?? null,
        gaps: f?.gaps ?? 0,
        p50Us: f?.latencyUs?.p50 ?? null,
        p99Us: f?.latencyUs?.p99 ?? null,
        clientBound: f?.clientBound ?? false,
        aborted: f?.aborted?.reason ?? null,
      },
      ...scenarioBlocks(result),
      server: runtime.counters,
    };
    index.runs.push(run);
    await save();
    console.error(`[scenario] ${runName}: ${line(run)}`);
  }
  index.endedAt = new Date().toISOString();
  await save();
  const reports = await writeScenarioReports(dir);
  await pointLink(root, 'latest-scenario', dir);
  const md = await readFile(reports.md, 'utf8');
  console.error('\n' + md.trimEnd() + '\n');
  console.log(
    JSON.stringify({
      event: 'scenario',
      id,
      dir,
      scenario: path.join(dir, 'scenario.json'),
      reportMd: reports.md,
      reportHtml: reports.html,
    }),
  );
  return controller.signal.aborted ? EXIT.interrupted : failures > 0 ? EXIT.failed : EXIT.ok;
}

function line(r: ScenarioRun): string {
  const h = r.healthy;
  return `healthy ${si(h.msgsPerSec)} msg/s, delivered ${percent(h.deliveredRatio)}, gaps ${h.gaps}, p99 ${us(h.p99Us)}${h.clientBound ? ' ⚠ client-bound' : ''}${h.aborted !== null ? ` (aborted: ${h.aborted})` : ''}`;
}

/** result.json's scenario blocks, churn with its rates over the measured window. */
function scenarioBlocks(
  r: BenchResult | null,
): Pick<ScenarioRun, 'slowConsumers' | 'reconnect' | 'churn' | 'serverWindow'> {
  const c = r?.churn ?? null;
  const windowSec = r?.throughput?.windowSec ?? 0;
  const perSec = (n: number): number => (windowSec > 0 ? Math.round((n / windowSec) * 10) / 10 : 0);
  const sw = r?.serverWindow ?? null;
  return {
    slowConsumers: r?.slowConsumers ?? null,
    reconnect: r?.reconnect ?? null,
    churn:
      c === null
        ? null
        : { ...c, windowSec, closedPerSec: perSec(c.closed), reopenedPerSec: perSec(c.reopened) },
    serverWindow:
      sw === null
        ? null
        : { droppedBackpressure: sw.droppedBackpressure, droppedClosed: sw.droppedClosed },
  };
}

const num = (v: number | null | undefined): string =>
  typeof v === 'number' ? (Number.isInteger(v) ? String(v) : fixed(v, 1)) : '–';
const sec = (v: number | null | undefined): string =>
  typeof v === 'number' ? `${fixed(v, 2)} s` : 'not all';

export function scenarioModel(index: ScenarioIndex): ReportModel {
  const rows = index.runs;
  const healthyCols = [
    'mode',
    'run',
    index.scenario === 'slow-consumers' ? 'healthy clients' : 'clients',
    'msg/s',
    'delivered',
    'gaps',
    'p50',
    'p99',
  ];
  const healthy = (r: ScenarioRun): string[] => [
    r.mode,
    `${r.variant} r${r.repeat + 1}`,
    String(r.healthy.clients),
    si(r.healthy.msgsPerSec),
    percent(r.healthy.deliveredRatio),
    String(r.healthy.gaps),
    us(r.healthy.p50Us),
    us(r.healthy.p99Us) +
      (r.healthy.clientBound ? ' ⚠ client-bound' : '') +
      (r.healthy.aborted !== null ? ' ⚠ aborted' : ''),
  ];
  let extraCols: string[] = [];
  let extra: (r: ScenarioRun) => string[] = () => [];
  if (index.scenario === 'slow-consumers') {
    extraCols = [
      'slow clients',
      'slow delivered',
      'slow p99',
      'slow closed by server (1008)',
      'server drops (backpressure)',
      'server slow-client closes',
    ];
    extra = (r) => {
      const s = r.slowConsumers;
      if (s === null) return ['–', '–', '–', '–', num(r.server?.droppedBackpressure), '–'];
      const closed = Object.values(s.closes).reduce((a, n) => a + n, 0);
      return [
        num(s.connections),
        percent(s.deliveredRatio),
        us(s.latencyUs.p99),
        `${num(closed)} (${num(s.closes['1008'] ?? 0)})`,
        num(r.server?.droppedBackpressure),
        num(r.server?.slowClientCloses),
      ];
    };
  } else if (index.scenario === 'reconnect-storm') {
    extraCols = [
      'dropped / reopened / receiving',
      'all reconnected',
      'all receiving again',
      'p99 back within SLO',
    ];
    extra = (r) => {
      const s = r.reconnect;
      if (s === null) return ['–', '–', '–', '–'];
      return [
        `${num(s.dropped)} / ${num(s.reopened)} / ${num(s.receiving)}`,
        sec(s.allOpenSec),
        sec(s.allReceivingSec),
        s.p99RecoveredSec === null
          ? `not within ${num(s.sloP99Ms)} ms in the window`
          : `${fixed(s.p99RecoveredSec, 2)} s (SLO ${num(s.sloP99Ms)} ms)`,
      ];
    };
  } else {
    extraCols = ['closed/s', 'reopened/s', 'closed / reopened', 'failed reopens'];
    extra = (r) => {
      const s = r.churn;
      if (s === null) return ['–', '–', '–', '–'];
      return [
        num(s.closedPerSec),
        num(s.reopenedPerSec),
        `${num(s.closed)} / ${num(s.reopened)}`,
        num(s.failedReopens),
      ];
    };
  }
  const blocks = [
    table(
      [...healthyCols, ...extraCols],
      rows.map((r) => [...healthy(r), ...extra(r)]),
    ),
  ];
  if (index.scenario === 'slow-consumers') {
    for (const mode of [...new Set(rows.map((r) => r.mode))]) {
      const ref = rows.filter((r) => r.mode === mode && r.variant === 'reference');
      const w = rows.filter((r) => r.mode === mode && r.variant === 'with');
      const p = (l: ScenarioRun[]): number | null => l[0]?.healthy.p99Us ?? null;
      const m = (l: ScenarioRun[]): number | null => l[0]?.healthy.msgsPerSec ?? null;
      blocks.push(
        text(
          `${mode}: healthy clients' p99 ${us(p(ref))} without the slow consumers, ${us(p(w))} with them; msg/s ${si(m(ref))} → ${si(m(w))}.`,
        ),
      );
    }
  }
  return {
    title: `wsbench scenario — ${index.scenario}`,
    subtitle: `${index.id} · ${index.startedAt}`,
    warnings: [],
    sections: [
      { title: 'Result', blocks },
      {
        title: 'How it was run',
        blocks: [
          text(`Command: ${index.command}`),
          ...[...new Set(rows.map((r) => r.description))].map((d) => text(d)),
        ],
      },
    ],
  };
}

export async function writeScenarioReports(dir: string): Promise<{ md: string; html: string }> {
  const index = JSON.parse(
    await readFile(path.join(dir, 'scenario.json'), 'utf8'),
  ) as ScenarioIndex;
  const model = scenarioModel(index);
  const md = path.join(dir, 'report.md');
  const html = path.join(dir, 'report.html');
  await writeFile(md, renderMarkdown(model));
  await writeFile(html, await renderHtml(model));
  return { md, html };
}

runMain(main);
