// `client-bench merge FILE...`: the results of a run's shards -> one exact result. Counters add
// up, percentiles come from the shards' HDR histograms decoded and added (never averaged), the
// per-client spread pools every connection of every shard. Shards of different runs or
// configurations are refused naming the field that differs. See docs/client-bench.md.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import * as hdr from 'hdr-histogram-js';
import {
  defineFlags,
  helpText,
  parse,
  parseCli,
  UsageError,
  type Parser,
} from '../protocol/cli.js';
import { EXIT } from '../protocol/codes.js';
import { median, merged, pct } from './aggregate.js';
import {
  formatSummary,
  type Churn,
  type MergedShard,
  type NotMerged,
  type Result,
} from './result.js';
import { COMPARED } from './shard.js';

const PROGRAM = 'client-bench merge';

export interface ShardFile {
  file: string;
  result: Result;
}

type ShardResult = Result & { shard: NonNullable<Result['shard']> };

const round = (v: number, digits = 3) => Math.round(v * 10 ** digits) / 10 ** digits;
const show = (v: unknown) => (v === undefined ? 'absent' : JSON.stringify(v));

function refuse(message: string): never {
  throw new UsageError(`${PROGRAM}: ${message}`);
}

type Kind = 'number' | 'string' | 'boolean' | 'object' | 'array';

/** The fields the merge reads, with their types: a file without them is not a shard result. */
const NEEDED: readonly (readonly [string, Kind])[] = [
  ['runId', 'string'],
  ['startedAt', 'string'],
  ['endedAt', 'string'],
  ['machine', 'object'],
  ['config', 'object'],
  ['config.workers', 'number'],
  ['target', 'object'],
  ['throughput.msgsPerSec', 'number'],
  ['throughput.bytesPerSec', 'number'],
  ['throughput.windowSec', 'number'],
  ['delivery.received', 'number'],
  ['delivery.expected', 'number'],
  ['delivery.gaps', 'number'],
  ['delivery.duplicates', 'number'],
  ['delivery.reordered', 'number'],
  ['connections.opened', 'number'],
  ['connections.failed', 'number'],
  ['connections.openAtEnd', 'number'],
  ['client.cpuCores', 'number'],
  ['client.clientBound', 'boolean'],
  ['client.workers', 'array'],
  ['errors', 'array'],
  ['closes', 'object'],
  ['shard.index', 'number'],
  ['shard.count', 'number'],
  ['shard.fingerprint', 'string'],
  ['histograms.latencyUs', 'string'],
  ['histograms.connectUs', 'string'],
  ['histograms.rttUs', 'string'],
  ['perConnection.received', 'array'],
];

function at(v: unknown, path: string): unknown {
  let cur = v;
  for (const key of path.split('.')) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

function kindOf(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (v === null) return 'null';
  return typeof v;
}

/** Parses and checks one file: an unmerged shard result, or a UsageError naming why not. */
export function readShard(file: string, text: string): ShardFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    refuse(`${file} is not JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (at(json, 'schemaVersion') !== 1)
    refuse(
      `${file} is not a client-bench result of schemaVersion 1 (schemaVersion ${show(at(json, 'schemaVersion'))})`,
    );
  if (at(json, 'merge') !== undefined)
    refuse(`${file} is already a merged result (merge the shard files instead)`);
  const shard = at(json, 'shard');
  if (shard === undefined || shard === null)
    refuse(
      `${file} is not a shard result (shard ${show(shard)}; run client-bench with --shard I/N)`,
    );
  for (const [path, kind] of NEEDED) {
    const v = at(json, path);
    if (kindOf(v) !== kind)
      refuse(
        `${file}: ${path} is ${show(v)}, expected a ${kind} (not a client-bench shard result)`,
      );
  }
  for (const key of ['latencyUs', 'connectUs', 'rttUs'] as const) {
    try {
      hdr.decodeFromCompressedBase64(String(at(json, `histograms.${key}`)), 64).destroy();
    } catch (err) {
      refuse(
        `${file}: histograms.${key} is not an encoded HDR histogram (${err instanceof Error ? err.message : String(err)})`,
      );
    }
  }
  const sh = shard as { index: number; count: number };
  if (!Number.isInteger(sh.index) || sh.index < 1 || sh.index > sh.count)
    refuse(
      `${file}: shard.index ${show(sh.index)} is not within 1..shard.count (${show(sh.count)})`,
    );
  return { file, result: json as Result };
}

/** Refuses shards of different runs or configurations, naming the first field that differs. */
export function checkSameRun(shards: readonly ShardFile[]): void {
  const first = shards[0];
  if (first === undefined) refuse('no result files given (expected one or more shard results)');
  const seen = new Map<number, string>();
  for (const s of shards) {
    for (const [field, get] of COMPARED) {
      const a = get(first.result);
      const b = get(s.result);
      if (JSON.stringify(a) !== JSON.stringify(b))
        refuse(
          `${s.file} differs from ${first.file} in ${field}: ${show(a)} vs ${show(b)} ` +
            '(results of different runs or configurations cannot be merged)',
        );
    }
    const fa = first.result.shard?.fingerprint;
    const fb = s.result.shard?.fingerprint;
    if (fa !== fb)
      refuse(
        `${s.file} differs from ${first.file} in shard.fingerprint: ${show(fa)} vs ${show(fb)} ` +
          '(the compared fields agree: written by different client-bench versions, or edited)',
      );
    const index = s.result.shard?.index ?? 0;
    const dup = seen.get(index);
    if (dup !== undefined)
      refuse(
        `shard ${String(index)}/${show(s.result.shard?.count)} given twice: ${dup} and ${s.file}`,
      );
    seen.set(index, s.file);
  }
}

function summed(hs: hdr.Histogram): {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  count: number;
} {
  return {
    p50: pct(hs, 50),
    p90: pct(hs, 90),
    p99: pct(hs, 99),
    p999: pct(hs, 99.9),
    max: hs.totalCount > 0 ? hs.maxValue : 0,
    count: hs.totalCount,
  };
}

/**
 * The scenario and per-second blocks a merge cannot add up exactly, and why: they are left out of
 * the merged result and named in merge.notMerged (each shard file keeps its own).
 */
export const NOT_MERGED_WHY = {
  timeline:
    "each shard cuts its seconds on its own clock from its own start (--start-at aligns them only to within merge.startSpreadMs), so adding the shards' second i would mix different seconds",
  reconnect:
    'each shard times its own storm from its own window start and finds the p99 recovery on its own timeline, which is not merged',
  slowConsumers:
    "a shard gives its slow consumers' latency as percentiles only (no histogram), and percentiles cannot be added",
  serverLoss:
    "each shard times the server's closes and its own recovery from its own window start (aligned only to within merge.startSpreadMs), so the run's outage is not any sum or maximum of them",
} as const;

/**
 * churn adds up exactly (every shard closes and reopens at its own --churn-rate: the rates and
 * the counts sum); timeline, reconnect, slowConsumers and serverLoss do not (NOT_MERGED_WHY).
 */
export function mergeScenarioBlocks(rs: readonly Result[]): {
  churn?: Churn | null;
  notMerged: NotMerged[];
} {
  const notMerged: NotMerged[] = [];
  const has = (f: (r: Result) => unknown): boolean =>
    rs.some((r) => {
      const v = f(r);
      return v !== null && v !== undefined && !(Array.isArray(v) && v.length === 0);
    });
  if (has((r) => r.timeline))
    notMerged.push({ field: 'timeline', reason: NOT_MERGED_WHY.timeline });
  if (has((r) => r.reconnect))
    notMerged.push({ field: 'reconnect', reason: NOT_MERGED_WHY.reconnect });
  if (has((r) => r.slowConsumers))
    notMerged.push({ field: 'slowConsumers', reason: NOT_MERGED_WHY.slowConsumers });
  if (has((r) => r.serverLoss))
    notMerged.push({ field: 'serverLoss', reason: NOT_MERGED_WHY.serverLoss });
  const churns = rs.map((r) => r.churn ?? null);
  const ran = churns.filter((c): c is Churn => c !== null);
  if (ran.length === 0)
    return rs.every((r) => r.churn === undefined) ? { notMerged } : { churn: null, notMerged };
  if (ran.length < rs.length) {
    const idx = rs.flatMap((r, i) => (churns[i] !== null ? [String(r.shard?.index ?? i + 1)] : []));
    notMerged.push({
      field: 'churn',
      reason: `only shard(s) ${idx.join(', ')} of those given ran with --churn-rate: a sum would not be the run's churn`,
    });
    return { notMerged };
  }
  const total = (f: (c: Churn) => number): number => ran.reduce((a, c) => a + f(c), 0);
  return {
    churn: {
      ratePerSec: round(total((c) => c.ratePerSec)),
      closed: total((c) => c.closed),
      reopened: total((c) => c.reopened),
      failedReopens: total((c) => c.failedReopens),
    },
    notMerged,
  };
}

/** One result out of a run's shards (already read and checked). */
export function mergeShards(input: readonly ShardFile[]): Result {
  checkSameRun(input);
  const shards = [...input].sort(
    (a, b) => (a.result.shard?.index ?? 0) - (b.result.shard?.index ?? 0),
  );
  const rs = shards.map((s) => s.result as ShardResult);
  const head = rs[0];
  if (head === undefined) refuse('no result files given');
  const sum = (f: (r: Result) => number) => rs.reduce((a, r) => a + f(r), 0);

  const lat = merged(rs.map((r) => r.histograms.latencyUs));
  const con = merged(rs.map((r) => r.histograms.connectUs));
  const rtt = merged(rs.map((r) => r.histograms.rttUs));

  // Fairness: every connection's count over its own shard's window.
  const perRate: number[] = [];
  for (const r of rs) {
    const sec = r.throughput.windowSec;
    for (const n of r.perConnection.received) perRate.push(sec > 0 ? n / sec : 0);
  }
  perRate.sort((a, b) => a - b);
  const counts = rs.flatMap((r) => r.perConnection.received).sort((a, b) => a - b);

  const errors = new Map<string, Result['errors'][number]>();
  const closes: Record<string, number> = {};
  for (const r of rs) {
    for (const e of r.errors) {
      const cur = errors.get(e.type);
      if (cur) cur.count += e.count;
      else errors.set(e.type, { ...e });
    }
    for (const [code, n] of Object.entries(r.closes)) closes[code] = (closes[code] ?? 0) + n;
  }

  const windows = rs.map((r) =>
    r.window ? { start: Date.parse(r.window.startedAt), end: Date.parse(r.window.endedAt) } : null,
  );
  const present = windows.filter((w): w is { start: number; end: number } => w !== null);
  const allWindows = present.length === rs.length && present.length > 0;
  const overlapStart = Math.max(...present.map((w) => w.start));
  const overlapEnd = Math.min(...present.map((w) => w.end));
  const iso = (ms: number) => new Date(ms).toISOString();

  const count = head.shard.count;
  const given = new Set(rs.map((r) => r.shard.index));
  const missing: number[] = [];
  for (let i = 1; i <= count; i++) if (!given.has(i)) missing.push(i);
  const reasons: string[] = [];
  if (missing.length > 0)
    reasons.push(
      `shard(s) ${missing.join(', ')} of ${String(count)} missing: their connections are not in this result`,
    );
  for (const r of rs)
    if (r.aborted) reasons.push(`shard ${String(r.shard.index)} aborted: ${r.aborted.reason}`);

  const scenario = mergeScenarioBlocks(rs);

  const perShard: MergedShard[] = shards.map(({ file, result: r }) => ({
    index: r.shard?.index ?? 0,
    file,
    window: r.window ?? null,
    windowSec: r.throughput.windowSec,
    received: r.delivery.received,
    msgsPerSec: r.throughput.msgsPerSec,
    clientBound: r.client.clientBound,
    aborted: r.aborted?.reason ?? null,
    lateMs: r.shard?.lateMs ?? 0,
    serverSent: r.delivery.serverSent,
  }));

  const out: Result = {
    schemaVersion: 1,
    runId: head.runId,
    startedAt: iso(Math.min(...rs.map((r) => Date.parse(r.startedAt)))),
    endedAt: iso(Math.max(...rs.map((r) => Date.parse(r.endedAt)))),
    window:
      present.length > 0
        ? {
            startedAt: iso(Math.min(...present.map((w) => w.start))),
            endedAt: iso(Math.max(...present.map((w) => w.end))),
          }
        : null,
    machine: head.machine,
    config: { ...head.config, workers: sum((r) => r.config.workers) },
    target: head.target,
    throughput: {
      msgsPerSec: round(
        sum((r) => r.throughput.msgsPerSec),
        1,
      ),
      bytesPerSec: round(
        sum((r) => r.throughput.bytesPerSec),
        1,
      ),
      windowSec: Math.max(...rs.map((r) => r.throughput.windowSec)),
      perClient: {
        min: round(perRate[0] ?? 0, 1),
        median: round(median(perRate), 1),
        max: round(perRate[perRate.length - 1] ?? 0, 1),
      },
    },
    delivery: {
      received: sum((r) => r.delivery.received),
      expected: sum((r) => r.delivery.expected),
      gaps: sum((r) => r.delivery.gaps),
      duplicates: sum((r) => r.delivery.duplicates),
      reordered: sum((r) => r.delivery.reordered),
      // Server-wide: each shard read the same counter over its own window; its share of the
      // connections is its share of the deliveries, so the weighted sum is comparable to received.
      serverSent: rs.every((r) => r.delivery.serverSent !== null)
        ? Math.round(
            rs.reduce(
              (a, r) => a + ((r.delivery.serverSent ?? 0) * r.shard.clients) / r.config.clients,
              0,
            ),
          )
        : null,
    },
    latencyUs: summed(lat),
    rttUs:
      rtt.totalCount > 0
        ? { p50: pct(rtt, 50), p99: pct(rtt, 99), max: rtt.maxValue, count: rtt.totalCount }
        : null,
    connectMs: {
      p50: round(pct(con, 50) / 1000),
      p99: round(pct(con, 99) / 1000),
      max: round(con.totalCount > 0 ? con.maxValue / 1000 : 0),
    },
    connections: {
      opened: sum((r) => r.connections.opened),
      failed: sum((r) => r.connections.failed),
      openAtEnd: sum((r) => r.connections.openAtEnd),
    },
    client: {
      cpuCores: round(sum((r) => r.client.cpuCores)),
      clientBound: rs.some((r) => r.client.clientBound),
      workers: rs.flatMap((r) => r.client.workers),
    },
    errors: [...errors.values()],
    closes,
    aborted: reasons.length > 0 ? { reason: reasons.join('; ') } : null,
    clock: head.clock,
    histograms: {
      latencyUs: hdr.encodeIntoCompressedBase64(lat),
      connectUs: hdr.encodeIntoCompressedBase64(con),
      rttUs: hdr.encodeIntoCompressedBase64(rtt),
    },
    perConnection: { received: counts },
    shard: null,
    ...(scenario.churn !== undefined ? { churn: scenario.churn } : {}),
    merge: {
      count,
      shards: perShard,
      missing,
      overlap:
        allWindows && overlapEnd > overlapStart
          ? {
              startedAt: iso(overlapStart),
              endedAt: iso(overlapEnd),
              sec: round((overlapEnd - overlapStart) / 1000),
            }
          : null,
      startSpreadMs:
        present.length > 0 ? overlapStart - Math.min(...present.map((w) => w.start)) : null,
      notMerged: scenario.notMerged,
    },
  };
  lat.destroy();
  con.destroy();
  rtt.destroy();
  return out;
}

/** The summary table plus one line per shard and the overlap. */
export function formatMergeSummary(r: Result): string {
  const m = r.merge;
  const lines = [formatSummary(r).replace(/^client-bench result/, 'client-bench merged result')];
  if (!m) return lines[0] ?? '';
  lines.push(
    `  shards      ${String(m.shards.length)} of ${String(m.count)}` +
      (m.missing.length > 0 ? `  !!! missing: ${m.missing.join(', ')}` : ''),
  );
  for (const s of m.shards)
    lines.push(
      `    ${`${String(s.index)}/${String(m.count)}`.padEnd(8)} ${Math.round(s.msgsPerSec).toLocaleString('en-US')} msg/s, ` +
        `received ${s.received.toLocaleString('en-US')}, window ${String(s.windowSec)} s` +
        (s.lateMs > 0 ? ` (${String(s.lateMs)} ms late)` : '') +
        (s.clientBound ? ', CLIENT-BOUND' : '') +
        (s.aborted !== null ? `, ABORTED` : '') +
        `  ${s.file}`,
    );
  lines.push(
    `  overlap     ${m.overlap ? `${String(m.overlap.sec)} s (${m.overlap.startedAt} .. ${m.overlap.endedAt})` : 'none'}` +
      (m.startSpreadMs !== null ? `; window starts spread ${String(m.startSpreadMs)} ms` : ''),
  );
  for (const n of m.notMerged) lines.push(`  not merged  ${n.field}: ${n.reason}`);
  return lines.join('\n');
}

/** A path, or null (the default: stdout). */
const OUT_PATH: Parser<string | null> = parse.text('a file path');

const FLAGS = defineFlags({
  out: {
    long: 'out',
    short: 'o',
    arg: 'FILE',
    help: 'write the merged result here (pretty-printed); without it, one JSON line on stdout',
    default: null as string | null,
    parse: OUT_PATH,
  },
  json: {
    long: 'json',
    short: 'j',
    help: 'also print the merged result as one JSON line on stdout (with --out)',
    default: false,
  },
  quiet: {
    long: 'quiet',
    short: 'q',
    help: 'no summary on stderr (unless a shard is missing)',
    default: false,
  },
});

export function mergeHelp(): string {
  return helpText(FLAGS, {
    usage: 'client-bench merge SHARD.json... [-o merged.json] [-j] [-q]',
    about: [
      'Merges the result files of one sharded run (client-bench --shard I/N) into one exact',
      'result: sums, percentiles from the merged HDR histograms, per-client fairness over all',
      'shards, each shard window and their overlap. Shards of different runs or configurations',
      'are refused (exit 2) naming the field that differs; missing or aborted shards still give',
      'a merged result, marked aborted (exit 3).',
    ],
  });
}

/** The subcommand: argv after `merge`. Returns the exit code; bad input prints and is 2. */
export async function mergeMain(argv: readonly string[]): Promise<number> {
  try {
    return await merge(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`${err.message}\n`);
    return err.exitCode;
  }
}

async function merge(argv: readonly string[]): Promise<number> {
  const parsed = parseCli(PROGRAM, FLAGS, argv, { positionals: true });
  if (parsed.help) {
    process.stdout.write(mergeHelp());
    return EXIT.ok;
  }
  const { values, positionals } = parsed;
  if (positionals.length === 0)
    refuse('no result files given (expected: client-bench merge a.json b.json ... [-o FILE])');
  const files: ShardFile[] = [];
  for (const file of positionals) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      refuse(`cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`);
    }
    files.push(readShard(file, text));
  }
  const result = mergeShards(files);
  if (values.out !== null) {
    await mkdir(dirname(values.out), { recursive: true });
    await writeFile(values.out, JSON.stringify(result, null, 2) + '\n');
  }
  if (values.out === null || values.json) process.stdout.write(JSON.stringify(result) + '\n');
  if (!values.quiet || result.aborted !== null)
    process.stderr.write(formatMergeSummary(result) + '\n');
  return result.aborted === null ? EXIT.ok : EXIT.aborted;
}
