// One worker thread: opens its share of the connections (paced), then counts until the main
// thread ends the window, reports, closes its connections and exits.
import { parentPort, workerData } from 'node:worker_threads';
import { monitorEventLoopDelay, performance, type EventLoopUtilization } from 'node:perf_hooks';
import * as hdr from 'hdr-histogram-js';
import { nowUs, useClockFromEnv } from '../protocol/index.js';
import { Connection, Tally, type ConnectionEvents } from './connection.js';
import { CONNECT_BUCKETS_SLOT, SLOT, workerSlots } from './layout.js';
import type { FromWorker, ToWorker, WorkerInit, WorkerReport } from './messages.js';

const init = workerData as WorkerInit;
const port = parentPort!;
const cfg = init.config;
useClockFromEnv();

const url = new URL(cfg.url);
const host = url.hostname.replace(/^\[|\]$/g, '');
const wsPort = Number(url.port || 80);
const path = (url.pathname || '/') + url.search;
const subscribe = JSON.stringify({ op: 'subscribe', symbols: cfg.symbols });
const CONNECT_TIMEOUT_MS = 10_000;
/** Handshakes in flight per worker: enough to hide latency, few enough not to flood the backlog. */
const MAX_PENDING = 128;
const TICK_MS = 1000;

const tally = new Tally();
tally.bucketLatency = init.bucketLatency;
const slots = workerSlots(init.sab, init.workerIndex);
const conns: Connection[] = [];
const loopDelay = monitorEventLoopDelay({ resolution: 20 });
loopDelay.enable();

let started = 0;
let pending = 0;
let opened = 0;
let failed = 0;
let open = 0;
let closedCount = 0;
let firstError: string | null = null;
let connectPhase = true;
let closing = false;
let windowStartUs = 0;
let windowEluStart: EventLoopUtilization | null = null;
let lastElu = performance.eventLoopUtilization();
const startElu = lastElu;

function post(msg: FromWorker): void {
  port.postMessage(msg);
}

const events: ConnectionEvents = {
  opened() {
    pending--;
    opened++;
    open++;
    publishConnections();
    afterConnectAttempt();
  },
  closed(c, code, error) {
    closedCount++;
    if (c.openedAtUs) open--;
    else pending--;
    publishConnections();
    if (!c.openedAtUs) {
      failed++;
      const msg = `cannot connect to ${cfg.url}: ${error ? error.message : `closed with code ${code}`}`;
      firstError ??= msg;
      tally.error('connect', msg);
      afterConnectAttempt();
      return;
    }
    if (closing) return;
    const why = `connection closed by the server: code ${code}${error ? ` (${error.message})` : ''}`;
    tally.error(
      (error as { code?: string } | null)?.code === 'EPROTO' ? 'protocol' : 'disconnect',
      why,
    );
    tally.closes.set(code, (tally.closes.get(code) ?? 0) + 1);
    post({ kind: 'open-count', worker: init.workerIndex, open, lastClose: why });
  },
};

function openOne(): void {
  const i = started++;
  pending++;
  slots[SLOT.connecting] = pending;
  const global = init.firstClient + i;
  const src = cfg.sourceAddresses.length
    ? cfg.sourceAddresses[global % cfg.sourceAddresses.length]
    : undefined;
  conns.push(
    new Connection(
      i,
      { host, port: wsPort, path, localAddress: src, timeoutMs: CONNECT_TIMEOUT_MS },
      tally,
      events,
      subscribe,
    ),
  );
}

// Pacing: connectRate is for the whole client; each worker takes its share.
const perWorkerRate = cfg.connectRate > 0 ? cfg.connectRate / cfg.workers : 0;
const connectStartMs = performance.now();

function pump(): void {
  if (perWorkerRate === 0) {
    while (started < init.count && pending < MAX_PENDING) openOne();
    return;
  }
  const allowed = Math.min(
    init.count,
    Math.floor(((performance.now() - connectStartMs) / 1000) * perWorkerRate) + 1,
  );
  while (started < allowed && pending < MAX_PENDING) openOne();
  if (started < init.count) setTimeout(pump, Math.max(1, 1000 / perWorkerRate));
}

function afterConnectAttempt(): void {
  if (!connectPhase) return;
  if (opened + failed === init.count) {
    connectPhase = false;
    post({ kind: 'connected', worker: init.workerIndex, opened, failed, firstError });
    return;
  }
  if (perWorkerRate === 0) pump();
}

function publishConnections(): void {
  slots[SLOT.connecting] = pending;
  slots[SLOT.open] = open;
  slots[SLOT.closed] = closedCount;
}

function publish(): void {
  const elu = performance.eventLoopUtilization(lastElu);
  lastElu = performance.eventLoopUtilization();
  const p99 = tally.foldInterval();
  slots[SLOT.received] = tally.totalReceived;
  slots[SLOT.bytes] = tally.totalBytes;
  slots[SLOT.gaps] = tally.totalGaps;
  slots[SLOT.duplicates] = tally.totalDuplicates;
  slots[SLOT.reordered] = tally.totalReordered;
  slots[SLOT.connecting] = pending;
  slots[SLOT.open] = open;
  slots[SLOT.closed] = closedCount;
  slots[SLOT.busy] = elu.utilization;
  slots[SLOT.intervalP99Us] = p99;
  slots[SLOT.latencySumUs] = tally.latencySumUs;
  slots[SLOT.connectSumMs] = tally.connectSumMs;
  slots[SLOT.connectCount] = opened;
  slots[SLOT.errorsConnect] = tally.errorTotals.connect;
  slots[SLOT.errorsDisconnect] = tally.errorTotals.disconnect;
  slots[SLOT.errorsProtocol] = tally.errorTotals.protocol;
  slots[SLOT.errorsServer] = tally.errorTotals.server_error;
  slots.set(tally.latencyBuckets, SLOT.latencyBuckets);
  slots.set(tally.connectBuckets, CONNECT_BUCKETS_SLOT);
}

const ticker = setInterval(publish, TICK_MS);

let pingTimer: NodeJS.Timeout | null = null;
if (cfg.pingInterval > 0) {
  pingTimer = setInterval(() => {
    for (const c of conns) if (c.isOpen && c.pingSentUs === 0) c.sendPing();
  }, cfg.pingInterval);
}

function startWindow(): void {
  tally.foldInterval();
  tally.startWindow();
  for (const c of conns) c.startWindow();
  loopDelay.reset();
  windowStartUs = nowUs();
  windowEluStart = performance.eventLoopUtilization();
  post({ kind: 'window-started', worker: init.workerIndex });
}

function report(): WorkerReport {
  tally.foldInterval();
  const windowUs = windowStartUs ? nowUs() - windowStartUs : 0;
  tally.windowOpen = false;
  const busy = performance.eventLoopUtilization(windowEluStart ?? startElu).utilization;
  let expected = 0;
  const perClient: number[] = [];
  for (const c of conns) {
    if (!c.openedAtUs) continue;
    expected += c.expected();
    perClient.push(c.received);
  }
  const enc = (h: hdr.Histogram) => hdr.encodeIntoCompressedBase64(h);
  return {
    worker: init.workerIndex,
    windowUs,
    received: windowStartUs ? tally.received : 0,
    bytes: windowStartUs ? tally.bytes : 0,
    gaps: windowStartUs ? tally.gaps : 0,
    duplicates: windowStartUs ? tally.duplicates : 0,
    reordered: windowStartUs ? tally.reordered : 0,
    expected: windowStartUs ? expected : 0,
    perClient: windowStartUs ? perClient : [],
    latency: enc(tally.latency),
    rtt: enc(tally.rtt),
    connect: enc(tally.connectUs),
    busy,
    eventLoopP99Ms: loopDelay.count > 0 ? loopDelay.percentile(99) / 1e6 : 0,
    errors: [...tally.errors].map(([type, e]) => ({ type, count: e.count, message: e.message })),
    closes: Object.fromEntries([...tally.closes].map(([code, n]) => [String(code), n])),
    open,
    opened,
    failed,
  };
}

function shutdown(): void {
  closing = true;
  clearInterval(ticker);
  if (pingTimer) clearInterval(pingTimer);
  loopDelay.disable();
  for (const c of conns) c.ws.close(1000);
  // Sockets still closing after the close handshake timeout are destroyed by the client itself;
  // the worker exits once the last one is gone (or after 3 s regardless).
  const deadline = setTimeout(() => process.exit(0), 3000);
  deadline.unref();
  port.close();
}

port.on('message', (msg: ToWorker) => {
  switch (msg.kind) {
    case 'window-start':
      startWindow();
      break;
    case 'window-end':
      publish();
      post({ kind: 'report', report: report() });
      shutdown();
      break;
  }
});

if (init.count === 0)
  post({ kind: 'connected', worker: init.workerIndex, opened: 0, failed: 0, firstError: null });
else pump();
