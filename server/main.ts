#!/usr/bin/env node
// Entry point: config -> generator, metrics, routes -> mode -> listen -> ready line -> pacer.
// stdout carries exactly one JSON line (the ready line) for scripts; humans read stderr.
import { runMain, UsageError } from '../protocol/cli.js';
import { EXIT, useClockFromEnv } from '../protocol/index.js';
import { helpText, parseConfig, type ServerConfig } from './config.js';
import { Generator } from './generator.js';
import { HttpRoutes, readVersions } from './http.js';
import { createMetrics, ServerStats } from './metrics.js';
import { ModeUnavailableError, type BroadcastMode } from './mode.js';
import { MODES } from './modes.js';
import { optsLabel, reportedOpts, resolveOpts } from './opts.js';
import { Pacer } from './pacer.js';
import { SymbolTable } from './session.js';

const SHUTDOWN_DEADLINE_MS = 4500;

function log(message: string): void {
  process.stderr.write(`wsbench-server: ${message}\n`);
}

/** The config, or null after --help; throws UsageError on bad input (exit 2). */
function readConfig(): ServerConfig | null {
  try {
    useClockFromEnv();
  } catch (err) {
    throw new UsageError(
      `wsbench-server: invalid WSBENCH_CLOCK: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  const parsed = parseConfig(process.argv.slice(2));
  if (parsed.help) {
    process.stdout.write(helpText());
    return null;
  }
  return parsed.config;
}

async function main(): Promise<number | undefined> {
  const config = readConfig();
  if (!config) return EXIT.ok;

  const opts = resolveOpts(config.mode, config.opt);
  const shownOpts = reportedOpts(config.mode, opts);
  const generator = new Generator(config.symbols);
  const stats = new ServerStats();
  // The pacer comes last (it needs the mode); the metrics read it through this late binding.
  let pacer: Pacer | null = null;
  const metrics = createMetrics({
    mode: config.mode,
    stats,
    ticksGenerated: () => generator.generated,
    targetRate: config.rate,
    pacer: {
      skipped: () => pacer?.skipped ?? 0,
      behindSeconds: () => pacer?.behindSeconds() ?? 0,
    },
    opts: optsLabel(shownOpts),
    pacerKind: () => pacer?.kind ?? 'none',
  });
  const routes = new HttpRoutes({
    mode: config.mode,
    rate: config.rate,
    pacer: () => pacer?.kind ?? 'sleep',
    turnMs: config.turnMs,
    burnUs: config.burnUs,
    opts: shownOpts,
    generator,
    stats,
    metrics,
    versions: readVersions(),
    startedAtMs: Date.now(),
  });
  const symbols = new SymbolTable(generator.symbols);

  let mode: BroadcastMode;
  let port: number;
  try {
    mode = await MODES[config.mode]({ config, opts, generator, symbols, stats, routes, log });
    port = await mode.listen();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    log(err instanceof ModeUnavailableError ? message : `cannot start: ${message}`);
    return EXIT.failed;
  }

  const running = new Pacer({
    rate: config.rate,
    batch: config.batch,
    timer: config.pacer === 'auto' ? mode.defaultPacer : config.pacer,
    burnUs: config.burnUs,
    turnMs: config.turnMs,
    generator,
    onBatch: (batch) => {
      mode.broadcast(batch);
    },
    onTurn: metrics.observeTurn,
    onLag: metrics.observeLag,
    wanted: () => mode.hasSubscribers(),
  });

  pacer = running;

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping`);
    running.stop();
    // Whatever happens during the close, exit within the 5 s the contract promises.
    setTimeout(() => {
      log('shutdown took too long; exiting');
      process.exit(EXIT.ok);
    }, SHUTDOWN_DEADLINE_MS).unref();
    mode.close().then(
      () => {
        process.exitCode = EXIT.ok;
        // Native handles (uWS) may keep the loop alive; nothing is left to flush.
        setTimeout(() => process.exit(EXIT.ok), 100).unref();
      },
      (err: unknown) => {
        log(`close failed: ${err instanceof Error ? err.message : String(err)}`);
        process.exit(EXIT.failed);
      },
    );
  };
  process.on('SIGTERM', () => {
    shutdown('SIGTERM');
  });
  process.on('SIGINT', () => {
    shutdown('SIGINT');
  });

  running.start();
  process.stdout.write(
    JSON.stringify({
      event: 'listening',
      mode: config.mode,
      host: config.host,
      port,
      pid: process.pid,
    }) + '\n',
  );
  log(
    `${config.mode} listening on ${config.host}:${port} (rate ${config.rate > 0 ? config.rate : 'max'}, ` +
      `${config.symbols} symbols, batch ${config.batch}, pacer ${running.kind}, opts ${optsLabel(shownOpts)}, backpressure ` +
      `${config.maxBackpressure} B ${config.slowClient}${config.burnUs > 0 ? `, burn ${config.burnUs} µs/tick` : ''})`,
  );
}

runMain(main);
