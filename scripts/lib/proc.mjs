// Child processes of a run: start (optionally pinned with taskset), wait for a JSON ready line,
// stop with a signal and a deadline. Every child is registered so that Ctrl-C, an error or the
// orchestrator's own exit stops all of them: no run leaves a process behind.
import { spawn } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { $, which } from 'zx';

const live = new Set();

/** Sends SIGKILL to every child still running (synchronous: safe in an 'exit' handler). */
export function killAllNow() {
  for (const p of live) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
process.on('exit', killAllNow);

export function hasTaskset() {
  return which.sync('taskset', { nothrow: true }) !== null;
}

/**
 * The CPUs this process may run on, e.g. [0, 1]: its affinity when it started. A run pins the
 * orchestrator itself to the client's core; reading the affinity afresh would then see one CPU
 * and leave every later run of a compare unpinned on that single core.
 */
export function allowedCpus() {
  return STARTUP_CPUS;
}

/** The affinity from /proc/self/status (affinity-aware), or [] where there is none. */
function readAllowedCpus() {
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const list = /^Cpus_allowed_list:\s*(.+)$/m.exec(status)?.[1]?.trim();
    if (list) return expandCpuList(list);
  } catch {
    // not Linux
  }
  return [];
}

export function expandCpuList(list) {
  const out = [];
  for (const part of list.split(',')) {
    const [a, b] = part.split('-').map(Number);
    for (let c = a; c <= (b ?? a); c++) out.push(c);
  }
  return out;
}

const STARTUP_CPUS = readAllowedCpus();

/** Pins every thread of `pid` to `cores` (taskset -a -p -c). Resolves false when it failed. */
export async function pinPid(pid, cores) {
  const r = await $({ nothrow: true, quiet: true })`taskset -a -p -c ${cores} ${pid}`;
  return r.exitCode === 0;
}

/**
 * Starts `node <args>` (pinned to `cores` when given). stderr goes to `logFile`; stdout lines are
 * parsed as JSON where possible and delivered to waiters. Returns a handle:
 *   { name, pid, child, exited: Promise<{code, signal}>, waitForLine(pred, ms), lines, stop(sig, ms) }
 */
export function startNode(
  name,
  args,
  { cores = null, env = process.env, logFile = null, onStderrLine = null } = {},
) {
  const [cmd, argv] = cores
    ? ['taskset', ['-c', cores, process.execPath, ...args]]
    : [process.execPath, args];
  // detached: a terminal Ctrl-C reaches only the orchestrator, which stops children in order
  // (client first so it writes its partial result, then the server).
  const child = spawn(cmd, argv, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const handle = {
    name,
    pid: child.pid,
    child,
    lines: [],
    /** the last stderr lines, for error messages */
    stderrTail: [],
    code: null,
    signal: null,
    exited: null,
    waitForLine: null,
    stop: null,
  };
  live.add(handle);
  const log = logFile ? createWriteStream(logFile) : null;
  const waiters = new Set();
  createInterface({ input: child.stdout }).on('line', (line) => {
    let json = null;
    try {
      json = JSON.parse(line);
    } catch {
      // a plain text line
    }
    const entry = { line, json };
    handle.lines.push(entry);
    for (const w of waiters) w.check(entry);
  });
  createInterface({ input: child.stderr }).on('line', (line) => {
    log?.write(line + '\n');
    if (line.trim()) handle.stderrTail.push(line);
    if (handle.stderrTail.length > 5) handle.stderrTail.shift();
    onStderrLine?.(line);
  });
  handle.exited = new Promise((resolve) => {
    child.on('error', (err) => {
      log?.write(`spawn error: ${err.message}\n`);
    });
    child.on('close', (code, signal) => {
      live.delete(handle);
      handle.code = code;
      handle.signal = signal;
      log?.end();
      const tail = handle.stderrTail.length ? `: ${handle.stderrTail.join(' | ')}` : '';
      for (const w of waiters)
        w.fail(
          new Error(`${name} exited (code ${code}, signal ${signal}) before it was ready${tail}`),
        );
      resolve({ code, signal });
    });
  });
  handle.waitForLine = (pred, ms) =>
    new Promise((resolve, reject) => {
      const found = handle.lines.find((e) => pred(e));
      if (found) return resolve(found);
      if (handle.code !== null || handle.signal !== null)
        return reject(new Error(`${name} is not running`));
      const w = {
        check(entry) {
          if (pred(entry)) done(null, entry);
        },
        fail(err) {
          done(err);
        },
      };
      const timer = setTimeout(
        () => done(new Error(`${name} printed no ready line within ${ms / 1000}s`)),
        ms,
      );
      const done = (err, entry) => {
        clearTimeout(timer);
        waiters.delete(w);
        if (err) reject(err);
        else resolve(entry);
      };
      waiters.add(w);
    });
  handle.stop = (signal = 'SIGTERM', ms = 5000) => stopProcess(handle, signal, ms);
  return handle;
}

/** Sends `signal`, waits up to `ms`, then SIGKILL. Resolves with how it ended. */
export async function stopProcess(handle, signal, ms) {
  if (handle.code !== null || handle.signal !== null)
    return { code: handle.code, signal: handle.signal, killed: false };
  try {
    process.kill(handle.pid, signal);
  } catch {
    // gone already
  }
  let timer;
  const timedOut = await Promise.race([
    handle.exited.then(() => false),
    new Promise((r) => (timer = setTimeout(() => r(true), ms))),
  ]);
  clearTimeout(timer);
  if (timedOut) {
    try {
      process.kill(handle.pid, 'SIGKILL');
    } catch {
      // gone
    }
    await handle.exited;
  }
  return { code: handle.code, signal: handle.signal, killed: timedOut };
}
