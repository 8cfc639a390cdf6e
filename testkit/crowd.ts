// A crowd of misbehaving clients beside client-bench (which measures the healthy ones), for the
// hostile-client scenarios of docs/scenarios.md. One lean connection class (hand-written upgrade,
// frames walked with protocol/framing's readHeader, ticks' ts read with protocol/scan), three jobs:
//   slow  --clients N --read-bps B   N connections that read at most B bytes/s each (TCP
//                                     backpressure reaches the server), counted when it drops or
//                                     closes them;
//   storm --clients N --at S          N connections; S s after all are subscribed every socket is
//                                     destroyed at once and reopened; time until all are
//                                     subscribed again, until each gets a tick, and p99 per second;
//   churn --rate R --lifetime S       R connections/s open, subscribe, and close after S s.
// Runs until --seconds or SIGINT/SIGTERM, then prints one JSON line {"event":"crowd",...} on stdout.
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { parseArgs } from 'node:util';
import { nowUs } from '../protocol/clock.js';
import { OPCODE, readHeader } from '../protocol/framing.js';
import { createScanned, FRAME_TICK, scanFrameAt } from '../protocol/scan.js';
import { buildFrame } from './raw-client.js';

class Conn {
  socket: net.Socket | null = null;
  subscribedAt = 0;
  firstTickAt = 0;
  closeCode: number | null = null;
  ended = false;
  private buf: Buffer = Buffer.alloc(0);
  private upgraded = false;
  private readonly scanned = createScanned();

  constructor(
    readonly url: URL,
    readonly symbols: string[],
    readonly onTick: (latencyUs: number) => void,
    readonly onEnd: (c: Conn) => void,
    readonly paused = false,
  ) {}

  open(): void {
    this.upgraded = false;
    this.subscribedAt = 0;
    this.firstTickAt = 0;
    this.closeCode = null;
    this.ended = false;
    this.buf = Buffer.alloc(0);
    const s = net.connect(Number(this.url.port), this.url.hostname);
    this.socket = s;
    const key = randomBytes(16).toString('base64');
    s.on('connect', () => {
      s.write(
        `GET / HTTP/1.1\r\nHost: ${this.url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
    const onData = (d: Buffer): void => {
      this.feed(d);
    };
    if (this.paused) s.once('data', onData);
    else s.on('data', onData);
    s.on('error', () => undefined);
    s.on('close', () => {
      if (this.socket !== s) return;
      this.ended = true;
      this.onEnd(this);
    });
  }

  /** Slow readers: take at most `budget` bytes out of the socket's buffer. */
  drain(budget: number): void {
    const s = this.socket;
    if (s === null || this.ended) return;
    let left = budget;
    while (left > 0) {
      // read(n) takes exactly n buffered bytes: the stream keeps at most its highWaterMark
      // (16 KiB) and the rest waits in the kernel, so TCP backpressure reaches the server
      const n = Math.min(left, s.readableLength);
      if (n === 0) {
        s.read(0); // ask the stream to refill from the kernel for the next turn
        break;
      }
      const chunk = s.read(n) as Buffer | null;
      if (chunk === null) break;
      left -= chunk.length;
      this.feed(chunk);
    }
  }

  private feed(d: Buffer): void {
    this.buf = this.buf.length > 0 ? Buffer.concat([this.buf, d]) : d;
    if (!this.upgraded) {
      const end = this.buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      if (!this.buf.subarray(0, 12).toString('latin1').startsWith('HTTP/1.1 101')) {
        this.socket?.destroy();
        return;
      }
      this.upgraded = true;
      this.buf = this.buf.subarray(end + 4);
      this.socket?.write(
        buildFrame({
          opcode: OPCODE.text,
          payload: JSON.stringify({ op: 'subscribe', symbols: this.symbols }),
        }),
      );
      if (this.paused) this.socket?.pause();
    }
    let at = 0;
    const buf = this.buf;
    for (;;) {
      const h = readHeader(buf, at);
      if (h === null || at + h.headerLength + h.payloadLength > buf.length) break;
      const start = at + h.headerLength;
      const end = start + h.payloadLength;
      if (h.opcode === OPCODE.text) {
        if (scanFrameAt(buf, start, end, this.scanned) === FRAME_TICK) {
          if (this.firstTickAt === 0) this.firstTickAt = performance.now();
          this.onTick(nowUs() - this.scanned.ts);
        } else if (this.subscribedAt === 0 && buf.includes('"subscribed"', start)) {
          this.subscribedAt = performance.now();
        }
      } else if (h.opcode === OPCODE.close) {
        this.closeCode =
          h.payloadLength >= 2 ? ((buf[start] ?? 0) << 8) | (buf[start + 1] ?? 0) : 1005;
      }
      at = end;
    }
    this.buf = at > 0 ? buf.subarray(at) : buf;
  }

  drop(): void {
    const s = this.socket;
    this.socket = null;
    s?.destroy();
  }

  close(): void {
    const s = this.socket;
    if (s === null || this.ended) return;
    s.end(buildFrame({ opcode: OPCODE.close, payload: Buffer.from([0x03, 0xe8]) }));
  }
}

function pct(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? null;
}
const r1 = (n: number | null): number | null => (n === null ? null : Math.round(n * 10) / 10);

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      url: { type: 'string', default: 'ws://127.0.0.1:8080/' },
      clients: { type: 'string', default: '10' },
      'read-bps': { type: 'string', default: '2000' },
      at: { type: 'string', default: '3' },
      rate: { type: 'string', default: '10' },
      lifetime: { type: 'string', default: '2' },
      seconds: { type: 'string', default: '0' },
      symbols: { type: 'string', default: '*' },
      'slo-ms': { type: 'string', default: '50' },
      'connect-per-sec': { type: 'string', default: '2000' },
    },
  });
  const job = positionals[0];
  if (job !== 'slow' && job !== 'storm' && job !== 'churn')
    throw new Error(`crowd: unknown job ${JSON.stringify(job)}: expected slow, storm or churn`);
  const url = new URL(values.url);
  const symbols = values.symbols.split(',');
  const clients = Number(values.clients);
  const seconds = Number(values.seconds);
  const t0 = performance.now();
  const closes: Record<string, number> = {};
  let ended = 0;
  let reopened = 0;
  const onEnd = (c: Conn): void => {
    ended++;
    const k = String(c.closeCode ?? 'none');
    closes[k] = (closes[k] ?? 0) + 1;
  };
  // per-second latency (ms) after the storm, for p99 over time
  const bySecond = new Map<number, number[]>();
  let dropAt = 0;
  const onTick = (latUs: number): void => {
    if (dropAt === 0) return;
    const sec = Math.floor((performance.now() - dropAt) / 1000);
    let list = bySecond.get(sec);
    if (list === undefined) bySecond.set(sec, (list = []));
    if (list.length < 200_000) list.push(latUs / 1000);
  };
  const conns: Conn[] = [];
  const openPaced = async (list: Conn[]): Promise<void> => {
    const perSec = Number(values['connect-per-sec']);
    for (const [i, c] of list.entries()) {
      c.open();
      if (perSec > 0 && i % 50 === 49)
        await new Promise((r) => setTimeout(r, (50 / perSec) * 1000));
    }
  };
  const out: Record<string, unknown> = { event: 'crowd', job, url: values.url };
  const state = { stopped: false };
  let finish: () => void = () => undefined;
  const done = new Promise<void>(
    (r) =>
      (finish = () => {
        state.stopped = true;
        r();
      }),
  );
  for (const sig of ['SIGINT', 'SIGTERM'] as const)
    process.once(sig, () => {
      finish();
    });
  if (seconds > 0)
    setTimeout(() => {
      finish();
    }, seconds * 1000).unref();

  if (job === 'slow') {
    for (let i = 0; i < clients; i++)
      conns.push(new Conn(url, symbols, () => undefined, onEnd, true));
    await openPaced(conns);
    const budget = Math.max(1, Number(values['read-bps']) / 10);
    const timer = setInterval(() => {
      for (const c of conns) c.drain(budget);
    }, 100);
    await done;
    clearInterval(timer);
    out.slow = {
      clients,
      readBytesPerSec: Number(values['read-bps']),
      closedByServer: ended,
      closes,
      subscribed: conns.filter((c) => c.subscribedAt > 0).length,
    };
  } else if (job === 'storm') {
    for (let i = 0; i < clients; i++) conns.push(new Conn(url, symbols, onTick, onEnd));
    await openPaced(conns);
    const deadline = performance.now() + 60_000;
    while (
      !state.stopped &&
      conns.some((c) => c.subscribedAt === 0) &&
      performance.now() < deadline
    )
      await new Promise((r) => setTimeout(r, 50));
    const ready = conns.filter((c) => c.subscribedAt > 0).length;
    process.stderr.write(
      `crowd storm: ${ready}/${clients} subscribed; dropping all in ${values.at} s\n`,
    );
    await Promise.race([done, new Promise((r) => setTimeout(r, Number(values.at) * 1000))]);
    dropAt = performance.now();
    for (const c of conns) c.drop();
    for (const c of conns) {
      c.open();
      reopened++;
    }
    const until = performance.now() + 120_000;
    while (!state.stopped && conns.some((c) => c.firstTickAt === 0) && performance.now() < until)
      await new Promise((r) => setTimeout(r, 20));
    const sub = conns
      .map((c) => (c.subscribedAt > 0 ? c.subscribedAt - dropAt : NaN))
      .filter(Number.isFinite)
      .sort((a, b) => a - b);
    const first = conns
      .map((c) => (c.firstTickAt > 0 ? c.firstTickAt - dropAt : NaN))
      .filter(Number.isFinite)
      .sort((a, b) => a - b);
    // let p99 settle for a few seconds after the last client is back
    await Promise.race([done, new Promise((r) => setTimeout(r, 4000))]);
    const slo = Number(values['slo-ms']);
    const perSec = [...bySecond.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([s, l]) => {
        l.sort((a, b) => a - b);
        return { t: s, count: l.length, p99Ms: r1(pct(l, 0.99)) };
      });
    const lastBad = perSec.filter((s) => (s.p99Ms ?? Infinity) > slo).pop();
    const lastT = perSec[perSec.length - 1]?.t ?? -1;
    // null: no tick after the drop at all, or p99 never back within the SLO in the time watched
    const recovered =
      sub.length === 0 || perSec.length === 0
        ? null
        : lastBad === undefined
          ? 0
          : lastBad.t + 1 <= lastT
            ? (lastBad.t + 1) * 1000
            : null;
    out.storm = {
      clients,
      subscribedBefore: ready,
      resubscribed: sub.length,
      allResubscribedMs: sub.length === clients ? r1(sub[sub.length - 1] ?? null) : null,
      resubscribeMs: {
        p50: r1(pct(sub, 0.5)),
        p99: r1(pct(sub, 0.99)),
        max: r1(sub[sub.length - 1] ?? null),
      },
      firstTickMs: {
        p50: r1(pct(first, 0.5)),
        p99: r1(pct(first, 0.99)),
        max: r1(first[first.length - 1] ?? null),
      },
      sloP99Ms: slo,
      /** ms after the drop from which every second's p99 was within the SLO (null: never, in the time watched) */
      p99BackWithinSloMs: recovered,
      p99BySecond: perSec,
    };
  } else {
    const rate = Number(values.rate);
    const lifetime = Number(values.lifetime) * 1000;
    let opened = 0;
    let subscribed = 0;
    const subMs: number[] = [];
    const live = new Set<Conn>();
    const timer = setInterval(() => {
      const c = new Conn(
        url,
        symbols,
        () => undefined,
        (x) => {
          live.delete(x);
          if (x.subscribedAt > 0) subscribed++;
        },
      );
      const startedAt = performance.now();
      c.open();
      opened++;
      live.add(c);
      setTimeout(() => {
        if (c.subscribedAt > 0) subMs.push(c.subscribedAt - startedAt);
        c.close();
      }, lifetime).unref();
    }, 1000 / rate);
    await done;
    clearInterval(timer);
    subMs.sort((a, b) => a - b);
    out.churn = {
      rate,
      lifetimeSec: lifetime / 1000,
      opened,
      closedCleanly: subscribed,
      open: live.size,
      subscribeMs: { p50: r1(pct(subMs, 0.5)), p99: r1(pct(subMs, 0.99)) },
    };
  }
  out.seconds = r1((performance.now() - t0) / 1000);
  out.reopened = reopened;
  process.stdout.write(JSON.stringify(out) + '\n');
  for (const c of conns) c.drop();
  process.exit(0);
}

main().catch((err: unknown) => {
  process.stderr.write(`crowd: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
});
