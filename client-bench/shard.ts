// Sharded runs: which connections a shard owns, when its window opens by the wall clock, the run
// id all shards derive alike, and the fingerprint of the fields a merge must find equal.
// See docs/client-bench.md "Shards and merge".
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Invalid, type Parser } from '../protocol/cli.js';

/** Shard `index` (1-based) of `count`. */
export interface Shard {
  index: number;
  count: number;
}

export const MAX_SHARDS = 1024;
/** A --start-at further ahead than this is a typo (seconds for milliseconds), not a plan. */
export const MAX_START_AHEAD_MS = 24 * 3600 * 1000;

const SHARD_ALLOWED = `I/N with 1 <= I <= N <= ${MAX_SHARDS} (1-based: 1/3, 2/3, 3/3)`;

/** `--shard I/N` → Shard; I is 1-based. */
export const parseShard: Parser<Shard> = Object.assign(
  (raw: string): Shard => {
    const m = /^\s*(\d{1,4})\s*\/\s*(\d{1,4})\s*$/.exec(raw);
    const index = Number(m?.[1]);
    const count = Number(m?.[2]);
    if (m === null || index < 1 || count < 1 || index > count || count > MAX_SHARDS)
      throw new Invalid(SHARD_ALLOWED);
    return { index, count };
  },
  { allowed: SHARD_ALLOWED },
);

const START_ALLOWED =
  'epoch milliseconds (e.g. 1764756000000) or an ISO 8601 date-time (2026-12-03T10:00:00Z)';

/** `--start-at T` → epoch ms: an integer of milliseconds, or an ISO 8601 date-time. */
export const parseStartAt: Parser<number> = Object.assign(
  (raw: string): number => {
    const v = raw.trim();
    // 12+ digits: epoch ms from 2001 on; fewer digits are most likely seconds, which we refuse.
    if (/^\d{12,15}$/.test(v)) return Number(v);
    if (/^\d{4}-\d{2}-\d{2}T/.test(v)) {
      const ms = Date.parse(v);
      if (Number.isFinite(ms)) return ms;
    }
    throw new Invalid(START_ALLOWED);
  },
  { allowed: START_ALLOWED },
);

/** Connections shard `s` owns out of `total`: connection k belongs to shard (k mod N) + 1. */
export function shareOf(total: number, s: Shard): number {
  return total >= s.index ? Math.ceil((total - s.index + 1) / s.count) : 0;
}

/** Global (run-wide) index of a shard's `local`-th connection. */
export function globalIndex(local: number, s: Shard): number {
  return local * s.count + (s.index - 1);
}

/** Why this combination cannot run, or null. Checked once at start-up (exit 2). */
export function shardProblem(
  shard: Shard | null,
  totalClients: number,
  startAt: number | null,
  warmupS: number,
  durationS: number,
  nowMs = Date.now(),
): string | null {
  if (shard !== null && shareOf(totalClients, shard) === 0)
    return (
      `--shard ${shard.index}/${shard.count} with --clients ${totalClients}: every shard needs ` +
      `at least one connection (--clients is the total over all shards; expected --clients >= ${shard.count})`
    );
  if (shard !== null && shard.count > 1 && startAt === null)
    return (
      `--shard ${shard.index}/${shard.count} needs --start-at <epoch ms> (one start time shared ` +
      `by all shards, e.g. --start-at $(( $(date +%s%3N) + 15000 )))`
    );
  if (startAt !== null) {
    const end = startAt + (warmupS + durationS) * 1000;
    if (end <= nowMs)
      return `--start-at ${new Date(startAt).toISOString()}: its window ended ${Math.round(
        (nowMs - end) / 1000,
      )} s ago (expected a time whose warm-up + duration are still ahead)`;
    if (startAt - nowMs > MAX_START_AHEAD_MS)
      return `--start-at ${new Date(startAt).toISOString()}: more than 24 h ahead (expected epoch milliseconds, not seconds)`;
  }
  return null;
}

/** The run id every shard derives alike from the common start: YYYYMMDD-HHMMSS-<mode>, UTC. */
export function runIdFor(d: Date, mode: string): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return (
    `${String(d.getUTCFullYear())}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}-` +
    `${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}-${mode.replace(/[^A-Za-z0-9._-]/g, '_')}`
  );
}

/** The part of a result the merge compares (structurally: merge reads untrusted JSON). */
export interface Comparable {
  schemaVersion?: unknown;
  runId?: unknown;
  clock?: unknown;
  shard?: { count?: unknown; startAt?: unknown } | null;
  config?: Record<string, unknown>;
  target?: { mode?: unknown };
}

/** The fields shards of one run must share, in the order a merge checks them. */
export const COMPARED: readonly (readonly [string, (r: Comparable) => unknown])[] = [
  ['schemaVersion', (r) => r.schemaVersion],
  ['runId', (r) => r.runId],
  ['shard.count', (r) => r.shard?.count],
  ['shard.startAt', (r) => r.shard?.startAt],
  ['config.url', (r) => r.config?.url],
  ['config.clients', (r) => r.config?.clients],
  ['config.duration', (r) => r.config?.duration],
  ['config.warmup', (r) => r.config?.warmup],
  ['config.symbols', (r) => r.config?.symbols],
  ['config.connectRate', (r) => r.config?.connectRate],
  ['config.pingInterval', (r) => r.config?.pingInterval],
  ['target.mode', (r) => r.target?.mode],
  ['clock', (r) => r.clock],
];

let version: string | null = null;
/** client-bench's package version (the package.json beside the sources, also in the image). */
export function clientVersion(): string {
  if (version !== null) return version;
  try {
    const path = fileURLToPath(new URL('../../client-bench/package.json', import.meta.url));
    const pkg = JSON.parse(readFileSync(path, 'utf8')) as { version?: unknown };
    version = typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    version = 'unknown';
  }
  return version;
}

/** 16 hex digits of sha256 over the compared fields and the client-bench version. */
export function fingerprintOf(r: Comparable, ver = clientVersion()): string {
  const fields = COMPARED.map(([name, get]) => [name, get(r) ?? null]);
  return createHash('sha256')
    .update(JSON.stringify([ver, fields]))
    .digest('hex')
    .slice(0, 16);
}

/** The window planned by --start-at on the wall clock (epoch ms), or null without it. */
export function plannedWindow(
  startAt: number | null,
  warmupS: number,
  durationS: number,
): { start: number; end: number } | null {
  if (startAt === null) return null;
  const start = startAt + warmupS * 1000;
  return { start, end: start + durationS * 1000 };
}

/** The extra metric label of a shard: `shard="I"` (none without --shard). */
export function shardLabels(shard: Shard | null): Record<string, string> {
  return shard === null ? {} : { shard: String(shard.index) };
}
