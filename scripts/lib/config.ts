// Settings of make bench / make compare / make capacity: one flag table per script on the
// protocol CLI layer (protocol/cli.ts). The Makefile exports its variables (MODE, CLIENTS, ...),
// which are each flag's env fallback, so `make bench MODE=ws`, `MODE=ws node dist/scripts/bench.js`
// and `node dist/scripts/bench.js --mode ws` are the same run. A bad value is a UsageError (exit 2)
// whose message quotes the value and lists what is allowed.
import {
  Invalid,
  defineFlags,
  helpText,
  parse,
  parseCli,
  type FlagTable,
  type HelpOptions,
  type Parser,
  type Values,
} from '../../protocol/cli.js';
import { MODE_NAMES, type ModeName } from '../../protocol/modes.js';
import type { RunPlan, RuntimeName } from './result.js';
import {
  SCENARIO_NAMES,
  scenarioPlan,
  type ScenarioName,
  type ScenarioPlan,
} from '../scenarios/index.js';

function custom<T>(allowed: string, fn: (raw: string) => T): Parser<T> {
  return Object.assign(fn, { allowed });
}

/** A list parser that also refuses an entry given twice. */
function uniqueList<V extends string>(values: readonly V[]): Parser<V[]> {
  const list = parse.list(parse.oneOf(values), `a space-separated list of ${values.join(', ')}`);
  return custom(`${list.allowed}, each at most once`, (raw) => {
    const items = list(raw);
    if (new Set(items).size !== items.length)
      throw new Invalid(`${list.allowed}, each at most once`);
    return items;
  });
}

/** PIN: auto, or a boolean. */
const pinParser = custom<'auto' | boolean>('auto, 1 or 0 (true/false, yes/no, on/off)', (raw) => {
  const v = raw.trim().toLowerCase();
  if (v === 'auto') return 'auto';
  try {
    return parse.bool()(v);
  } catch {
    throw new Invalid('auto, 1 or 0 (true/false, yes/no, on/off)');
  }
});

const cpuList = parse.orNull(
  parse.matching(/^\d+(-\d+)?(,\d+(-\d+)?)*$/, 'a CPU list such as 0, 1,3 or 2-3'),
  ['none'],
);

/** The settings every run shares (bench, compare, capacity). */
export const RUN_FLAGS = defineFlags({
  clients: {
    long: 'clients',
    short: 'c',
    env: ['CLIENTS'],
    arg: 'N',
    help: 'WebSocket connections',
    default: 100,
    parse: parse.int(1, 100_000),
  },
  duration: {
    long: 'duration',
    short: 'd',
    env: ['DURATION'],
    arg: 'S',
    help: 'measured seconds (after warm-up)',
    default: 30,
    parse: parse.number(1, 3600),
  },
  warmup: {
    long: 'warmup',
    short: 'w',
    env: ['WARMUP'],
    arg: 'S',
    help: 'warm-up seconds (not counted)',
    default: 5,
    parse: parse.number(0, 600),
  },
  symbols: {
    long: 'symbols',
    short: 's',
    env: ['SYMBOLS'],
    arg: 'N',
    help: 'symbols (streams) the server generates',
    default: 8,
    parse: parse.int(1, 1024),
  },
  pin: {
    long: 'pin',
    env: ['PIN'],
    arg: 'auto|1|0',
    help: 'pin server and client to separate cores with taskset',
    default: 'auto',
    parse: pinParser,
  },
  serverCores: {
    long: 'server-cores',
    env: ['SERVER_CORES'],
    arg: 'CPUS',
    help: 'taskset CPU list of the server',
    default: null as string | null,
    defaultText: 'the first allowed CPU',
    parse: cpuList,
  },
  clientCores: {
    long: 'client-cores',
    env: ['CLIENT_CORES'],
    arg: 'CPUS',
    help: 'taskset CPU list of client-bench',
    default: null as string | null,
    defaultText: 'the second allowed CPU',
    parse: cpuList,
  },
  httpLoad: {
    long: 'http-load',
    env: ['HTTP_LOAD'],
    arg: '1|0',
    help: 'autocannon against /snapshot during the window',
    default: true,
    parse: parse.bool(),
  },
  httpConnections: {
    long: 'http-connections',
    env: ['HTTP_CONNECTIONS'],
    arg: 'N',
    help: 'autocannon connections',
    default: 4,
    parse: parse.int(1, 1000),
  },
  prometheus: {
    long: 'prometheus',
    env: ['PROMETHEUS'],
    arg: '1|0',
    help: 'start a local prometheus when one is on PATH',
    default: true,
    parse: parse.bool(),
  },
});

/**
 * RUN_FLAGS with autocannon and Prometheus off unless asked for (compare, soak, the scenarios): on
 * a 2-core box they would take CPU from the server or the client and blur what the run is about.
 */
export const QUIET_RUN_FLAGS = defineFlags({
  ...RUN_FLAGS,
  httpLoad: { ...RUN_FLAGS.httpLoad, default: false },
  prometheus: { ...RUN_FLAGS.prometheus, default: false },
});

const MODE_FLAG = {
  long: 'mode',
  short: 'm',
  env: ['MODE'],
  arg: 'MODE',
  help: 'server mode',
  default: 'uws' as ModeName,
  parse: parse.oneOf(MODE_NAMES),
};

const ticks = parse.int(0, 100_000_000);
/** RATE: unset = the capacity search, N = one run at N ticks/s, max (or 0) = the overload run. */
const rateParser = custom<number | null>('an integer 0-100000000 (ticks/s), or max', (raw) => {
  const v = raw.trim().toLowerCase();
  if (v === 'max') return 0;
  try {
    return ticks(v);
  } catch {
    throw new Invalid('an integer 0-100000000 (ticks/s), or max');
  }
});

const RATE_FLAG = {
  long: 'rate',
  short: 'r',
  env: ['RATE'],
  arg: 'N|max',
  help: 'ticks/s over all symbols for one run; max (or 0) = as fast as possible (overload); unset = the capacity search',
  default: null as number | null,
  defaultText: 'unset (capacity search)',
  parse: rateParser,
};

/** The capacity search (make capacity, and make bench without RATE). */
export const CAPACITY_FLAGS = defineFlags({
  sloP99Ms: {
    long: 'slo-p99-ms',
    env: ['SLO_P99_MS'],
    arg: 'MS',
    help: 'latency objective: p99 from due time to receive',
    default: 10,
    parse: parse.number(0.1, 60_000),
  },
  budgetS: {
    long: 'capacity-budget-s',
    env: ['CAPACITY_BUDGET_S'],
    arg: 'S',
    help: 'time budget of one search (steps stop when it is spent)',
    default: 180,
    parse: parse.number(5, 86_400),
  },
  vary: {
    long: 'vary',
    env: ['VARY'],
    arg: 'rate|clients',
    help: 'the axis searched: ticks/s at CLIENTS, or clients at RATE',
    default: 'rate',
    parse: parse.oneOf(['rate', 'clients'] as const),
  },
  stepS: {
    long: 'step-s',
    env: ['STEP_S'],
    arg: 'S',
    help: 'measured seconds of one step',
    default: 4,
    parse: parse.number(0.5, 600),
  },
  stepWarmupS: {
    long: 'step-warmup-s',
    env: ['STEP_WARMUP_S'],
    arg: 'S',
    help: 'warm-up seconds of one step',
    default: 2,
    parse: parse.number(0, 600),
  },
  startRate: {
    long: 'start-rate',
    env: ['START_RATE'],
    arg: 'N',
    help: 'first rate of the ramp (ticks/s); VARY=clients: the fixed rate when RATE is unset',
    default: 1000,
    parse: parse.int(1, 100_000_000),
  },
  startClients: {
    long: 'start-clients',
    env: ['START_CLIENTS'],
    arg: 'N',
    help: 'VARY=clients: first client count of the ramp',
    default: 50,
    parse: parse.int(1, 100_000),
  },
  precision: {
    long: 'precision',
    env: ['PRECISION'],
    arg: 'F',
    help: 'bisect until the failing step is within this fraction of the passing one',
    default: 0.1,
    parse: parse.number(0.01, 1),
  },
});

/** What client-bench does when the server closes every connection mid-run. */
export const ON_SERVER_CLOSE_FLAG = {
  long: 'on-server-close',
  env: ['ON_SERVER_CLOSE'],
  arg: 'P',
  help: 'the server gone mid-run: abort (partial result, exit 3), or reconnect (the client reopens its connections until the server is back, e.g. restarted by its container restart policy, and reports the outage)',
  default: 'abort' as 'abort' | 'reconnect',
  parse: parse.oneOf(['abort', 'reconnect'] as const),
};

/** client-bench's flags for an ON_SERVER_CLOSE setting (none for the default, abort). */
export function onServerCloseArgs(policy: 'abort' | 'reconnect'): string[] {
  return policy === 'reconnect' ? ['--on-server-close', 'reconnect'] : [];
}

export const BENCH_FLAGS = defineFlags({
  mode: MODE_FLAG,
  rate: RATE_FLAG,
  ...RUN_FLAGS,
  ...CAPACITY_FLAGS,
  onServerClose: ON_SERVER_CLOSE_FLAG,
});

export const COMPARE_FLAGS = defineFlags({
  ...CAPACITY_FLAGS,
  modes: {
    long: 'modes',
    env: ['MODES'],
    arg: 'LIST',
    help: 'modes compared',
    default: [...MODE_NAMES] as ModeName[],
    parse: uniqueList(MODE_NAMES),
  },
  scenarios: {
    long: 'scenarios',
    env: ['SCENARIOS'],
    arg: 'LIST',
    help: 'compare scenarios (scripts/scenarios/)',
    default: ['capacity', 'firehose', 'fanout'] as ScenarioName[],
    parse: uniqueList(SCENARIO_NAMES),
  },
  runtimes: {
    long: 'runtimes',
    env: ['RUNTIMES'],
    arg: 'LIST',
    help: 'runtimes side by side (docker: the stack of make up, its servers restarted per run)',
    default: ['native'] as RuntimeName[],
    parse: uniqueList(['native', 'docker'] as const),
  },
  repeats: {
    long: 'repeats',
    env: ['REPEATS'],
    arg: 'N',
    help: 'repeats per mode and scenario (alternating order)',
    default: 3,
    parse: parse.int(1, 100),
  },
  steadyRate: {
    long: 'steady-rate',
    env: ['STEADY_RATE'],
    arg: 'N',
    help: 'ticks/s of the steady scenario',
    default: 300,
    parse: parse.int(1, 100_000_000),
  },
  ...QUIET_RUN_FLAGS,
});

export type RunSettings = Values<typeof RUN_FLAGS>;
export type BenchConfig = Values<typeof BENCH_FLAGS>;
export type CapacitySettings = Values<typeof CAPACITY_FLAGS>;
export type CompareConfig = Values<typeof COMPARE_FLAGS> & { plans: ScenarioPlan[] };

/** Parses argv + env with `table`; null when --help was printed. */
export function readConfig<T extends FlagTable>(
  program: string,
  table: T,
  help: HelpOptions,
  argv: readonly string[] = process.argv.slice(2),
  env: NodeJS.ProcessEnv = process.env,
): Values<T> | null {
  const parsed = parseCli(program, table, argv, { env });
  if (parsed.help) {
    process.stdout.write(helpText(table, help));
    return null;
  }
  return parsed.values;
}

export function benchConfig(
  argv: readonly string[] = [],
  env: NodeJS.ProcessEnv = process.env,
): BenchConfig {
  const cfg = readConfig('wsbench-bench', BENCH_FLAGS, BENCH_HELP, argv, env);
  if (cfg === null) throw new Error('--help');
  return cfg;
}

export function withPlans(values: Values<typeof COMPARE_FLAGS>): CompareConfig {
  return { ...values, plans: values.scenarios.map((name) => scenarioPlan(name, values)) };
}

export const BENCH_HELP: HelpOptions = {
  usage: 'make bench [VAR=value ...]  |  node dist/scripts/bench.js [options]',
  about: [
    'Without RATE: the capacity search for MODE (the highest rate with every tick delivered and',
    'p99 within SLO_P99_MS). RATE=N: one run at N ticks/s. RATE=max: the overload run. Server and',
    'client-bench run as local processes; result.json, report.md and report.html land under',
    'RESULTS_DIR/<run-id>/ (RESULTS_DIR default ./results).',
  ],
};

export const CAPACITY_HELP: HelpOptions = {
  usage: 'make capacity [VAR=value ...]  |  node dist/scripts/capacity.js [options]',
  about: [
    'Open-loop runs at fixed rates (VARY=rate) or client counts (VARY=clients): ramp x2, then',
    'bisect. A step passes when every due tick arrives (no gaps, drops, skipped backlog), p99',
    'from due time <= SLO_P99_MS and the client is not saturated. Bounded by CAPACITY_BUDGET_S.',
  ],
};

export const COMPARE_HELP: HelpOptions = {
  usage: 'make compare [VAR=value ...]  |  node dist/scripts/compare.js [options]',
  about: [
    'Every mode in MODES over SCENARIOS, REPEATS times, in alternating order; the success table.',
  ],
};

/** What one run is asked to do, from the settings (rate and clients may be overridden). */
export function planOf(
  cfg: RunSettings & { mode: ModeName; rate: number | null },
  over: Partial<RunPlan> = {},
): RunPlan {
  return {
    mode: cfg.mode,
    clients: cfg.clients,
    duration: cfg.duration,
    warmup: cfg.warmup,
    rate: cfg.rate ?? 0,
    symbols: cfg.symbols,
    httpLoad: cfg.httpLoad,
    httpConnections: cfg.httpConnections,
    ...over,
  };
}
