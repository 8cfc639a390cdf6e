// The one interface every server mode implements, and the mode table: the only place that
// switches on the mode name. A new mode is one file plus one line here.
import type { ServerConfig, ModeName } from './config.js';
import type { Generator, TickBatch } from './generator.js';
import type { HttpRoutes } from './http.js';
import type { ServerStats } from './metrics.js';
import type { PacerTimer } from './pacer.js';
import type { SymbolTable } from './session.js';

export interface ModeContext {
  config: ServerConfig;
  generator: Generator;
  symbols: SymbolTable;
  stats: ServerStats;
  routes: HttpRoutes;
  /** Human-readable diagnostics (stderr). */
  log: (message: string) => void;
}

export interface BroadcastMode {
  /** Which pacer timer drives this mode (the naive baseline keeps the seed's setInterval). */
  readonly timer: PacerTimer;
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

type ModeFactory = (ctx: ModeContext) => Promise<BroadcastMode>;

// Modes are imported lazily so that ws modes never load uWebSockets.js and vice versa.
export const MODES: Record<ModeName, ModeFactory> = {
  'ws-naive': async (ctx) => new (await import('./mode-ws-naive.js')).WsNaiveMode(ctx),
  ws: async (ctx) => new (await import('./mode-ws.js')).WsMode(ctx),
  uws: async (ctx) => (await import('./mode-uws.js')).createUwsMode(ctx),
};
