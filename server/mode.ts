// The one interface every server mode implements (the mode table is modes.ts).
import type { ServerConfig } from './config.js';
import type { Generator, TickBatch } from './generator.js';
import type { HttpRoutes } from './http.js';
import type { ServerStats } from './metrics.js';
import type { Opt } from './opts.js';
import type { PacerKind } from './pacer.js';
import type { SymbolTable } from './session.js';

export interface ModeContext {
  config: ServerConfig;
  /** The optimisation switches this server runs with (opts.ts). */
  opts: readonly Opt[];
  generator: Generator;
  symbols: SymbolTable;
  stats: ServerStats;
  routes: HttpRoutes;
  /** Human-readable diagnostics (stderr). */
  log: (message: string) => void;
}

export interface BroadcastMode {
  /** The pacer this mode runs with under --pacer auto (the naive baseline keeps setInterval). */
  readonly defaultPacer: PacerKind;
  /** Starts listening (WebSocket + HTTP on one port); resolves with the bound port. */
  listen(): Promise<number>;
  /** Whether any client is subscribed to any symbol (at rate 0 the pacer idles otherwise). */
  hasSubscribers(): boolean;
  /** Fans one pacer batch out to the subscribed clients. */
  broadcast(batch: TickBatch): void;
  /** Closes every client with 1001, stops listening; resolves when done (or gave up waiting). */
  close(): Promise<void>;
}

/** Thrown when a mode cannot run here (e.g. the uWS native binary is missing): exit 1. */
export class ModeUnavailableError extends Error {
  override name = 'ModeUnavailableError';
}
