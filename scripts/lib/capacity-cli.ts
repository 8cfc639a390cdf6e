// make capacity, and make bench without RATE: one capacity search for MODE on the native runtime,
// written to RESULTS_DIR/<id>-capacity/ (result.json with kind "capacity", steps/, report.md,
// report.html), a summary on stderr and one JSON line on stdout.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { EXIT, type ExitCode } from '../../protocol/codes.js';
import { NativeRuntime } from '../runtimes/native.js';
import { runCapacity, type CapacityOptions, type CapacityResult } from './capacity.js';
import type { BenchConfig } from './config.js';
import { fixed, si, us } from './format.js';
import { writeRunReports } from './report.js';
import { displayPath, makeUniqueDir, pointLink, resultsDir, stampId } from './results.js';
import { abortOnSignals } from './signals.js';

/** The stderr summary of a search. */
export function capacitySummary(c: CapacityResult): string {
  const unit = c.vary === 'rate' ? 'ticks/s' : 'clients';
  const lines = [
    `  capacity ${c.mode} (${c.vary === 'rate' ? `${c.clients ?? '?'} clients` : `${si(c.rate)} ticks/s`}, SLO p99 ≤ ${c.slo.p99Ms} ms, every tick delivered): ${c.verdict.summary}`,
  ];
  if (c.lowerBound)
    lines.push('  !!! LOWER BOUND: the client was the limit; the server may sustain more');
  lines.push(
    `  ${'step'.padEnd(5)} ${unit.padStart(9)} ${'clients'.padStart(7)} ${'msg/s'.padStart(8)} ${'deliv.'.padStart(7)} ${'p50'.padStart(9)} ${'p99'.padStart(9)} ${'p99.9'.padStart(9)} ${'srv CPU'.padStart(7)} ${'cli CPU'.padStart(7)} ${'µs/msg'.padStart(6)}  result`,
  );
  for (const s of c.steps) {
    lines.push(
      `  ${String(s.n).padEnd(5)} ${si(c.vary === 'rate' ? s.rate : s.clients).padStart(9)} ${String(s.clients).padStart(7)} ${si(s.msgsPerSec).padStart(8)} ${(s.deliveredRatio === null ? '–' : `${(s.deliveredRatio * 100).toFixed(1)}%`).padStart(7)} ${us(s.p50Us).padStart(9)} ${us(s.p99Us).padStart(9)} ${us(s.p999Us).padStart(9)} ${fixed(s.serverCpuCores).padStart(7)} ${fixed(s.clientCpuCores).padStart(7)} ${fixed(s.cpuUsPerMsg, 2).padStart(6)}  ${s.pass ? 'pass' : `FAIL: ${s.summary}`}`,
    );
  }
  lines.push(`  stopped: ${c.stoppedBy} after ${c.elapsedS} s (budget ${c.budgetS} s)`);
  return lines.join('\n');
}

/** The search settings every capacity search takes from the bench/compare flags (one mapping). */
export function searchSettings(cfg: {
  stepS: number;
  stepWarmupS: number;
  symbols: number;
  httpConnections: number;
  sloP99Ms: number;
  budgetS: number;
  precision: number;
}): Pick<CapacityOptions, 'base' | 'sloP99Ms' | 'budgetS' | 'precision'> {
  return {
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
  };
}

export async function capacityCli(
  name: string,
  cfg: BenchConfig,
  serverExtraArgs: readonly string[] = [],
): Promise<ExitCode> {
  const root = resultsDir();
  const { id, dir } = await makeUniqueDir(root, stampId(`${cfg.mode}-capacity`));
  const controller = abortOnSignals((sig) => {
    process.stderr.write(
      `[capacity] ${sig}: stopping the current step, reporting the steps so far…\n`,
    );
  });
  const rate = cfg.vary === 'clients' ? (cfg.rate ?? cfg.startRate) : cfg.startRate;
  const command =
    `make capacity MODE=${cfg.mode} VARY=${cfg.vary} CLIENTS=${cfg.clients}${cfg.vary === 'clients' ? ` RATE=${rate}` : ''} ` +
    `SLO_P99_MS=${cfg.sloP99Ms} CAPACITY_BUDGET_S=${cfg.budgetS} STEP_S=${cfg.stepS} STEP_WARMUP_S=${cfg.stepWarmupS}`;
  process.stderr.write(
    `[capacity ${cfg.mode}] ${id}: VARY=${cfg.vary}, ${cfg.vary === 'rate' ? `${cfg.clients} clients, from ${si(rate)} ticks/s` : `${si(rate)} ticks/s, from ${cfg.startClients} clients`}, ` +
      `steps of ${cfg.stepWarmupS}+${cfg.stepS} s, budget ${cfg.budgetS} s → ${displayPath(dir)}\n`,
  );
  const result = await runCapacity({
    mode: cfg.mode,
    vary: cfg.vary,
    clients: cfg.vary === 'rate' ? cfg.clients : cfg.startClients,
    rate,
    ...searchSettings(cfg),
    dir,
    capacityId: id,
    runtime: () => new NativeRuntime(cfg, controller.signal, serverExtraArgs),
    signal: controller.signal,
    command,
    note: (line) => process.stderr.write(`[capacity ${cfg.mode}] ${line}\n`),
  });
  const file = path.join(dir, 'result.json');
  await writeFile(file, JSON.stringify(result, null, 2) + '\n');
  const reports = await writeRunReports(dir);
  await pointLink(root, 'latest', dir);
  process.stderr.write(capacitySummary(result) + '\n');
  process.stderr.write(`  result  ${file}\n  report  ${reports.md}\n          ${reports.html}\n`);
  const exitCode =
    result.stoppedBy === 'interrupted'
      ? EXIT.interrupted
      : result.stoppedBy === 'error'
        ? EXIT.failed
        : EXIT.ok;
  console.log(
    JSON.stringify({
      event: 'capacity',
      capacityId: id,
      dir,
      result: file,
      reportMd: reports.md,
      reportHtml: reports.html,
      best: result.best,
      firstFail: result.firstFail,
      lowerBound: result.lowerBound,
      exitCode,
    }),
  );
  return exitCode;
}
