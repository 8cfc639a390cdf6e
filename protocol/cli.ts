// The one command-line layer every wsbench program uses (server, client-bench, the scripts and
// the tools): a flag table gives the help text, the environment fallbacks and the validation.
// Parsing is node:util parseArgs; every bad value becomes a UsageError whose message quotes the
// value and lists what is allowed, and runMain turns it into exit code 2 (EXIT.badInput).
import { parseArgs } from 'node:util';
import { isIP } from 'node:net';
import { EXIT } from './codes.js';

/** Bad input on the command line or in the environment: the program prints it and exits 2. */
export class UsageError extends Error {
  override name = 'UsageError';
  readonly exitCode = EXIT.badInput;
}

/** Turns one raw string into a value, or throws `Invalid` naming what is allowed. */
export interface Parser<T> {
  (raw: string): T;
  /** What is allowed, for messages and help ("an integer 0-65535"). */
  readonly allowed: string;
}

/** Thrown by a parser; the CLI layer adds the flag name and the quoted value. */
export class Invalid extends Error {
  constructor(readonly allowed: string) {
    super(allowed);
  }
}

export interface Flag<T> {
  /** Long name without dashes: `max-backpressure`. */
  readonly long: string;
  /** One character: `p` for `-p`. */
  readonly short?: string;
  /** Environment variables read (first set one wins) when the flag is absent. */
  readonly env?: readonly string[];
  /** Placeholder in the help (`N`, `URL`); absent for a boolean switch. */
  readonly arg?: string;
  readonly help: string;
  readonly default: T;
  /** How the default reads in the help when JSON would mislead (`min(cores, clients)`). */
  readonly defaultText?: string;
  /** Absent for a boolean switch (no value on the command line; env 1/true/0/false). */
  readonly parse?: Parser<T>;
}

export type FlagTable = Record<string, Flag<unknown>>;
/** The values a table parses to: a flag's parser's type, or boolean for a switch. */
export type Values<T extends FlagTable> = {
  -readonly [K in keyof T]: T[K] extends { parse: Parser<infer V> } ? V : boolean;
};

/** Identity with checks: one table per program, keys are the property names of the values. */
export function defineFlags<T extends FlagTable>(table: T): T {
  const seen = new Set<string>();
  for (const f of Object.values(table)) {
    for (const name of [f.long, f.short].filter((n): n is string => n !== undefined)) {
      if (seen.has(name)) throw new Error(`flag table: -${name} defined twice`);
      seen.add(name);
    }
    if (f.short !== undefined && f.short.length !== 1) throw new Error(`flag table: -${f.short}`);
  }
  return table;
}

function parser<T>(allowed: string, fn: (raw: string) => T): Parser<T> {
  return Object.assign(fn, { allowed });
}

/** The validators the programs share; each throws Invalid with what is allowed. */
export const parse = {
  int(min: number, max: number, allowed = `an integer ${min}-${max}`): Parser<number> {
    return parser(allowed, (raw) => {
      const v = raw.trim();
      const n = Number(v);
      if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < min || n > max)
        throw new Invalid(allowed);
      return n;
    });
  },
  number(min: number, max: number, allowed = `a number ${min}-${max}`): Parser<number> {
    return parser(allowed, (raw) => {
      const v = raw.trim();
      const n = Number(v);
      if (!/^\d+(\.\d+)?$/.test(v) || n < min || n > max) throw new Invalid(allowed);
      return n;
    });
  },
  oneOf<const V extends string>(values: readonly V[]): Parser<V> {
    const allowed = `one of: ${values.join(', ')}`;
    return parser(allowed, (raw) => {
      const v = raw.trim();
      if (!(values as readonly string[]).includes(v)) throw new Invalid(allowed);
      return v as V;
    });
  },
  /** A comma/space list of items, each parsed by `item`; `allowed` describes the whole list. */
  list<V>(item: Parser<V>, allowed = `a comma list of ${item.allowed}`, min = 1): Parser<V[]> {
    return parser(allowed, (raw) => {
      const parts = raw
        .split(/[\s,]+/)
        .map((s) => s.trim())
        .filter((s) => s !== '');
      if (parts.length < min) throw new Invalid(allowed);
      try {
        return parts.map((p) => item(p));
      } catch (err) {
        if (err instanceof Invalid) throw new Invalid(allowed);
        throw err;
      }
    });
  },
  /** Any string matching `re`. */
  matching(re: RegExp, allowed: string): Parser<string> {
    return parser(allowed, (raw) => {
      if (!re.test(raw)) throw new Invalid(allowed);
      return raw;
    });
  },
  /** An IP address or a DNS host name. */
  host(
    allowed = 'an IPv4/IPv6 address or a host name (e.g. 127.0.0.1, 0.0.0.0, ::, localhost)',
  ): Parser<string> {
    const name =
      /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
    return parser(allowed, (raw) => {
      if (isIP(raw) === 0 && !name.test(raw)) throw new Invalid(allowed);
      return raw;
    });
  },
  /** `on|off|auto`-style switches and booleans from the environment. */
  bool(allowed = 'one of: 1, 0, true, false, yes, no, on, off'): Parser<boolean> {
    return parser(allowed, (raw) => {
      const v = raw.trim().toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(v)) return true;
      if (['0', 'false', 'no', 'off'].includes(v)) return false;
      throw new Invalid(allowed);
    });
  },
  /** Any non-empty string. */
  text(allowed = 'a non-empty value'): Parser<string> {
    return parser(allowed, (raw) => {
      if (raw === '') throw new Invalid(allowed);
      return raw;
    });
  },
  /** `null` when the raw value is one of `none` (e.g. "off"), else `inner`. */
  orNull<V>(inner: Parser<V>, none: readonly string[] = ['off', 'none']): Parser<V | null> {
    return parser(`${inner.allowed}, or ${none.join('/')}`, (raw) =>
      none.includes(raw.trim()) ? null : inner(raw),
    );
  },
} as const;

const ENV_BOOL = parse.bool();

function describe(f: Flag<unknown>): string {
  return `--${f.long}${f.short !== undefined ? `/-${f.short}` : ''}`;
}

function fail(program: string, what: string, raw: string, allowed: string): never {
  throw new UsageError(`${program}: invalid ${what} ${JSON.stringify(raw)}: expected ${allowed}`);
}

function apply<T>(program: string, f: Flag<T>, raw: string, what: string): T {
  const p = f.parse ?? (ENV_BOOL as unknown as Parser<T>);
  try {
    return p(raw);
  } catch (err) {
    if (err instanceof Invalid) fail(program, what, raw, err.allowed);
    throw err;
  }
}

export interface ParseOptions {
  /** Environment for the fallbacks (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Positionals allowed (e.g. `merge a.json b.json`); default none. */
  positionals?: boolean;
}

export type Parsed<T extends FlagTable> =
  | { help: true }
  | {
      help: false;
      values: Values<T>;
      positionals: string[];
      /** Where each value came from: 'flag', an env name, or 'default'. */
      sources: Record<keyof T, string>;
    };

/** defaults <- env <- flags, each value validated once; throws UsageError on bad input. */
export function parseCli<T extends FlagTable>(
  program: string,
  table: T,
  argv: readonly string[],
  opts: ParseOptions = {},
): Parsed<T> {
  const env = opts.env ?? process.env;
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {
    help: { type: 'boolean', short: 'h' },
  };
  const byLong = new Map<string, string>();
  for (const [key, f] of Object.entries(table)) {
    options[f.long] = {
      type: f.parse === undefined ? 'boolean' : 'string',
      ...(f.short !== undefined ? { short: f.short } : {}),
    };
    byLong.set(f.long, key);
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...argv],
      options,
      strict: true,
      allowPositionals: opts.positionals === true,
    });
  } catch (err) {
    const known = [...Object.values(table).map(describe), '--help/-h'].join(', ');
    const message = err instanceof Error ? err.message : String(err);
    const code = (err as { code?: string }).code;
    const arg = /'([^']+)'/.exec(message)?.[1] ?? '';
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION')
      throw new UsageError(
        `${program}: unknown option ${JSON.stringify(arg)}: expected one of ${known}`,
      );
    if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL')
      throw new UsageError(
        `${program}: unexpected argument ${JSON.stringify(arg)}: expected flags (${known})`,
      );
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      const name = /--([a-z0-9-]+)/.exec(message)?.[1] ?? arg;
      const key = byLong.get(name);
      const f = key !== undefined ? table[key] : undefined;
      if (f?.parse === undefined)
        throw new UsageError(`${program}: --${name} takes no value (it is a switch)`);
      throw new UsageError(`${program}: --${name} needs a value: ${f.parse.allowed}`);
    }
    throw new UsageError(`${program}: ${message}`);
  }
  if (parsed.values.help === true) return { help: true };

  const values: Record<string, unknown> = {};
  const sources: Record<string, string> = {};
  for (const [key, f] of Object.entries(table)) {
    const flagValue = parsed.values[f.long];
    if (flagValue !== undefined) {
      values[key] =
        typeof flagValue === 'string' ? apply(program, f, flagValue, `--${f.long}`) : true;
      sources[key] = 'flag';
      continue;
    }
    const envName = (f.env ?? []).find((n) => env[n] !== undefined && env[n] !== '');
    if (envName !== undefined) {
      values[key] = apply(program, f, env[envName] ?? '', `${envName} (env for --${f.long})`);
      sources[key] = envName;
      continue;
    }
    values[key] = f.default;
    sources[key] = 'default';
  }
  return {
    help: false,
    values: values as Values<T>,
    positionals: parsed.positionals,
    sources: sources as Record<keyof T, string>,
  };
}

function defaultText(f: Flag<unknown>): string {
  if (f.defaultText !== undefined) return f.defaultText;
  const v = f.default;
  if (v === null || v === undefined) return 'none';
  if (Array.isArray(v)) return v.length > 0 ? v.join(',') : 'none';
  if (v === false) return 'off';
  if (v === true) return 'on';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

export interface HelpOptions {
  usage: string;
  /** Paragraphs before the flags. */
  about?: readonly string[];
  /** Paragraphs after the flags (environment, exit codes). */
  footer?: readonly string[];
}

/** The help text, generated from the table: every flag with short form, default, allowed, env. */
export function helpText(table: FlagTable, help: HelpOptions): string {
  const lines = [`Usage: ${help.usage}`, ''];
  if (help.about !== undefined) lines.push(...help.about, '');
  lines.push('Options:');
  for (const f of Object.values(table)) {
    const names = `${f.short !== undefined ? `-${f.short}, ` : '    '}--${f.long}${f.arg !== undefined ? ` ${f.arg}` : ''}`;
    lines.push(`  ${names.padEnd(30)} ${f.help}`);
    const facts = [`default ${defaultText(f)}`];
    if (f.parse !== undefined) facts.push(f.parse.allowed);
    if (f.env !== undefined && f.env.length > 0) facts.push(`env ${f.env.join('/')}`);
    lines.push(`  ${''.padEnd(30)} (${facts.join('; ')})`);
  }
  lines.push(`  ${'-h, --help'.padEnd(30)} show this help`);
  if (help.footer !== undefined) lines.push('', ...help.footer);
  lines.push(
    '',
    `Exit codes: ${Object.entries(EXIT)
      .map(([name, code]) => `${code} ${name}`)
      .join(', ')}.`,
    '',
  );
  return lines.join('\n');
}

/**
 * Runs a program's main: a UsageError prints its message (and the hint to --help) on stderr and
 * sets exit code 2; any other error prints its stack and sets 1. The main's own return value, if
 * a number, becomes the exit code. process.exit is not called, so pending output is flushed.
 */
export function runMain(main: () => Promise<number | undefined>): void {
  main().then(
    (code) => {
      if (typeof code === 'number') process.exitCode = code;
    },
    (err: unknown) => {
      if (err instanceof UsageError) {
        process.stderr.write(`${err.message}\n`);
        process.exitCode = err.exitCode;
        return;
      }
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = EXIT.failed;
    },
  );
}
