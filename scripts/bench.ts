// make bench (native): one benchmark run. Settings: lib/config.ts (flags or the env the Makefile
// exports: MODE CLIENTS DURATION WARMUP RATE SYMBOLS PIN ...). Writes RESULTS_DIR/<run-id>/
// {result.json,report.md,report.html,server.log,client.log}, points RESULTS_DIR/latest at it,
// prints one JSON line with the paths on stdout. Ctrl-C stops every process it started and keeps
// what was measured (exit 130).
import { runMain } from '../protocol/cli.js';
import { EXIT } from '../protocol/codes.js';
import { capacityCli } from './lib/capacity-cli.js';
import { BENCH_FLAGS, BENCH_HELP, onServerCloseArgs, planOf, readConfig } from './lib/config.js';
import { runSummary } from './lib/print.js';
import { Progress } from './lib/progress.js';
import { writeRunReports } from './lib/report.js';
import { displayPath, makeUniqueDir, pointLink, resultsDir, stampId } from './lib/results.js';
import { runBench } from './lib/run.js';
import { abortOnSignals } from './lib/signals.js';
import { unbuiltExit, NativeRuntime } from './runtimes/native.js';

const NAME = 'wsbench-bench';

async function main(): Promise<number> {
  const cfg = readConfig(NAME, BENCH_FLAGS, BENCH_HELP);
  if (cfg === null) return EXIT.ok;
  const unbuilt = unbuiltExit(NAME);
  if (unbuilt !== null) return unbuilt;
  // Without RATE, make bench answers the capacity question (RATE=N: one run, RATE=max: overload).
  if (cfg.rate === null) return capacityCli(NAME, cfg);
  const rate = cfg.rate;
  const root = resultsDir();
  const { id: runId, dir: runDir } = await makeUniqueDir(root, stampId(cfg.mode));
  const progress = new Progress(`bench ${cfg.mode}`, cfg.warmup + cfg.duration + 3);
  const controller = abortOnSignals((sig) => {
    progress.note(`${sig}: stopping every process, keeping what was measured…`);
  });
  progress.note(
    `run ${runId}: ${cfg.clients} client(s), ${cfg.duration}s after ${cfg.warmup}s warm-up, rate ${rate > 0 ? rate : 'max'} → ${displayPath(runDir)}`,
  );
  const command = `MODE=${cfg.mode} CLIENTS=${cfg.clients} DURATION=${cfg.duration} WARMUP=${cfg.warmup} RATE=${rate > 0 ? rate : 'max'} SYMBOLS=${cfg.symbols} node dist/scripts/bench.js`;
  const runtime = new NativeRuntime(cfg, controller.signal);
  const { result, resultFile, exitCode } = await runBench(runtime, planOf(cfg), {
    runDir,
    runId,
    progress,
    signal: controller.signal,
    command,
    prometheus: cfg.prometheus,
    sloP99Ms: cfg.sloP99Ms,
    clientArgs: onServerCloseArgs(cfg.onServerClose),
  });
  progress.phase('report', 'writing report.md and report.html');
  const reports = await writeRunReports(runDir);
  await pointLink(root, 'latest', runDir);
  progress.endLine();
  console.error(runSummary(result));
  console.error(`  result  ${resultFile}\n  report  ${reports.md}\n          ${reports.html}`);
  console.log(
    JSON.stringify({
      event: 'result',
      runId,
      runDir,
      result: resultFile,
      reportMd: reports.md,
      reportHtml: reports.html,
      exitCode,
    }),
  );
  return exitCode;
}

runMain(main);
