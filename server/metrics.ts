// Server metrics. Hot paths only add to plain numbers in ServerStats; the prom-client metrics read
// them in collect() at scrape time (a Counter.inc per message would cost more than the send).
// Labels stay bounded: `mode` (a default label), close codes, protocol error codes, route names.
import client from 'prom-client';
import { LOOP_LAG_RESOLUTION_MS, type ErrorCode } from '../protocol/index.js';
import { HANDLERS, type HandlerName } from './guard.js';
import { LiveHeap } from './heap-live.js';

export type DropReason = 'backpressure' | 'closed';
export type Route = 'health' | 'metrics' | 'snapshot' | 'not_found';

/** Plain counters written by the modes; read by the metrics, /health and tests. */
export class ServerStats {
  messagesSent = 0;
  bytesSent = 0;
  /** Tick serialisations: one per tick when serialised once, one per client per tick otherwise. */
  serializations = 0;
  /** Writes of tick data to sockets (ws.send calls, raw writes, or one per corked turn). */
  socketWrites = 0;
  droppedBackpressure = 0;
  droppedClosed = 0;
  clientsConnected = 0;
  connections = 0;
  slowClientCloses = 0;
  readonly disconnects = new Map<number, number>();
  readonly clientErrors = new Map<ErrorCode, number>();
  readonly httpRequests = new Map<Route, number>();
  /** Exceptions caught in per-connection handlers (guard.ts), by handler. */
  readonly handlerErrors = new Map<HandlerName, number>();

  disconnected(code: number): void {
    this.clientsConnected--;
    this.disconnects.set(code, (this.disconnects.get(code) ?? 0) + 1);
  }

  clientError(code: ErrorCode): void {
    this.clientErrors.set(code, (this.clientErrors.get(code) ?? 0) + 1);
  }

  /** Counts one caught handler exception; returns the count for that handler. */
  handlerError(handler: HandlerName): number {
    const n = (this.handlerErrors.get(handler) ?? 0) + 1;
    this.handlerErrors.set(handler, n);
    return n;
  }

  handlerErrorsTotal(): number {
    let n = 0;
    for (const v of this.handlerErrors.values()) n += v;
    return n;
  }

  httpRequest(route: Route): void {
    this.httpRequests.set(route, (this.httpRequests.get(route) ?? 0) + 1);
  }
}

/** Buckets for one pacer turn (generate + fan-out): 5 µs ... 1 s. */
const TURN_BUCKETS = [
  5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 0.1, 0.25, 1,
];

/**
 * A histogram observed with plain numbers (one loop over the bounds, no label hashing, no
 * closure per call) and handed to the registry as a custom metric at scrape time: prom-client's
 * Histogram.observe cost ~7% of a uws turn.
 */
export class PlainHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  /** counts[i] = observations in (bounds[i-1], bounds[i]]; the last one is +Inf. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    readonly name: string,
    readonly help: string,
    readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(v: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && v > (b[i] ?? Infinity)) i++;
    this.counts[i] = (this.counts[i] ?? 0) + 1;
    this.sum += v;
    this.count++;
  }

  /** The registry's view (prom-client calls get() on every registered metric). */
  get() {
    const values: { labels: Record<string, string | number>; value: number; metricName: string }[] =
      [];
    let cumulative = 0;
    for (let i = 0; i <= this.bounds.length; i++) {
      cumulative += this.counts[i] ?? 0;
      const le = this.bounds[i] ?? '+Inf';
      values.push({ labels: { le }, value: cumulative, metricName: this.name + '_bucket' });
    }
    values.push({ labels: {}, value: this.sum, metricName: this.name + '_sum' });
    values.push({ labels: {}, value: this.count, metricName: this.name + '_count' });
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      values,
      aggregator: this.aggregator,
    };
  }
}

export interface ServerMetrics {
  registry: client.Registry;
  /** Records one pacer turn's duration in seconds. */
  observeTurn: (seconds: number) => void;
  /** Records how late one pacer turn started behind its first due tick, in seconds. */
  observeLag: (seconds: number) => void;
  contentType: string;
}

/** What the metrics read off the pacer at scrape time. */
export interface PacerView {
  /** Ticks skipped because the backlog exceeded one second. */
  skipped(): number;
  /** How far behind its schedule the pacer is now (0 when on time). */
  behindSeconds(): number;
}

/** Buckets for the pacer's lag per turn: 50 µs ... 5 s. */
const LAG_BUCKETS = [5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2, 2.5e-2, 0.1, 0.5, 1, 5];

/** Counter whose value is a plain number read at scrape time. */
function foldedCounter(
  registry: client.Registry,
  name: string,
  help: string,
  read: () => number,
): void {
  let last = 0;
  new client.Counter({
    name,
    help,
    registers: [registry],
    collect() {
      const cur = read();
      if (cur > last) this.inc(cur - last);
      last = cur;
    },
  });
}

/** Counter with one label whose values are counted in a Map of plain numbers. */
function foldedLabelCounter<K extends string | number>(
  registry: client.Registry,
  name: string,
  help: string,
  label: string,
  map: Map<K, number>,
  always: readonly K[] = [],
): void {
  const last = new Map<K, number>();
  new client.Counter({
    name,
    help,
    labelNames: [label],
    registers: [registry],
    collect() {
      for (const k of always) if (!map.has(k)) this.inc({ [label]: String(k) }, 0);
      for (const [k, cur] of map) {
        const prev = last.get(k) ?? 0;
        this.inc({ [label]: String(k) }, cur - prev);
        last.set(k, cur);
      }
    },
  });
}

export interface MetricsOptions {
  mode: string;
  stats: ServerStats;
  ticksGenerated: () => number;
  targetRate: number;
  pacer: PacerView;
  /** The optimisation set (opts.ts label value) and the pacer, for the info metric. */
  opts: string;
  pacerKind: () => string;
}

export function createMetrics(o: MetricsOptions): ServerMetrics {
  const { mode, stats, ticksGenerated, targetRate, pacer } = o;
  const registry = new client.Registry();
  registry.setDefaultLabels({ mode });
  client.collectDefaultMetrics({
    register: registry,
    eventLoopMonitoringPrecision: LOOP_LAG_RESOLUTION_MS,
  });

  const p = 'wsbench_server_';
  foldedCounter(registry, p + 'ticks_generated_total', 'Ticks generated', ticksGenerated);
  foldedCounter(
    registry,
    p + 'messages_sent_total',
    'Tick frames handed to client sockets (deliveries)',
    () => stats.messagesSent,
  );
  foldedCounter(
    registry,
    p + 'bytes_sent_total',
    'Bytes of the delivered tick frames (header + payload)',
    () => stats.bytesSent,
  );
  let lastBp = 0;
  let lastClosed = 0;
  new client.Counter({
    name: p + 'messages_dropped_total',
    help: 'Ticks not delivered to a subscribed client, by reason',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      this.inc({ reason: 'backpressure' }, stats.droppedBackpressure - lastBp);
      this.inc({ reason: 'closed' }, stats.droppedClosed - lastClosed);
      lastBp = stats.droppedBackpressure;
      lastClosed = stats.droppedClosed;
    },
  });
  new client.Gauge({
    name: p + 'clients_connected',
    help: 'WebSocket clients connected now',
    registers: [registry],
    collect() {
      this.set(stats.clientsConnected);
    },
  });
  foldedCounter(
    registry,
    p + 'connections_total',
    'WebSocket connections accepted',
    () => stats.connections,
  );
  foldedLabelCounter(
    registry,
    p + 'disconnects_total',
    'WebSocket disconnects by close code',
    'code',
    stats.disconnects,
  );
  foldedCounter(
    registry,
    p + 'slow_client_closes_total',
    'Clients closed (1008) because their backlog exceeded --max-backpressure',
    () => stats.slowClientCloses,
  );
  foldedLabelCounter(
    registry,
    p + 'client_errors_total',
    'Bad client frames answered with an error, by protocol error code',
    'code',
    stats.clientErrors,
  );
  foldedLabelCounter(
    registry,
    p + 'handler_errors_total',
    'Exceptions caught in a per-connection handler (that connection closed with 1011), by handler',
    'handler',
    stats.handlerErrors,
    HANDLERS,
  );
  const turn = new PlainHistogram(
    p + 'broadcast_duration_seconds',
    'Duration of one pacer turn: generate a batch of ticks and fan it out',
    TURN_BUCKETS,
  );
  registry.registerMetric(turn as unknown as client.Metric);
  foldedCounter(
    registry,
    p + 'serializations_total',
    'Tick serialisations (once per tick, or once per client per tick without serialize-once)',
    () => stats.serializations,
  );
  foldedCounter(
    registry,
    p + 'socket_writes_total',
    'Writes of tick data to client sockets (per tick, or one per client per turn with batch)',
    () => stats.socketWrites,
  );
  new client.Gauge({
    name: p + 'opts_info',
    help: 'Always 1; labels: the optimisation set (opts, one value per set) and the pacer',
    labelNames: ['opts', 'pacer'],
    registers: [registry],
    collect() {
      this.reset();
      this.set({ opts: o.opts, pacer: o.pacerKind() }, 1);
    },
  });
  const lag = new PlainHistogram(
    p + 'pacer_lag_seconds',
    'How late each pacer turn at a target rate started behind the due time of its first tick',
    LAG_BUCKETS,
  );
  registry.registerMetric(lag as unknown as client.Metric);
  foldedCounter(
    registry,
    p + 'pacer_skipped_ticks_total',
    'Ticks never generated because the pacer fell more than one second behind its schedule',
    () => pacer.skipped(),
  );
  new client.Gauge({
    name: p + 'pacer_behind_seconds',
    help: 'How far behind its schedule the pacer is now (0 = on time; target rate only)',
    registers: [registry],
    collect() {
      this.set(pacer.behindSeconds());
    },
  });
  const live = new LiveHeap();
  new client.Gauge({
    name: p + 'heap_live_bytes',
    help: 'V8 old generation right after the last major GC (what survived it); before the first, at start-up',
    registers: [registry],
    collect() {
      this.set(live.bytes);
    },
  });
  foldedCounter(
    registry,
    p + 'major_gcs_total',
    'Major (mark-compact) garbage collections, each of which updates heap_live_bytes',
    () => live.majorGcs,
  );
  new client.Gauge({
    name: p + 'target_rate',
    help: 'Target ticks per second (0 = as fast as possible)',
    registers: [registry],
  }).set(targetRate);
  foldedLabelCounter(
    registry,
    p + 'http_requests_total',
    'HTTP requests by route',
    'route',
    stats.httpRequests,
    ['health', 'metrics', 'snapshot', 'not_found'],
  );

  return {
    registry,
    observeTurn: (seconds) => {
      turn.observe(seconds);
    },
    observeLag: (seconds) => {
      lag.observe(seconds);
    },
    contentType: registry.contentType,
  };
}
