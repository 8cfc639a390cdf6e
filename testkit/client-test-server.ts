// Scripted wsbench-compatible servers for the client's tests (real `ws` server, real HTTP, port
// 0): /health, /metrics with wsbench_server_messages_sent_total, and tick streams that are
// exact by construction — a burst, a seq sequence with gaps/duplicates/reorders, a delayed
// stream, or a steady stream. Scripted bursts start on the first GET /metrics, which the client
// sends right after it opened its measured window, so every scripted tick falls inside it.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { encodeTick, nowUs, symbolNames } from '../protocol/index.js';

export type Script =
  /** `perSymbol` ticks of every symbol to every client, seq 1..perSymbol. */
  | { kind: 'burst'; perSymbol: number; symbols: number }
  /** These seqs of BTC-USD, in this order, to every client. */
  | { kind: 'seqs'; seqs: number[] }
  /** `perSymbol` ticks stamped now, sent `delayMs` later. */
  | { kind: 'delayed'; perSymbol: number; delayMs: number }
  /** `rate` ticks/s of BTC-USD from the moment a client subscribes, until closed. */
  | { kind: 'steady'; rate: number };

export interface TestServer {
  port: number;
  url: string;
  sent(): number;
  /** Remote addresses of every WebSocket connection seen. */
  peers(): string[];
  /** When each WebSocket connection was accepted (ms, performance.now()). */
  arrivals(): number[];
  close(): Promise<void>;
}

/**
 * `clients`: scripted ticks wait until this many connections have subscribed (the client sends
 * its subscribe on open; the trigger can otherwise overtake it on another TCP connection).
 */
export async function startTestServer(
  script: Script,
  clients = 1,
  mode = 'test',
): Promise<TestServer> {
  let sent = 0;
  let triggered = false;
  const subscribed = new Set<WebSocket>();
  const timers = new Set<NodeJS.Timeout>();

  const send = (ws: WebSocket, text: string) => {
    if (ws.readyState !== ws.OPEN) return;
    ws.send(text);
    sent++;
  };

  const runScript = () => {
    const clients = [...subscribed];
    switch (script.kind) {
      case 'burst': {
        const names = symbolNames(script.symbols);
        for (let seq = 1; seq <= script.perSymbol; seq++) {
          for (const symbol of names) {
            const text = encodeTick({ symbol, seq, price: 100 + seq, size: 1, ts: nowUs() });
            for (const ws of clients) send(ws, text);
          }
        }
        break;
      }
      case 'seqs':
        for (const seq of script.seqs) {
          const text = encodeTick({ symbol: 'BTC-USD', seq, price: 100, size: 1, ts: nowUs() });
          for (const ws of clients) send(ws, text);
        }
        break;
      case 'delayed':
        for (let seq = 1; seq <= script.perSymbol; seq++) {
          const text = encodeTick({ symbol: 'BTC-USD', seq, price: 100, size: 1, ts: nowUs() });
          const t = setTimeout(() => {
            timers.delete(t);
            for (const ws of clients) send(ws, text);
          }, script.delayMs);
          timers.add(t);
        }
        break;
      case 'steady':
        break;
    }
  };

  let ran = false;
  const maybeRun = () => {
    if (ran || !triggered || subscribed.size < clients) return;
    ran = true;
    runScript();
  };

  const startSteady = (ws: WebSocket, rate: number) => {
    let seq = 0;
    const every = Math.max(1, Math.round(1000 / rate));
    const perTurn = Math.max(1, Math.round(rate / 1000));
    const t = setInterval(() => {
      for (let i = 0; i < perTurn; i++) {
        send(ws, encodeTick({ symbol: 'BTC-USD', seq: ++seq, price: 100, size: 1, ts: nowUs() }));
      }
    }, every);
    timers.add(t);
    ws.once('close', () => {
      clearInterval(t);
      timers.delete(t);
    });
  };

  const server = http.createServer((req, res) => {
    const path = req.url?.split('?')[0];
    if (path === '/health') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ status: 'ok', mode, clients: subscribed.size, clock: 'monotonic-us' }),
      );
    } else if (path === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end(
        '# HELP wsbench_server_messages_sent_total Messages sent\n' +
          '# TYPE wsbench_server_messages_sent_total counter\n' +
          `wsbench_server_messages_sent_total{mode="${mode}"} ${sent}\n`,
      );
      if (!triggered) {
        triggered = true;
        // After the response is on its way: the client counts from before this request.
        setImmediate(maybeRun);
      }
    } else {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'not_found', path }));
    }
  });
  const wss = new WebSocketServer({ server, perMessageDeflate: false });
  const peers: string[] = [];
  const arrivals: number[] = [];
  wss.on('connection', (ws, req) => {
    peers.push(req.socket.remoteAddress ?? '');
    arrivals.push(performance.now());
    ws.on('message', (data: Buffer) => {
      const text = data.toString('utf8');
      if (text.includes('"op":"subscribe"')) {
        subscribed.add(ws);
        ws.send(JSON.stringify({ type: 'subscribed', symbols: ['*'] }));
        maybeRun();
        if (script.kind === 'steady') startSteady(ws, script.rate);
      } else if (text.includes('"op":"ping"')) {
        const id = /"id":(\d+)/.exec(text)?.[1] ?? '0';
        ws.send(`{"type":"pong","id":${id},"ts":${nowUs()}}`);
      }
    });
    ws.on('close', () => subscribed.delete(ws));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `ws://127.0.0.1:${port}/`,
    sent: () => sent,
    peers: () => [...peers],
    arrivals: () => [...arrivals],
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        for (const ws of wss.clients) ws.terminate();
        wss.close();
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}
