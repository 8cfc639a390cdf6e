// Server configuration: the flag table (protocol/cli.ts) holds every flag's default, env
// fallbacks and validator; flags and env are merged and validated once here, and a bad value is
// a UsageError (exit 2) whose message quotes it and lists what is allowed (docs/interfaces.md).
// Nothing past this file re-checks a setting.
import {
  defineFlags,
  helpText as cliHelpText,
  parse,
  parseCli,
  type Values,
} from '../protocol/cli.js';
import { MAX_SYMBOLS, MODE_NAMES, type ModeName } from '../protocol/index.js';
import { parseOpts } from './opts.js';
import { PACER_KINDS, type PacerKind } from './pacer.js';

export { MODE_NAMES, type ModeName };
export const SLOW_CLIENT_POLICIES = ['drop', 'close'] as const;
export type SlowClientPolicy = (typeof SLOW_CLIENT_POLICIES)[number];
/** `auto` = the mode's own pacer (ws-naive: interval; ws, uws: sleep). */
export const PACER_CHOICES = ['auto', ...PACER_KINDS] as const;
export type PacerChoice = (typeof PACER_CHOICES)[number];
export type { PacerKind };

const PROGRAM = 'wsbench-server';

export const FLAGS = defineFlags({
  mode: {
    long: 'mode',
    short: 'm',
    env: ['SERVER_MODE', 'MODE'],
    arg: 'M',
    help: 'server implementation',
    default: 'ws',
    parse: parse.oneOf(MODE_NAMES),
  },
  port: {
    long: 'port',
    short: 'p',
    env: ['PORT'],
    arg: 'N',
    help: 'TCP port for WebSocket and HTTP',
    default: 8080,
    parse: parse.int(0, 65535, 'an integer 0-65535 (0 = any free port)'),
  },
  host: {
    long: 'host',
    short: 'H',
    env: ['HOST'],
    arg: 'ADDR',
    help: 'address to listen on',
    default: '127.0.0.1',
    parse: parse.host(),
  },
  rate: {
    long: 'rate',
    short: 'r',
    env: ['RATE'],
    arg: 'N',
    help: 'ticks per second over all symbols',
    default: 0,
    parse: parse.int(
      0,
      100_000_000,
      'an integer >= 0 (0 = as fast as possible, at most 100000000)',
    ),
  },
  symbols: {
    long: 'symbols',
    short: 's',
    env: ['SYMBOLS'],
    arg: 'N',
    help: 'number of symbols (streams)',
    default: 8,
    parse: parse.int(1, MAX_SYMBOLS),
  },
  batch: {
    long: 'batch',
    short: 'b',
    env: ['BATCH'],
    arg: 'N',
    help: 'ticks per pacer turn at rate 0 (and the catch-up bound per turn at a target rate)',
    default: 64,
    parse: parse.int(1, 10000),
  },
  maxBackpressure: {
    long: 'max-backpressure',
    env: ['MAX_BACKPRESSURE'],
    arg: 'BYTES',
    help: 'bytes a client may have queued before it counts as slow',
    default: 1048576,
    parse: parse.int(1024, Number.MAX_SAFE_INTEGER, 'an integer number of bytes >= 1024'),
  },
  slowClient: {
    long: 'slow-client',
    env: ['SLOW_CLIENT'],
    arg: 'P',
    help: 'what happens to a slow client: drop its ticks or close it (1008)',
    default: 'drop',
    parse: parse.oneOf(SLOW_CLIENT_POLICIES),
  },
  opt: {
    long: 'opt',
    short: 'O',
    env: ['OPTS'],
    arg: 'SET',
    help: "optimisation switches (docs/server.md); preset = the mode's (ws-naive none, ws/uws all)",
    default: { preset: true },
    defaultText: 'preset',
    parse: parseOpts,
  },
  pacer: {
    long: 'pacer',
    env: ['PACER'],
    arg: 'P',
    help: "how the pacer waits for due ticks (docs/server.md); auto = the mode's own",
    default: 'auto',
    parse: parse.oneOf(PACER_CHOICES),
  },
  turnMs: {
    long: 'turn-ms',
    env: ['TURN_MS'],
    arg: 'MS',
    help: 'sleep pacer: shortest wait between turns; the ticks due meanwhile go out together',
    default: 1,
    parse: parse.int(1, 1000, 'an integer number of ms 1-1000'),
  },
  burnUs: {
    long: 'burn-us',
    env: ['BURN_US'],
    arg: 'US',
    help: 'test/verdict aid: busy-wait this many µs of CPU per generated tick (a slow server)',
    default: 0,
    parse: parse.int(0, 1_000_000, 'an integer number of µs 0-1000000 (0 = off)'),
  },
  maxPayload: {
    long: 'max-payload',
    env: ['MAX_PAYLOAD'],
    arg: 'BYTES',
    help: 'largest client frame in bytes (bigger: close 1009)',
    default: 16384,
    parse: parse.int(128, 16777216, 'an integer number of bytes 128-16777216'),
  },
});

export type ServerConfig = Values<typeof FLAGS>;

function defaults(): ServerConfig {
  const out: Record<string, unknown> = {};
  for (const [key, f] of Object.entries(FLAGS)) out[key] = f.default;
  return out as ServerConfig;
}

export const DEFAULTS: Readonly<ServerConfig> = Object.freeze(defaults());

export function helpText(): string {
  return cliHelpText(FLAGS, {
    usage: `${PROGRAM} [options]   (npm run server -- [options])`,
    about: [
      'Broadcasts market-data ticks over WebSocket; HTTP /health, /metrics, /snapshot on the same port.',
      'Flags win over environment variables. On listening, one JSON line goes to stdout.',
    ],
    footer: ['Environment: WSBENCH_CLOCK=monotonic|wall (tick timestamps; default monotonic).'],
  });
}

export type ParsedArgs = { help: true } | { help: false; config: ServerConfig };

/** Merges defaults <- env <- flags and validates every value; throws UsageError on bad input. */
export function parseConfig(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): ParsedArgs {
  const r = parseCli(PROGRAM, FLAGS, argv, { env });
  if (r.help) return { help: true };
  return { help: false, config: r.values };
}
