// The optimisations of the ws engine as independent switches (--opt / OPTS). `ws-naive` is the
// empty set and `ws` the full set, so the mode names stay presets; any other set is an ablation
// point. What each switch changes is in docs/server.md ("Optimisations as switches").
import { Invalid, type Parser } from '../protocol/cli.js';
import type { ModeName } from '../protocol/modes.js';

export const WS_OPTS = ['pacer', 'serialize-once', 'frame-once', 'batch', 'nodelay'] as const;
export type WsOpt = (typeof WS_OPTS)[number];

/** What --opt holds: the mode's preset, or an explicit set (possibly empty). */
export type OptChoice = { preset: true } | { preset: false; set: readonly WsOpt[] };

/** The set each ws mode runs with when --opt is not given. */
export const PRESETS: Record<'ws-naive' | 'ws', readonly WsOpt[]> = {
  'ws-naive': [],
  ws: WS_OPTS,
};

/** What uws does, reported in /health and the opts label (fixed: uws has no switches yet). */
export const UWS_FIXED = ['pubsub', 'pre-encoded', 'pacer'] as const;

const ALLOWED = `preset (the mode's own), none, all, or a comma list of: ${WS_OPTS.join(', ')}`;

/** Parses `preset`, `none`, `all` or `a,b,c` into a set in the canonical order. */
export const parseOpts: Parser<OptChoice> = Object.assign(
  (raw: string): OptChoice => {
    const v = raw.trim();
    if (v === 'preset') return { preset: true };
    if (v === 'none') return { preset: false, set: [] };
    if (v === 'all') return { preset: false, set: WS_OPTS };
    const parts = v.split(/[\s,+]+/).filter((s) => s !== '');
    if (parts.length === 0) throw new Invalid(ALLOWED);
    for (const p of parts)
      if (!(WS_OPTS as readonly string[]).includes(p)) throw new Invalid(ALLOWED);
    return { preset: false, set: WS_OPTS.filter((o) => parts.includes(o)) };
  },
  { allowed: ALLOWED },
);

/** The ws engine's set for a ws mode (uws: none; it has no switches and refuses --opt). */
export function resolveOpts(mode: ModeName, choice: OptChoice): readonly WsOpt[] {
  if (mode === 'uws') return [];
  return choice.preset ? PRESETS[mode] : choice.set;
}

/** What /health and the opts label show for a mode running `set`. */
export function reportedOpts(mode: ModeName, set: readonly WsOpt[]): readonly string[] {
  return mode === 'uws' ? UWS_FIXED : set;
}

/** The Prometheus label value of a set: one bounded value per set (`none` for the empty one). */
export function optsLabel(set: readonly string[]): string {
  return set.length === 0 ? 'none' : set.join('+');
}

/**
 * The switch table make ablation reads (scripts/lib/ablation-plan.ts): engine mode -> its switches
 * in canonical order, and the flag that takes them (a comma list, or none for the empty set).
 */
export const OPTIMISATIONS: Partial<Record<ModeName, readonly WsOpt[]>> = { ws: WS_OPTS };
export const OPT_FLAG = '--opt';
