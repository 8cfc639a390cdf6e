#!/usr/bin/env node
// client-bench entry: config -> health probe -> workers connect -> warm-up -> measured window
// -> merged result (stdout/--out) and summary (stderr). Faults end in a partial result.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Worker } from 'node:worker_threads';
import { useClockFromEnv } from '../protocol/index.js';
import { ConfigError, helpText, parseArgs, type Config } from './config.js';
import { aggregate } from './aggregate.js';
import { newSharedCounters } from './layout.js';
import type { FromWorker, WorkerInit, WorkerReport } from './messages.js';
import { createRegistry, serveMetrics } from './metrics.js';
import { Progress } from './progress.js';
import { buildResult, formatSummary, type Result } from './result.js';
import { probeHealth, readServerSent } from './target.js';

export const EXIT = { ok: 0, failure: 1, badInput: 2, aborted: 3, sigint: 130 } as const;
const REPORT_TIMEOUT_MS = 5000;

function runIdFor(d: Date, mode: string): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return (
    `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}-` +
    `${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}-${mode.replace(/[^A-Za-z0-9._-]/g, '_')}`
  );
}

/** `p`, or `fallback` after `ms`; the timer is cleared either way so it cannot hold the process. */
function withTimeout<T, F>(p: Promise<T>, ms: number, fallback: F): Promise<T | F> {
  let timer: NodeJS.Timeout;
  const t = new Promise<F>((resolve) => (timer = setTimeout(() => resolve(fallback), ms)));
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

class Run {
  private abortReason: string | null = null;
  private abortCode: number = EXIT.ok;
  private wakeAbort!: () => void;
  readonly aborted = new Promise<void>((resolve) => (this.wakeAbort = resolve));

  abort(reason: string, code: number): void {
    if (this.abortReason !== null) return;
    this.abortReason = reason;
    this.abortCode = code;
    this.wakeAbort();
  }
  get reason(): string | null {
    return this.abortReason;
  }
  get code(): number {
    return this.abortCode;
  }
  /** Sleeps `ms`, or less when the run is aborted (the timer is cleared: no lingering wait). */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      void this.aborted.then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
  /** Waits for `p`, or returns early (undefined) when the run is aborted. */
  until<T>(p: Promise<T>): Promise<T | undefined> {
    return Promise.race([p, this.aborted.then(() => undefined)]);
  }
}

async function run(cfg: Config): Promise<number> {
  const startedAt = new Date();
  const probe = await probeHealth(cfg.url, 3000);
  if (!probe.reachable) {
    process.stderr.write(`client-bench: cannot reach ${cfg.url}: ${probe.error}\n`);
    return EXIT.badInput;
  }
  const health = probe.health;
  const mode = typeof health?.mode === 'string' ? health.mode : 'unknown';
  if (!health)
    process.stderr.write(
      `client-bench: ${cfg.url} has no wsbench /health (${probe.error}); mode "unknown"\n`,
    );
  const runId = cfg.runId ?? runIdFor(startedAt, mode);

  const sab = newSharedCounters(cfg.workers);
  const progress = new Progress(sab, cfg.workers, cfg.clients, process.stderr, !cfg.quiet);
  const state = new Run();
  let phase = 'connect';
  const ticker = setInterval(() => progress.tick(phase), 1000);

  let metricsServer: Awaited<ReturnType<typeof serveMetrics>> | null = null;
  if (cfg.metricsPort !== null) {
    const register = createRegistry(
      { sab, workers: cfg.workers, cpuCores: () => progress.cpuCores() },
      { mode, run_id: runId },
    );
    try {
      metricsServer = await serveMetrics(register, cfg.metricsPort);
    } catch (err) {
      clearInterval(ticker);
      process.stderr.write(
        `client-bench: cannot serve metrics on --metrics-port "${cfg.metricsPort}": ${(err as Error).message}\n`,
      );
      return EXIT.badInput;
    }
    process.stderr.write(JSON.stringify({ event: 'metrics', port: metricsServer.port }) + '\n');
  }

  // Workers and their messages.
  const perWorker = Math.floor(cfg.clients / cfg.workers);
  const extra = cfg.clients % cfg.workers;
  const workers: Worker[] = [];
  const connected: Promise<Extract<FromWorker, { kind: 'connected' }>>[] = [];
  const windowStarted: Promise<void>[] = [];
  const reports: Promise<WorkerReport>[] = [];
  const exited: Promise<void>[] = [];
  const openCount = new Array<number>(cfg.workers).fill(0);
  let connectDone = false;
  let first = 0;
  for (let w = 0; w < cfg.workers; w++) {
    const count = perWorker + (w < extra ? 1 : 0);
    const init: WorkerInit = {
      workerIndex: w,
      firstClient: first,
      count,
      config: cfg,
      sab,
      bucketLatency: metricsServer !== null,
    };
    first += count;
    const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: init });
    workers.push(worker);
    let onConnected!: (m: Extract<FromWorker, { kind: 'connected' }>) => void;
    let onStarted!: () => void;
    let onReport!: (r: WorkerReport) => void;
    connected.push(new Promise((r) => (onConnected = r)));
    windowStarted.push(new Promise((r) => (onStarted = r)));
    reports.push(new Promise((r) => (onReport = r)));
    exited.push(new Promise((r) => worker.once('exit', () => r())));
    const handlers: { [K in FromWorker['kind']]: (m: Extract<FromWorker, { kind: K }>) => void } = {
      connected: (m) => {
        openCount[w] = m.opened;
        onConnected(m);
      },
      'window-started': () => onStarted(),
      'open-count': (m) => {
        openCount[w] = m.open;
        if (connectDone && openCount.every((n) => n === 0)) {
          state.abort(
            `server closed all ${cfg.clients} connections mid-run (last: ${m.lastClose})`,
            EXIT.aborted,
          );
        }
      },
      report: (m) => onReport(m.report),
    };
    worker.on('message', (m: FromWorker) => (handlers[m.kind] as (x: FromWorker) => void)(m));
    worker.on('error', (err) =>
      state.abort(`worker ${w} failed: ${err.stack ?? err.message}`, EXIT.failure),
    );
  }

  const onSigint = () => {
    if (state.reason !== null) process.exit(EXIT.sigint);
    state.abort('interrupted by SIGINT', EXIT.sigint);
  };
  process.on('SIGINT', onSigint);

  // 1. connect
  const conn = await state.until(Promise.all(connected));
  if (conn) {
    connectDone = true;
    const opened = conn.reduce((a, m) => a + m.opened, 0);
    const failed = conn.reduce((a, m) => a + m.failed, 0);
    if (opened === 0) {
      clearInterval(ticker);
      progress.done();
      process.stderr.write(
        `client-bench: no connection could be opened: ${conn.find((m) => m.firstError)?.firstError}\n`,
      );
      await Promise.all(workers.map((w) => w.terminate()));
      await metricsServer?.close();
      process.off('SIGINT', onSigint);
      return EXIT.badInput;
    }
    if (failed > 0) {
      process.stderr.write(
        `client-bench: ${failed} of ${cfg.clients} connections failed: ${conn.find((m) => m.firstError)?.firstError}\n`,
      );
    }
    if (openCount.every((n) => n === 0))
      state.abort('every connection closed during the connect phase', EXIT.aborted);
  }

  // 2. warm-up
  if (state.reason === null && cfg.warmup > 0) {
    const t0 = Date.now();
    const warm = setInterval(
      () => (phase = `warmup ${Math.round((Date.now() - t0) / 1000)}/${cfg.warmup}s`),
      200,
    );
    phase = `warmup 0/${cfg.warmup}s`;
    await state.sleep(cfg.warmup * 1000);
    clearInterval(warm);
  }

  // 3. measured window
  let serverSentBefore: number | null = null;
  let cpuStart = process.cpuUsage();
  let windowStartMs = 0;
  let windowStartedAt: Date | null = null;
  if (state.reason === null) {
    for (const w of workers) w.postMessage({ kind: 'window-start' });
    await state.until(Promise.all(windowStarted));
    serverSentBefore = await readServerSent(cfg.url);
    cpuStart = process.cpuUsage();
    windowStartMs = performance.now();
    windowStartedAt = new Date();
    const t0 = Date.now();
    phase = `run 0/${cfg.duration}s`;
    const tick = setInterval(
      () => (phase = `run ${Math.round((Date.now() - t0) / 1000)}/${cfg.duration}s`),
      200,
    );
    await state.sleep(cfg.duration * 1000);
    clearInterval(tick);
  }

  // 4. collect (also after an abort: whatever was measured is reported)
  const windowEndedAt = new Date();
  for (const w of workers) w.postMessage({ kind: 'window-end' });
  const cpu = process.cpuUsage(cpuStart);
  const windowWallSec = windowStartMs ? (performance.now() - windowStartMs) / 1000 : 0;
  const got = await Promise.all(reports.map((r) => withTimeout(r, REPORT_TIMEOUT_MS, null)));
  const serverSentAfter = serverSentBefore === null ? null : await readServerSent(cfg.url);
  clearInterval(ticker);
  progress.done();
  const present = got.filter((r): r is WorkerReport => r !== null);
  const agg = aggregate(present);
  const missing = workers.length - present.length;
  if (missing > 0) {
    agg.errors.push({
      type: 'worker',
      count: missing,
      message: `no report within ${REPORT_TIMEOUT_MS} ms`,
    });
    // A worker too busy to answer was saturated, and its connections' counts are missing: the
    // result must say so, never read as a quiet (or zero) throughput figure.
    state.abort(
      `${missing} of ${workers.length} client worker(s) did not report within ${REPORT_TIMEOUT_MS} ms ` +
        '(saturated): their connections are missing from this result',
      EXIT.aborted,
    );
  }
  const result: Result = buildResult(agg, {
    config: cfg,
    runId,
    startedAt,
    endedAt: new Date(),
    window: windowStartedAt ? { start: windowStartedAt, end: windowEndedAt } : null,
    mode,
    health,
    serverSent:
      serverSentBefore !== null && serverSentAfter !== null
        ? serverSentAfter - serverSentBefore
        : null,
    cpuCores: windowWallSec > 0 ? (cpu.user + cpu.system) / 1e6 / windowWallSec : 0,
    aborted: state.reason,
  });
  if (missing > 0) result.client.clientBound = true;

  const line = JSON.stringify(result);
  if (cfg.out) {
    await mkdir(dirname(cfg.out), { recursive: true });
    await writeFile(cfg.out, JSON.stringify(result, null, 2) + '\n');
  }
  if (cfg.json) process.stdout.write(line + '\n');
  if (!cfg.quiet || state.reason !== null) process.stderr.write(formatSummary(result) + '\n');

  await withTimeout(Promise.all(exited), 4000, null);
  await Promise.all(workers.map((w) => w.terminate()));
  await metricsServer?.close();
  process.off('SIGINT', onSigint);
  return state.reason === null ? EXIT.ok : state.code;
}

async function main(): Promise<void> {
  let parsed;
  try {
    useClockFromEnv();
    parsed = parseArgs(process.argv.slice(2));
  } catch (err) {
    if (err instanceof ConfigError || err instanceof RangeError) {
      process.stderr.write(`${err.message}\n`);
      process.exitCode = EXIT.badInput;
      return;
    }
    throw err;
  }
  if (parsed.help) {
    process.stdout.write(helpText() + '\n');
    return;
  }
  process.exitCode = await run(parsed.config);
}

main().catch((err: Error) => {
  process.stderr.write(`client-bench: unexpected failure: ${err.stack ?? err.message}\n`);
  process.exitCode = EXIT.failure;
});
