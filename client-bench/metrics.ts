// The client's own /metrics. Workers publish plain counters into shared memory (layout.ts);
// this module folds them into prom-client only when Prometheus scrapes.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import client from 'prom-client';
import { LOOP_LAG_RESOLUTION_MS } from '../protocol/index.js';
import {
  CONNECT_BUCKETS_MS,
  CONNECT_BUCKETS_SLOT,
  LATENCY_BUCKETS_US,
  SLOT,
  workerSlots,
} from './layout.js';
import { BUSY_LIMIT } from './result.js';

export interface MetricsSource {
  sab: SharedArrayBuffer;
  workers: number;
  /** Client process CPU over the last progress interval, cores. */
  cpuCores(): number;
}

/** A histogram whose buckets are read from counts kept elsewhere (prom-client has no setter). */
function foldedHistogram(
  name: string,
  help: string,
  bounds: readonly number[],
  scale: number,
  read: () => { buckets: Float64Array; sum: number },
) {
  return {
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    reset() {},
    get() {
      const { buckets, sum } = read();
      const values: {
        labels: Record<string, string | number>;
        value: number;
        metricName: string;
      }[] = [];
      let cum = 0;
      for (let i = 0; i < bounds.length; i++) {
        cum += buckets[i] ?? 0;
        values.push({
          labels: { le: Number(((bounds[i] ?? 0) * scale).toPrecision(6)) },
          value: cum,
          metricName: `${name}_bucket`,
        });
      }
      cum += buckets[bounds.length] ?? 0;
      values.push({ labels: { le: '+Inf' }, value: cum, metricName: `${name}_bucket` });
      values.push({ labels: {}, value: sum, metricName: `${name}_sum` });
      values.push({ labels: {}, value: cum, metricName: `${name}_count` });
      return { name, help, type: 'histogram', values, aggregator: 'sum' };
    },
  };
}

export function createRegistry(
  src: MetricsSource,
  labels: { mode: string; run_id: string },
): client.Registry {
  const register = new client.Registry();
  register.setDefaultLabels(labels);
  client.collectDefaultMetrics({ register, eventLoopMonitoringPrecision: LOOP_LAG_RESOLUTION_MS });
  const slots = Array.from({ length: src.workers }, (_, i) => workerSlots(src.sab, i));
  const total = (slot: number) => slots.reduce((a, s) => a + (s[slot] ?? 0), 0);

  const counter = (name: string, help: string, slot: number) => {
    let last = 0;
    new client.Counter({
      name,
      help,
      registers: [register],
      collect() {
        const cur = total(slot);
        if (cur > last) this.inc(cur - last);
        last = cur;
      },
    });
  };
  counter('wsbench_client_messages_received_total', 'Ticks received', SLOT.received);
  counter('wsbench_client_bytes_received_total', 'Payload bytes of ticks received', SLOT.bytes);
  counter('wsbench_client_gaps_total', 'Seqs missing (stream jumped forward)', SLOT.gaps);
  counter('wsbench_client_duplicates_total', 'Seqs received again', SLOT.duplicates);
  counter('wsbench_client_reorders_total', 'Seqs that arrived after a later one', SLOT.reordered);

  const errLast: Record<string, number> = {};
  new client.Counter({
    name: 'wsbench_client_errors_total',
    help: 'Errors by type (connect, disconnect, protocol, server_error)',
    labelNames: ['type'],
    registers: [register],
    collect() {
      const by: [string, number][] = [
        ['connect', SLOT.errorsConnect],
        ['disconnect', SLOT.errorsDisconnect],
        ['protocol', SLOT.errorsProtocol],
        ['server_error', SLOT.errorsServer],
      ];
      for (const [type, slot] of by) {
        const cur = total(slot);
        const d = cur - (errLast[type] ?? 0);
        this.inc({ type }, d > 0 ? d : 0);
        errLast[type] = cur;
      }
    },
  });

  new client.Gauge({
    name: 'wsbench_client_connections',
    help: 'Connections by state',
    labelNames: ['state'],
    registers: [register],
    collect() {
      this.set({ state: 'connecting' }, total(SLOT.connecting));
      this.set({ state: 'open' }, total(SLOT.open));
      this.set({ state: 'closed' }, total(SLOT.closed));
    },
  });
  new client.Gauge({
    name: 'wsbench_client_cpu_cores',
    help: 'CPU of the client process (all workers), in cores',
    registers: [register],
    collect() {
      this.set(src.cpuCores());
    },
  });
  const busiest = () => slots.reduce((a, s) => Math.max(a, s[SLOT.busy] ?? 0), 0);
  new client.Gauge({
    name: 'wsbench_client_worker_busy_ratio_max',
    help: 'Event-loop utilisation of the busiest worker, 0..1',
    registers: [register],
    collect() {
      this.set(busiest());
    },
  });
  new client.Gauge({
    name: 'wsbench_client_bound',
    help: `1 while a worker is saturated (busy >= ${BUSY_LIMIT}): the client, not the server, limits the numbers`,
    registers: [register],
    collect() {
      this.set(busiest() >= BUSY_LIMIT ? 1 : 0);
    },
  });

  const sumBuckets = (from: number, n: number) => {
    const b = new Float64Array(n);
    for (const s of slots) for (let i = 0; i < n; i++) b[i] = (b[i] ?? 0) + (s[from + i] ?? 0);
    return b;
  };
  register.registerMetric(
    foldedHistogram(
      'wsbench_client_latency_seconds',
      'Tick latency: receive time - tick ts',
      LATENCY_BUCKETS_US,
      1e-6,
      () => ({
        buckets: sumBuckets(SLOT.latencyBuckets, LATENCY_BUCKETS_US.length + 1),
        sum: total(SLOT.latencySumUs) / 1e6,
      }),
    ) as unknown as client.Metric,
  );
  register.registerMetric(
    foldedHistogram(
      'wsbench_client_connect_seconds',
      'Connect time: TCP connect + WebSocket upgrade',
      CONNECT_BUCKETS_MS,
      1e-3,
      () => ({
        buckets: sumBuckets(CONNECT_BUCKETS_SLOT, CONNECT_BUCKETS_MS.length + 1),
        sum: total(SLOT.connectSumMs) / 1e3,
      }),
    ) as unknown as client.Metric,
  );
  return register;
}

/** Serves GET /metrics; resolves with the bound port. */
export async function serveMetrics(
  register: client.Registry,
  port: number,
  host = process.env.METRICS_HOST ?? '0.0.0.0',
): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && req.url?.split('?')[0] === '/metrics') {
      register.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': register.contentType });
          res.end(text);
        },
        (err: unknown) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(err instanceof Error ? err.message : String(err));
        },
      );
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: 'not_found', path: req.url }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}
