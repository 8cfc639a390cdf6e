// Reads the server's and client-bench's /metrics once a second during a run: delivered msg/s and
// p99 per second across warm-up and window (stalls, GC pauses and slow starts show at a glance),
// and the server's counters over the measured window (ticks generated, deliveries, drops), which
// the verdict and the capacity search read. Scraping is the orchestrator's work: nothing is added
// to the per-message path.
import { bucketQuantile, buckets, parseMetrics, total, type Sample } from './metrics-text.js';

/** One second: [secondsFromWindowStart, msgsPerSec, p99Us | null, serverSentPerSec, droppedPerSec]. */
export type TimelinePoint = [number, number, number | null, number, number];

export interface Timeline {
  /** what the columns of `points` are */
  columns: ['t', 'msgsPerSec', 'p99Us', 'serverSentPerSec', 'droppedPerSec'];
  /** where the numbers come from */
  source: string;
  points: TimelinePoint[];
}

/** The server's counters over the measured window (deltas of /metrics). */
export interface ServerWindow {
  ticksGenerated: number;
  messagesSent: number;
  droppedBackpressure: number;
  droppedClosed: number;
  seconds: number;
}

interface Scrape {
  t: number;
  server: Sample[] | null;
  client: Sample[] | null;
}

const S = 'wsbench_server_';
const C = 'wsbench_client_';

async function scrape(url: string | null): Promise<Sample[] | null> {
  if (url === null) return null;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(900) });
    if (!res.ok) return null;
    return parseMetrics(await res.text());
  } catch {
    return null;
  }
}

export class MetricsTimeline {
  private readonly scrapes: Scrape[] = [];
  private timer: NodeJS.Timeout | null = null;
  private clientUrl: string | null = null;
  private busy = false;

  constructor(
    private readonly serverUrl: string | null,
    readonly intervalMs = 1000,
  ) {}

  /** Starts scraping; the client's port may come later (its /metrics starts with it). */
  start(clientPort: Promise<number | null>): this {
    void clientPort.then((p) => {
      if (p !== null) this.clientUrl = `http://127.0.0.1:${p}/metrics`;
    });
    const tick = async (): Promise<void> => {
      if (this.busy) return;
      this.busy = true;
      const t = Date.now();
      const [server, client] = await Promise.all([scrape(this.serverUrl), scrape(this.clientUrl)]);
      this.scrapes.push({ t, server, client });
      this.busy = false;
    };
    void tick();
    this.timer = setInterval(() => void tick(), this.intervalMs);
    this.timer.unref();
    return this;
  }

  /** One last scrape, then stop. */
  async stop(): Promise<void> {
    if (this.timer === null) return;
    clearInterval(this.timer);
    this.timer = null;
    const t = Date.now();
    const [server, client] = await Promise.all([scrape(this.serverUrl), scrape(this.clientUrl)]);
    this.scrapes.push({ t, server, client });
  }

  /** The per-second series, t relative to `windowFrom` (epoch ms; negative = warm-up). */
  series(windowFrom: number): Timeline {
    const points: TimelinePoint[] = [];
    for (let i = 1; i < this.scrapes.length; i++) {
      const a = this.scrapes[i - 1];
      const b = this.scrapes[i];
      if (a === undefined || b === undefined) continue;
      const dt = (b.t - a.t) / 1000;
      if (dt <= 0) continue;
      const rate = (s: Sample[] | null, r: Sample[] | null, name: string, where = {}): number =>
        s !== null && r !== null
          ? Math.max(0, (total(r, name, where) - total(s, name, where)) / dt)
          : 0;
      const p99 =
        a.client !== null && b.client !== null
          ? bucketQuantile(
              buckets(a.client, `${C}latency_seconds`),
              buckets(b.client, `${C}latency_seconds`),
              0.99,
            )
          : null;
      points.push([
        Math.round((b.t - windowFrom) / 100) / 10,
        Math.round(rate(a.client, b.client, `${C}messages_received_total`)),
        p99 === null || !Number.isFinite(p99) ? null : Math.round(p99 * 1e6),
        Math.round(rate(a.server, b.server, `${S}messages_sent_total`)),
        Math.round(rate(a.server, b.server, `${S}messages_dropped_total`)),
      ]);
    }
    return {
      columns: ['t', 'msgsPerSec', 'p99Us', 'serverSentPerSec', 'droppedPerSec'],
      source:
        'client-bench and server /metrics, scraped every second (p99: histogram bucket bound)',
      points,
    };
  }

  /** The server's counters between the scrapes nearest to the window's ends. */
  serverWindow(from: number, to: number): ServerWindow | null {
    const withServer = this.scrapes.filter((s) => s.server !== null);
    const nearest = (t: number): Scrape | undefined =>
      withServer.reduce<Scrape | undefined>(
        (best, s) => (best === undefined || Math.abs(s.t - t) < Math.abs(best.t - t) ? s : best),
        undefined,
      );
    const a = nearest(from);
    const b = nearest(to);
    if (a?.server == null || b?.server == null || b.t <= a.t) return null;
    const d = (name: string, where: Record<string, string> = {}): number =>
      total(b.server ?? [], name, where) - total(a.server ?? [], name, where);
    return {
      ticksGenerated: d(`${S}ticks_generated_total`),
      messagesSent: d(`${S}messages_sent_total`),
      droppedBackpressure: d(`${S}messages_dropped_total`, { reason: 'backpressure' }),
      droppedClosed: d(`${S}messages_dropped_total`, { reason: 'closed' }),
      seconds: (b.t - a.t) / 1000,
    };
  }
}
