#!/usr/bin/env node
// Entry point: config -> generator, metrics, routes -> mode -> listen -> ready line -> pacer.
// stdout carries exactly one JSON line (the ready line) for scripts; humans read stderr.
import { useClockFromEnv } from '../protocol/index.js';
import { ConfigError, helpText, parseConfig, type ServerConfig } from './config.js';
import { Generator } from './generator.js';
import { HttpRoutes, readVersions } from './http.js';
import { createMetrics, ServerStats } from './metrics.js';
import { MODES, ModeUnavailableError, type BroadcastMode } from './mode.js';
import { Pacer } from './pacer.js';
import { SymbolTable } from './session.js';

const SHUTDOWN_DEADLINE_MS = 4500;

function log(message: string): void {
  process.stderr.write(`wsbench-server: ${message}\n`);
}

function readConfig(): ServerConfig | null {
  try {
    useClockFromEnv();
  } catch (err) {
    throw new ConfigError(`wsbench-server: invalid WSBENCH_CLOCK: ${(err as Error).message}`);
  }
  const parsed = parseConfig(process.argv.slice(2));
  if (parsed.help) {
    process.stdout.write(helpText());
    return null;
  }
  return parsed.config;
}

async function main(): Promise<void> {
  let config: ServerConfig | null;
  try {
    config = readConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(err.message + '\n');
    process.exitCode = 2;
    return;
  }
  if (!config) return;

  const generator = new Generator(config.symbols);
  const stats = new ServerStats();
  const metrics = createMetrics(config.mode, stats, () => generator.generated, config.rate);
  const routes = new HttpRoutes({
    mode: config.mode,
    rate: config.rate,
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
    mode = await MODES[config.mode]({ config, generator, symbols, stats, routes, log });
    port = await mode.listen();
  } catch (err) {
    log(
      err instanceof ModeUnavailableError ? err.message : `cannot start: ${(err as Error).message}`,
    );
    process.exitCode = 1;
    return;
  }

  const pacer = new Pacer({
    rate: config.rate,
    batch: config.batch,
    timer: mode.timer,
    generator,
    onBatch: (batch) => mode.broadcast(batch),
    onTurn: metrics.observeTurn,
    wanted: () => mode.hasSubscribers(),
  });

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping`);
    pacer.stop();
    // Whatever happens during the close, exit within the 5 s the contract promises.
    setTimeout(() => {
      log('shutdown took too long; exiting');
      process.exit(0);
    }, SHUTDOWN_DEADLINE_MS).unref();
    mode.close().then(
      () => {
        process.exitCode = 0;
        // Native handles (uWS) may keep the loop alive; nothing is left to flush.
        setTimeout(() => process.exit(0), 100).unref();
      },
      (err: Error) => {
        log(`close failed: ${err.message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  pacer.start();
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
    `${config.mode} listening on ${config.host}:${port} (rate ${config.rate || 'max'}, ` +
      `${config.symbols} symbols, batch ${config.batch}, backpressure ${config.maxBackpressure} B ` +
      `${config.slowClient})`,
  );
}

main().catch((err: Error) => {
  log(`fatal: ${err.stack ?? err.message}`);
  process.exitCode = 1;
});
