// Settings of make bench / make compare, read once from the environment (the Makefile exports its
// variables), validated, and merged over the defaults. A bad value throws UsageError, which the
// scripts turn into exit code 2 with a message that quotes the value and lists what is allowed.

export const MODES = ['ws-naive', 'ws', 'uws'];

/** The compare scenarios. `clients: 'CLIENTS'` means the CLIENTS setting (default 100). */
export const SCENARIOS = {
  firehose: {
    clients: 1,
    rate: 0,
    description: 'one client, server at maximum rate: raw per-socket throughput',
  },
  fanout: {
    clients: 'CLIENTS',
    rate: 0,
    description: 'CLIENTS clients, server at maximum rate: broadcast throughput',
  },
  steady: {
    clients: 'CLIENTS',
    rate: 'STEADY_RATE',
    description:
      'CLIENTS clients at a fixed tick rate (STEADY_RATE): latency percentiles at equal load',
  },
};

export const BENCH_DEFAULTS = {
  mode: 'uws',
  clients: 100,
  duration: 30,
  warmup: 5,
  rate: 0,
  symbols: 8,
  pin: 'auto',
  httpLoad: true,
  httpConnections: 4,
  prometheus: true,
};

export const COMPARE_DEFAULTS = {
  modes: ['ws-naive', 'ws', 'uws'],
  repeats: 3,
  scenarios: ['firehose', 'fanout', 'steady'],
  steadyRate: 300,
};

export class UsageError extends Error {
  constructor(message) {
    super(message);
    this.name = 'UsageError';
  }
}

function invalid(name, value, expected) {
  return new UsageError(`invalid ${name} "${value}": expected ${expected}`);
}

function has(env, name) {
  return env[name] !== undefined && env[name] !== '';
}

export function intIn(env, name, def, min, max) {
  if (!has(env, name)) return def;
  const v = env[name].trim();
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < min || n > max)
    throw invalid(name, env[name], `an integer from ${min} to ${max}`);
  return n;
}

export function numberIn(env, name, def, min, max) {
  if (!has(env, name)) return def;
  const n = Number(env[name]);
  if (!Number.isFinite(n) || n < min || n > max)
    throw invalid(name, env[name], `a number from ${min} to ${max}`);
  return n;
}

export function oneOf(env, name, def, allowed) {
  if (!has(env, name)) return def;
  const v = env[name].trim();
  if (!allowed.includes(v)) throw invalid(name, env[name], `one of ${allowed.join(', ')}`);
  return v;
}

export function flag(env, name, def) {
  if (!has(env, name)) return def;
  const v = env[name].trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  throw invalid(name, env[name], '1 or 0 (true/false, yes/no, on/off)');
}

export function listOf(env, name, def, allowed) {
  if (!has(env, name)) return def;
  const items = env[name].split(/[\s,]+/).filter(Boolean);
  const bad = items.find((i) => !allowed.includes(i));
  if (items.length === 0 || bad !== undefined) {
    throw invalid(name, env[name], `a space-separated list of ${allowed.join(', ')}`);
  }
  if (new Set(items).size !== items.length)
    throw invalid(name, env[name], 'each entry at most once');
  return items;
}

/** A CPU list for taskset: "0", "1,3", "2-3". */
export function cpuList(env, name) {
  if (!has(env, name)) return null;
  const v = env[name].trim();
  if (!/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(v))
    throw invalid(name, env[name], 'a CPU list such as 0, 1,3 or 2-3');
  return v;
}

export function benchConfig(env = process.env) {
  const pin = has(env, 'PIN') ? env.PIN.trim().toLowerCase() : BENCH_DEFAULTS.pin;
  if (!['auto', '1', '0', 'true', 'false', 'on', 'off', 'yes', 'no'].includes(pin)) {
    throw invalid('PIN', env.PIN, 'auto, 1 or 0');
  }
  return {
    mode: oneOf(env, 'MODE', BENCH_DEFAULTS.mode, MODES),
    clients: intIn(env, 'CLIENTS', BENCH_DEFAULTS.clients, 1, 100000),
    duration: numberIn(env, 'DURATION', BENCH_DEFAULTS.duration, 1, 3600),
    warmup: numberIn(env, 'WARMUP', BENCH_DEFAULTS.warmup, 0, 600),
    rate: intIn(env, 'RATE', BENCH_DEFAULTS.rate, 0, 100_000_000),
    symbols: intIn(env, 'SYMBOLS', BENCH_DEFAULTS.symbols, 1, 1024),
    pin: pin === 'auto' ? 'auto' : ['1', 'true', 'on', 'yes'].includes(pin),
    serverCores: cpuList(env, 'SERVER_CORES'),
    clientCores: cpuList(env, 'CLIENT_CORES'),
    httpLoad: flag(env, 'HTTP_LOAD', BENCH_DEFAULTS.httpLoad),
    httpConnections: intIn(env, 'HTTP_CONNECTIONS', BENCH_DEFAULTS.httpConnections, 1, 1000),
    prometheus: flag(env, 'PROMETHEUS', BENCH_DEFAULTS.prometheus),
  };
}

export function compareConfig(env = process.env) {
  const base = benchConfig(env);
  const modes = listOf(env, 'MODES', COMPARE_DEFAULTS.modes, MODES);
  const scenarioNames = listOf(
    env,
    'SCENARIOS',
    COMPARE_DEFAULTS.scenarios,
    Object.keys(SCENARIOS),
  );
  const steadyRate = intIn(env, 'STEADY_RATE', COMPARE_DEFAULTS.steadyRate, 1, 100_000_000);
  const pick = (v) => (v === 'CLIENTS' ? base.clients : v === 'STEADY_RATE' ? steadyRate : v);
  const scenarios = scenarioNames.map((name) => {
    const s = SCENARIOS[name];
    return {
      name,
      clients: pick(s.clients),
      rate: pick(s.rate),
      description: s.description
        .replace('CLIENTS', String(base.clients))
        .replace('STEADY_RATE', `${steadyRate} ticks/s`),
    };
  });
  return {
    ...base,
    modes,
    repeats: intIn(env, 'REPEATS', COMPARE_DEFAULTS.repeats, 1, 100),
    scenarios,
    steadyRate,
    // Off unless asked for: on a 2-core box Prometheus and autocannon would take CPU from the
    // server or the client and blur the throughput the comparison is about.
    prometheus: flag(env, 'PROMETHEUS', false),
    httpLoad: flag(env, 'HTTP_LOAD', false),
  };
}
