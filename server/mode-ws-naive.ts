// ws-naive: the seed's baseline, kept deliberately naive so every ratio has a fixed reference:
// a 1 ms setInterval, and per tick per client a JSON.stringify of the tick object and one
// ws.send(string). It is still correct: subscriptions, counters and a bounded backlog.
import { WebSocket } from 'ws';
import type { TickBatch } from './generator.js';
import { headerLength } from '../protocol/framing.js';
import type { BroadcastMode, ModeContext } from './mode.js';
import { WsServer, type WsClient } from './ws-server.js';

/**
 * Heap bytes a message queued by ws.send() holds besides its own bytes: two Buffer views (frame
 * header and payload) and two entries in the socket's write queue, plus their share of the
 * writev batches. Measured with testkit/stalled-readers.ts: a client that never reads cost ~4 MB
 * of heap at a 1 MiB byte backlog (~450 B per ~110 B tick), so a byte-only cap let the naive send
 * path hold four times the cap per stalled client.
 */
export const QUEUED_MESSAGE_OVERHEAD = 448;

export class WsNaiveMode implements BroadcastMode {
  readonly defaultPacer = 'interval' as const;
  private readonly server: WsServer;

  constructor(private readonly ctx: ModeContext) {
    this.server = new WsServer(ctx, (c, text) => {
      if (c.ws.readyState === WebSocket.OPEN) c.ws.send(text);
    });
  }

  listen(): Promise<number> {
    return this.server.listen();
  }

  hasSubscribers(): boolean {
    return this.server.hasSubscribers();
  }

  broadcast(batch: TickBatch): void {
    const { stats, config } = this.ctx;
    const max = config.maxBackpressure;
    const dropSlow = config.slowClient === 'drop';
    for (let t = 0; t < batch.count; t++) {
      const tick = batch.ticks[t];
      const sym = batch.symbolIndex[t] ?? 0;
      if (tick === undefined) break;
      // The cap bounds what a backlog costs in memory: each queued message counts its bytes plus
      // the objects it holds, so the byte backlog stops at max * frame / (frame + overhead).
      const frame = (batch.offsets[t + 1] ?? 0) - (batch.offsets[t] ?? 0);
      const limit = (max * frame) / (frame + QUEUED_MESSAGE_OVERHEAD);
      this.server.clients.forEach((c: WsClient) => {
        if (c.session.subs.mask[sym] === 0) return;
        if (c.ws.readyState !== WebSocket.OPEN || c.slowClosed) {
          stats.droppedClosed++;
          return;
        }
        if (c.ws.bufferedAmount > limit) {
          stats.droppedBackpressure++;
          if (!dropSlow) this.server.closeSlow(c);
          return;
        }
        // The seed's hot path: a fresh object and a fresh string per client.
        const msg = JSON.stringify({
          type: 'tick',
          symbol: tick.symbol,
          seq: tick.seq,
          price: tick.price,
          size: tick.size,
          ts: tick.ts,
        });
        c.ws.send(msg);
        stats.messagesSent++;
        stats.bytesSent += msg.length + headerLength(msg.length);
      });
    }
  }

  close(): Promise<void> {
    return this.server.close();
  }
}
