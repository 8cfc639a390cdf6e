#!/usr/bin/env node
// client-bench entry: config -> health probe -> workers connect -> warm-up -> measured window
// -> merged result (stdout/--out) and summary (stderr). Faults end in a partial result; every
// path out of a run goes through the one teardown.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { EXIT, nowUs, useClockFromEnv } from '../protocol/index.js';
import { runMain, UsageError } from '../protocol/cli.js';
import { helpText, parseArgs, type Config } from './config.js';
import { aggregate } from './aggregate.js';
import { newSharedCounters } from './layout.js';
import type { WorkerReport } from './messages.js';
import { createRegistry, serveMetrics } from './metrics.js';
import { WorkerPool } from './pool.js';
import { Progress } from './progress.js';
import { buildResult, formatSummary, type Phases, type Result } from './result.js';
import { probeHealth, readServerSent } from './target.js';
import { plannedWindow, runIdFor, shardLabels } from './shard.js';

/** ms -> seconds, to a tenth (the progress line shows it). */
const tenths = (ms: number) => Math.round(ms / 100) / 10;
const REPORT_TIMEOUT_MS = 5000;
/** After their reports the workers close their connections; this long before they are killed. */
const EXIT_GRACE_MS = 4000;

/** The first abort wins: its reason goes into the result and its code becomes the exit code. */
class Abort {
  reason: string | null = null;
  code: number = EXIT.ok;
  private wake: () => void = () => undefined;
  readonly signalled = new Promise<void>((resolve) => (this.wake = resolve));

  raise(reason: string, code: number): void {
    if (this.reason !== null) return;
    this.reason = reason;
    this.code = code;
    this.wake();
  }
  /** Sleeps `ms`, or less when the run is aborted (the timer is cleared: no lingering wait). */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      void this.signalled.then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
  /** Waits for `p`, or returns early (undefined) when the run is aborted. */
  until<T>(p: Promise<T>): Promise<T | undefined> {
    return Promise.race([p, this.signalled.then(() => undefined)]);
  }
}

interface Target {
  mode: string;
  health: Record<string, unknown> | null;
}

interface Window {
  start: Date;
  startMs: number;
  cpu: NodeJS.CpuUsage;
  serverSentBefore: number | null;
}

/** One run: the phases in order, with their shared state in fields instead of closures. */
class ClientRun {
  private readonly startedAt = new Date();
  /** Timeline second 0 starts here (µs, protocol clock); the phases cut it. */
  private readonly phases: Phases = {
    originUs: nowUs(),
    warmupStartUs: null,
    windowStartUs: null,
    windowEndUs: null,
  };
  /** --start-at: the window by the wall clock (epoch ms), the same on every shard. */
  private readonly plan: { start: number; end: number } | null;
  /** How late the window opened against the plan, ms. */
  private lateMs = 0;
  private readonly abort = new Abort();
  private readonly sab: SharedArrayBuffer;
  private readonly progress: Progress;
  private phase = 'connect';
  private readonly ticker: NodeJS.Timeout;
  private metricsServer: Awaited<ReturnType<typeof serveMetrics>> | null = null;
  private pool: WorkerPool | null = null;
  private connectDone = false;
  /** Set once the workers were asked for their reports (they then close and exit themselves). */
  private collected = false;
  private readonly onSigint = (): void => {
    if (this.abort.reason !== null) process.exit(EXIT.interrupted);
    this.abort.raise('interrupted by SIGINT', EXIT.interrupted);
  };

  constructor(private readonly cfg: Config) {
    this.sab = newSharedCounters(cfg.workers);
    this.plan = plannedWindow(cfg.startAt, cfg.warmup, cfg.duration);
    this.progress = new Progress(this.sab, cfg.workers, cfg.clients, process.stderr, !cfg.quiet);
    this.ticker = setInterval(() => {
      this.progress.tick(this.phase);
    }, 1000);
  }

  async execute(): Promise<number> {
    try {
      return await this.runPhases();
    } finally {
      await this.teardown();
    }
  }

  private async runPhases(): Promise<number> {
    const cfg = this.cfg;
    const target = await this.probe();
    if (target === null) return EXIT.badInput;
    // Shards derive the same id from their common start.
    const runId =
      cfg.runId ??
      runIdFor(cfg.startAt !== null ? new Date(cfg.startAt) : this.startedAt, target.mode);
    if (!(await this.startMetrics(target.mode, runId))) return EXIT.badInput;
    this.pool = this.startWorkers();
    process.on('SIGINT', this.onSigint);

    if (!(await this.connect(this.pool))) return EXIT.badInput;
    await this.warmup();
    const window = await this.measure(this.pool);
    const result = await this.collect(this.pool, window, target, runId);
    await this.emit(result);
    return this.abort.reason === null ? EXIT.ok : this.abort.code;
  }

  private async probe(): Promise<Target | null> {
    const url = this.cfg.url;
    const probe = await probeHealth(url, 3000);
    if (!probe.reachable) {
      process.stderr.write(`client-bench: cannot reach ${url}: ${probe.error}\n`);
      return null;
    }
    const health = probe.health;
    const mode = typeof health?.mode === 'string' ? health.mode : 'unknown';
    if (health === null)
      process.stderr.write(
        `client-bench: ${url} has no wsbench /health (${probe.error ?? 'no body'}); mode "unknown"\n`,
      );
    return { mode, health };
  }

  private async startMetrics(mode: string, runId: string): Promise<boolean> {
    const port = this.cfg.metricsPort;
    if (port === null) return true;
    const register = createRegistry(
      { sab: this.sab, workers: this.cfg.workers, cpuCores: () => this.progress.cpuCores() },
      { mode, run_id: runId, ...shardLabels(this.cfg.shard) },
    );
    try {
      this.metricsServer = await serveMetrics(register, port);
    } catch (err) {
      process.stderr.write(
        `client-bench: cannot serve metrics on --metrics-port "${port}": ${(err as Error).message}\n`,
      );
      return false;
    }
    process.stderr.write(
      JSON.stringify({ event: 'metrics', port: this.metricsServer.port }) + '\n',
    );
    return true;
  }

  private startWorkers(): WorkerPool {
    return new WorkerPool(this.cfg, this.sab, this.metricsServer !== null, this.phases.originUs, {
      openCount: (total, lastClose) => {
        if (this.connectDone && total === 0 && this.cfg.onServerClose === 'abort')
          this.abort.raise(
            `server closed all ${this.cfg.clients} connections mid-run (last: ${lastClose})`,
            EXIT.aborted,
          );
      },
      failed: (w, err) => {
        this.abort.raise(`worker ${w} failed: ${err.stack ?? err.message}`, EXIT.failed);
      },
    });
  }

  /** false when not a single connection could be opened (bad input: nothing to measure). */
  private async connect(pool: WorkerPool): Promise<boolean> {
    const conn = await this.abort.until(pool.connected());
    if (conn === undefined) return true; // aborted while connecting: a partial result follows
    this.connectDone = true;
    const opened = conn.reduce((a, m) => a + m.opened, 0);
    const failed = conn.reduce((a, m) => a + m.failed, 0);
    const firstError = conn.find((m) => m.firstError !== null)?.firstError ?? 'unknown error';
    if (opened === 0) {
      this.progress.done();
      process.stderr.write(`client-bench: no connection could be opened: ${firstError}\n`);
      return false;
    }
    if (failed > 0)
      process.stderr.write(
        `client-bench: ${failed} of ${this.cfg.clients} connections failed: ${firstError}\n`,
      );
    if (pool.open() === 0)
      this.abort.raise('every connection closed during the connect phase', EXIT.aborted);
    return true;
  }

  /** Sleeps `ms` (default `seconds`) while the progress line shows `label i/N s`. */
  private async timed(label: string, seconds: number, ms = seconds * 1000): Promise<void> {
    const t0 = Date.now();
    this.phase = `${label} 0/${seconds}s`;
    const tick = setInterval(() => {
      this.phase = `${label} ${Math.round((Date.now() - t0) / 1000)}/${seconds}s`;
    }, 200);
    await this.abort.sleep(ms);
    clearInterval(tick);
  }

  private async warmup(): Promise<void> {
    this.phases.warmupStartUs = nowUs();
    // With --start-at the warm-up ends at the planned window start by the wall clock.
    const ms = this.plan ? this.plan.start - Date.now() : this.cfg.warmup * 1000;
    if (this.abort.reason === null && ms > 0)
      await this.timed('warmup', this.plan ? tenths(ms) : this.cfg.warmup, ms);
  }

  private async measure(pool: WorkerPool): Promise<Window | null> {
    if (this.abort.reason !== null) return null;
    this.lateMs = this.plan ? Math.max(0, Date.now() - this.plan.start) : 0;
    if (this.lateMs > 250)
      process.stderr.write(
        `client-bench: window started ${String(this.lateMs)} ms after --start-at + warm-up (connecting took longer); it still ends on time\n`,
      );
    await this.abort.until(pool.startWindow());
    this.phases.windowStartUs = nowUs();
    const serverSentBefore = await readServerSent(this.cfg.url);
    const window: Window = {
      start: new Date(),
      startMs: performance.now(),
      cpu: process.cpuUsage(),
      serverSentBefore,
    };
    const ms = this.plan ? Math.max(0, this.plan.end - Date.now()) : this.cfg.duration * 1000;
    const at = this.cfg.reconnectAt;
    const storm =
      at === null
        ? null
        : setTimeout(() => {
            pool.broadcast({ kind: 'reconnect' });
          }, at * 1000);
    await this.timed('run', this.plan ? tenths(ms) : this.cfg.duration, ms);
    if (storm !== null) clearTimeout(storm);
    return window;
  }

  /** Ends the window and merges the reports (also after an abort: what was measured counts). */
  private async collect(
    pool: WorkerPool,
    window: Window | null,
    target: Target,
    runId: string,
  ): Promise<Result> {
    const windowEndedAt = new Date();
    if (window !== null) this.phases.windowEndUs = nowUs();
    const cpu = process.cpuUsage(window?.cpu);
    const windowWallSec = window !== null ? (performance.now() - window.startMs) / 1000 : 0;
    this.collected = true;
    const got = await pool.endWindow(REPORT_TIMEOUT_MS);
    const before = window?.serverSentBefore ?? null;
    const after = before === null ? null : await readServerSent(this.cfg.url);
    this.progress.done();
    const present = got.filter((r): r is WorkerReport => r !== null);
    const agg = aggregate(present);
    const missing = pool.size - present.length;
    if (missing > 0) {
      agg.errors.push({
        type: 'worker',
        count: missing,
        message: `no report within ${REPORT_TIMEOUT_MS} ms`,
      });
      // A worker too busy to answer was saturated, and its connections' counts are missing: the
      // result must say so, never read as a quiet (or zero) throughput figure.
      this.abort.raise(
        `${missing} of ${pool.size} client worker(s) did not report within ${REPORT_TIMEOUT_MS} ms ` +
          '(saturated): their connections are missing from this result',
        EXIT.aborted,
      );
    }
    const result = buildResult(agg, {
      config: this.cfg,
      runId,
      startedAt: this.startedAt,
      endedAt: new Date(),
      window: window !== null ? { start: window.start, end: windowEndedAt } : null,
      mode: target.mode,
      health: target.health,
      serverSent: before !== null && after !== null ? after - before : null,
      cpuCores: windowWallSec > 0 ? (cpu.user + cpu.system) / 1e6 / windowWallSec : 0,
      aborted: this.abort.reason,
      phases: this.phases,
      shard: this.cfg.shard && {
        ...this.cfg.shard,
        totalClients: this.cfg.totalClients,
        startAt: this.cfg.startAt,
        lateMs: this.lateMs,
      },
    });
    if (missing > 0) {
      result.client.clientBound = true;
      const s = result.client.saturation;
      if (s !== undefined) {
        s.saturated = true;
        s.reason = `${missing} worker(s) too busy to report${s.reason !== '' ? `; ${s.reason}` : ''}`;
      }
    }
    return result;
  }

  private async emit(result: Result): Promise<void> {
    const cfg = this.cfg;
    if (cfg.out !== null) {
      await mkdir(dirname(cfg.out), { recursive: true });
      await writeFile(cfg.out, JSON.stringify(result, null, 2) + '\n');
    }
    if (cfg.json) process.stdout.write(JSON.stringify(result) + '\n');
    if (!cfg.quiet || this.abort.reason !== null)
      process.stderr.write(formatSummary(result) + '\n');
  }

  private async teardown(): Promise<void> {
    clearInterval(this.ticker);
    this.progress.done();
    process.off('SIGINT', this.onSigint);
    await this.pool?.close(this.collected ? EXIT_GRACE_MS : 0);
    await this.metricsServer?.close();
  }
}

runMain(async () => {
  if (process.argv[2] === 'merge') {
    const { mergeMain } = await import('./merge.js');
    return mergeMain(process.argv.slice(3));
  }
  try {
    useClockFromEnv();
  } catch (err) {
    if (err instanceof RangeError) throw new UsageError(`client-bench: ${err.message}`);
    throw err;
  }
  const parsed = parseArgs(process.argv.slice(2));
  if (parsed.help) {
    process.stdout.write(helpText() + '\n');
    return EXIT.ok;
  }
  return new ClientRun(parsed.config).execute();
});
