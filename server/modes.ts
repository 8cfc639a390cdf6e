// The mode table: the only place that switches on the mode name. A new mode is one file plus
// one line here.
import type { ModeName } from '../protocol/modes.js';
import type { BroadcastMode, ModeContext } from './mode.js';

type ModeFactory = (ctx: ModeContext) => Promise<BroadcastMode>;

// Modes are imported lazily so that ws modes never load uWebSockets.js and vice versa.
export const MODES: Record<ModeName, ModeFactory> = {
  // The two ws modes are presets of one engine; --opt picks any other set of its switches.
  'ws-naive': async (ctx) => new (await import('./mode-ws.js')).WsEngine(ctx, ctx.opts),
  ws: async (ctx) => new (await import('./mode-ws.js')).WsEngine(ctx, ctx.opts),
  uws: async (ctx) => (await import('./mode-uws.js')).createUwsMode(ctx),
};
