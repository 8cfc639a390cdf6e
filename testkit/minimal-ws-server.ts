// The reference for the ws fan-out (issue: ws at 100 clients vs a minimal pre-framed ws server):
// the least a `ws` broadcaster can do per tick. No pacer (as fast as the loop turns), no metrics,
// no sessions, no per-symbol subscription: every connection that sends anything gets every tick.
// Each turn generates BATCH ticks with the server's own generator (frames built once, the same
// bytes as the wsbench server sends) and writes them to each socket in ONE raw write; a socket
// with more than 1 MiB queued skips the turn (client-bench counts that as gaps). client-bench
// measures it like any server (its mode is "unknown": there is no /health):
//   node dist/testkit/minimal-ws-server.js --port 0 --batch 200
//   node dist/client-bench/main.js -u ws://127.0.0.1:<port>/ -c 100 -d 5 -w 2
import type { Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { defineFlags, helpText, parse, parseCli, runMain } from '../protocol/cli.js';
import { EXIT, nowUs } from '../protocol/index.js';
import { Generator, TickBatch } from '../server/generator.js';

const PROGRAM = 'minimal-ws-server';
const MAX_QUEUED = 1 << 20;

const FLAGS = defineFlags({
  port: { long: 'port', arg: 'N', help: 'port (0: any)', default: 0, parse: parse.int(0, 65535) },
  host: { long: 'host', arg: 'H', help: 'address', default: '127.0.0.1', parse: parse.host() },
  batch: {
    long: 'batch',
    arg: 'N',
    help: 'ticks generated per turn and written per socket in one write',
    default: 200,
    parse: parse.int(1, 100_000),
  },
  symbols: { long: 'symbols', arg: 'N', help: 'symbols', default: 8, parse: parse.int(1, 1000) },
});

async function main(): Promise<number> {
  const parsed = parseCli(PROGRAM, FLAGS, process.argv.slice(2));
  if (parsed.help) {
    process.stdout.write(helpText(FLAGS, { usage: `${PROGRAM} [options]` }) + '\n');
    return EXIT.ok;
  }
  const cfg = parsed.values;
  const gen = new Generator(cfg.symbols);
  const sockets = new Set<Socket>();
  const wss = new WebSocketServer({ host: cfg.host, port: cfg.port });
  wss.on('connection', (ws: WebSocket) => {
    const socket = (ws as unknown as { _socket: Socket })._socket;
    socket.setNoDelay(true);
    ws.once('message', () => sockets.add(socket));
    ws.on('close', () => sockets.delete(socket));
    ws.on('error', () => sockets.delete(socket));
  });
  let running = true;
  const turn = (): void => {
    if (!running) return;
    if (sockets.size > 0) {
      const batch = new TickBatch(cfg.batch);
      const ts = Math.round(nowUs());
      for (let i = 0; i < cfg.batch; i++) gen.push(batch, ts);
      const bytes = batch.bytes;
      for (const s of sockets) if (s.writableLength < MAX_QUEUED) s.write(bytes);
    }
    setImmediate(turn);
  };
  return await new Promise<number>((resolve) => {
    wss.on('listening', () => {
      const addr = wss.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : cfg.port;
      process.stdout.write(JSON.stringify({ event: 'listening', port, pid: process.pid }) + '\n');
      setImmediate(turn);
    });
    const stop = (): void => {
      running = false;
      wss.close(() => {
        resolve(EXIT.ok);
      });
      for (const c of wss.clients) c.terminate();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

runMain(main);
