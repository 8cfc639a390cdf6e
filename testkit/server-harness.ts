// Server test harness: start the real server (`node dist/server/main.js`) as a child process on
// port 0, read its ready line, and talk to it with real ws clients and real HTTP. Every process
// and socket a helper creates is registered for cleanup, so a failing test still leaves nothing
// behind. spawnServer() is the one place tests and benches start a server process.
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { headerLength } from '../protocol/framing.js';
import { MODE_NAMES, type ModeName } from '../protocol/modes.js';
import { FLAGS } from '../server/config.js';

export const MAIN = fileURLToPath(new URL('../server/main.js', import.meta.url));
export const ALL_MODES: readonly ModeName[] = MODE_NAMES;

export type ServerChild = ChildProcessByStdio<null, Readable, Readable>;

export interface Ready {
  event: 'listening';
  mode: string;
  host: string;
  port: number;
  pid: number;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class ServerProcess {
  stderr = '';
  readonly exited: Promise<Exit>;
  constructor(
    readonly proc: ServerChild,
    readonly ready: Ready,
  ) {
    this.exited =
      proc.exitCode !== null || proc.signalCode !== null
        ? Promise.resolve({ code: proc.exitCode, signal: proc.signalCode })
        : once(proc, 'exit').then((args) => {
            const [code, signal] = args as [number | null, NodeJS.Signals | null];
            return { code, signal };
          });
    proc.stderr.on('data', (d: Buffer) => (this.stderr += d.toString()));
  }
  get port(): number {
    return this.ready.port;
  }
  get wsUrl(): string {
    return `ws://127.0.0.1:${this.port}/`;
  }
  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }
  get alive(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }
  /** SIGTERM, then SIGKILL if it is still running after `ms`. */
  async stop(ms = 5000): Promise<Exit> {
    if (this.alive) this.proc.kill('SIGTERM');
    const timer = setTimeout(() => {
      if (this.alive) this.proc.kill('SIGKILL');
    }, ms);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the server to completion (for --help and bad input). */
export async function runServer(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  timeoutMs = 10000,
): Promise<RunResult> {
  const proc = spawnServer(args, env);
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
  const [code] = (await once(proc, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/** The server's own variables (every flag's env names and the two it reads itself). */
const SERVER_ENV = [
  ...Object.values(FLAGS).flatMap((f) => f.env),
  'WSBENCH_CLOCK',
  'UWS_USE_FALLBACK',
];

/** The environment without the server's own variables, so the host's settings do not leak in. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of SERVER_ENV) Reflect.deleteProperty(env, k);
  return env;
}

/**
 * Starts `node dist/server/main.js ...args` with a clean environment plus `env`; stdout and
 * stderr are pipes. The one way tests and benches start a server process.
 */
export function spawnServer(args: readonly string[], env: NodeJS.ProcessEnv = {}): ServerChild {
  return spawn(process.execPath, [MAIN, ...args], {
    env: { ...cleanEnv(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Starts `main.js --port 0 ...args` and resolves once the ready line is on stdout. */
export async function startServer(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  cleanup?: Cleanup,
): Promise<ServerProcess> {
  const proc = spawnServer(['--port', '0', ...args], env);
  cleanup?.add(() => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  });
  let stderr = '';
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const ready = await new Promise<Ready>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      reject(new Error(`no ready line in 10 s; stderr: ${stderr}`));
    }, 10000);
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve(JSON.parse(out.slice(0, nl)) as Ready);
      }
    });
    proc.once('exit', (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${String(code)} before listening; stderr: ${stderr}`));
    });
  });
  const sp = new ServerProcess(proc, ready);
  sp.stderr = stderr;
  return sp;
}

/** Collects teardown callbacks; `run()` in an after/afterEach hook. */
export class Cleanup {
  private fns: (() => unknown)[] = [];
  add(fn: () => unknown): void {
    this.fns.push(fn);
  }
  async run(): Promise<void> {
    const fns = this.fns.reverse();
    this.fns = [];
    for (const fn of fns) {
      try {
        await fn();
      } catch {
        // best effort: teardown must not hide the test's own failure
      }
    }
  }
}

export interface ParsedTick {
  symbol: string;
  seq: number;
  price: number;
  size: number;
  ts: number;
}

/** A real ws client that records every frame it receives. */
export class TestClient {
  readonly ws: WebSocket;
  readonly frames: string[] = [];
  readonly ticks: ParsedTick[] = [];
  /** Bytes of the tick frames received (header + payload), as the server counts them. */
  tickBytes = 0;
  closeCode: number | null = null;
  readonly closed: Promise<number>;
  private waiters: (() => void)[] = [];

  constructor(url: string, cleanup?: Cleanup) {
    this.ws = new WebSocket(url, { perMessageDeflate: false });
    cleanup?.add(() => {
      this.ws.terminate();
    });
    this.ws.on('error', () => {});
    this.closed = new Promise((resolve) =>
      this.ws.on('close', (code) => {
        this.closeCode = code;
        resolve(code);
        this.notify();
      }),
    );
    this.ws.on('message', (data: Buffer) => {
      const text = data.toString();
      this.frames.push(text);
      if (text.startsWith('{"type":"tick"')) {
        this.ticks.push(JSON.parse(text) as ParsedTick);
        this.tickBytes += data.length + headerLength(data.length);
      }
      this.notify();
    });
  }

  private notify(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const fn of w) fn();
  }

  opened(): Promise<void> {
    if (this.ws.readyState === WebSocket.OPEN) return Promise.resolve();
    return once(this.ws, 'open').then(() => undefined);
  }

  send(cmd: unknown): void {
    this.ws.send(typeof cmd === 'string' ? cmd : JSON.stringify(cmd));
  }

  /** Resolves when `pred()` holds after some frame (or close); rejects after `ms`. */
  waitFor(pred: () => boolean, what: string, ms = 10000): Promise<void> {
    if (pred()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
      }, ms);
      const check = () => {
        if (pred()) {
          clearTimeout(timer);
          resolve();
        } else this.waiters.push(check);
      };
      this.waiters.push(check);
    });
  }

  /** The first frame at or after index `from` whose type is `type`, parsed. */
  private findReply(type: string, from: number): Record<string, unknown> | undefined {
    const f = this.frames.slice(from).find((t) => t.startsWith(`{"type":"${type}"`));
    return f === undefined ? undefined : (JSON.parse(f) as Record<string, unknown>);
  }

  /** The first non-tick frame at or after index `from` that matches `type`, parsed. */
  async reply(type: string, from = 0, ms = 10000): Promise<Record<string, unknown>> {
    await this.waitFor(() => this.findReply(type, from) !== undefined, `a "${type}" reply`, ms);
    const found = this.findReply(type, from);
    if (found === undefined) throw new Error(`no "${type}" reply`);
    return found;
  }

  /** Sends a command and waits for its reply of `type` (only replies after the send count). */
  async command(cmd: unknown, type: string): Promise<Record<string, unknown>> {
    const from = this.frames.length;
    this.send(cmd);
    return this.reply(type, from);
  }
}

export async function connect(url: string, cleanup?: Cleanup): Promise<TestClient> {
  const c = new TestClient(url, cleanup);
  await c.opened();
  return c;
}

/** Parses Prometheus text format into `name{labels}` -> value (labels sorted by name). */
export function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)$/.exec(line);
    const name = m?.[1];
    const raw = m?.[4];
    if (name === undefined || raw === undefined)
      throw new Error(`not a Prometheus sample line: ${JSON.stringify(line)}`);
    const labelText = m?.[3] ?? '';
    const labels = [...labelText.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)]
      .map((l) => `${l[1] ?? ''}="${l[2] ?? ''}"`)
      .sort();
    const value = Number(raw);
    if (Number.isNaN(value) && raw.toLowerCase() !== 'nan') throw new Error(`bad value in ${line}`);
    out.set(labels.length > 0 ? `${name}{${labels.join(',')}}` : name, value);
  }
  return out;
}

export async function getMetrics(server: ServerProcess): Promise<Map<string, number>> {
  const res = await fetch(server.url('/metrics'));
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  return parseMetrics(await res.text());
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** `v`, or a thrown assertion naming `what` (for indexed reads under noUncheckedIndexedAccess). */
export function defined<T>(v: T | undefined, what = 'value'): T {
  if (v === undefined) throw new Error(`expected ${what} to be defined`);
  return v;
}

/** ws keeps its net.Socket in a private field; tests reach it to simulate misbehaving peers. */
export function socketOf(ws: WebSocket): Socket {
  return (ws as unknown as { _socket: Socket })._socket;
}

/** One sample of a parsed scrape, or a thrown error naming the missing series. */
export function sample(m: Map<string, number>, key: string): number {
  const v = m.get(key);
  if (v === undefined) throw new Error(`no sample ${key} in /metrics`);
  return v;
}
