// Flags -> one validated Config. Defaults live in one literal; every bad value becomes a
// ConfigError whose message quotes the value and lists what is allowed (main exits 2 on it).
import { availableParallelism } from 'node:os';
import { isIPv4 } from 'node:net';

export interface Config {
  url: string;
  clients: number;
  /** Measured window, seconds. */
  duration: number;
  /** Warm-up before the window, seconds (not counted). */
  warmup: number;
  workers: number;
  /** ['*'] for all, or symbol names. */
  symbols: string[];
  /** Connections per second; 0 = as fast as possible. */
  connectRate: number;
  out: string | null;
  json: boolean;
  /** null = no metrics server; 0 = any free port. */
  metricsPort: number | null;
  /** null = generated from the start time and the target's mode. */
  runId: string | null;
  quiet: boolean;
  /** ms between pings per connection; 0 = off. */
  pingInterval: number;
  /** Local addresses to bind connections to, round-robin (spreads ephemeral ports). */
  sourceAddresses: string[];
}

export const DEFAULTS = {
  url: 'ws://127.0.0.1:8080/',
  clients: 100,
  duration: 30,
  warmup: 5,
  workers: 0, // 0 = min(cores, clients), at most 8
  symbols: ['*'],
  connectRate: 0,
  out: null,
  json: false,
  metricsPort: null,
  runId: null,
  quiet: false,
  pingInterval: 0,
  sourceAddresses: [],
} as const satisfies Omit<Config, 'symbols' | 'sourceAddresses'> & {
  symbols: readonly string[];
  sourceAddresses: readonly string[];
};

export const MAX_WORKERS = 8;
export const MAX_CLIENTS = 100_000;

export class ConfigError extends Error {}

type Kind = 'string' | 'int' | 'number' | 'bool';
interface FlagSpec {
  key: keyof Config | 'help';
  short: string | null;
  kind: Kind;
  arg: string;
  help: string;
}

const FLAGS: Record<string, FlagSpec> = {
  url: { key: 'url', short: 'u', kind: 'string', arg: 'URL', help: 'server WebSocket URL' },
  clients: { key: 'clients', short: 'c', kind: 'int', arg: 'N', help: 'connections' },
  duration: {
    key: 'duration',
    short: 'd',
    kind: 'number',
    arg: 'S',
    help: 'measured window, seconds',
  },
  warmup: {
    key: 'warmup',
    short: 'w',
    kind: 'number',
    arg: 'S',
    help: 'warm-up seconds before the window (not counted)',
  },
  workers: {
    key: 'workers',
    short: 'W',
    kind: 'int',
    arg: 'N',
    help: 'worker threads',
  },
  symbols: {
    key: 'symbols',
    short: 's',
    kind: 'string',
    arg: 'LIST',
    help: 'symbols to subscribe: * (all) or a comma list',
  },
  'connect-rate': {
    key: 'connectRate',
    short: 'R',
    kind: 'number',
    arg: 'N',
    help: 'new connections per second, 0 = as fast as possible',
  },
  out: { key: 'out', short: 'o', kind: 'string', arg: 'FILE', help: 'write result.json here' },
  json: {
    key: 'json',
    short: 'j',
    kind: 'bool',
    arg: '',
    help: 'print the result as one JSON line on stdout',
  },
  'metrics-port': {
    key: 'metricsPort',
    short: 'M',
    kind: 'int',
    arg: 'PORT',
    help: 'serve Prometheus /metrics here (0 = any free port)',
  },
  'run-id': {
    key: 'runId',
    short: 'i',
    kind: 'string',
    arg: 'ID',
    help: 'run id (labels /metrics, names the result)',
  },
  quiet: {
    key: 'quiet',
    short: 'q',
    kind: 'bool',
    arg: '',
    help: 'no progress lines and no summary',
  },
  'ping-interval': {
    key: 'pingInterval',
    short: 'P',
    kind: 'int',
    arg: 'MS',
    help: 'ping each connection every MS ms to measure RTT, 0 = off',
  },
  'source-addresses': {
    key: 'sourceAddresses',
    short: null,
    kind: 'string',
    arg: 'LIST',
    help: 'comma list of 127.0.0.x local addresses, round-robin',
  },
  help: { key: 'help', short: 'h', kind: 'bool', arg: '', help: 'show this help' },
};

const SHORT: Record<string, string> = {};
for (const [long, spec] of Object.entries(FLAGS)) if (spec.short) SHORT[spec.short] = long;

function defaultText(long: string): string {
  const key = FLAGS[long].key;
  if (key === 'help') return '';
  if (key === 'workers') return `min(cores, clients), at most ${MAX_WORKERS}`;
  if (key === 'runId') return 'YYYYMMDD-HHMMSS-<mode>, UTC';
  const v = (DEFAULTS as Record<string, unknown>)[key];
  if (v === null) return 'none';
  if (Array.isArray(v)) return v.length ? v.join(',') : 'none';
  if (v === false) return 'off';
  return String(v);
}

export function helpText(): string {
  const lines = [
    'Usage: client-bench [options]',
    '',
    'Measures a wsbench broadcast server: delivered msg/s, latency (receive time - tick ts),',
    'gaps/duplicates/reorders, connect time, and its own CPU. Progress and summary on stderr.',
    '',
    'Options:',
  ];
  for (const [long, spec] of Object.entries(FLAGS)) {
    const flag = `${spec.short ? `-${spec.short}, ` : '    '}--${long}${spec.arg ? ' ' + spec.arg : ''}`;
    const def = defaultText(long);
    lines.push(`  ${flag.padEnd(30)} ${spec.help}${def ? ` (default: ${def})` : ''}`);
  }
  lines.push(
    '',
    'Exit codes: 0 ok, 1 unexpected failure, 2 bad input or unreachable URL,',
    '            3 run aborted (partial result written), 130 SIGINT (partial result written).',
    '10,000+ connections: run under `ulimit -n 65536` (or prlimit) and use --source-addresses',
    'when the ephemeral ports of one source address run short.',
  );
  return lines.join('\n');
}

function bad(flag: string, value: string, allowed: string): never {
  throw new ConfigError(`client-bench: invalid --${flag} "${value}": expected ${allowed}`);
}

function parseIntIn(flag: string, v: string, min: number, max: number): number {
  if (!/^\d+$/.test(v)) bad(flag, v, `an integer ${min}..${max}`);
  const n = Number(v);
  if (n < min || n > max) bad(flag, v, `an integer ${min}..${max}`);
  return n;
}

function parseNumIn(flag: string, v: string, min: number, max: number): number {
  if (!/^\d+(\.\d+)?$/.test(v)) bad(flag, v, `a number ${min}..${max}`);
  const n = Number(v);
  if (n < min || n > max) bad(flag, v, `a number ${min}..${max}`);
  return n;
}

export type ParsedArgs = { help: true } | { help: false; config: Config };

/** Parses argv (without node and script). Throws ConfigError on bad input. */
export function parseArgs(argv: readonly string[], cores = availableParallelism()): ParsedArgs {
  const raw: Record<string, string | true> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    let long: string | undefined;
    let value: string | undefined;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      long = eq > 0 ? a.slice(2, eq) : a.slice(2);
      if (eq > 0) value = a.slice(eq + 1);
    } else if (a.startsWith('-') && a.length === 2) {
      long = SHORT[a[1]];
      if (!long) throw new ConfigError(`client-bench: unknown option "${a}" (see --help)`);
    } else {
      throw new ConfigError(`client-bench: unexpected argument "${a}" (see --help)`);
    }
    const spec = FLAGS[long];
    if (!spec) throw new ConfigError(`client-bench: unknown option "${a}" (see --help)`);
    if (spec.kind === 'bool') {
      if (value !== undefined) bad(long, value, 'no value');
      raw[long] = true;
      continue;
    }
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined)
        throw new ConfigError(`client-bench: --${long} needs a value (${spec.arg})`);
    }
    raw[long] = value;
  }
  if (raw.help) return { help: true };

  const str = (k: string): string | undefined =>
    typeof raw[k] === 'string' ? (raw[k] as string) : undefined;

  const url = str('url') ?? DEFAULTS.url;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    bad('url', url, 'a ws:// URL such as ws://127.0.0.1:8080/');
  }
  if (parsed.protocol !== 'ws:') bad('url', url, 'a ws:// URL (wss is not supported)');

  const clients =
    str('clients') !== undefined
      ? parseIntIn('clients', str('clients')!, 1, MAX_CLIENTS)
      : DEFAULTS.clients;
  const duration =
    str('duration') !== undefined
      ? parseNumIn('duration', str('duration')!, 0.1, 86400)
      : DEFAULTS.duration;
  const warmup =
    str('warmup') !== undefined ? parseNumIn('warmup', str('warmup')!, 0, 86400) : DEFAULTS.warmup;
  const workers =
    str('workers') !== undefined
      ? parseIntIn('workers', str('workers')!, 1, MAX_WORKERS)
      : Math.max(1, Math.min(cores, clients, MAX_WORKERS));

  let symbols: string[] = [...DEFAULTS.symbols];
  const symText = str('symbols');
  if (symText !== undefined) {
    symbols = symText.split(',').map((s) => s.trim());
    if (
      symbols.some((s) => !/^[A-Za-z0-9._-]{1,32}$/.test(s) && s !== '*') ||
      (symbols.includes('*') && symbols.length > 1)
    ) {
      bad(
        'symbols',
        symText,
        '"*" or a comma list of symbol names (letters, digits, . _ -; at most 32 characters each)',
      );
    }
  }

  const connectRate =
    str('connect-rate') !== undefined
      ? parseNumIn('connect-rate', str('connect-rate')!, 0, 1e6)
      : DEFAULTS.connectRate;
  const out = str('out') ?? DEFAULTS.out;
  if (out === '') bad('out', out, 'a file path');
  const metricsPort =
    str('metrics-port') !== undefined
      ? parseIntIn('metrics-port', str('metrics-port')!, 0, 65535)
      : DEFAULTS.metricsPort;
  const runId = str('run-id') ?? DEFAULTS.runId;
  if (runId !== null && !/^[A-Za-z0-9._-]{1,64}$/.test(runId)) {
    bad('run-id', runId, '1..64 characters of letters, digits, . _ -');
  }
  const pingInterval =
    str('ping-interval') !== undefined
      ? parseIntIn('ping-interval', str('ping-interval')!, 0, 3_600_000)
      : DEFAULTS.pingInterval;
  let sourceAddresses: string[] = [];
  const srcText = str('source-addresses');
  if (srcText !== undefined) {
    sourceAddresses = srcText.split(',').map((s) => s.trim());
    if (sourceAddresses.some((s) => !isIPv4(s) || !s.startsWith('127.'))) {
      bad(
        'source-addresses',
        srcText,
        'a comma list of 127.0.0.0/8 IPv4 addresses, e.g. 127.0.0.2,127.0.0.3',
      );
    }
  }

  return {
    help: false,
    config: {
      url,
      clients,
      duration,
      warmup,
      workers: Math.min(workers, clients),
      symbols,
      connectRate,
      out,
      json: raw.json === true,
      metricsPort,
      runId,
      quiet: raw.quiet === true,
      pingInterval,
      sourceAddresses,
    },
  };
}
