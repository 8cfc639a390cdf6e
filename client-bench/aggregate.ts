// Merges the workers' reports: counters add up, HDR histograms are decoded and added, per-client
// counts are pooled for the fairness spread.
import * as hdr from 'hdr-histogram-js';
import type { LossReport, Restarts, SlowReport, StormReport, WorkerReport } from './messages.js';

export interface Aggregate {
  workers: number;
  windowUs: number;
  received: number;
  bytes: number;
  gaps: number;
  duplicates: number;
  reordered: number;
  expected: number;
  perClient: number[];
  latencyUs: { p50: number; p90: number; p99: number; p999: number; max: number; count: number };
  rttUs: { p50: number; p99: number; max: number; count: number } | null;
  connectMs: { p50: number; p99: number; max: number };
  busy: number[];
  eventLoopP99Ms: number[];
  errors: { type: string; count: number; message: string }[];
  closes: Record<string, number>;
  open: number;
  opened: number;
  failed: number;
  /** The merged histograms, encodeIntoCompressedBase64 (µs): what a merge across shards adds. */
  encoded: { latencyUs: string; connectUs: string; rttUs: string };
  /** Per second since the run's origin, merged over the workers (HDR added, counts summed). */
  timeline: AggregateSecond[];
  restarts: Restarts;
  /** The reconnect storm over all workers (earliest start, latest reopen/first tick). */
  storm: StormReport | null;
  /** --on-server-close reconnect over all workers (earliest close, latest recovery). */
  loss: LossReport | null;
  /** The slow consumers over all workers (latency merged). */
  slow:
    (Omit<SlowReport, 'latency'> & { latencyUs: { p50: number; p99: number; max: number } }) | null;
}

function mergeSlow(reports: readonly WorkerReport[]): Aggregate['slow'] {
  const groups = reports.map((r) => r.slow).filter((s): s is SlowReport => s !== null);
  if (groups.length === 0) return null;
  const h = merged(groups.map((g) => g.latency));
  const closes: Record<string, number> = {};
  for (const g of groups)
    for (const [code, n] of Object.entries(g.closes)) closes[code] = (closes[code] ?? 0) + n;
  const total = (f: (g: SlowReport) => number) => groups.reduce((a, g) => a + f(g), 0);
  const out = {
    connections: total((g) => g.connections),
    openAtEnd: total((g) => g.openAtEnd),
    received: total((g) => g.received),
    expected: total((g) => g.expected),
    gaps: total((g) => g.gaps),
    closes,
    latencyUs: { p50: pct(h, 50), p99: pct(h, 99), max: h.totalCount > 0 ? h.maxValue : 0 },
  };
  h.destroy();
  return out;
}

function mergeLoss(reports: readonly WorkerReport[]): LossReport | null {
  const all = reports.map((r) => r.loss).filter((s): s is LossReport => s !== null);
  if (all.length === 0) return null;
  const sum = (f: (l: LossReport) => number) => all.reduce((a, l) => a + f(l), 0);
  return {
    closed: sum((l) => l.closed),
    firstCloseUs: Math.min(...all.map((l) => l.firstCloseUs)),
    lastCloseUs: Math.max(...all.map((l) => l.lastCloseUs)),
    reopened: sum((l) => l.reopened),
    lastOpenUs: Math.max(...all.map((l) => l.lastOpenUs)),
    receiving: sum((l) => l.receiving),
    lastTickUs: Math.max(...all.map((l) => l.lastTickUs)),
    failedReopens: sum((l) => l.failedReopens),
  };
}

function mergeStorm(reports: readonly WorkerReport[]): StormReport | null {
  const storms = reports.map((r) => r.storm).filter((s): s is StormReport => s !== null);
  if (storms.length === 0) return null;
  return {
    startUs: Math.min(...storms.map((s) => s.startUs)),
    dropped: storms.reduce((a, s) => a + s.dropped, 0),
    reopened: storms.reduce((a, s) => a + s.reopened, 0),
    lastOpenUs: Math.max(...storms.map((s) => s.lastOpenUs)),
    receiving: storms.reduce((a, s) => a + s.receiving, 0),
    lastTickUs: Math.max(...storms.map((s) => s.lastTickUs)),
  };
}

export interface AggregateSecond {
  second: number;
  durationUs: number;
  received: number;
  gaps: number;
  open: number;
  latencyUs: { p50: number; p99: number; max: number; count: number };
  /** The second's merged HDR histogram, encodeIntoCompressedBase64 (µs). */
  encoded: string;
}

function mergeTimeline(reports: readonly WorkerReport[]): AggregateSecond[] {
  const bySecond = new Map<number, WorkerReport['timeline']>();
  for (const r of reports)
    for (const s of r.timeline) {
      const list = bySecond.get(s.second);
      if (list === undefined) bySecond.set(s.second, [s]);
      else list.push(s);
    }
  return [...bySecond.entries()]
    .sort(([a], [b]) => a - b)
    .map(([second, parts]) => {
      const h = merged(parts.map((p) => p.latency));
      const out: AggregateSecond = {
        second,
        durationUs: Math.max(...parts.map((p) => p.durationUs)),
        received: parts.reduce((a, p) => a + p.received, 0),
        gaps: parts.reduce((a, p) => a + p.gaps, 0),
        open: parts.reduce((a, p) => a + p.open, 0),
        latencyUs: {
          p50: pct(h, 50),
          p99: pct(h, 99),
          max: h.totalCount > 0 ? h.maxValue : 0,
          count: h.totalCount,
        },
        encoded: hdr.encodeIntoCompressedBase64(h),
      };
      h.destroy();
      return out;
    });
}

export function merged(encoded: readonly string[]): hdr.Histogram {
  const acc = hdr.build({ bitBucketSize: 64, numberOfSignificantValueDigits: 3, autoResize: true });
  for (const s of encoded) {
    const h = hdr.decodeFromCompressedBase64(s, 64);
    acc.add(h);
    h.destroy();
  }
  return acc;
}

/** Percentile, never above the max (HDR reports a bucket's highest equivalent value). */
export function pct(h: hdr.Histogram, p: number): number {
  return h.totalCount > 0 ? Math.min(h.getValueAtPercentile(p), h.maxValue) : 0;
}

export function median(sorted: readonly number[]): number {
  const n = sorted.length;
  if (n === 0) return 0;
  const at = (i: number) => sorted[i] ?? 0;
  return n % 2 ? at((n - 1) / 2) : (at(n / 2 - 1) + at(n / 2)) / 2;
}

export function aggregate(reports: readonly WorkerReport[]): Aggregate {
  const sum = (f: (r: WorkerReport) => number) => reports.reduce((a, r) => a + f(r), 0);
  const lat = merged(reports.map((r) => r.latency));
  const rtt = merged(reports.map((r) => r.rtt));
  const con = merged(reports.map((r) => r.connect));
  const errors = new Map<string, { type: string; count: number; message: string }>();
  const closes: Record<string, number> = {};
  for (const r of reports) {
    for (const e of r.errors) {
      const cur = errors.get(e.type);
      if (cur) cur.count += e.count;
      else errors.set(e.type, { ...e });
    }
    for (const [code, n] of Object.entries(r.closes)) closes[code] = (closes[code] ?? 0) + n;
  }
  const withWindow = reports.filter((r) => r.windowUs > 0);
  const out: Aggregate = {
    workers: reports.length,
    // Workers see the window boundaries within a few ms of each other; use the longest.
    windowUs: withWindow.length ? Math.max(...withWindow.map((r) => r.windowUs)) : 0,
    received: sum((r) => r.received),
    bytes: sum((r) => r.bytes),
    gaps: sum((r) => r.gaps),
    duplicates: sum((r) => r.duplicates),
    reordered: sum((r) => r.reordered),
    expected: sum((r) => r.expected),
    perClient: reports.flatMap((r) => r.perClient).sort((a, b) => a - b),
    latencyUs: {
      p50: pct(lat, 50),
      p90: pct(lat, 90),
      p99: pct(lat, 99),
      p999: pct(lat, 99.9),
      max: lat.totalCount > 0 ? lat.maxValue : 0,
      count: lat.totalCount,
    },
    rttUs:
      rtt.totalCount > 0
        ? { p50: pct(rtt, 50), p99: pct(rtt, 99), max: rtt.maxValue, count: rtt.totalCount }
        : null,
    connectMs: {
      p50: pct(con, 50) / 1000,
      p99: pct(con, 99) / 1000,
      max: con.totalCount > 0 ? con.maxValue / 1000 : 0,
    },
    busy: reports.map((r) => r.busy),
    eventLoopP99Ms: reports.map((r) => r.eventLoopP99Ms),
    errors: [...errors.values()],
    closes,
    open: sum((r) => r.open),
    opened: sum((r) => r.opened),
    failed: sum((r) => r.failed),
    encoded: {
      latencyUs: hdr.encodeIntoCompressedBase64(lat),
      connectUs: hdr.encodeIntoCompressedBase64(con),
      rttUs: hdr.encodeIntoCompressedBase64(rtt),
    },
    timeline: mergeTimeline(reports),
    restarts: {
      churned: sum((r) => r.restarts.churned),
      stormDropped: sum((r) => r.restarts.stormDropped),
      reopened: sum((r) => r.restarts.reopened),
      failedReopens: sum((r) => r.restarts.failedReopens),
    },
    storm: mergeStorm(reports),
    loss: mergeLoss(reports),
    slow: mergeSlow(reports),
  };
  lat.destroy();
  rtt.destroy();
  con.destroy();
  return out;
}
