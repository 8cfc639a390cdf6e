// The result document (schemaVersion 1, see result.schema.json and docs/client-bench.md) and
// the summary table humans read on stderr.
import os from 'node:os';
import { clockKind, type ClockKind } from '../protocol/index.js';
import type { Config } from './config.js';
import { median, type Aggregate } from './aggregate.js';
import { fingerprintOf } from './shard.js';

/** A worker busier than this (event-loop utilisation) measures itself, not the server. */
export const BUSY_LIMIT = 0.9;
/** Event-loop delay p99 above this means the worker fell behind its sockets. */
export const LAG_LIMIT_MS = 100;

export interface Result {
  schemaVersion: 1;
  runId: string;
  startedAt: string;
  endedAt: string;
  /** The measured window itself (endedAt is later: it follows the collection of reports). */
  window?: { startedAt: string; endedAt: string } | null;
  machine: {
    cpus: number;
    model: string;
    node: string;
    os: string;
    arch: string;
    totalMemBytes: number;
  };
  config: Pick<Config, 'url' | 'clients' | 'duration' | 'warmup' | 'workers' | 'symbols'> & {
    connectRate: number;
    pingInterval: number;
  };
  target: { mode: string; health: Record<string, unknown> | null };
  throughput: {
    msgsPerSec: number;
    bytesPerSec: number;
    windowSec: number;
    perClient: { min: number; median: number; max: number };
  };
  delivery: {
    received: number;
    expected: number;
    gaps: number;
    duplicates: number;
    reordered: number;
    serverSent: number | null;
  };
  latencyUs: Aggregate['latencyUs'];
  rttUs: Aggregate['rttUs'];
  connectMs: Aggregate['connectMs'];
  connections: { opened: number; failed: number; openAtEnd: number };
  client: {
    cpuCores: number;
    clientBound: boolean;
    workers: { cpuCores: number; eventLoopP99Ms: number }[];
    /** What the client's own cost per frame was and whether it was the limit (absent: merged). */
    saturation?: Saturation;
  };
  errors: { type: string; count: number; message: string }[];
  closes: Record<string, number>;
  aborted: null | { reason: string };
  /** The clock of the latency figures (WSBENCH_CLOCK). */
  clock: ClockKind;
  /** What a merge across shards adds up: the HDR histograms behind the percentiles (µs). */
  histograms: { latencyUs: string; connectUs: string; rttUs: string };
  /** Ticks received in the window per opened connection, ascending. */
  perConnection: { received: number[] };
  /** With --shard: this process's share of the run; null otherwise (and in a merged result). */
  shard: ShardInfo | null;
  /** Only in a merged result (client-bench merge). */
  merge?: MergeInfo;
  /**
   * One entry per second of the run's clock, from the first connection attempt to the end of the
   * window; `t` = start of the second relative to the window start, s (negative before it).
   * Absent only in a merged result (not merged exactly: merge.notMerged says why).
   */
  timeline?: TimelineSecond[];
  /** --churn-rate: connections closed and reopened during the window; null without churn. */
  churn?: Churn | null;
  /** --reconnect-at: the reconnect storm and the recovery from it; null without one. */
  reconnect?: Reconnect | null;
  /**
   * --on-server-close reconnect: the server's closes (it died or restarted) and how long until
   * every lost connection received ticks again; null with --on-server-close abort.
   */
  serverLoss?: ServerLoss | null;
  /**
   * --slow-share: the slow consumers, counted apart. Every other figure of the result
   * (throughput, delivery, latency, timeline) is then the healthy connections' alone.
   */
  slowConsumers?: SlowConsumers | null;
}

export interface SlowConsumers {
  share: number;
  readBytesPerSec: number;
  connections: number;
  openAtEnd: number;
  received: number;
  expected: number;
  /** Ticks not delivered to them (server drops show up as seq gaps). */
  gaps: number;
  /** received / expected, 0-1 (null when nothing was expected). */
  deliveredRatio: number | null;
  /** Closed by the server, by close code (1008 = its slow-client policy). */
  closes: Record<string, number>;
  latencyUs: { p50: number; p99: number; max: number };
}

export interface Churn {
  ratePerSec: number;
  /** Closed by the client (close handshake) and reopened; each reopen is a new seq baseline. */
  closed: number;
  reopened: number;
  failedReopens: number;
}

export interface Reconnect {
  /** Seconds into the window the storm started (as configured). */
  atSec: number;
  sloP99Ms: number;
  /** Connections dropped at once, reopened, and receiving ticks again. */
  dropped: number;
  reopened: number;
  receiving: number;
  /** Storm start -> the last connection open again / receiving again, s (null: not all were). */
  allOpenSec: number | null;
  allReceivingSec: number | null;
  /**
   * Storm start -> the start of the first second (of those starting after the storm) from which
   * every second of the window has p99 within the SLO, s (1 s resolution; null: never).
   */
  p99RecoveredSec: number | null;
}

export interface ServerLoss {
  policy: 'reconnect';
  /** Connections closed by the server and reopened (one lost twice counts twice). */
  closed: number;
  reopened: number;
  receiving: number;
  /** Reopen attempts refused while the server was away (retried, backing off to 250 ms). */
  failedReopens: number;
  /** The first / last server close, s from the window start (negative: before it). */
  firstCloseSec: number | null;
  lastCloseSec: number | null;
  /** First close -> the last lost connection open again, s (null: not all were). */
  allOpenSec: number | null;
  /** First close -> the last lost connection receiving ticks again, s (null: not all were). */
  outageSec: number | null;
  /** Every lost connection receives ticks again. */
  recovered: boolean;
  /**
   * What the delivery figures do with the outage: a reopened socket starts its own seq baseline
   * (a restarted server starts its seq over), so ticks the server did not send while it was
   * away are neither expected nor gaps; the outage is its own figure.
   */
  accounting: string;
}

export type Phase = 'connect' | 'warmup' | 'window';

export interface TimelineSecond {
  t: number;
  phase: Phase;
  /** Seconds of this entry that were measured (1 except a cut last one). */
  durationSec: number;
  msgsPerSec: number;
  gaps: number;
  /** Connections open at the end of the second. */
  open: number;
  p50Us: number;
  p99Us: number;
  maxUs: number;
  /** The second's HDR latency histogram (µs, encodeIntoCompressedBase64): what a merge adds. */
  latencyHdr: string;
}

/** Times on the run clock (µs) that cut the timeline into phases. */
export interface Phases {
  originUs: number;
  warmupStartUs: number | null;
  windowStartUs: number | null;
  windowEndUs: number | null;
}

/** The client-bound verdict with its measurement: the client's CPU per delivered frame. */
export interface Saturation {
  /** The client was the limit (= clientBound). */
  saturated: boolean;
  /** Client process CPU over the window / frames delivered in it, ns; null without frames. */
  nsPerFrame: number | null;
  /** 1e9 / nsPerFrame: what one client core absorbs at this cost, frames/s; null without. */
  framesPerCoreSec: number | null;
  /** --burn-ns of the run (0: none): busy work added per frame on purpose. */
  burnNs: number;
  /** Why, in words (empty when not saturated). */
  reason: string;
}

export interface ShardInfo {
  /** 1-based. */
  index: number;
  count: number;
  /** Connections this shard owns (config.clients is the total over all shards). */
  clients: number;
  /** The common --start-at (ISO), or null. */
  startAt: string | null;
  /** How late this shard's window opened against start-at + warm-up, ms (0 when on time). */
  lateMs: number;
  /** 16 hex of sha256 over the fields a merge compares and the client-bench version. */
  fingerprint: string;
}

export interface MergedShard {
  index: number;
  file: string;
  window: { startedAt: string; endedAt: string } | null;
  windowSec: number;
  received: number;
  msgsPerSec: number;
  clientBound: boolean;
  aborted: string | null;
  lateMs: number;
  serverSent: number | null;
}

export interface MergeInfo {
  count: number;
  shards: MergedShard[];
  /** Shard indexes of the run that were not given to the merge. */
  missing: number[];
  /** The interval every given shard measured; null when the windows do not overlap. */
  overlap: { startedAt: string; endedAt: string; sec: number } | null;
  /** Latest minus earliest window start, ms (each by its own host's clock). */
  startSpreadMs: number | null;
  /** The shards' blocks the merge left out because they do not add up exactly, and why. */
  notMerged: NotMerged[];
}

export interface NotMerged {
  field: 'timeline' | 'reconnect' | 'slowConsumers' | 'serverLoss' | 'churn';
  reason: string;
}

/** With --shard: what buildResult writes into `shard`. */
export interface ShardContext {
  index: number;
  count: number;
  totalClients: number;
  /** Epoch ms, or null. */
  startAt: number | null;
  lateMs: number;
}

export interface RunContext {
  config: Config;
  runId: string;
  startedAt: Date;
  endedAt: Date;
  window: { start: Date; end: Date } | null;
  mode: string;
  health: Record<string, unknown> | null;
  serverSent: number | null;
  /** CPU of the whole client process over the window, in cores. */
  cpuCores: number;
  aborted: string | null;
  /** With --shard (absent or null: the process is the whole run). */
  shard?: ShardContext | null;
  /** Phase boundaries of the timeline (absent: no timeline). */
  phases?: Phases;
}

function saturationOf(
  agg: Aggregate,
  ctx: RunContext,
  workers: Result['client']['workers'],
  saturated: boolean,
): Saturation {
  const sec = agg.windowUs / 1e6;
  const ns = agg.received > 0 && sec > 0 ? (ctx.cpuCores * sec * 1e9) / agg.received : null;
  const perCore = ns !== null && ns > 0 ? Math.round(1e9 / ns) : null;
  const why = workers
    .map((w, i) =>
      w.cpuCores >= BUSY_LIMIT
        ? `worker ${i} busy ${w.cpuCores.toFixed(2)}`
        : w.eventLoopP99Ms >= LAG_LIMIT_MS
          ? `worker ${i} event-loop delay p99 ${w.eventLoopP99Ms} ms`
          : '',
    )
    .filter((s) => s !== '')
    .join(', ');
  const cost =
    ns === null
      ? ''
      : `: the client spent ${ns.toFixed(0)} ns of CPU per delivered frame, so one client core ` +
        `absorbs at most ~${((perCore ?? 0) / 1e6).toFixed(2)}M frames/s`;
  const burn = ctx.config.burnNs > 0 ? ` (--burn-ns ${ctx.config.burnNs} added on purpose)` : '';
  return {
    saturated,
    nsPerFrame: ns === null ? null : round(ns, 1),
    framesPerCoreSec: perCore,
    burnNs: ctx.config.burnNs,
    reason: saturated ? `${why}${cost}${burn}` : '',
  };
}

const LOSS_ACCOUNTING =
  'ticks of the outage are neither expected nor gaps (each reopened socket starts its own seq baseline); the outage is outageSec';

function serverLossOf(agg: Aggregate, phases: Phases | undefined): ServerLoss {
  const l = agg.loss;
  const origin = phases?.windowStartUs ?? null;
  const rel = (us: number): number | null =>
    origin === null || us === 0 ? null : round((us - origin) / 1e6);
  const closed = l?.closed ?? 0;
  const reopened = l?.reopened ?? 0;
  const receiving = l?.receiving ?? 0;
  return {
    policy: 'reconnect',
    closed,
    reopened,
    receiving,
    failedReopens: l?.failedReopens ?? 0,
    firstCloseSec: l !== null ? rel(l.firstCloseUs) : null,
    lastCloseSec: l !== null ? rel(l.lastCloseUs) : null,
    allOpenSec:
      l !== null && closed > 0 && reopened >= closed
        ? round(Math.max(0, l.lastOpenUs - l.firstCloseUs) / 1e6)
        : null,
    outageSec:
      l !== null && closed > 0 && receiving >= closed
        ? round(Math.max(0, l.lastTickUs - l.firstCloseUs) / 1e6)
        : null,
    recovered: receiving >= closed,
    accounting: LOSS_ACCOUNTING,
  };
}

function reconnectOf(
  agg: Aggregate,
  atSec: number,
  sloP99Ms: number,
  timeline: TimelineSecond[],
  phases: Phases | undefined,
): Reconnect {
  const s = agg.storm;
  const out: Reconnect = {
    atSec,
    sloP99Ms,
    dropped: s?.dropped ?? 0,
    reopened: s?.reopened ?? 0,
    receiving: s?.receiving ?? 0,
    allOpenSec: null,
    allReceivingSec: null,
    p99RecoveredSec: null,
  };
  if (s === null || phases?.windowStartUs == null) return out;
  if (s.dropped > 0 && s.reopened >= s.dropped)
    out.allOpenSec = round(Math.max(0, s.lastOpenUs - s.startUs) / 1e6);
  if (s.dropped > 0 && s.receiving >= s.dropped)
    out.allReceivingSec = round(Math.max(0, s.lastTickUs - s.startUs) / 1e6);
  const stormT = (s.startUs - phases.windowStartUs) / 1e6;
  const after = timeline.filter((e) => e.phase === 'window' && e.t >= stormT - 0.001);
  // The first second from which every later one is within the SLO.
  let first: TimelineSecond | null = null;
  for (const e of after) {
    if (e.p99Us <= sloP99Ms * 1000 && e.msgsPerSec > 0) first ??= e;
    else first = null;
  }
  if (first !== null) out.p99RecoveredSec = round(Math.max(0, first.t - stormT));
  return out;
}

/** A second starting this close before a phase boundary belongs to the phase after it. */
const PHASE_SLACK_US = 500_000;

/** The merged seconds as the result's timeline: phase by start time, nothing after the window. */
export function buildTimeline(seconds: Aggregate['timeline'], p: Phases): TimelineSecond[] {
  const ref = p.windowStartUs ?? p.warmupStartUs ?? p.originUs;
  const end = p.windowEndUs ?? Infinity;
  const out: TimelineSecond[] = [];
  for (const s of seconds) {
    const startUs = p.originUs + s.second * 1e6;
    if (startUs >= end) continue;
    const phase: Phase =
      p.windowStartUs !== null && startUs >= p.windowStartUs - PHASE_SLACK_US
        ? 'window'
        : p.warmupStartUs !== null && startUs >= p.warmupStartUs - PHASE_SLACK_US
          ? 'warmup'
          : 'connect';
    const durationSec = Math.min(s.durationUs, end - startUs) / 1e6;
    out.push({
      t: round((startUs - ref) / 1e6),
      phase,
      durationSec: round(durationSec),
      msgsPerSec: durationSec > 0 ? round(s.received / durationSec, 1) : 0,
      gaps: s.gaps,
      open: s.open,
      p50Us: s.latencyUs.p50,
      p99Us: s.latencyUs.p99,
      maxUs: s.latencyUs.max,
      latencyHdr: s.encoded,
    });
  }
  return out;
}

const round = (v: number, digits = 3) => Math.round(v * 10 ** digits) / 10 ** digits;

export function machineInfo(): Result['machine'] {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    model: cpus[0]?.model ?? 'unknown',
    node: process.version,
    os: `${os.type()} ${os.release()}`,
    arch: process.arch,
    totalMemBytes: os.totalmem(),
  };
}

export function buildResult(agg: Aggregate, ctx: RunContext): Result {
  const sec = agg.windowUs / 1e6;
  const rate = (n: number) => (sec > 0 ? round(n / sec, 1) : 0);
  const per = agg.perClient;
  const workers = agg.busy.map((b, i) => ({
    cpuCores: round(b),
    eventLoopP99Ms: round(agg.eventLoopP99Ms[i] ?? 0, 1),
  }));
  const clientBound = workers.some(
    (w) => w.cpuCores >= BUSY_LIMIT || w.eventLoopP99Ms >= LAG_LIMIT_MS,
  );
  const c = ctx.config;
  const sh = ctx.shard ?? null;
  const saturation = saturationOf(agg, ctx, workers, clientBound);
  const result: Result = {
    schemaVersion: 1,
    runId: ctx.runId,
    startedAt: ctx.startedAt.toISOString(),
    endedAt: ctx.endedAt.toISOString(),
    window: ctx.window
      ? { startedAt: ctx.window.start.toISOString(), endedAt: ctx.window.end.toISOString() }
      : null,
    machine: machineInfo(),
    config: {
      url: c.url,
      clients: sh ? sh.totalClients : c.clients,
      duration: c.duration,
      warmup: c.warmup,
      workers: c.workers,
      symbols: c.symbols,
      connectRate: c.connectRate,
      pingInterval: c.pingInterval,
    },
    target: { mode: ctx.mode, health: ctx.health },
    throughput: {
      msgsPerSec: rate(agg.received),
      bytesPerSec: rate(agg.bytes),
      windowSec: round(sec),
      perClient: {
        min: rate(per[0] ?? 0),
        median: rate(median(per)),
        max: rate(per[per.length - 1] ?? 0),
      },
    },
    delivery: {
      received: agg.received,
      expected: agg.expected,
      gaps: agg.gaps,
      duplicates: agg.duplicates,
      reordered: agg.reordered,
      serverSent: ctx.serverSent,
    },
    latencyUs: agg.latencyUs,
    rttUs: agg.rttUs,
    connectMs: {
      p50: round(agg.connectMs.p50),
      p99: round(agg.connectMs.p99),
      max: round(agg.connectMs.max),
    },
    connections: { opened: agg.opened, failed: agg.failed, openAtEnd: agg.open },
    client: { cpuCores: round(ctx.cpuCores), clientBound, workers, saturation },
    errors: agg.errors,
    closes: agg.closes,
    aborted: ctx.aborted === null ? null : { reason: ctx.aborted },
    clock: clockKind,
    histograms: agg.encoded,
    perConnection: { received: per },
    shard: null,
    timeline: ctx.phases !== undefined ? buildTimeline(agg.timeline, ctx.phases) : [],
    churn:
      c.churnRate > 0
        ? {
            ratePerSec: c.churnRate,
            closed: agg.restarts.churned,
            reopened: agg.restarts.reopened,
            failedReopens: agg.restarts.failedReopens,
          }
        : null,
    reconnect: null,
    serverLoss: c.onServerClose === 'reconnect' ? serverLossOf(agg, ctx.phases) : null,
    slowConsumers:
      agg.slow === null
        ? null
        : {
            share: c.slowShare,
            readBytesPerSec: c.slowReadRate,
            ...agg.slow,
            deliveredRatio:
              agg.slow.expected > 0 ? round(agg.slow.received / agg.slow.expected, 4) : null,
          },
  };
  if (c.reconnectAt !== null && result.timeline !== undefined)
    result.reconnect = reconnectOf(agg, c.reconnectAt, c.sloP99Ms, result.timeline, ctx.phases);
  if (sh) {
    result.shard = {
      index: sh.index,
      count: sh.count,
      clients: c.clients,
      startAt: sh.startAt === null ? null : new Date(sh.startAt).toISOString(),
      lateMs: Math.round(sh.lateMs),
      fingerprint: '',
    };
    result.shard.fingerprint = fingerprintOf(result);
  }
  return result;
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const ms = (us: number) => (us / 1000).toFixed(us < 10_000 ? 2 : 1) + ' ms';

export function formatSummary(r: Result): string {
  const rows: [string, string][] = [
    ['run', `${r.runId}  (target ${r.target.mode}, ${r.config.url})`],
    ...(r.shard
      ? ([
          [
            'shard',
            `${r.shard.index}/${r.shard.count}: ${r.shard.clients} of ${r.config.clients} connections` +
              (r.shard.startAt === null ? '' : `, start-at ${r.shard.startAt}`) +
              (r.shard.lateMs > 0 ? `, window ${r.shard.lateMs} ms late` : ''),
          ],
        ] as [string, string][])
      : []),
    [
      'window',
      `${r.throughput.windowSec} s, ${r.connections.openAtEnd}/${r.shard ? r.shard.clients : r.config.clients} connections open at end`,
    ],
    [
      'throughput',
      `${fmt(r.throughput.msgsPerSec)} msg/s   ${(r.throughput.bytesPerSec / 1e6).toFixed(2)} MB/s`,
    ],
    [
      'per client',
      `min ${fmt(r.throughput.perClient.min)}  median ${fmt(r.throughput.perClient.median)}  max ${fmt(r.throughput.perClient.max)} msg/s`,
    ],
    [
      'delivery',
      `received ${fmt(r.delivery.received)} / expected ${fmt(r.delivery.expected)}` +
        (r.delivery.serverSent === null ? '' : ` (server sent ${fmt(r.delivery.serverSent)})`),
    ],
    [
      'seq',
      `gaps ${fmt(r.delivery.gaps)}  duplicates ${fmt(r.delivery.duplicates)}  reordered ${fmt(r.delivery.reordered)}`,
    ],
    [
      'latency',
      `p50 ${ms(r.latencyUs.p50)}  p90 ${ms(r.latencyUs.p90)}  p99 ${ms(r.latencyUs.p99)}  ` +
        `p99.9 ${ms(r.latencyUs.p999)}  max ${ms(r.latencyUs.max)}  (n=${fmt(r.latencyUs.count)})`,
    ],
  ];
  if (r.rttUs)
    rows.push(['rtt', `p50 ${ms(r.rttUs.p50)}  p99 ${ms(r.rttUs.p99)}  max ${ms(r.rttUs.max)}`]);
  rows.push(
    ['connect', `p50 ${r.connectMs.p50} ms  p99 ${r.connectMs.p99} ms  max ${r.connectMs.max} ms`],
    [
      'client cpu',
      `${r.client.cpuCores} cores; workers busy ${r.client.workers.map((w) => w.cpuCores.toFixed(2)).join(' ')}`,
    ],
  );
  if (r.errors.length)
    rows.push(['errors', r.errors.map((e) => `${e.type} x${e.count}: ${e.message}`).join('; ')]);
  if (Object.keys(r.closes).length) {
    rows.push([
      'closes',
      Object.entries(r.closes)
        .map(([c, n]) => `${c} x${n}`)
        .join('  '),
    ]);
  }
  const loss = r.serverLoss;
  if (loss && loss.closed > 0)
    rows.push([
      'server loss',
      `${fmt(loss.closed)} connections closed by the server from ${loss.firstCloseSec ?? '?'} s, ` +
        (loss.outageSec !== null
          ? `all receiving again after ${loss.outageSec} s (outage)`
          : `NOT recovered: ${fmt(loss.receiving)} of ${fmt(loss.closed)} receiving again`) +
        `; ${fmt(loss.failedReopens)} refused reopens`,
    ]);
  const lines = rows.map(([k, v]) => `  ${k.padEnd(11)} ${v}`);
  if (r.client.clientBound) {
    const why =
      r.client.saturation?.reason ??
      r.client.workers
        .map((w, i) =>
          w.cpuCores >= BUSY_LIMIT
            ? `worker ${i} busy ${w.cpuCores.toFixed(2)}`
            : w.eventLoopP99Ms >= LAG_LIMIT_MS
              ? `worker ${i} event-loop delay p99 ${w.eventLoopP99Ms} ms`
              : '',
        )
        .filter(Boolean)
        .join(', ');
    lines.unshift(
      `  !!! CLIENT-BOUND (${why}): these numbers measure the client, not the server !!!`,
    );
  }
  if (r.aborted) lines.unshift(`  !!! ABORTED: ${r.aborted.reason} — partial result !!!`);
  return ['client-bench result', ...lines].join('\n');
}
