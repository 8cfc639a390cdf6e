// Merges the workers' reports: counters add up, HDR histograms are decoded and added, per-client
// counts are pooled for the fairness spread.
import * as hdr from 'hdr-histogram-js';
import type { WorkerReport } from './messages.js';

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
  };
  lat.destroy();
  rtt.destroy();
  con.destroy();
  return out;
}
