// uws: uWebSockets.js, HTTP and WebSocket on one App and port, with the design's optimisations as
// independent switches (server/opts.ts, --opt; `uws` = all of them, `--opt none` = the seed's naive
// server ported to uWS as is):
// - pubsub: one topic per symbol, each tick `app.publish`ed once and fanned out by uWS in C++;
//   else per tick a loop over its subscribers calling `ws.send` per client (the naive port);
// - serialize-once: the generator's pre-encoded payload (encoded once per tick); else
//   JSON.stringify of the tick (tick-json.ts, the ws engine's same function) per client, or with
//   pubsub per published tick (one message goes to all of a topic's subscribers);
// - pacer: the hrtime schedule (--pacer auto = sleep), else the seed's setInterval(1 ms);
// - cork (per-client path only): one `ws.cork` per client per turn holding all its due ticks, else
//   one uncorked send (one write) per tick. With pubsub uWS sends each subscriber's messages itself.
// uWS drops silently over maxBackpressure (20.30 has no `dropped` event), so this mode enforces
// --max-backpressure itself and counts. With pubsub: at most every millisecond it reads each
// socket's buffered amount; per client: before each send (cork: before each client's turn). A slow
// client is paused (pubsub: unsubscribed from its topics; each tick of its symbols counted as a
// drop; resubscribed/resumed in `drain` below half the limit) or closed (1008).
// uWS's own limit is set a margin above ours as a safety net that our check never reaches.
import type * as UWS from 'uWebSockets.js';
import type { TickBatch } from './generator.js';
import { CLOSE } from '../protocol/codes.js';
import { headerLength } from '../protocol/framing.js';
import { handlerFailed } from './guard.js';
import { HttpRoutes, type HttpReply } from './http.js';
import { ModeUnavailableError, type BroadcastMode, type ModeContext } from './mode.js';
import type { PacerKind } from './pacer.js';
import { Session } from './session.js';
import { stringifyTick } from './tick-json.js';
import { loadUws } from './uws-loader.js';

type UwsModule = typeof UWS;
/** uWS's own backpressure limit = ours + this margin (our check runs at least every ms). */
const UWS_LIMIT_MARGIN = 1 << 20;
const CHECK_INTERVAL_NS = 1_000_000n;
/** uWS WebSocket.send() result: dropped (over uWS's own maxBackpressure). */
const SEND_DROPPED = 2;

/**
 * uWS's own payload limit: 4x ours (at least 64 KiB, at most the 16 MiB flag maximum). Frames up
 * to it get a proper 1009 from us; beyond it uWS drops the connection (1006) before buffering.
 */
export function uwsPayloadLimit(maxPayload: number): number {
  return Math.min(16 * 2 ** 20, Math.max(4 * maxPayload, 64 * 1024));
}
const STATUS: Record<HttpReply['status'] | 500, string> = {
  200: '200 OK',
  404: '404 Not Found',
  500: '500 Internal Server Error',
};

/** arr[i] += d on a per-symbol counter. */
function add(arr: Float64Array, i: number, d: number): void {
  arr[i] = (arr[i] ?? 0) + d;
}

interface UwsClient {
  ws: UWS.WebSocket<UserData>;
  session: Session;
  /** Set in `close` (or when we end it): no uWS method may be called afterwards. */
  closed: boolean;
  /** Unsubscribed from its topics because its backlog exceeded the limit (policy drop). */
  paused: boolean;
  /** Over the limit under --slow-client close: to be ended (1008) after this turn. */
  slow: boolean;
}
interface UserData {
  client?: UwsClient;
}

/** The first uWebSockets.js package whose native binary loads (uws-loader.ts refuses the shim). */
function loadNative(): UwsModule {
  try {
    return loadUws().module as UwsModule;
  } catch (err) {
    throw new ModeUnavailableError(`uws mode: ${(err as Error).message}; refusing to start`);
  }
}

export function createUwsMode(ctx: ModeContext): BroadcastMode {
  return new UwsMode(ctx, loadNative());
}

export class UwsMode implements BroadcastMode {
  readonly defaultPacer: PacerKind;
  private readonly pubsub: boolean;
  private readonly serializeOnce: boolean;
  private readonly cork: boolean;
  private readonly app: UWS.TemplatedApp;
  private listenSocket: UWS.us_listen_socket | null = null;
  private clients: UwsClient[] = [];
  /** Live (unpaused) subscribers per symbol: deliveries per published tick. */
  private readonly subscribers: Float64Array;
  /** Paused subscribers per symbol: drops per published tick. */
  private readonly pausedSubscribers: Float64Array;
  private readonly topics: Buffer[];
  private lastCheckNs = 0n;
  /** (client, symbol) subscriptions, paused ones included. */
  private subscriptions = 0;
  private closing = false;
  /** Per-client path: clients over the limit under --slow-client close, ended after the turn. */
  private readonly toClose: UwsClient[] = [];

  constructor(
    private readonly ctx: ModeContext,
    private readonly uws: UwsModule,
  ) {
    this.pubsub = ctx.opts.includes('pubsub');
    this.serializeOnce = ctx.opts.includes('serialize-once');
    this.cork = ctx.opts.includes('cork');
    this.defaultPacer = ctx.opts.includes('pacer') ? 'sleep' : 'interval';
    const n = ctx.generator.symbols.length;
    this.subscribers = new Float64Array(n);
    this.pausedSubscribers = new Float64Array(n);
    this.topics = ctx.generator.symbols.map((s) => Buffer.from(s, 'latin1'));
    const { config } = ctx;
    this.app = uws.App();
    this.app.ws<UserData>('/*', {
      compression: uws.DISABLED,
      // uWS cuts frames over its limit without a close frame (1006); we want 1009 for frames
      // over --max-payload, so uWS's limit sits above ours and message() enforces ours.
      maxPayloadLength: uwsPayloadLimit(config.maxPayload),
      maxBackpressure: config.maxBackpressure + UWS_LIMIT_MARGIN,
      closeOnBackpressureLimit: 0,
      idleTimeout: 120,
      sendPingsAutomatically: true,
      // uWS does not catch exceptions from its callbacks (a throw ends the process): open and
      // drain are guarded here, message and close in their methods.
      open: (ws) => {
        try {
          this.open(ws);
        } catch (err) {
          this.handlerThrew('open', ws, err);
        }
      },
      message: (ws, message, isBinary) => {
        this.message(ws, message, isBinary);
      },
      drain: (ws) => {
        try {
          this.drain(ws);
        } catch (err) {
          this.handlerThrew('drain', ws, err);
        }
      },
      close: (ws, code) => {
        this.closed(ws, code);
      },
    });
    this.app.any('/*', (res, req) => {
      this.http(res, req);
    });
  }

  private open(ws: UWS.WebSocket<UserData>): void {
    const { stats, symbols } = this.ctx;
    const session = new Session(symbols, stats, (i, on) => {
      this.subscriptionChanged(c, i, on);
    });
    const c: UwsClient = { ws, session, closed: false, paused: false, slow: false };
    ws.getUserData().client = c;
    this.clients.push(c);
    stats.connections++;
    stats.clientsConnected++;
    if (this.closing) {
      c.closed = true;
      ws.end(CLOSE.goingAway, 'server shutting down');
    }
  }

  hasSubscribers(): boolean {
    return this.subscriptions > 0;
  }

  private subscriptionChanged(c: UwsClient, i: number, on: boolean): void {
    const d = on ? 1 : -1;
    this.subscriptions += d;
    if (c.paused) {
      add(this.pausedSubscribers, i, d);
      return;
    }
    add(this.subscribers, i, d);
    if (c.closed || !this.pubsub) return;
    if (on) c.ws.subscribe(this.topic(i));
    else c.ws.unsubscribe(this.topic(i));
  }

  private message(ws: UWS.WebSocket<UserData>, message: ArrayBuffer, isBinary: boolean): void {
    const c = ws.getUserData().client;
    if (!c || c.closed) return;
    // uWS does not catch exceptions from its callbacks: a throw here would end the process.
    try {
      if (message.byteLength > this.ctx.config.maxPayload) {
        c.closed = true;
        ws.end(CLOSE.tooBig, 'message too big');
        return;
      }
      // The ArrayBuffer is only valid during this call; toString copies it.
      const out = isBinary
        ? c.session.binary(message.byteLength)
        : c.session.text(Buffer.from(message).toString('utf8'));
      ws.send(out, false);
    } catch (err) {
      handlerFailed(this.ctx.stats, this.ctx.log, 'message', err);
      if (c.closed) return;
      c.closed = true;
      try {
        ws.end(CLOSE.internalError, 'internal error');
      } catch {
        // already closed inside uWS: nothing left to end
      }
    }
  }

  /** open or drain threw: counted and logged (guard.ts), and that connection closed with 1011. */
  private handlerThrew(handler: 'open' | 'drain', ws: UWS.WebSocket<UserData>, err: unknown): void {
    handlerFailed(this.ctx.stats, this.ctx.log, handler, err);
    const c = ws.getUserData().client;
    if (c?.closed === true) return;
    if (c) c.closed = true;
    try {
      ws.end(CLOSE.internalError, 'internal error');
    } catch {
      // already closed inside uWS: nothing left to end
    }
  }

  private drain(ws: UWS.WebSocket<UserData>): void {
    const c = ws.getUserData().client;
    if (!c || c.closed) return;
    c.session.drained();
    if (!c.paused) return;
    if (ws.getBufferedAmount() < this.ctx.config.maxBackpressure / 2) this.resume(c);
  }

  private closed(ws: UWS.WebSocket<UserData>, code: number): void {
    const c = ws.getUserData().client;
    if (!c) return;
    // The socket is gone: from here on only bookkeeping, no uWS calls (closed = true first).
    c.closed = true;
    try {
      c.session.clear();
    } catch (err) {
      handlerFailed(this.ctx.stats, this.ctx.log, 'close', err);
    } finally {
      // Whatever failed above, the client leaves every list: no native call on it ever again.
      const i = this.clients.indexOf(c);
      if (i >= 0) this.clients.splice(i, 1);
      this.ctx.stats.disconnected(code);
    }
  }

  private topic(i: number): Buffer {
    const t = this.topics[i];
    if (t === undefined) throw new RangeError(`no symbol ${i}`);
    return t;
  }

  private pause(c: UwsClient): void {
    const mask = c.session.subs.mask;
    for (let i = 0; i < mask.length; i++) {
      if (mask[i] === 0) continue;
      add(this.subscribers, i, -1);
      add(this.pausedSubscribers, i, 1);
      if (this.pubsub) c.ws.unsubscribe(this.topic(i));
    }
    c.paused = true;
  }

  private resume(c: UwsClient): void {
    const mask = c.session.subs.mask;
    c.paused = false;
    for (let i = 0; i < mask.length; i++) {
      if (mask[i] === 0) continue;
      add(this.pausedSubscribers, i, -1);
      add(this.subscribers, i, 1);
      if (this.pubsub) c.ws.subscribe(this.topic(i));
    }
  }

  broadcast(batch: TickBatch): void {
    if (this.pubsub) this.publish(batch);
    else this.sendPerClient(batch);
  }

  /** pubsub: each tick published once to its symbol's topic; uWS fans it out. */
  private publish(batch: TickBatch): void {
    const { stats } = this.ctx;
    const frames = batch.frames;
    const offsets = batch.offsets;
    if (this.serializeOnce) stats.serializations += batch.count;
    for (let t = 0; t < batch.count; t++) {
      const sym = batch.symbolIndex[t] ?? 0;
      const subs = this.subscribers[sym] ?? 0;
      stats.droppedBackpressure += this.pausedSubscribers[sym] ?? 0;
      if (subs === 0) continue;
      if (this.serializeOnce) {
        const end = offsets[t + 1] ?? 0;
        // The payload without our frame header; uWS frames it and copies it before returning.
        this.app.publish(this.topic(sym), frames.subarray(batch.payloadStart(t), end), false);
        stats.bytesSent += subs * (end - (offsets[t] ?? 0));
      } else {
        // One message goes to every subscriber, so one stringify per published tick.
        const msg = this.stringify(batch, t);
        this.app.publish(this.topic(sym), msg, false);
        stats.bytesSent += subs * (msg.length + headerLength(msg.length));
      }
      stats.messagesSent += subs;
    }
    const now = process.hrtime.bigint();
    if (now - this.lastCheckNs >= CHECK_INTERVAL_NS) {
      this.lastCheckNs = now;
      this.checkBackpressure();
    }
  }

  private stringify(batch: TickBatch, t: number): string {
    const tick = batch.ticks[t];
    if (tick === undefined) throw new RangeError(`no tick ${t} in the batch`);
    this.ctx.stats.serializations++;
    return stringifyTick(tick);
  }

  /**
   * Without pubsub: the seed's naive fan-out on uWS. Uncorked: per tick, a loop over the
   * clients, one ws.send per subscribed client. Corked: per client, one ws.cork holding all its
   * ticks of the turn. The backlog is checked before each send (corked: before each client's).
   */
  private sendPerClient(batch: TickBatch): void {
    const { stats } = this.ctx;
    if (this.serializeOnce) stats.serializations += batch.count;
    const clients = this.clients;
    if (this.cork) {
      for (const c of clients) {
        if (c.closed || c.session.subs.count === 0) continue;
        if (!c.paused && !this.overLimit(c)) {
          const out: { sent: number; err: Error | null } = { sent: 0, err: null };
          c.ws.cork(() => {
            // uWS does not catch exceptions from its callbacks: carry one out of the cork.
            try {
              out.sent = this.sendTicks(c, batch);
            } catch (e) {
              out.err = e instanceof Error ? e : new Error('cork: a non-Error was thrown');
            }
          });
          if (out.err !== null) throw out.err;
          if (out.sent > 0) stats.socketWrites++;
          continue;
        }
        stats.droppedBackpressure += this.ticksFor(c, batch);
      }
    } else {
      for (let t = 0; t < batch.count; t++) {
        const sym = batch.symbolIndex[t] ?? 0;
        for (const c of clients) {
          if (c.closed || c.session.subs.mask[sym] !== 1) continue;
          if (c.slow) stats.droppedClosed++;
          else if (c.paused) stats.droppedBackpressure++;
          else if (this.overLimit(c)) stats.droppedBackpressure++;
          else if (this.sendTick(c, batch, t)) stats.socketWrites++;
        }
      }
    }
    // end() runs the close handler synchronously (it leaves `clients`), hence after the loops.
    if (this.toClose.length === 0) return;
    const slow = this.toClose.splice(0);
    for (const c of slow) this.closeSlow(c);
  }

  /** Whether c's backlog exceeds the limit; if so it is paused (drop) or marked slow (close). */
  private overLimit(c: UwsClient): boolean {
    const { config } = this.ctx;
    if (c.ws.getBufferedAmount() <= config.maxBackpressure) return false;
    if (config.slowClient === 'drop') this.pause(c);
    else {
      c.slow = true;
      this.toClose.push(c);
    }
    return true;
  }

  private closeSlow(c: UwsClient): void {
    this.ctx.stats.slowClientCloses++;
    if (!c.closed) c.ws.end(CLOSE.policy, 'slow client');
  }

  /** How many ticks of the batch c is subscribed to. */
  private ticksFor(c: UwsClient, batch: TickBatch): number {
    const mask = c.session.subs.mask;
    let n = 0;
    for (let t = 0; t < batch.count; t++) if (mask[batch.symbolIndex[t] ?? 0] === 1) n++;
    return n;
  }

  /** Inside c's cork: each of its ticks of the batch; returns how many went out. */
  private sendTicks(c: UwsClient, batch: TickBatch): number {
    const mask = c.session.subs.mask;
    let sent = 0;
    for (let t = 0; t < batch.count; t++)
      if (mask[batch.symbolIndex[t] ?? 0] === 1 && this.sendTick(c, batch, t)) sent++;
    return sent;
  }

  /** One ws.send of tick t to c; counts it as sent, or dropped when uWS refused it. */
  private sendTick(c: UwsClient, batch: TickBatch, t: number): boolean {
    const { stats } = this.ctx;
    let result: number;
    let bytes: number;
    if (this.serializeOnce) {
      const end = batch.offsets[t + 1] ?? 0;
      result = c.ws.send(batch.frames.subarray(batch.payloadStart(t), end), false);
      bytes = end - (batch.offsets[t] ?? 0);
    } else {
      const msg = this.stringify(batch, t);
      result = c.ws.send(msg, false);
      bytes = msg.length + headerLength(msg.length);
    }
    if (result === SEND_DROPPED) {
      stats.droppedBackpressure++;
      return false;
    }
    stats.messagesSent++;
    stats.bytesSent += bytes;
    return true;
  }

  /** Pauses (drop) or closes (close) every client whose backlog exceeds the limit. */
  private checkBackpressure(): void {
    const { config, stats } = this.ctx;
    const max = config.maxBackpressure;
    let slow: UwsClient[] | null = null;
    for (const c of this.clients) {
      if (c.closed || c.paused || c.session.subs.count === 0) continue;
      if (c.ws.getBufferedAmount() > max) (slow ??= []).push(c);
    }
    if (!slow) return;
    for (const c of slow) {
      if (config.slowClient === 'drop') this.pause(c);
      else {
        stats.slowClientCloses++;
        // end() runs the close handler synchronously, hence outside the loop above.
        c.ws.end(CLOSE.policy, 'slow client');
      }
    }
  }

  private http(res: UWS.HttpResponse, req: UWS.HttpRequest): void {
    const { routes } = this.ctx;
    const path = HttpRoutes.pathOf(req.getUrl());
    const send = (r: HttpReply) =>
      res.writeStatus(STATUS[r.status]).writeHeader('content-type', r.contentType).end(r.body);
    if (!routes.isMetrics(path)) {
      // Answered before returning: uWS has nothing to abort.
      send(routes.reply(path));
      return;
    }
    // Async: the client may go away meanwhile. Without onAborted uWS would terminate the
    // process; after it fires, `res` must not be touched.
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    routes.metrics().then(
      (r) => {
        if (!aborted) res.cork(() => send(r));
      },
      (err: unknown) => {
        this.ctx.log(`metrics failed: ${err instanceof Error ? err.message : String(err)}`);
        if (!aborted) res.cork(() => res.writeStatus(STATUS[500]).end());
      },
    );
  }

  listen(): Promise<number> {
    const { host, port } = this.ctx.config;
    return new Promise((resolve, reject) => {
      this.app.listen(host, port, (token) => {
        if (!token) {
          reject(
            new Error(`uws: cannot listen on ${host}:${port} (in use or not an address here)`),
          );
          return;
        }
        this.listenSocket = token;
        resolve(this.uws.us_socket_local_port(token));
      });
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    if (this.listenSocket) {
      this.uws.us_listen_socket_close(this.listenSocket);
      this.listenSocket = null;
    }
    for (const c of this.clients.slice()) {
      if (c.closed) continue;
      c.ws.end(CLOSE.goingAway, 'server shutting down');
    }
    // Give the close frames a moment to flush, then close whatever is left (HTTP keep-alive).
    await new Promise((r) => setTimeout(r, 50));
    const app = this.app as UWS.TemplatedApp & { close?: () => void };
    if (typeof app.close === 'function') app.close();
  }
}
