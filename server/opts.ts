// The optimisations of each engine as independent switches (--opt / OPTS). For the ws engine
// `ws-naive` is the empty set and `ws` the full set; for uWebSockets.js `uws` is the full set and
// `--opt none` the seed's naive server ported to uWS as is. So the mode names stay presets and any
// other set is an ablation point. What each switch changes is in docs/server.md ("Optimisations
// as switches"). The flag is parsed before the mode is known (flags and env in any order), so
// parseOpts accepts any engine's switch names and resolveOpts checks them against the mode.
import { Invalid, UsageError, type Parser } from '../protocol/cli.js';
import type { ModeName } from '../protocol/modes.js';

export const WS_OPTS = ['pacer', 'serialize-once', 'frame-once', 'batch', 'nodelay'] as const;
export type WsOpt = (typeof WS_OPTS)[number];
/** The uws engine's switches; `pacer` and `serialize-once` mean what they mean for ws. */
export const UWS_OPTS = ['pacer', 'serialize-once', 'pubsub', 'cork'] as const;
export type UwsOpt = (typeof UWS_OPTS)[number];
export type Opt = WsOpt | UwsOpt;

/** Every engine's switch, in the canonical order (ws's first). */
const ALL_OPTS: readonly Opt[] = [...new Set<Opt>([...WS_OPTS, ...UWS_OPTS])];

/** What --opt holds: the mode's preset, all of the mode's switches, or an explicit set. */
export type OptChoice =
  { preset: true } | { preset: false; all: true } | { preset: false; set: readonly Opt[] };

/** Each mode's switches (the engine it runs) and the set it runs with when --opt is not given. */
const ENGINE: Record<ModeName, { opts: readonly Opt[]; preset: readonly Opt[] }> = {
  'ws-naive': { opts: WS_OPTS, preset: [] },
  ws: { opts: WS_OPTS, preset: WS_OPTS },
  uws: { opts: UWS_OPTS, preset: UWS_OPTS },
};

/** The set each mode runs with when --opt is not given. */
export const PRESETS: Record<ModeName, readonly Opt[]> = {
  'ws-naive': ENGINE['ws-naive'].preset,
  ws: ENGINE.ws.preset,
  uws: ENGINE.uws.preset,
};

const ALLOWED =
  `preset (the mode's own), none, all, or a comma list of: ${WS_OPTS.join(', ')} (ws-naive, ws) ` +
  `or ${UWS_OPTS.join(', ')} (uws)`;

/** Parses `preset`, `none`, `all` or `a,b,c` into a set in the canonical order. */
export const parseOpts: Parser<OptChoice> = Object.assign(
  (raw: string): OptChoice => {
    const v = raw.trim();
    if (v === 'preset') return { preset: true };
    if (v === 'none') return { preset: false, set: [] };
    if (v === 'all') return { preset: false, all: true };
    const parts = v.split(/[\s,+]+/).filter((s) => s !== '');
    if (parts.length === 0) throw new Invalid(ALLOWED);
    for (const p of parts)
      if (!(ALL_OPTS as readonly string[]).includes(p)) throw new Invalid(ALLOWED);
    return { preset: false, set: ALL_OPTS.filter((o) => parts.includes(o)) };
  },
  { allowed: ALLOWED },
);

/**
 * The set `mode` runs with. Throws UsageError (exit 2) when the set names a switch the mode's
 * engine does not have (a ws switch for uws or the reverse), quoting it and listing the mode's.
 */
export function resolveOpts(mode: ModeName, choice: OptChoice): readonly Opt[] {
  const engine = ENGINE[mode];
  if (choice.preset) return engine.preset;
  if ('all' in choice) return engine.opts;
  const foreign = choice.set.filter((o) => !engine.opts.includes(o));
  if (foreign.length > 0)
    throw new UsageError(
      `wsbench-server: invalid --opt "${choice.set.join(',')}" with --mode ${mode}: ` +
        `${foreign.map((o) => `"${o}"`).join(', ')} ${foreign.length === 1 ? 'is' : 'are'} not a ` +
        `switch of ${mode}; expected preset, none, all, or a comma list of: ${engine.opts.join(', ')}`,
    );
  return engine.opts.filter((o) => choice.set.includes(o));
}

/** What /health and the opts label show for a mode running `set`: the set itself. */
export function reportedOpts(_mode: ModeName, set: readonly Opt[]): readonly string[] {
  return set;
}

/** The Prometheus label value of a set: one bounded value per set (`none` for the empty one). */
export function optsLabel(set: readonly string[]): string {
  return set.length === 0 ? 'none' : set.join('+');
}

/**
 * The switch table make ablation reads (scripts/lib/ablation-plan.ts): engine mode -> its switches
 * in canonical order, and the flag that takes them (a comma list, or none for the empty set).
 */
export const OPTIMISATIONS: Partial<Record<ModeName, readonly Opt[]>> = {
  ws: WS_OPTS,
  uws: UWS_OPTS,
};
export const OPT_FLAG = '--opt';
