// One worker thread: opens its share of the connections (paced), then counts until the main
// thread ends the window, reports, closes its connections and exits. The state of the thread is
// one BenchWorker; the module's only job is to start it.
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import {
  monitorEventLoopDelay,
  performance,
  type EventLoopUtilization,
  type IntervalHistogram,
} from 'node:perf_hooks';
import * as hdr from 'hdr-histogram-js';
import { CLOSE, nowUs, useClockFromEnv } from '../protocol/index.js';
import type { Config } from './config.js';
import { Connection, Tally, type ConnectionEvents } from './connection.js';
import { CONNECT_BUCKETS_SLOT, SLOT, workerSlots } from './layout.js';
import type {
  FromWorker,
  LossReport,
  Restarts,
  SlowReport,
  StormReport,
  ToWorker,
  WorkerInit,
  WorkerReport,
} from './messages.js';
import type { ConnectOptions } from './wsclient.js';
import { calibrate } from './burn.js';

const CONNECT_TIMEOUT_MS = 10_000;
/** Handshakes in flight per worker: enough to hide latency, few enough not to flood the backlog. */
const MAX_PENDING = 128;
const TICK_MS = 1000;
/** After the close handshakes the thread exits by itself; this long at most. */
const EXIT_DEADLINE_MS = 3000;
/** A reopen that failed (churn, reconnect storm) is tried again after this. */
const REOPEN_RETRY_MS = 100;
/** --on-server-close reconnect: a refused reopen backs off from 100 ms, doubling, to this. */
const LOSS_RETRY_MAX_MS = 250;
/**
 * Close codes after which a connection is reopened with --on-server-close reconnect: the server
 * went away (1001), died (1006) or restarts (1011-1014). Policy and protocol closes (1008 slow
 * client, 1009, 1002, 1003) stay closed: they are the server's answer, not an outage.
 */
const RECONNECT_CODES: ReadonlySet<number> = new Set([1001, 1006, 1011, 1012, 1013, 1014]);

class BenchWorker implements ConnectionEvents {
  private readonly cfg: Config;
  private readonly target: Omit<ConnectOptions, 'localAddress'>;
  private readonly subscribe: string;
  private readonly tally = new Tally();
  /** The slow consumers' own counts (--slow-share), apart from the healthy connections. */
  private readonly slowTally = new Tally();
  private readonly slots: Float64Array;
  private readonly conns: Connection[] = [];
  private readonly loopDelay: IntervalHistogram = monitorEventLoopDelay({ resolution: 20 });
  /** Connections per second for this worker (the client's rate split over its workers). */
  private readonly rate: number;
  private readonly connectStartMs = performance.now();
  private readonly startElu: EventLoopUtilization;
  private lastElu: EventLoopUtilization;
  private windowElu: EventLoopUtilization | null = null;
  private windowStartUs = 0;
  private started = 0;
  private pending = 0;
  private openedTotal = 0;
  private failedTotal = 0;
  private open = 0;
  private closedCount = 0;
  private firstError: string | null = null;
  private connectPhase = true;
  private closing = false;
  private readonly restarts: Restarts = {
    churned: 0,
    stormDropped: 0,
    reopened: 0,
    failedReopens: 0,
  };
  private storm: StormReport | null = null;
  /** --on-server-close reconnect: what the server's closes cost (null until the first). */
  private loss: LossReport | null = null;
  /** Connections lost to the server and not open again / not receiving again yet. */
  private readonly lostOpening = new Set<Connection>();
  private readonly lostAwaitingTick = new Set<Connection>();
  /** Refused reopens in a row per lost connection (back-off). */
  private readonly lostRefusals = new Map<Connection, number>();
  private churnTimer: NodeJS.Timeout | null = null;
  private churnNext = 0;
  private readonly ticker: NodeJS.Timeout;
  private readonly pingTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly init: WorkerInit,
    private readonly port: MessagePort,
  ) {
    const cfg = (this.cfg = init.config);
    const url = new URL(cfg.url);
    this.target = {
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: Number(url.port || 80),
      path: (url.pathname || '/') + url.search,
      timeoutMs: CONNECT_TIMEOUT_MS,
    };
    this.subscribe = JSON.stringify({ op: 'subscribe', symbols: cfg.symbols });
    this.tally.bucketLatency = init.bucketLatency;
    this.tally.burnIterations = calibrate(cfg.burnNs);
    this.tally.startTimeline(init.originUs, nowUs());
    this.slots = workerSlots(init.sab, init.workerIndex);
    this.rate = cfg.connectRate > 0 ? cfg.connectRate / cfg.workers : 0;
    this.loopDelay.enable();
    this.startElu = this.lastElu = performance.eventLoopUtilization();
    this.ticker = setInterval(() => {
      this.publish();
    }, TICK_MS);
    if (cfg.pingInterval > 0) {
      this.pingTimer = setInterval(() => {
        for (const c of this.conns) if (c.isOpen && c.pingSentUs === 0) c.sendPing();
      }, cfg.pingInterval);
    }
    port.on('message', (msg: ToWorker) => {
      this.onMessage(msg);
    });
  }

  start(): void {
    if (this.init.count === 0) this.postConnected();
    else this.pump();
  }

  private post(msg: FromWorker): void {
    this.port.postMessage(msg);
  }

  private onMessage(msg: ToWorker): void {
    switch (msg.kind) {
      case 'window-start':
        this.startWindow();
        break;
      case 'reconnect':
        this.reconnectAll();
        break;
      case 'window-end':
        this.stopChurn();
        this.publish();
        this.post({ kind: 'report', report: this.report() });
        this.shutdown();
        break;
    }
  }

  // ConnectionEvents

  opened(c: Connection): void {
    if (c.generation > 0) {
      this.open++;
      if (this.lostOpening.delete(c) && this.loss !== null) {
        this.lostRefusals.delete(c);
        this.lostAwaitingTick.add(c);
        this.loss.reopened++;
        this.loss.lastOpenUs = c.openedAtUs;
      } else if (this.storm !== null && c.generation === this.stormGeneration(c)) {
        this.storm.reopened++;
        this.storm.lastOpenUs = c.openedAtUs;
      } else this.restarts.reopened++;
      this.publishConnections();
      return;
    }
    this.pending--;
    this.openedTotal++;
    this.open++;
    this.publishConnections();
    this.afterConnectAttempt();
  }

  firstTick(c: Connection): void {
    if (this.lostAwaitingTick.delete(c) && this.loss !== null) {
      this.loss.receiving++;
      this.loss.lastTickUs = c.firstTickUs;
    }
    if (this.storm !== null && c.generation === this.stormGeneration(c)) {
      this.storm.receiving++;
      this.storm.lastTickUs = c.firstTickUs;
    }
  }

  closed(c: Connection, code: number, error: Error | null): void {
    if (c.restarting || c.generation > 0) {
      this.closedRestarted(c, code, error);
      return;
    }
    this.closedCount++;
    if (c.openedAtUs !== 0) this.open--;
    else this.pending--;
    this.publishConnections();
    if (c.openedAtUs === 0) {
      this.failedTotal++;
      const msg = `cannot connect to ${this.cfg.url}: ${error !== null ? error.message : `closed with code ${code}`}`;
      this.firstError ??= msg;
      c.tally.error('connect', msg);
      this.afterConnectAttempt();
      return;
    }
    if (this.closing) return;
    const type = (error as { code?: string } | null)?.code === 'EPROTO' ? 'protocol' : 'disconnect';
    this.serverClosed(c, code, error, type);
  }

  /**
   * The server closed an open connection: counted (error type, close code), then reopened when
   * --on-server-close reconnect takes it, else reported to the main thread (abort policy).
   */
  private serverClosed(
    c: Connection,
    code: number,
    error: Error | null,
    type: 'protocol' | 'disconnect',
  ): void {
    const why = `connection closed by the server: code ${code}${error !== null ? ` (${error.message})` : ''}`;
    c.tally.error(type, why);
    c.tally.closes.set(code, (c.tally.closes.get(code) ?? 0) + 1);
    if (this.serverLost(c, code)) return;
    this.post({
      kind: 'open-count',
      worker: this.init.workerIndex,
      open: this.open,
      lastClose: why,
    });
  }

  /**
   * A socket of a restarted connection closed: ours (reopen it), a failed reopen (retry), or the
   * server closing a reopened connection (counted like any server close).
   */
  private closedRestarted(c: Connection, code: number, error: Error | null): void {
    const wasOpen = c.openedAtUs !== 0;
    if (wasOpen) this.open--;
    this.publishConnections();
    if (this.closing) return;
    if (c.restarting) {
      c.reopen();
      return;
    }
    if (!wasOpen) {
      let delay = REOPEN_RETRY_MS;
      if (this.lostOpening.has(c) && this.loss !== null) {
        // the server is still away: back off, so that N connections do not hammer its port
        const n = (this.lostRefusals.get(c) ?? 0) + 1;
        this.lostRefusals.set(c, n);
        this.loss.failedReopens++;
        delay = Math.min(LOSS_RETRY_MAX_MS, REOPEN_RETRY_MS * 2 ** (n - 1));
      } else this.restarts.failedReopens++;
      setTimeout(() => {
        if (!this.closing) c.reopen();
      }, delay);
      return;
    }
    this.serverClosed(c, code, error, 'disconnect');
  }

  /**
   * --on-server-close reconnect: a connection the server closed (it went away or died) is
   * reopened at once and retried with back-off until the server is back; false = not handled
   * (policy abort, or a close code that is the server's answer rather than an outage).
   */
  private serverLost(c: Connection, code: number): boolean {
    if (this.cfg.onServerClose !== 'reconnect' || !RECONNECT_CODES.has(code)) return false;
    const now = nowUs();
    this.loss ??= {
      closed: 0,
      firstCloseUs: now,
      lastCloseUs: now,
      reopened: 0,
      lastOpenUs: 0,
      receiving: 0,
      lastTickUs: 0,
      failedReopens: 0,
    };
    this.loss.closed++;
    this.loss.lastCloseUs = now;
    this.lostAwaitingTick.delete(c);
    this.lostOpening.add(c);
    c.reopen();
    return true;
  }

  /** The generation a connection gets when the storm reopens it. */
  private stormGeneration(c: Connection): number {
    return this.stormGenerations.get(c) ?? -1;
  }
  private readonly stormGenerations = new Map<Connection, number>();

  /** Reconnect storm: every connection drops at once (no close frame) and reconnects. */
  private reconnectAll(): void {
    const startUs = nowUs();
    this.storm = { startUs, dropped: 0, reopened: 0, lastOpenUs: 0, receiving: 0, lastTickUs: 0 };
    for (const c of this.conns) {
      if (!c.isOpen) continue;
      this.stormGenerations.set(c, c.generation + 1);
      this.storm.dropped++;
      this.restarts.stormDropped++;
      c.restart(false);
    }
  }

  /** Churn: every 1/rate s the next open connection closes (handshake) and reopens. */
  private startChurn(): void {
    const rate = this.cfg.churnRate / this.cfg.workers;
    if (rate <= 0 || this.conns.length === 0) return;
    const everyMs = 1000 / rate;
    const t0 = performance.now();
    let done = 0;
    // One timer per churn step would drift at high rates: each tick catches up to the schedule.
    this.churnTimer = setInterval(
      () => {
        const due = Math.floor((performance.now() - t0) / everyMs);
        for (; done < due; done++) {
          for (let tries = 0; tries < this.conns.length; tries++) {
            const c = this.conns[this.churnNext++ % this.conns.length];
            if (c?.isOpen === true && !c.restarting) {
              this.restarts.churned++;
              c.restart(true);
              break;
            }
          }
        }
      },
      Math.max(1, Math.min(everyMs, 100)),
    );
  }

  private stopChurn(): void {
    if (this.churnTimer !== null) clearInterval(this.churnTimer);
    this.churnTimer = null;
  }

  // connect phase

  private openOne(): void {
    const i = this.started++;
    this.pending++;
    this.slots[SLOT.connecting] = this.pending;
    const sources = this.cfg.sourceAddresses;
    const k = this.init.firstClient + i;
    const localAddress = sources.length > 0 ? sources[k % sources.length] : undefined;
    // Slow consumers are spread evenly: connection k is slow when the share steps past it.
    const share = this.cfg.slowShare;
    const slow = Math.floor((k + 1) * share) > Math.floor(k * share);
    const tally = slow ? this.slowTally : this.tally;
    const readBytesPerSec = slow ? this.cfg.slowReadRate : undefined;
    this.conns.push(
      new Connection(i, tally, this, this.subscribe, slow).connect({
        ...this.target,
        localAddress,
        readBytesPerSec,
      }),
    );
  }

  /** Opens connections up to the pacing allowance and the in-flight bound. */
  private pump(): void {
    const count = this.init.count;
    if (this.rate === 0) {
      while (this.started < count && this.pending < MAX_PENDING) this.openOne();
      return;
    }
    const elapsedSec = (performance.now() - this.connectStartMs) / 1000;
    const allowed = Math.min(count, Math.floor(elapsedSec * this.rate) + 1);
    while (this.started < allowed && this.pending < MAX_PENDING) this.openOne();
    if (this.started < count)
      setTimeout(
        () => {
          this.pump();
        },
        Math.max(1, 1000 / this.rate),
      );
  }

  private afterConnectAttempt(): void {
    if (!this.connectPhase) return;
    if (this.openedTotal + this.failedTotal === this.init.count) {
      this.connectPhase = false;
      this.postConnected();
      return;
    }
    if (this.rate === 0) this.pump();
  }

  private postConnected(): void {
    this.post({
      kind: 'connected',
      worker: this.init.workerIndex,
      opened: this.openedTotal,
      failed: this.failedTotal,
      firstError: this.firstError,
    });
  }

  // live counters

  private publishConnections(): void {
    const slots = this.slots;
    slots[SLOT.connecting] = this.pending;
    slots[SLOT.open] = this.open;
    this.tally.open = this.open;
    slots[SLOT.closed] = this.closedCount;
  }

  private publish(): void {
    const tally = this.tally;
    const slots = this.slots;
    const elu = performance.eventLoopUtilization(this.lastElu);
    this.lastElu = performance.eventLoopUtilization();
    tally.roll(nowUs());
    tally.drain();
    const p99 = tally.lastSecondP99Us;
    slots[SLOT.received] = tally.totalReceived;
    slots[SLOT.bytes] = tally.totalBytes;
    slots[SLOT.gaps] = tally.totalGaps;
    slots[SLOT.duplicates] = tally.totalDuplicates;
    slots[SLOT.reordered] = tally.totalReordered;
    this.publishConnections();
    slots[SLOT.busy] = elu.utilization;
    slots[SLOT.intervalP99Us] = p99;
    slots[SLOT.latencySumUs] = tally.latencySumUs;
    slots[SLOT.connectSumMs] = tally.connectSumMs;
    slots[SLOT.connectCount] = this.openedTotal;
    slots[SLOT.errorsConnect] = tally.errorTotals.connect;
    slots[SLOT.errorsDisconnect] = tally.errorTotals.disconnect;
    slots[SLOT.errorsProtocol] = tally.errorTotals.protocol;
    slots[SLOT.errorsServer] = tally.errorTotals.server_error;
    slots.set(tally.latencyBuckets, SLOT.latencyBuckets);
    slots.set(tally.connectBuckets, CONNECT_BUCKETS_SLOT);
  }

  // window

  private startWindow(): void {
    this.tally.drain();
    this.tally.startWindow();
    this.slowTally.drain();
    this.slowTally.startWindow();
    for (const c of this.conns) c.startWindow();
    this.loopDelay.reset();
    this.windowStartUs = nowUs();
    this.windowElu = performance.eventLoopUtilization();
    this.startChurn();
    this.post({ kind: 'window-started', worker: this.init.workerIndex });
  }

  private report(): WorkerReport {
    const tally = this.tally;
    tally.drain();
    tally.closePartialSecond(nowUs());
    const inWindow = this.windowStartUs !== 0;
    const windowUs = inWindow ? nowUs() - this.windowStartUs : 0;
    tally.windowOpen = false;
    const busy = performance.eventLoopUtilization(this.windowElu ?? this.startElu).utilization;
    let expected = 0;
    const perClient: number[] = [];
    const slow = this.slowTally;
    slow.drain();
    slow.windowOpen = false;
    const slowGroup: SlowReport = {
      connections: 0,
      openAtEnd: 0,
      received: inWindow ? slow.received : 0,
      expected: 0,
      gaps: inWindow ? slow.gaps : 0,
      latency: hdr.encodeIntoCompressedBase64(slow.latency),
      closes: Object.fromEntries([...slow.closes].map(([code, n]) => [String(code), n])),
    };
    for (const c of this.conns) {
      if (c.slow) {
        slowGroup.connections++;
        if (c.isOpen) slowGroup.openAtEnd++;
        if (inWindow) slowGroup.expected += c.expected();
        continue;
      }
      // Never opened: nothing expected. (A churned connection between sockets still counts.)
      if (c.openedAtUs === 0 && c.generation === 0) continue;
      expected += c.expected();
      perClient.push(c.received);
    }
    const enc = (h: hdr.Histogram) => hdr.encodeIntoCompressedBase64(h);
    return {
      worker: this.init.workerIndex,
      windowUs,
      received: inWindow ? tally.received : 0,
      bytes: inWindow ? tally.bytes : 0,
      gaps: inWindow ? tally.gaps : 0,
      duplicates: inWindow ? tally.duplicates : 0,
      reordered: inWindow ? tally.reordered : 0,
      expected: inWindow ? expected : 0,
      perClient: inWindow ? perClient : [],
      latency: enc(tally.latency),
      rtt: enc(tally.rtt),
      connect: enc(tally.connectUs),
      busy,
      eventLoopP99Ms: this.loopDelay.count > 0 ? this.loopDelay.percentile(99) / 1e6 : 0,
      errors: [...tally.errors].map(([type, e]) => ({ type, count: e.count, message: e.message })),
      closes: Object.fromEntries([...tally.closes].map(([code, n]) => [String(code), n])),
      open: this.open,
      timeline: tally.timeline,
      restarts: { ...this.restarts },
      slow: slowGroup.connections > 0 ? slowGroup : null,
      storm: this.storm,
      loss: this.loss,
      opened: this.openedTotal,
      failed: this.failedTotal,
    };
  }

  private shutdown(): void {
    this.closing = true;
    this.stopChurn();
    clearInterval(this.ticker);
    if (this.pingTimer !== null) clearInterval(this.pingTimer);
    this.loopDelay.disable();
    for (const c of this.conns) c.close(CLOSE.normal);
    // Sockets still closing after the close handshake timeout are destroyed by the client itself;
    // the thread exits once the last one is gone (or after the deadline regardless).
    setTimeout(() => process.exit(0), EXIT_DEADLINE_MS).unref();
    this.port.close();
  }
}

if (parentPort === null) throw new Error('client-bench/worker.js runs only as a worker thread');
useClockFromEnv();
new BenchWorker(workerData as WorkerInit, parentPort).start();
