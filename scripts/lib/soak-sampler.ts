// Samples a long run every few seconds: the server's /metrics (RSS, heap, event-loop lag p99,
// deliveries sent and dropped, clients), client-bench's /metrics (deliveries received, gaps, the
// latency histogram whose bucket deltas give each interval's p99) and /proc/<pid>/status as the
// RSS fallback. Nothing here sits on a hot path: one HTTP scrape per process per interval.
import { readFileSync } from 'node:fs';
import { LOOP_LAG_RESOLUTION_MS } from '../../protocol/index.js';

/** One Prometheus text exposition: metric name → the samples (labels as text) → value. */
export type Exposition = Map<string, { labels: string; value: number }[]>;

export function parseExposition(text: string): Exposition {
  const out: Exposition = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (m === null) continue;
    const [, name = '', labels = '', raw = ''] = m;
    const value = Number(raw);
    if (!Number.isFinite(value) && raw !== '+Inf') continue;
    const list = out.get(name) ?? [];
    list.push({ labels, value });
    out.set(name, list);
  }
  return out;
}

/** The sum over every label set of a metric (null when absent). */
export function total(e: Exposition, name: string): number | null {
  const list = e.get(name);
  if (list === undefined || list.length === 0) return null;
  let s = 0;
  for (const x of list) s += x.value;
  return s;
}

/** Cumulative histogram buckets (le in seconds → count), summed over label sets. */
export function buckets(e: Exposition, name: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const x of e.get(`${name}_bucket`) ?? []) {
    const le = /le="([^"]+)"/.exec(x.labels)?.[1];
    if (le === undefined) continue;
    const bound = le === '+Inf' ? Infinity : Number(le);
    out.set(bound, (out.get(bound) ?? 0) + x.value);
  }
  return out;
}

/**
 * The q-quantile (upper bucket bound, seconds) of the observations between two cumulative
 * snapshots; null when nothing was observed. Bucket resolution, which is what /metrics offers.
 */
export function quantileBetween(
  before: Map<number, number>,
  after: Map<number, number>,
  q: number,
): number | null {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const delta = bounds.map((b) => (after.get(b) ?? 0) - (before.get(b) ?? 0));
  const count = delta[delta.length - 1] ?? 0;
  if (count <= 0) return null;
  const rank = q * count;
  for (const [i, c] of delta.entries()) if (c >= rank) return bounds[i] ?? null;
  return null;
}

/** One V8 space's committed bytes (nodejs_heap_space_size_total_bytes{space=…}). */
function spaceTotal(e: Exposition, space: string): number | null {
  const x = e
    .get('nodejs_heap_space_size_total_bytes')
    ?.find((v) => v.labels.includes(`space="${space}"`));
  return x?.value ?? null;
}

function lastFiniteMs(b: Map<number, number>): number | null {
  const finite = [...b.keys()].filter((x) => Number.isFinite(x));
  return finite.length > 0 ? Math.max(...finite) * 1000 : null;
}

export interface SoakSample {
  /** seconds since the sampler started */
  t: number;
  /** epoch ms of the sample */
  at: number;
  rssBytes: number | null;
  heapUsedBytes: number | null;
  /** V8's committed heap (what the heap holds of RSS, live or not) */
  heapTotalBytes: number | null;
  /** the young generation's share of it (both semi-spaces; doubles up to --max-semi-space-size) */
  newSpaceBytes: number | null;
  /** memory outside the V8 heap that V8 knows of (Buffers' backing stores among it) */
  externalBytes: number | null;
  /** the server's old generation after its last major GC (wsbench_server_heap_live_bytes) */
  heapLiveBytes: number | null;
  /** major GCs so far: a sample whose count moved carries a fresh heapLiveBytes */
  majorGcs: number | null;
  loopLagP99Ms: number | null;
  /** server deliveries/s since the previous sample */
  sentPerSec: number | null;
  droppedPerSec: number | null;
  /** client deliveries/s since the previous sample */
  receivedPerSec: number | null;
  /** client gaps since the previous sample */
  gaps: number | null;
  /** client latency p99 of this interval (bucket bound, ms) */
  p99Ms: number | null;
  clients: number | null;
  /** the server answered /metrics */
  serverUp: boolean;
}

const LATENCY = 'wsbench_client_latency_seconds';

async function scrape(url: string | null): Promise<Exposition | null> {
  if (url === null) return null;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    return res.ok ? parseExposition(await res.text()) : null;
  } catch {
    return null;
  }
}

function rssOf(pid: number | null): number | null {
  if (pid === null) return null;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m?.[1] !== undefined ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

export class SoakSampler {
  readonly samples: SoakSample[] = [];
  private timer: NodeJS.Timeout | null = null;
  private readonly t0 = performance.now();
  private prev: {
    t: number;
    sent: number | null;
    dropped: number | null;
    received: number | null;
    gaps: number | null;
    lat: Map<number, number>;
  } | null = null;
  private busy = false;
  clientMetricsUrl: string | null = null;

  constructor(
    private readonly serverMetricsUrl: string,
    private readonly serverPid: number | null,
    readonly intervalMs: number,
  ) {}

  start(): this {
    void this.take();
    this.timer = setInterval(() => void this.take(), this.intervalMs);
    this.timer.unref();
    return this;
  }

  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    while (this.busy) await new Promise((r) => setTimeout(r, 20));
  }

  private async take(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const [srv, cli] = await Promise.all([
        scrape(this.serverMetricsUrl),
        scrape(this.clientMetricsUrl),
      ]);
      const t = (performance.now() - this.t0) / 1000;
      const sent = srv !== null ? total(srv, 'wsbench_server_messages_sent_total') : null;
      const dropped = srv !== null ? total(srv, 'wsbench_server_messages_dropped_total') : null;
      const received = cli !== null ? total(cli, 'wsbench_client_messages_received_total') : null;
      const gapsNow = cli !== null ? total(cli, 'wsbench_client_gaps_total') : null;
      const lat = cli !== null ? buckets(cli, LATENCY) : new Map<number, number>();
      const p = this.prev;
      const dt = p !== null ? t - p.t : 0;
      const rate = (a: number | null, b: number | null | undefined): number | null =>
        a !== null && b !== null && b !== undefined && dt > 0 ? Math.max(0, (a - b) / dt) : null;
      const lag = srv !== null ? total(srv, 'nodejs_eventloop_lag_p99_seconds') : null;
      const majorGcs = srv !== null ? total(srv, 'wsbench_server_major_gcs_total') : null;
      const p99 = p !== null && lat.size > 0 ? quantileBetween(p.lat, lat, 0.99) : null;
      this.samples.push({
        t: Math.round(t * 100) / 100,
        at: Date.now(),
        rssBytes:
          (srv !== null ? total(srv, 'process_resident_memory_bytes') : null) ??
          rssOf(this.serverPid),
        heapUsedBytes: srv !== null ? total(srv, 'nodejs_heap_size_used_bytes') : null,
        heapTotalBytes: srv !== null ? total(srv, 'nodejs_heap_size_total_bytes') : null,
        newSpaceBytes: srv !== null ? spaceTotal(srv, 'new') : null,
        externalBytes: srv !== null ? total(srv, 'nodejs_external_memory_bytes') : null,
        heapLiveBytes:
          (majorGcs ?? 0) > 0 && srv !== null ? total(srv, 'wsbench_server_heap_live_bytes') : null,
        majorGcs,
        // the monitor's figures include its sampling interval: an idle loop reads ~20 ms
        loopLagP99Ms: lag !== null ? Math.max(0, lag * 1000 - LOOP_LAG_RESOLUTION_MS) : null,
        sentPerSec: rate(sent, p?.sent),
        droppedPerSec: rate(dropped, p?.dropped),
        receivedPerSec: rate(received, p?.received),
        gaps:
          gapsNow !== null && p?.gaps !== null && p?.gaps !== undefined ? gapsNow - p.gaps : null,
        // beyond the last finite bucket (5 s): recorded as that bound, "at least"
        p99Ms: p99 === null ? null : Number.isFinite(p99) ? p99 * 1000 : lastFiniteMs(lat),
        clients: srv !== null ? total(srv, 'wsbench_server_clients_connected') : null,
        serverUp: srv !== null,
      });
      this.prev = { t, sent, dropped, received, gaps: gapsNow, lat };
    } finally {
      this.busy = false;
    }
  }
}
