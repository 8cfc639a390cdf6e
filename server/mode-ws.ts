// The ws engine: one fan-out with each optimisation of the design as an independent switch
// (server/opts.ts, --opt). `ws-naive` runs it with none: per tick per client a JSON.stringify and
// one ws.send. `ws` runs it with all: each pacer batch arrives serialised and framed once in one
// buffer, and every client gets it with one socket write (clients with the same subscription set
// share one subset buffer). Every combination in between is a real code path of its own:
// - serialize-once: a tick's JSON is made once (the generator's bytes), not stringified per client;
// - frame-once: frames are built once and written raw to the socket, not framed by ws.send;
// - batch: one write per client per pacer turn (raw: one buffer; ws.send: corked), not per tick;
// - nodelay: setNoDelay(true) on every socket, else Nagle on (setNoDelay(false));
// - pacer: the hrtime schedule (--pacer auto = sleep), else the seed's setInterval(1 ms).
// With frame-once, replies go through the same raw socket path as ticks, so a reply can never
// land in the middle of a tick frame and the order a client sees is the order the server wrote.
import type { Socket } from 'node:net';
import { WebSocket } from 'ws';
import { frameText, headerLength } from '../protocol/framing.js';
import type { TickBatch } from './generator.js';
import type { BroadcastMode, ModeContext } from './mode.js';
import type { Opt } from './opts.js';
import type { PacerKind } from './pacer.js';
import type { Subscriptions } from './session.js';
import { stringifyTick } from './tick-json.js';
import { WsServer } from './ws-server.js';

/** ws keeps its net.Socket in a private field; we write pre-built frames to it directly. */
function rawSocket(ws: WebSocket): Socket {
  return (ws as unknown as { _socket: Socket })._socket;
}

/**
 * Heap bytes a message queued by ws.send() holds besides its own bytes: two Buffer views (frame
 * header and payload) and two entries in the socket's write queue, plus their share of the
 * writev batches. Measured with testkit/stalled-readers.ts: a client that never reads cost ~4 MB
 * of heap at a 1 MiB byte backlog (~450 B per ~110 B tick), so a byte-only cap let the naive send
 * path hold four times the cap per stalled client.
 */
export const QUEUED_MESSAGE_OVERHEAD = 448;

interface Subset {
  buf: Buffer;
  frames: number;
}

export class WsEngine implements BroadcastMode {
  readonly defaultPacer: PacerKind;
  private readonly server: WsServer;
  /** Subset buffers of the current batch by subscription key. */
  private readonly subsets = new Map<string, Subset>();
  private readonly serializeOnce: boolean;
  private readonly frameOnce: boolean;
  private readonly batchWrites: boolean;
  /** Per batch with serialize-once: each tick's JSON (ws.send path) once. */
  private texts: string[] = [];

  constructor(
    private readonly ctx: ModeContext,
    opts: readonly Opt[],
  ) {
    this.serializeOnce = opts.includes('serialize-once');
    this.frameOnce = opts.includes('frame-once');
    this.batchWrites = opts.includes('batch');
    this.defaultPacer = opts.includes('pacer') ? 'sleep' : 'interval';
    const noDelay = opts.includes('nodelay');
    this.server = new WsServer(ctx, (c, text) => {
      if (c.ws.readyState !== WebSocket.OPEN || c.slowClosed) return;
      if (this.frameOnce) rawSocket(c.ws).write(frameText(text));
      else c.ws.send(text);
    });
    // ws itself calls setNoDelay() on every socket; without the switch Nagle is back on.
    this.server.wss.on('connection', (ws: WebSocket) => rawSocket(ws).setNoDelay(noDelay));
  }

  listen(): Promise<number> {
    return this.server.listen();
  }

  hasSubscribers(): boolean {
    return this.server.hasSubscribers();
  }

  close(): Promise<void> {
    return this.server.close();
  }

  broadcast(batch: TickBatch): void {
    if (this.server.clients.length === 0) return;
    if (this.serializeOnce && this.frameOnce && this.batchWrites) this.broadcastShared(batch);
    else this.broadcastPerClient(batch);
  }

  /** The frames of `full` for the symbols in `subs`, built once per batch per subscription set. */
  private subset(full: Buffer, batch: TickBatch, subs: Subscriptions): Subset {
    let s = this.subsets.get(subs.key);
    if (s) return s;
    const offsets = batch.offsets;
    const mask = subs.mask;
    let size = 0;
    let frames = 0;
    for (let i = 0; i < batch.count; i++) {
      if (mask[batch.symbolIndex[i] ?? 0] === 1) {
        size += (offsets[i + 1] ?? 0) - (offsets[i] ?? 0);
        frames++;
      }
    }
    const buf = Buffer.allocUnsafe(size);
    let at = 0;
    for (let i = 0; i < batch.count; i++) {
      if (mask[batch.symbolIndex[i] ?? 0] === 1)
        at += full.copy(buf, at, offsets[i] ?? 0, offsets[i + 1] ?? 0);
    }
    s = { buf, frames };
    this.subsets.set(subs.key, s);
    return s;
  }

  /** All switches on: the batch's frames, one shared buffer per subscription set, one write. */
  private broadcastShared(batch: TickBatch): void {
    const clients = this.server.clients;
    const { stats, config } = this.ctx;
    const max = config.maxBackpressure;
    const dropSlow = config.slowClient === 'drop';
    // The generator already wrote the batch as frames; every client gets these very bytes.
    const full = batch.bytes;
    const all: Subset = { buf: full, frames: batch.count };
    stats.serializations += batch.count;
    this.subsets.clear();
    for (const c of clients) {
      const subs = c.session.subs;
      if (subs.count === 0) continue;
      const s = subs.all ? all : this.subset(full, batch, subs);
      if (s.frames === 0) continue;
      if (c.ws.readyState !== WebSocket.OPEN || c.slowClosed) {
        stats.droppedClosed += s.frames;
        continue;
      }
      // bufferedAmount = bytes queued in the socket + in ws's sender: the client's backlog.
      if (c.ws.bufferedAmount > max) {
        stats.droppedBackpressure += s.frames;
        if (!dropSlow) this.server.closeSlow(c);
        continue;
      }
      rawSocket(c.ws).write(s.buf);
      stats.socketWrites++;
      stats.messagesSent += s.frames;
      stats.bytesSent += s.buf.length;
    }
  }

  /**
   * Any other set of switches: per client, its ticks of the batch, each serialised (once per tick
   * or per client), framed (once, or by ws.send) and written (per tick, or once per turn).
   */
  private broadcastPerClient(batch: TickBatch): void {
    const { stats, config } = this.ctx;
    const max = config.maxBackpressure;
    const dropSlow = config.slowClient === 'drop';
    const { serializeOnce, frameOnce, batchWrites } = this;
    const frames = batch.frames;
    const offsets = batch.offsets;
    if (serializeOnce) {
      stats.serializations += batch.count;
      if (!frameOnce) {
        const texts = this.texts;
        texts.length = batch.count;
        for (let t = 0; t < batch.count; t++)
          texts[t] = frames.toString('latin1', batch.payloadStart(t), offsets[t + 1] ?? 0);
      }
    }
    const parts: Buffer[] = [];
    for (const c of this.server.clients) {
      const mask = c.session.subs.mask;
      if (c.session.subs.count === 0) continue;
      const socket = rawSocket(c.ws);
      let corked = false;
      let skipped = false;
      parts.length = 0;
      for (let t = 0; t < batch.count; t++) {
        if (mask[batch.symbolIndex[t] ?? 0] === 0) continue;
        if (skipped || c.ws.readyState !== WebSocket.OPEN || c.slowClosed) {
          if (skipped) stats.droppedBackpressure++;
          else stats.droppedClosed++;
          continue;
        }
        const frameBytes = (offsets[t + 1] ?? 0) - (offsets[t] ?? 0);
        // ws.send queues objects besides the bytes: the cap counts them (see the constant).
        const limit = frameOnce ? max : (max * frameBytes) / (frameBytes + QUEUED_MESSAGE_OVERHEAD);
        // Batched: one check per client per turn (before its first write), as the shared path.
        if ((!batchWrites || (parts.length === 0 && !corked)) && c.ws.bufferedAmount > limit) {
          stats.droppedBackpressure++;
          if (!dropSlow) this.server.closeSlow(c);
          if (batchWrites) skipped = true;
          continue;
        }
        const tick = batch.ticks[t];
        let text: string | null = null;
        if (!serializeOnce && tick !== undefined) {
          text = stringifyTick(tick);
          stats.serializations++;
        }
        if (frameOnce) {
          const frame =
            text === null ? frames.subarray(offsets[t] ?? 0, offsets[t + 1] ?? 0) : frameText(text);
          stats.bytesSent += frame.length;
          if (batchWrites) parts.push(frame);
          else {
            socket.write(frame);
            stats.socketWrites++;
          }
        } else {
          const msg = text ?? this.texts[t] ?? '';
          if (batchWrites && !corked) {
            socket.cork();
            corked = true;
          }
          c.ws.send(msg);
          if (!batchWrites) stats.socketWrites++;
          stats.bytesSent += msg.length + headerLength(msg.length);
        }
        stats.messagesSent++;
      }
      if (corked) {
        socket.uncork();
        stats.socketWrites++;
      } else if (parts.length > 0) {
        socket.write(parts.length === 1 ? (parts[0] ?? Buffer.alloc(0)) : Buffer.concat(parts));
        stats.socketWrites++;
      }
    }
  }
}
