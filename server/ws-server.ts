// The node:http + ws plumbing shared by the two ws modes: HTTP routes on the WebSocket port, the
// client list, listen and shutdown. The modes differ only in how they fan ticks out and reply.
import http from 'node:http';
import { Socket, type AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { CLOSE } from '../protocol/codes.js';
import { handlerFailed } from './guard.js';
import { HttpRoutes, type HttpReply } from './http.js';
import type { ModeContext } from './mode.js';
import { Session } from './session.js';

/** A connected ws client. */
export interface WsClient {
  ws: WebSocket;
  session: Session;
  /** Set once the slow-client policy (or a failed handler) closed it (never written to again). */
  slowClosed: boolean;
}

/**
 * A request (the upgrade included) must arrive whole within 10 s, checked every second: a
 * slowloris client dribbling its headers byte by byte is closed after 10-11 s (node's defaults,
 * 60 s checked every 30 s, held one for 90 s). uWS closes such a connection after ~10 s itself.
 */
const HTTP_LIMITS: http.ServerOptions = {
  headersTimeout: 10_000,
  requestTimeout: 10_000,
  connectionsCheckingInterval: 1_000,
};
function clientErrorReply(code: string | undefined): string {
  const status =
    code === 'HPE_HEADER_OVERFLOW'
      ? '431 Request Header Fields Too Large'
      : code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? '408 Request Timeout'
        : '400 Bad Request';
  return `HTTP/1.1 ${status}\r\nConnection: close\r\n\r\n`;
}
/** How long a closing handshake may take before the socket is destroyed. */
const CLOSE_GRACE_MS = 1000;

export class WsServer {
  readonly server: http.Server;
  readonly wss: WebSocketServer;
  /** Open clients; an array so the fan-out loop is a plain indexed loop. */
  clients: WsClient[] = [];

  constructor(
    private readonly ctx: ModeContext,
    /** Sends one reply frame (pong, error, subscribed) the way the mode writes. */
    private readonly reply: (c: WsClient, text: string) => void,
  ) {
    const { routes, config } = ctx;
    this.server = http.createServer(HTTP_LIMITS, (req, res) => {
      const path = HttpRoutes.pathOf(req.url ?? '/');
      const send = (r: HttpReply) => {
        if (res.destroyed) return;
        res.writeHead(r.status, { 'content-type': r.contentType });
        res.end(r.body);
      };
      if (routes.isMetrics(path)) {
        routes.metrics().then(send, (err: unknown) => {
          ctx.log(`metrics failed: ${err instanceof Error ? err.message : String(err)}`);
          if (!res.destroyed) res.writeHead(500).end();
        });
      } else send(routes.reply(path));
    });
    // An aborted or malformed HTTP request only ever affects its own socket.
    // A bad request gets the status node's default handler would send (431 for too-large
    // headers, 408 for a request that took too long, else 400), then the socket is destroyed.
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
      if (socket instanceof Socket && socket.writable && socket.bytesWritten === 0)
        socket.write(clientErrorReply(err.code));
      socket.destroy();
    });
    this.wss = new WebSocketServer({
      server: this.server,
      perMessageDeflate: false,
      maxPayload: config.maxPayload,
      clientTracking: false,
    });
    // ws re-emits the HTTP server's errors (EADDRINUSE); listen() reports them.
    this.wss.on('error', () => {});
    this.wss.on('connection', (ws) => {
      this.accept(ws);
    });
  }

  private accept(ws: WebSocket): void {
    const { stats, symbols } = this.ctx;
    const c: WsClient = { ws, session: new Session(symbols, stats), slowClosed: false };
    this.clients.push(c);
    stats.connections++;
    stats.clientsConnected++;
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      // A throw here would be an uncaught exception (ws calls listeners from the socket's data
      // event): count it and close this client only (guard.ts).
      try {
        const out = isBinary ? c.session.binary(data.length) : c.session.text(data.toString());
        // A client that sends but never reads must not grow its backlog past the limit either.
        if (ws.bufferedAmount <= this.ctx.config.maxBackpressure) this.reply(c, out);
      } catch (err) {
        handlerFailed(stats, this.ctx.log, 'message', err);
        this.closeFailed(c);
      }
    });
    // Protocol faults (e.g. a frame over maxPayload: ws closes with 1009 itself) end up here;
    // they concern this client only.
    ws.on('error', () => {});
    ws.on('close', (code: number) => {
      try {
        c.session.clear();
      } catch (err) {
        handlerFailed(stats, this.ctx.log, 'close', err);
      } finally {
        const i = this.clients.indexOf(c);
        if (i >= 0) this.clients.splice(i, 1);
        stats.disconnected(code);
      }
    });
  }

  /** After a handler threw: 1011 to that client (no more ticks), destroyed if it does not answer. */
  private closeFailed(c: WsClient): void {
    c.slowClosed = true;
    try {
      c.ws.close(CLOSE.internalError, 'internal error');
    } catch {
      // close() refuses in odd states; the terminate below still ends it
    }
    setTimeout(() => {
      c.ws.terminate();
    }, CLOSE_GRACE_MS).unref();
  }

  hasSubscribers(): boolean {
    return this.clients.some((c) => c.session.subs.count > 0);
  }

  /** Slow-client policy close: 1008, then destroy if the client does not finish the handshake. */
  closeSlow(c: WsClient): void {
    c.slowClosed = true;
    this.ctx.stats.slowClientCloses++;
    c.ws.close(CLOSE.policy, 'slow client');
    setTimeout(() => {
      c.ws.terminate();
    }, CLOSE_GRACE_MS).unref();
  }

  listen(): Promise<number> {
    const { host, port } = this.ctx.config;
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve((this.server.address() as AddressInfo).port);
      });
    });
  }

  async close(): Promise<void> {
    const all = this.clients.slice();
    const closed = all.map(
      (c) =>
        new Promise<void>((resolve) =>
          c.ws.once('close', () => {
            resolve();
          }),
        ),
    );
    for (const c of all) c.ws.close(CLOSE.goingAway, 'server shutting down');
    const grace = new Promise<void>((r) => setTimeout(r, CLOSE_GRACE_MS * 2).unref());
    await Promise.race([Promise.all(closed), grace]);
    for (const c of this.clients) c.ws.terminate();
    this.wss.close();
    await new Promise<void>((resolve) => {
      this.server.close(() => {
        resolve();
      });
      this.server.closeAllConnections();
    });
  }
}
