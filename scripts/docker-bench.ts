// make bench with the Docker runtime (make bench-docker): the client container against the server
// container of the running stack (make up); results land in ./results/<run-id>/ on the host,
// with server and client CPU/RSS read from the stack's Prometheus, report.md and report.html, and
// the Grafana URL of the run's time range. Settings as make bench (lib/config.ts); MODE_ORIGIN
// (make's $(origin MODE)) tells an explicit MODE from make's default: without one, the mode whose
// server runs is used.
import path from 'node:path';
import { runMain, UsageError } from '../protocol/cli.js';
import { EXIT } from '../protocol/codes.js';
import { BENCH_FLAGS, BENCH_HELP, onServerCloseArgs, planOf, readConfig } from './lib/config.js';
import { runSummary } from './lib/print.js';
import { Progress } from './lib/progress.js';
import { writeRunReports } from './lib/report.js';
import { makeUniqueDir, pointLink, resultsDir, stampId } from './lib/results.js';
import { runBench } from './lib/run.js';
import { abortOnSignals } from './lib/signals.js';
import { repoRoot } from './lib/versions.js';
import { DockerRuntime, runningModes } from './runtimes/docker.js';

const NAME = 'wsbench-bench';

async function main(): Promise<number> {
  process.chdir(repoRoot);
  const runtime = new DockerRuntime();
  const running = await runningModes();
  if (running.length === 0)
    throw new UsageError(
      `${NAME}: no server container of the Docker stack "${runtime.project}" is running: start one with make up MODE=uws, or run natively with make bench RUNTIME=native`,
    );
  const origin = process.env.MODE_ORIGIN ?? '';
  const explicit = ['command line', 'environment', 'environment override'].includes(origin);
  const only = running.length === 1 ? running[0] : undefined;
  const env = !explicit && only !== undefined ? { ...process.env, MODE: only } : process.env;
  const cfg = readConfig(NAME, BENCH_FLAGS, BENCH_HELP, process.argv.slice(2), env);
  if (cfg === null) return EXIT.ok;
  if (!running.includes(cfg.mode))
    throw new UsageError(
      `${NAME}: invalid MODE "${cfg.mode}": its server does not run in the Docker stack (running: ${running.join(', ')}); make up MODE=${cfg.mode} first`,
    );

  const root = resultsDir();
  const { id: runId, dir: runDir } = await makeUniqueDir(root, stampId(cfg.mode));
  console.error(
    `${NAME}: runtime docker (project ${runtime.project}, server-${cfg.mode} container, client container) — ` +
      `run ${runId}: ${cfg.clients} client(s), ${cfg.duration}s after ${cfg.warmup}s warm-up → ${path.relative(repoRoot, runDir)}`,
  );
  const progress = new Progress(`bench docker ${cfg.mode}`, cfg.warmup + cfg.duration + 5);
  const controller = abortOnSignals((sig) => {
    progress.note(`${sig}: stopping the client container, keeping what was measured…`);
  });
  const command = `make bench RUNTIME=docker MODE=${cfg.mode} CLIENTS=${cfg.clients} DURATION=${cfg.duration} WARMUP=${cfg.warmup}`;
  // The stack's server runs at its own rate (make up RATE=...); the plan records it from /health.
  const { result, resultFile, exitCode } = await runBench(
    runtime,
    planOf(cfg, { httpLoad: false }),
    {
      runDir,
      runId,
      progress,
      signal: controller.signal,
      command,
      sloP99Ms: cfg.sloP99Ms,
      clientArgs: onServerCloseArgs(cfg.onServerClose),
    },
  );
  try {
    const reports = await writeRunReports(runDir);
    console.error(`  report  ${reports.md}\n          ${reports.html}`);
  } catch (err) {
    console.error(
      `${NAME}: no report written (${err instanceof Error ? err.message : String(err)})`,
    );
  }
  await pointLink(root, 'latest', runDir);
  const grafanaUrl = result.bench.docker?.grafanaUrl ?? '';
  console.error(runSummary(result));
  console.error(`  result  ${resultFile}`);
  console.error(
    `  grafana ${grafanaUrl}${(await runtime.grafanaRunning()) ? '' : '  (Grafana is not running: make up GRAFANA=1)'}`,
  );
  console.log(
    JSON.stringify({
      event: 'result',
      runtime: 'docker',
      runId,
      runDir,
      result: resultFile,
      grafanaUrl,
      exitCode,
    }),
  );
  return exitCode;
}

runMain(main);
