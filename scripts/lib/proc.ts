// The one process layer of the scripts (and of testkit/ and the tests, which may import it):
// start a program (optionally pinned with taskset), wait for its ready line, keep and stream its
// stderr, and stop its whole process tree (a signal, then SIGKILL after a deadline). Every child
// is registered, so Ctrl-C, an error or the orchestrator's own exit stops all of them: no run
// leaves a process behind. `which` is the one PATH lookup; `runToEnd` runs a short command.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, createWriteStream, readFileSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';

/** One output line of a child: the text and, when it is a JSON object, the parsed object. */
export interface Line {
  stream: 'stdout' | 'stderr';
  line: string;
  json: Record<string, unknown> | null;
}

export interface StartOptions {
  /** taskset CPU list ("1", "0-1"); null: not pinned. */
  cores?: string | null;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** stderr (and stdout unless stdoutToLog is false) is appended here line by line. */
  logFile?: string | null;
  /** Called for each stderr line as it arrives. */
  onStderrLine?: (line: string) => void;
  /** Called for each stdout line as it arrives. */
  onStdoutLine?: (line: string) => void;
  /** Own process group (default true): a terminal Ctrl-C reaches only the orchestrator, which
   *  stops the children in order, and stop() can signal the whole tree. */
  detached?: boolean;
  /** 'inherit' hands the terminal to the child (docker compose run with a TTY). */
  stdio?: 'pipe' | 'inherit';
  /** How many stderr lines to keep for error messages (default 5). */
  tailLines?: number;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** The ready line did not come: the program exited first, or the deadline passed. */
export class NotReady extends Error {
  override name = 'NotReady';
}

const live = new Set<Proc>();

/** SIGKILLs every child still running, with its group (synchronous: safe in an 'exit' handler). */
export function killAllNow(): void {
  for (const p of live) p.killNow();
}
process.on('exit', killAllNow);

function parseJsonLine(line: string): Record<string, unknown> | null {
  if (!line.startsWith('{')) return null;
  try {
    const v: unknown = JSON.parse(line);
    return typeof v === 'object' && v !== null && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

/** A running (or finished) child process started by `start`. */
export class Proc {
  readonly pid: number;
  readonly child: ChildProcess;
  /** Every stdout line so far (stderr lines are in the log and the tail). */
  readonly lines: Line[] = [];
  /** The last stderr lines, for error messages. */
  readonly stderrTail: string[] = [];
  code: number | null = null;
  signal: NodeJS.Signals | null = null;
  /** Resolves when the process has exited and its output is read. */
  readonly exited: Promise<Exit>;
  private readonly waiters = new Set<{ check(l: Line): void; fail(e: Error): void }>();
  private readonly group: boolean;

  constructor(
    readonly name: string,
    cmd: string,
    args: readonly string[],
    opts: StartOptions = {},
  ) {
    const cores = opts.cores ?? null;
    const [file, argv] = cores !== null ? ['taskset', ['-c', cores, cmd, ...args]] : [cmd, args];
    this.group = opts.detached ?? true;
    const stdio = opts.stdio ?? 'pipe';
    this.child = spawn(file, argv, {
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      stdio: stdio === 'inherit' ? 'inherit' : ['ignore', 'pipe', 'pipe'],
      detached: this.group,
    });
    this.pid = this.child.pid ?? -1;
    live.add(this);
    const log: WriteStream | null =
      opts.logFile !== undefined && opts.logFile !== null
        ? createWriteStream(opts.logFile, { flags: 'a' })
        : null;
    const keep = opts.tailLines ?? 5;
    if (this.child.stdout !== null) {
      createInterface({ input: this.child.stdout }).on('line', (line) => {
        const entry: Line = { stream: 'stdout', line, json: parseJsonLine(line) };
        this.lines.push(entry);
        opts.onStdoutLine?.(line);
        for (const w of this.waiters) w.check(entry);
      });
    }
    if (this.child.stderr !== null) {
      createInterface({ input: this.child.stderr }).on('line', (line) => {
        log?.write(line + '\n');
        if (line.trim() !== '') this.stderrTail.push(line);
        if (this.stderrTail.length > keep) this.stderrTail.shift();
        opts.onStderrLine?.(line);
        const entry: Line = { stream: 'stderr', line, json: parseJsonLine(line) };
        for (const w of this.waiters) w.check(entry);
      });
    }
    this.exited = new Promise((resolve) => {
      this.child.on('error', (err) => {
        log?.write(`spawn error: ${err.message}\n`);
        this.stderrTail.push(`spawn error: ${err.message}`);
      });
      this.child.on('close', (code, signal) => {
        live.delete(this);
        this.code = code;
        this.signal = signal;
        log?.end();
        const tail = this.stderrTail.length > 0 ? `: ${this.stderrTail.join(' | ')}` : '';
        for (const w of this.waiters)
          w.fail(
            new NotReady(
              `${name} exited (code ${code}, signal ${signal}) before it was ready${tail}`,
            ),
          );
        resolve({ code, signal });
      });
    });
  }

  get running(): boolean {
    return this.code === null && this.signal === null && live.has(this);
  }

  /** Resolves with the first stdout (or stderr) line matching `pred`; rejects with NotReady. */
  waitForLine(pred: (l: Line) => boolean, ms: number): Promise<Line> {
    return new Promise((resolve, reject) => {
      const found = this.lines.find(pred);
      if (found !== undefined) {
        resolve(found);
        return;
      }
      if (!this.running) {
        reject(new NotReady(`${this.name} is not running`));
        return;
      }
      const done = (err: Error | null, entry?: Line): void => {
        clearTimeout(timer);
        this.waiters.delete(w);
        if (err !== null) reject(err);
        else if (entry !== undefined) resolve(entry);
      };
      const w = {
        check: (entry: Line) => {
          if (pred(entry)) done(null, entry);
        },
        fail: (err: Error) => {
          done(err);
        },
      };
      const timer = setTimeout(() => {
        done(new NotReady(`${this.name} printed no ready line within ${ms / 1000}s`));
      }, ms);
      this.waiters.add(w);
    });
  }

  /** Sends a signal to the process (its whole group when it has its own). */
  kill(signal: NodeJS.Signals): void {
    try {
      process.kill(this.group ? -this.pid : this.pid, signal);
    } catch {
      try {
        process.kill(this.pid, signal);
      } catch {
        // gone already
      }
    }
  }

  /** SIGKILL now, synchronously. */
  killNow(): void {
    if (this.running) this.kill('SIGKILL');
  }

  /** Sends `signal`, waits up to `ms`, then SIGKILLs the tree. Resolves with how it ended. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', ms = 5000): Promise<Exit & { killed: boolean }> {
    if (!this.running) return { code: this.code, signal: this.signal, killed: false };
    this.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      this.exited.then(() => false),
      new Promise<boolean>(
        (r) =>
          (timer = setTimeout(() => {
            r(true);
          }, ms)),
      ),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      this.kill('SIGKILL');
      await this.exited;
    }
    // children that outlived their parent in the group
    if (this.group) {
      try {
        process.kill(-this.pid, 'SIGKILL');
      } catch {
        // the group is empty
      }
    }
    return { code: this.code, signal: this.signal, killed: timedOut };
  }
}

/** Starts `cmd args` (see StartOptions). */
export function start(
  name: string,
  cmd: string,
  args: readonly string[],
  opts: StartOptions = {},
): Proc {
  return new Proc(name, cmd, args, opts);
}

/** Starts `node <args>` with this Node binary. */
export function startNode(name: string, args: readonly string[], opts: StartOptions = {}): Proc {
  return new Proc(name, process.execPath, args, opts);
}

/** Runs a short command to its end; resolves with its exit code and output (never rejects). */
export async function runToEnd(
  cmd: string,
  args: readonly string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = new Proc(cmd, cmd, args, { ...opts, detached: false, tailLines: 1000 });
  const timer =
    opts.timeoutMs !== undefined
      ? setTimeout(() => void p.stop('SIGKILL', 0), opts.timeoutMs)
      : null;
  const { code } = await p.exited;
  if (timer !== null) clearTimeout(timer);
  return { code, stdout: p.lines.map((l) => l.line).join('\n'), stderr: p.stderrTail.join('\n') };
}

/** Absolute path of an executable on PATH, or null. */
export function which(name: string, envPath = process.env.PATH ?? ''): string | null {
  if (name.includes('/')) return isExecutable(name) ? name : null;
  for (const dir of envPath.split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return null;
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function hasTaskset(): boolean {
  return which('taskset') !== null;
}

/** "0-2,5" -> [0, 1, 2, 5] */
export function expandCpuList(list: string): number[] {
  const out: number[] = [];
  for (const part of list.split(',')) {
    const [a, b] = part.split('-').map(Number);
    if (a === undefined || !Number.isInteger(a)) continue;
    for (let c = a; c <= (b ?? a); c++) out.push(c);
  }
  return out;
}

/** The affinity from /proc/self/status (affinity-aware), or [] where there is none. */
function readAllowedCpus(): number[] {
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const list = /^Cpus_allowed_list:\s*(.+)$/m.exec(status)?.[1]?.trim();
    if (list !== undefined && list !== '') return expandCpuList(list);
  } catch {
    // not Linux
  }
  return [];
}

const STARTUP_CPUS = readAllowedCpus();

/**
 * The CPUs this process may run on, e.g. [0, 1]: its affinity when it started. A run pins the
 * orchestrator itself to the client's core; reading the affinity afresh would then see one CPU
 * and leave every later run of a compare unpinned on that single core.
 */
export function allowedCpus(): readonly number[] {
  return STARTUP_CPUS;
}

/** Pins every thread of `pid` to `cores` (taskset -a -p -c). Resolves false when it failed. */
export async function pinPid(pid: number, cores: string): Promise<boolean> {
  const r = await runToEnd('taskset', ['-a', '-p', '-c', cores, String(pid)]);
  return r.code === 0;
}
