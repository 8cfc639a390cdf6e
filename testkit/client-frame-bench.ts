// The client's per-frame cost without a socket or a server: one thread feeds the same byte stream
// of tick frames, cut into reads of --read-bytes, to --clients connections in turn (as the event
// loop does), through the real FrameReader and the real Connection accounting, and prints ns per
// frame for each stage:
//   walk    the frame walk alone (protocol/framing header, payload boundaries)
//   scan    + scanFrameAt (symbol hash, seq, ts) per frame
//   full    + everything client-bench does per frame (count, latency recorder, seq check)
// The kernel's share (copying the bytes out of the socket) is not in here: compare with a
// max-rate run (client CPU / delivered frames) for the whole figure.
//   flock /tmp/wsbench-bench.lock node dist/testkit/client-frame-bench.js [--frames N] [--clients N]
import { defineFlags, helpText, parse, parseCli, runMain } from '../protocol/cli.js';
import {
  createScanned,
  EXIT,
  encodeTick,
  frameText,
  nowUs,
  scanFrameAt,
  symbolNames,
} from '../protocol/index.js';
import { FrameReader, type FrameHandler, type TextSink } from '../client-bench/frames.js';
import { Connection, Tally, type ConnectionEvents } from '../client-bench/connection.js';

const FLAGS = defineFlags({
  frames: {
    long: 'frames',
    arg: 'N',
    help: 'frames in the stream each connection receives',
    default: 200_000,
    parse: parse.int(1000, 10_000_000),
  },
  clients: {
    long: 'clients',
    arg: 'N',
    help: 'connections fed in turn',
    default: 100,
    parse: parse.int(1, 10_000),
  },
  symbols: { long: 'symbols', arg: 'N', help: 'symbols', default: 8, parse: parse.int(1, 1024) },
  readBytes: {
    long: 'read-bytes',
    arg: 'B',
    help: 'bytes per simulated socket read',
    default: 65536,
    parse: parse.int(64, 16 * 1024 * 1024),
  },
  repeats: {
    long: 'repeats',
    arg: 'N',
    help: 'measurements per stage (median printed)',
    default: 3,
    parse: parse.int(1, 50),
  },
});

/** The byte stream: `frames` ticks round-robin over the symbols, seq rising per symbol. */
function stream(frames: number, symbols: number): Buffer {
  const names = symbolNames(symbols);
  const parts: Buffer[] = [];
  const ts = nowUs();
  for (let i = 0; i < frames; i++) {
    const symbol = names[i % symbols] ?? 'X';
    const seq = Math.floor(i / symbols) + 1;
    parts.push(frameText(encodeTick({ symbol, seq, price: 50000.25 + (i % 100), size: 0.5, ts })));
  }
  return Buffer.concat(parts);
}

class Counting implements FrameHandler, TextSink {
  frames = 0;
  readonly stopped = false;
  onText(_buf: Buffer, _start: number, _end: number, _now: number): void {
    this.frames++;
  }
  onControl(): void {
    throw new Error('unexpected control frame');
  }
  onProtocolError(_code: number, message: string): void {
    throw new Error(message);
  }
}

class Scanning extends Counting {
  private readonly scanned = createScanned();
  seqSum = 0;
  override onText(buf: Buffer, start: number, end: number): void {
    this.frames++;
    if (scanFrameAt(buf, start, end, this.scanned) === 1) this.seqSum += this.scanned.seq;
  }
}

const events: ConnectionEvents = { opened: () => undefined, closed: () => undefined };

/**
 * Feeds `bytes` to every reader, one read of `readBytes` per reader in turn; returns the CPU time
 * in ns (CPU, not wall time: on a shared machine the wait for a core is not the client's cost).
 */
function feed(bytes: Buffer, readers: FrameReader[], readBytes: number): number {
  const chunk = Buffer.allocUnsafe(readBytes);
  const t0 = process.cpuUsage();
  for (let off = 0; off < bytes.length; off += readBytes) {
    const n = bytes.copy(chunk, 0, off, Math.min(bytes.length, off + readBytes));
    const now = nowUs();
    for (const r of readers) r.read(chunk, 0, n, now);
  }
  const cpu = process.cpuUsage(t0);
  return (cpu.user + cpu.system) * 1000;
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

function main(): number {
  const parsed = parseCli('client-frame-bench', FLAGS, process.argv.slice(2));
  if (parsed.help) {
    process.stdout.write(
      helpText(FLAGS, { usage: 'node dist/testkit/client-frame-bench.js [options]' }) + '\n',
    );
    return EXIT.ok;
  }
  const o = parsed.values;
  const bytes = stream(o.frames, o.symbols);
  const total = o.frames * o.clients;
  const stages: Record<string, () => { readers: FrameReader[]; check: () => void }> = {
    walk: () => {
      const hs = Array.from({ length: o.clients }, () => new Counting());
      return {
        readers: hs.map((h) => new FrameReader(h, h, 1 << 20)),
        check: () => {
          if (hs.some((h) => h.frames !== o.frames)) throw new Error('walk lost frames');
        },
      };
    },
    scan: () => {
      const hs = Array.from({ length: o.clients }, () => new Scanning());
      return {
        readers: hs.map((h) => new FrameReader(h, h, 1 << 20)),
        check: () => {
          if (hs.some((h) => h.frames !== o.frames)) throw new Error('scan lost frames');
        },
      };
    },
    full: () => {
      const tally = new Tally();
      tally.windowOpen = true;
      // The real Connection is the text sink, as in client-bench.
      const control = new Counting();
      const conns = Array.from(
        { length: o.clients },
        (_, i) => new Connection(i, tally, events, ''),
      );
      return {
        readers: conns.map((c) => new FrameReader(c, control, 1 << 20)),
        check: () => {
          tally.drain();
          if (tally.received !== total || tally.gaps !== 0 || tally.duplicates !== 0)
            throw new Error(
              `accounting: received ${tally.received}/${total}, gaps ${tally.gaps}, dups ${tally.duplicates}`,
            );
          if (tally.latency.totalCount !== total) throw new Error('latency not recorded per frame');
        },
      };
    },
  };
  const out: Record<string, number> = {};
  for (const [name, make] of Object.entries(stages)) {
    const ns: number[] = [];
    for (let r = 0; r < o.repeats; r++) {
      const { readers, check } = make();
      ns.push(feed(bytes, readers, o.readBytes) / total);
      check();
    }
    out[name] = Math.round(median(ns) * 10) / 10;
    process.stderr.write(`${name.padEnd(5)} ${out[name].toFixed(1)} ns/frame\n`);
  }
  process.stdout.write(
    JSON.stringify({ frames: total, frameBytes: bytes.length / o.frames, nsPerFrame: out }) + '\n',
  );
  return EXIT.ok;
}

runMain(() => Promise.resolve(main()));
