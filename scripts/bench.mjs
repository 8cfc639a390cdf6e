#!/usr/bin/env node
// make bench (native): one benchmark run. Settings come from the environment (the Makefile
// exports MODE CLIENTS DURATION WARMUP RATE SYMBOLS; see docs/bench.md for PIN, HTTP_LOAD, ...).
// Writes RESULTS_DIR/<run-id>/{result.json,report.md,report.html,server.log,client.log}, points
// RESULTS_DIR/latest at it, prints one JSON line with the paths on stdout. Ctrl-C stops every
// process it started and keeps what was measured (exit 130).
import { benchConfig } from './lib/config.mjs';
import { bytes, fixed, si, us } from './lib/format.mjs';
import { configOrExit, runNative } from './lib/native-run.mjs';
import { Progress } from './lib/progress.mjs';
import { writeRunReports } from './lib/report.mjs';
import { displayPath, makeUniqueDir, pointLink, resultsDir, stampId } from './lib/results.mjs';

const NAME = 'wsbench-bench';

const cfg = configOrExit(NAME, benchConfig);

const root = resultsDir();
const { id: runId, dir: runDir } = await makeUniqueDir(root, stampId(cfg.mode));
const controller = new AbortController();
let signals = 0;
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    signals++;
    if (signals === 1) {
      progress.note(`${sig}: stopping every process, keeping what was measured…`);
      controller.abort();
    }
  });
}

const total = cfg.warmup + cfg.duration + 3;
const progress = new Progress(`bench ${cfg.mode}`, total);
progress.note(
  `run ${runId}: ${cfg.clients} client(s), ${cfg.duration}s after ${cfg.warmup}s warm-up, rate ${cfg.rate || 'max'} → ${displayPath(runDir)}`,
);
const command = `MODE=${cfg.mode} CLIENTS=${cfg.clients} DURATION=${cfg.duration} WARMUP=${cfg.warmup} RATE=${cfg.rate} SYMBOLS=${cfg.symbols} node scripts/bench.mjs`;

let outcome;
try {
  outcome = await runNative(cfg, { runDir, runId, progress, signal: controller.signal, command });
} catch (err) {
  progress.endLine();
  console.error(`${NAME}: ${err.message}`);
  process.exitCode = 1;
}

if (outcome) {
  const { result, resultFile, exitCode } = outcome;
  progress.phase('report', 'writing report.md and report.html');
  const reports = await writeRunReports(runDir);
  await pointLink(root, 'latest', runDir);
  progress.endLine();
  printSummary(result);
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
  process.exitCode = exitCode;
}

function printSummary(r) {
  const lines = [];
  if (r.aborted) lines.push(`  !!! ABORTED: ${r.aborted.reason} — partial result`);
  if (r.client?.clientBound)
    lines.push('  !!! CLIENT-BOUND: the client was saturated; these numbers measure the client');
  const t = r.throughput;
  lines.push(
    `  ${r.server.mode}: ${si(t?.msgsPerSec)} msg/s delivered to ${r.config?.clients} client(s), ${fixed((t?.bytesPerSec ?? NaN) / 1e6)} MB/s`,
  );
  if (r.delivery) {
    lines.push(
      `  delivery ${r.delivery.received}/${r.delivery.expected} (gaps ${r.delivery.gaps}, dup ${r.delivery.duplicates}, reordered ${r.delivery.reordered})`,
    );
  }
  if (r.latencyUs)
    lines.push(
      `  latency p50 ${us(r.latencyUs.p50)}  p99 ${us(r.latencyUs.p99)}  p99.9 ${us(r.latencyUs.p999)}  max ${us(r.latencyUs.max)}`,
    );
  lines.push(
    `  server CPU ${fixed(r.server.cpuCores)} cores, RSS max ${bytes(r.server.rssMaxBytes)} · client CPU ${fixed(r.resources.client.cpuCores)} cores · placement ${r.placement.pinned ? `server core ${r.placement.server.cores}, client core ${r.placement.client.cores}` : `not pinned (${r.placement.reason})`}`,
  );
  if (r.http)
    lines.push(
      `  HTTP /snapshot under load: ${si(r.http.reqPerSec)} req/s, p50 ${fixed(r.http.latencyMs.p50)} ms, p99 ${fixed(r.http.latencyMs.p99)} ms`,
    );
  console.error(lines.join('\n'));
}
