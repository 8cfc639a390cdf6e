// Server configuration: defaults live in one literal, flags and env are merged and validated once
// here, and a bad value stops the program with exit code 2 and a message that quotes it and lists
// what is allowed (docs/interfaces.md). Nothing past this file re-checks a setting.
import { isIP } from 'node:net';
import { MAX_SYMBOLS } from '../protocol/index.js';

export const MODE_NAMES = ['ws-naive', 'ws', 'uws'] as const;
export type ModeName = (typeof MODE_NAMES)[number];
export const SLOW_CLIENT_POLICIES = ['drop', 'close'] as const;
export type SlowClientPolicy = (typeof SLOW_CLIENT_POLICIES)[number];

export interface ServerConfig {
  mode: ModeName;
  port: number;
  host: string;
  /** Ticks per second over all symbols; 0 = as fast as possible. */
  rate: number;
  symbols: number;
  /** Ticks per pacer turn at rate 0 (and the catch-up bound per turn at a target rate). */
  batch: number;
  /** Bytes a client may have queued before it counts as slow. */
  maxBackpressure: number;
  slowClient: SlowClientPolicy;
  /** Largest client frame in bytes; bigger ones close the connection with 1009. */
  maxPayload: number;
}

export const DEFAULTS: Readonly<ServerConfig> = {
  mode: 'ws',
  port: 8080,
  host: '127.0.0.1',
  rate: 0,
  symbols: 8,
  batch: 64,
  maxBackpressure: 1048576,
  slowClient: 'drop',
  maxPayload: 16384,
};

/** Thrown for any bad input; main prints the message and exits 2. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

interface FlagSpec {
  key: keyof ServerConfig;
  long: string;
  short?: string;
  env: readonly string[];
  allowed: string;
  help: string;
  parse: (raw: string, flag: string) => ServerConfig[keyof ServerConfig];
}

function bad(flag: string, raw: string, allowed: string): never {
  throw new ConfigError(
    `wsbench-server: invalid ${flag} ${JSON.stringify(raw)}: expected ${allowed}`,
  );
}

function intIn(min: number, max: number, allowed: string) {
  return (raw: string, flag: string): number => {
    if (!/^\d+$/.test(raw)) bad(flag, raw, allowed);
    const n = Number(raw);
    if (!Number.isSafeInteger(n) || n < min || n > max) bad(flag, raw, allowed);
    return n;
  };
}

function oneOf<T extends string>(values: readonly T[]) {
  const allowed = `one of: ${values.join(', ')}`;
  return (raw: string, flag: string): T => {
    if (!(values as readonly string[]).includes(raw)) bad(flag, raw, allowed);
    return raw as T;
  };
}

const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const HOST_ALLOWED = 'an IPv4/IPv6 address or a host name (e.g. 127.0.0.1, 0.0.0.0, ::, localhost)';

const FLAGS: readonly FlagSpec[] = [
  {
    key: 'mode',
    long: '--mode',
    short: '-m',
    env: ['SERVER_MODE', 'MODE'],
    allowed: MODE_NAMES.join(' | '),
    help: 'server implementation',
    parse: oneOf(MODE_NAMES),
  },
  {
    key: 'port',
    long: '--port',
    short: '-p',
    env: ['PORT'],
    allowed: '0-65535, 0 = any free port',
    help: 'TCP port for WebSocket and HTTP',
    parse: intIn(0, 65535, 'an integer 0-65535 (0 = any free port)'),
  },
  {
    key: 'host',
    long: '--host',
    short: '-H',
    env: ['HOST'],
    allowed: 'an address',
    help: 'address to listen on',
    parse: (raw, flag) =>
      isIP(raw) !== 0 || HOSTNAME.test(raw) ? raw : bad(flag, raw, HOST_ALLOWED),
  },
  {
    key: 'rate',
    long: '--rate',
    short: '-r',
    env: ['RATE'],
    allowed: 'integer >= 0, 0 = max',
    help: 'ticks per second over all symbols',
    parse: intIn(0, 100_000_000, 'an integer >= 0 (0 = as fast as possible, at most 100000000)'),
  },
  {
    key: 'symbols',
    long: '--symbols',
    short: '-s',
    env: ['SYMBOLS'],
    allowed: `1-${MAX_SYMBOLS}`,
    help: 'number of symbols (streams)',
    parse: intIn(1, MAX_SYMBOLS, `an integer 1-${MAX_SYMBOLS}`),
  },
  {
    key: 'batch',
    long: '--batch',
    short: '-b',
    env: ['BATCH'],
    allowed: '1-10000',
    help: 'ticks per pacer turn at rate 0',
    parse: intIn(1, 10000, 'an integer 1-10000'),
  },
  {
    key: 'maxBackpressure',
    long: '--max-backpressure',
    env: ['MAX_BACKPRESSURE'],
    allowed: 'bytes >= 1024',
    help: 'bytes queued per client before it is slow',
    parse: intIn(1024, Number.MAX_SAFE_INTEGER, 'an integer number of bytes >= 1024'),
  },
  {
    key: 'slowClient',
    long: '--slow-client',
    env: ['SLOW_CLIENT'],
    allowed: SLOW_CLIENT_POLICIES.join(' | '),
    help: 'what happens to a slow client: drop its ticks or close it (1008)',
    parse: oneOf(SLOW_CLIENT_POLICIES),
  },
  {
    key: 'maxPayload',
    long: '--max-payload',
    env: ['MAX_PAYLOAD'],
    allowed: '128-16777216',
    help: 'largest client frame in bytes (bigger: close 1009)',
    parse: intIn(128, 16777216, 'an integer number of bytes 128-16777216'),
  },
];

export function helpText(): string {
  const rows = FLAGS.map((f) => {
    const names = (f.short ? `${f.short}, ` : '    ') + f.long + ' <v>';
    const env = f.env.join('/');
    return `  ${names.padEnd(28)} ${f.help}\n  ${''.padEnd(28)} default ${JSON.stringify(DEFAULTS[f.key])}; ${f.allowed}; env ${env}`;
  });
  return [
    'Usage: wsbench-server [flags]   (npm run server -- [flags])',
    '',
    'Broadcasts market-data ticks over WebSocket; HTTP /health, /metrics, /snapshot on the same port.',
    'Flags win over environment variables. On listening, one JSON line goes to stdout.',
    '',
    'Flags:',
    ...rows,
    `  ${'-h, --help'.padEnd(28)} show this help`,
    '',
    'Environment: WSBENCH_CLOCK=monotonic|wall (tick timestamps; default monotonic).',
    '',
  ].join('\n');
}

export type ParsedArgs = { help: true } | { help: false; config: ServerConfig };

/** Merges defaults <- env <- flags and validates every value; throws ConfigError on bad input. */
export function parseConfig(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): ParsedArgs {
  const raw = new Map<FlagSpec, { value: string; name: string }>();
  for (const f of FLAGS) {
    for (const name of f.env) {
      const v = env[name];
      if (v !== undefined && v !== '') {
        raw.set(f, { value: v, name });
        break;
      }
    }
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '-h' || arg === '--help') return { help: true };
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const spec = FLAGS.find((f) => f.long === name || f.short === name);
    if (!spec) {
      const known = FLAGS.map((f) => (f.short ? `${f.short}/${f.long}` : f.long)).join(', ');
      throw new ConfigError(
        `wsbench-server: unknown argument ${JSON.stringify(arg)}: expected one of ${known}, -h/--help`,
      );
    }
    let value: string | undefined;
    if (eq > 0) value = arg.slice(eq + 1);
    else value = argv[++i];
    if (value === undefined) {
      throw new ConfigError(`wsbench-server: ${name} needs a value: ${spec.allowed}`);
    }
    raw.set(spec, { value, name: spec.long });
  }
  const config: ServerConfig = { ...DEFAULTS };
  for (const [spec, { value, name }] of raw) {
    const label = name.startsWith('-') ? name : `${name} (env for ${spec.long})`;
    (config as unknown as Record<string, unknown>)[spec.key] = spec.parse(value, label);
  }
  return { help: false, config };
}
