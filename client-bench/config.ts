// Flags -> one validated Config, on the one CLI layer (protocol/cli.ts): the flag table below is
// the help text, the defaults and the validation. A bad value is a UsageError (exit 2) whose
// message quotes it and lists what is allowed. New flags go into FLAGS and, when they change what
// a run does, into Config.
import { availableParallelism } from 'node:os';
import { isIPv4 } from 'node:net';
import {
  defineFlags,
  helpText as cliHelp,
  Invalid,
  parse,
  parseCli,
  type Parser,
  UsageError,
} from '../protocol/cli.js';
import { parseShard, parseStartAt, shardProblem, shareOf, type Shard } from './shard.js';

export const MAX_WORKERS = 8;
export const MAX_CLIENTS = 100_000;
const PROGRAM = 'client-bench';

const URL_ALLOWED = 'a ws:// URL such as ws://127.0.0.1:8080/ (wss is not supported)';
const SYMBOLS_ALLOWED =
  '"*" or a comma list of symbol names (letters, digits, . _ -; at most 32 characters each)';
const SOURCES_ALLOWED = 'a comma list of 127.0.0.0/8 IPv4 addresses, e.g. 127.0.0.2,127.0.0.3';

const wsUrl = Object.assign(
  (raw: string): string => {
    let u: URL;
    try {
      u = new URL(raw);
    } catch {
      throw new Invalid(URL_ALLOWED);
    }
    if (u.protocol !== 'ws:') throw new Invalid(URL_ALLOWED);
    return raw;
  },
  { allowed: URL_ALLOWED },
);

const symbolList = Object.assign(
  (raw: string): string[] => {
    const symbols = raw.split(',').map((s) => s.trim());
    if (
      symbols.some((s) => !/^[A-Za-z0-9._-]{1,32}$/.test(s) && s !== '*') ||
      (symbols.includes('*') && symbols.length > 1)
    )
      throw new Invalid(SYMBOLS_ALLOWED);
    return symbols;
  },
  { allowed: SYMBOLS_ALLOWED },
);

/** A parser for a flag whose default is null (absent): the value is V or null. */
function orAbsent<V>(p: Parser<V>): Parser<V | null> {
  return p;
}

const loopbackList = Object.assign(
  (raw: string): string[] => {
    const list = raw.split(',').map((s) => s.trim());
    if (list.some((s) => !isIPv4(s) || !s.startsWith('127.'))) throw new Invalid(SOURCES_ALLOWED);
    return list;
  },
  { allowed: SOURCES_ALLOWED },
);

/** The flag table: every flag with its short form, default and validator. */
/** What a connection closed by the server mid-run leads to (--on-server-close). */
export const ON_SERVER_CLOSE = ['abort', 'reconnect'] as const;
export type OnServerClose = (typeof ON_SERVER_CLOSE)[number];

export const FLAGS = defineFlags({
  url: {
    long: 'url',
    short: 'u',
    arg: 'URL',
    help: 'server WebSocket URL',
    default: 'ws://127.0.0.1:8080/',
    parse: wsUrl,
  },
  clients: {
    long: 'clients',
    short: 'c',
    arg: 'N',
    help: 'connections',
    default: 100,
    parse: parse.int(1, MAX_CLIENTS),
  },
  duration: {
    long: 'duration',
    short: 'd',
    arg: 'S',
    help: 'measured window, seconds',
    default: 30,
    parse: parse.number(0.1, 86400),
  },
  warmup: {
    long: 'warmup',
    short: 'w',
    arg: 'S',
    help: 'warm-up seconds before the window (not counted)',
    default: 5,
    parse: parse.number(0, 86400),
  },
  workers: {
    long: 'workers',
    short: 'W',
    arg: 'N',
    help: 'worker threads',
    // 0 = not given: min(cores, clients, MAX_WORKERS), resolved in parseArgs.
    default: 0,
    defaultText: `min(cores, clients), at most ${MAX_WORKERS}`,
    parse: parse.int(1, MAX_WORKERS),
  },
  symbols: {
    long: 'symbols',
    short: 's',
    arg: 'LIST',
    help: 'symbols to subscribe: * (all) or a comma list',
    default: ['*'],
    parse: symbolList,
  },
  connectRate: {
    long: 'connect-rate',
    short: 'R',
    arg: 'N',
    help: 'new connections per second, 0 = as fast as possible',
    default: 0,
    parse: parse.number(0, 1e6),
  },
  out: {
    long: 'out',
    short: 'o',
    arg: 'FILE',
    help: 'write result.json here',
    default: null,
    parse: orAbsent(parse.text('a file path')),
  },
  json: {
    long: 'json',
    short: 'j',
    help: 'print the result as one JSON line on stdout',
    default: false,
  },
  metricsPort: {
    long: 'metrics-port',
    short: 'M',
    arg: 'PORT',
    help: 'serve Prometheus /metrics here (0 = any free port)',
    default: null,
    parse: orAbsent(parse.int(0, 65535)),
  },
  runId: {
    long: 'run-id',
    short: 'i',
    arg: 'ID',
    help: 'run id (labels /metrics, names the result)',
    default: null,
    defaultText: 'YYYYMMDD-HHMMSS-<mode>, UTC',
    parse: orAbsent(
      parse.matching(/^[A-Za-z0-9._-]{1,64}$/, '1-64 characters of letters, digits, . _ -'),
    ),
  },
  quiet: { long: 'quiet', short: 'q', help: 'no progress lines and no summary', default: false },
  pingInterval: {
    long: 'ping-interval',
    short: 'P',
    arg: 'MS',
    help: 'ping each connection every MS ms to measure RTT, 0 = off',
    default: 0,
    parse: parse.int(0, 3_600_000),
  },
  burnNs: {
    long: 'burn-ns',
    arg: 'NS',
    help: 'spin about NS ns per tick frame: an artificially slow client (tests the verdict)',
    default: 0,
    parse: parse.int(0, 1_000_000),
  },
  churnRate: {
    long: 'churn-rate',
    arg: 'N',
    help: 'during the window, close and reopen N connections per second (round-robin)',
    default: 0,
    parse: parse.number(0, 100_000),
  },
  reconnectAt: {
    long: 'reconnect-at',
    arg: 'S',
    help: 'reconnect storm: S s into the window every connection drops at once and reconnects',
    default: null,
    defaultText: 'off',
    parse: orAbsent(parse.number(0, 86400)),
  },
  onServerClose: {
    long: 'on-server-close',
    arg: 'P',
    help: 'a server that closes every connection mid-run: abort (a partial result, exit 3), or reconnect (retry until it is back; the outage is reported)',
    default: 'abort',
    parse: parse.oneOf(ON_SERVER_CLOSE),
  },
  sloP99Ms: {
    long: 'slo-p99-ms',
    arg: 'MS',
    help: 'p99 objective: a reconnect storm is over when every second after it is within it',
    default: 10,
    parse: parse.number(0.01, 1_000_000),
  },
  slowShare: {
    long: 'slow-share',
    arg: 'F',
    help: 'share of the connections that are slow consumers (0-1; spread evenly)',
    default: 0,
    parse: parse.number(0, 1),
  },
  slowReadRate: {
    long: 'slow-read-rate',
    arg: 'B',
    help: 'bytes/s a slow consumer reads (reads of at most 4 KiB, paused between them)',
    default: 16384,
    parse: parse.int(1, 1_000_000_000),
  },
  sourceAddresses: {
    long: 'source-addresses',
    arg: 'LIST',
    help: 'comma list of 127.0.0.x local addresses, round-robin',
    default: [],
    parse: loopbackList,
  },
  shard: {
    long: 'shard',
    arg: 'I/N',
    env: ['WSBENCH_SHARD'],
    help: "be shard I of N (1-based): connection k is shard (k mod N)+1's; --clients is the total",
    default: null,
    parse: orAbsent(parseShard),
  },
  startAt: {
    long: 'start-at',
    arg: 'T',
    env: ['WSBENCH_START_AT'],
    help: 'common start by the wall clock: warm-up from T, window from T+warmup (needed by --shard)',
    default: null,
    parse: orAbsent(parseStartAt),
  },
});

/** The validated settings of one run (the flag table's values, workers resolved). */
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
  /** ns of busy work per tick frame (0 = none): makes the client the bottleneck on purpose. */
  burnNs: number;
  /** Connections closed and reopened per second during the window (0 = none). */
  churnRate: number;
  /** Seconds into the window at which every connection drops and reconnects (null = never). */
  reconnectAt: number | null;
  /** A connection closed by the server: abort the run when all are, or reopen it (outage). */
  onServerClose: OnServerClose;
  /** The p99 objective in ms (reconnect-storm recovery). */
  sloP99Ms: number;
  /** Share of connections that read slowly (0 = none). */
  slowShare: number;
  /** Bytes/s one slow connection reads. */
  slowReadRate: number;
  /** --shard I/N: `clients` is then this shard's share; null = the process is the whole run. */
  shard: Shard | null;
  /** --clients as given: the total over all shards (= clients without --shard). */
  totalClients: number;
  /** --start-at, epoch ms: warm-up from here, the window from here + warmup (wall clock). */
  startAt: number | null;
}

export function helpText(): string {
  return cliHelp(FLAGS, {
    usage: 'client-bench [options]   |   client-bench merge SHARD.json... (see merge --help)',
    about: [
      'Measures a wsbench broadcast server: delivered msg/s, latency (receive time - tick ts),',
      'gaps/duplicates/reorders, connect time, and its own CPU. Progress and summary on stderr.',
    ],
    footer: [
      'Environment: WSBENCH_CLOCK=monotonic|wall (must match the server), METRICS_HOST.',
      '10,000+ connections: run under `ulimit -n 65536` (or prlimit) and use --source-addresses',
      'when the ephemeral ports of one source address run short.',
    ],
  });
}

export type ParsedArgs = { help: true } | { help: false; config: Config };

/** Parses argv (without node and script). Throws UsageError on bad input. */
export function parseArgs(
  argv: readonly string[],
  cores = availableParallelism(),
  env: NodeJS.ProcessEnv = process.env,
): ParsedArgs {
  const parsed = parseCli(PROGRAM, FLAGS, argv, { env });
  if (parsed.help) return { help: true };
  const v = parsed.values;
  const problem = shardProblem(v.shard, v.clients, v.startAt, v.warmup, v.duration);
  if (problem !== null) throw new UsageError(`${PROGRAM}: ${problem}`);
  const clients = v.shard === null ? v.clients : shareOf(v.clients, v.shard);
  const workers = v.workers > 0 ? v.workers : Math.max(1, Math.min(cores, clients, MAX_WORKERS));
  return {
    help: false,
    config: { ...v, clients, totalClients: v.clients, workers: Math.min(workers, clients) },
  };
}
