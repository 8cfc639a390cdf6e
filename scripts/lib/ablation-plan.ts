// Which server configurations an ablation runs, and in what order. With the server's switch table
// (an engine per library, each optimisation a switch of `--opt`): the baseline (no switch), each
// switch alone, all but each one (leave-one-out), all, and the other library at the end of the
// waterfall: its naive set (`<lib>-none`, the library swap alone, when it has switches) and its
// full set (the swap combined). Without a switch table the configurations are the mode presets (ws-naive →
// ws → uws), so the command, its table and its chart already work and only gain rows later.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { MODE_NAMES, type ModeName } from '../../protocol/modes.js';
import { repoRoot } from './versions.js';

export type ConfigKind = 'baseline' | 'alone' | 'leave-one-out' | 'all' | 'library';

export interface AblationConfig {
  /** unique, short: "baseline", "+pacer", "all-pacer", "all", "uws-none", "uws" */
  name: string;
  kind: ConfigKind;
  /** the switch this configuration isolates (alone / leave-one-out), else null */
  opt: string | null;
  mode: ModeName;
  /** extra server flags (`--opt a,b`) */
  serverArgs: string[];
  /** the switches turned on (null: a mode preset whose switches are not known) */
  opts: string[] | null;
}

/** The server's optimisation switches per engine, as the server publishes them. */
export interface SwitchTable {
  /** where it came from (shown in the report) */
  source: string;
  /** engine mode → its switches in a fixed order */
  engines: Partial<Record<ModeName, readonly string[]>>;
  /** the flag that takes a comma list of switches */
  flag: string;
}

/**
 * The switch table from the compiled server: `dist/server/opts.js` exporting `OPTIMISATIONS`
 * (engine mode → switch names) and optionally `OPT_FLAG` (default `--opt`). Null when the server
 * has none yet; then the ablation runs the mode presets.
 */
export async function loadSwitchTable(root = repoRoot): Promise<SwitchTable | null> {
  const file = path.join(root, 'dist/server/opts.js');
  if (!existsSync(file)) return null;
  const mod = (await import(pathToFileURL(file).href)) as {
    OPTIMISATIONS?: unknown;
    OPT_FLAG?: unknown;
  };
  const raw = mod.OPTIMISATIONS;
  if (raw === null || typeof raw !== 'object') return null;
  const engines: Partial<Record<ModeName, readonly string[]>> = {};
  for (const [mode, list] of Object.entries(raw as Record<string, unknown>)) {
    if (!(MODE_NAMES as readonly string[]).includes(mode) || !Array.isArray(list)) continue;
    engines[mode as ModeName] = list.filter((x): x is string => typeof x === 'string');
  }
  return {
    source: 'dist/server/opts.js OPTIMISATIONS',
    engines,
    flag: typeof mod.OPT_FLAG === 'string' ? mod.OPT_FLAG : '--opt',
  };
}

/** The other library's preset for the last bar of the waterfall. */
function libraryOf(mode: ModeName): ModeName | null {
  if (mode.startsWith('ws')) return MODE_NAMES.includes('uws') ? 'uws' : null;
  return MODE_NAMES.includes('ws') ? 'ws' : null;
}

/** The configurations of `make ablation MODE=<mode>`. */
export function ablationConfigs(mode: ModeName, table: SwitchTable | null): AblationConfig[] {
  const opts = table?.engines[mode];
  if (table === null || opts === undefined || opts.length === 0) return presetConfigs();
  const arg = (on: readonly string[]): string[] => [
    table.flag,
    on.length > 0 ? on.join(',') : 'none',
  ];
  const configs: AblationConfig[] = [
    { name: 'baseline', kind: 'baseline', opt: null, mode, serverArgs: arg([]), opts: [] },
  ];
  for (const o of opts)
    configs.push({ name: `+${o}`, kind: 'alone', opt: o, mode, serverArgs: arg([o]), opts: [o] });
  if (opts.length > 2) {
    for (const o of opts) {
      const rest = opts.filter((x) => x !== o);
      configs.push({
        name: `all-${o}`,
        kind: 'leave-one-out',
        opt: o,
        mode,
        serverArgs: arg(rest),
        opts: rest,
      });
    }
  }
  configs.push({
    name: 'all',
    kind: 'all',
    opt: null,
    mode,
    serverArgs: arg(opts),
    opts: [...opts],
  });
  const lib = libraryOf(mode);
  if (lib !== null) {
    const libOpts = table.engines[lib];
    // With switches on both engines, the library swap alone too: the other engine's naive set,
    // against this engine's baseline (the full sets against each other are all vs the last row).
    if (libOpts !== undefined && libOpts.length > 0)
      configs.push({
        name: `${lib}-none`,
        kind: 'library',
        opt: null,
        mode: lib,
        serverArgs: arg([]),
        opts: [],
      });
    configs.push({
      name: lib,
      kind: 'library',
      opt: null,
      mode: lib,
      serverArgs: libOpts !== undefined && libOpts.length > 0 ? arg(libOpts) : [],
      opts: libOpts !== undefined ? [...libOpts] : null,
    });
  }
  return configs;
}

/** Without switches: ws-naive (baseline) → ws (all of ws) → uws (the library swap). */
function presetConfigs(): AblationConfig[] {
  const preset = (name: ModeName, kind: ConfigKind): AblationConfig => ({
    name,
    kind,
    opt: null,
    mode: name,
    serverArgs: [],
    opts: null,
  });
  // the same three for MODE=ws and MODE=uws: the library swap can't be isolated without switches
  const out = [preset('ws-naive', 'baseline'), preset('ws', 'all'), preset('uws', 'library')];
  return out.filter((c) => (MODE_NAMES as readonly string[]).includes(c.name));
}

/**
 * Alternating order over the repeats (A B C, C B A, ...), so drift over the minutes of an
 * ablation (thermal, other load) falls on every configuration alike.
 */
export function ablationOrder(
  configs: readonly AblationConfig[],
  repeats: number,
): { config: AblationConfig; repeat: number }[] {
  const order: { config: AblationConfig; repeat: number }[] = [];
  for (let repeat = 0; repeat < repeats; repeat++) {
    const seq = repeat % 2 === 0 ? configs : [...configs].reverse();
    for (const config of seq) order.push({ config, repeat });
  }
  return order;
}
