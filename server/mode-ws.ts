// ws, optimised: each pacer batch arrives serialised and framed once in one buffer, and every
// client gets it with one socket write (clients with the same subscription set share one subset
// buffer). Replies go through the same raw socket path as ticks, so a reply can never land in the
// middle of a tick frame and the order a client sees is the order the server wrote.
import type { Socket } from 'node:net';
import { WebSocket } from 'ws';
import type { TickBatch } from './generator.js';
import { frameText } from '../protocol/framing.js';
import type { BroadcastMode, ModeContext } from './mode.js';
import type { Subscriptions } from './session.js';
import { WsServer } from './ws-server.js';

/** ws keeps its net.Socket in a private field; we write pre-built frames to it directly. */
function rawSocket(ws: WebSocket): Socket {
  return (ws as unknown as { _socket: Socket })._socket;
}

interface Subset {
  buf: Buffer;
  frames: number;
}

export class WsMode implements BroadcastMode {
  readonly defaultPacer = 'sleep' as const;
  private readonly server: WsServer;
  /** Subset buffers of the current batch by subscription key. */
  private readonly subsets = new Map<string, Subset>();

  constructor(private readonly ctx: ModeContext) {
    this.server = new WsServer(ctx, (c, text) => {
      if (c.ws.readyState === WebSocket.OPEN && !c.slowClosed)
        rawSocket(c.ws).write(frameText(text));
    });
    this.server.wss.on('connection', (ws: WebSocket) => rawSocket(ws).setNoDelay(true));
  }

  listen(): Promise<number> {
    return this.server.listen();
  }

  hasSubscribers(): boolean {
    return this.server.hasSubscribers();
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

  broadcast(batch: TickBatch): void {
    const clients = this.server.clients;
    if (clients.length === 0) return;
    const { stats, config } = this.ctx;
    const max = config.maxBackpressure;
    const dropSlow = config.slowClient === 'drop';
    // The generator already wrote the batch as frames; every client gets these very bytes.
    const full = batch.bytes;
    const all: Subset = { buf: full, frames: batch.count };
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
      stats.messagesSent += s.frames;
      stats.bytesSent += s.buf.length;
    }
  }

  close(): Promise<void> {
    return this.server.close();
  }
}
