// Helpers for the scripts' tests: run the real zx scripts as child processes, and look at a
// report.html in headless Chromium the way a person would (console clean, charts drawn).
import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { loadResultSchema, validate } from '../testkit/client-schema-check.js';
import { start as startProc } from './lib/proc.js';

/** The repository root (tests run from dist/scripts/). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface Running {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  done: Promise<Finished>;
  /** Resolves when stderr has printed text matching `re` (rejects when the process ends first). */
  waitForStderr: (re: RegExp, timeoutMs: number) => Promise<void>;
}

/** Starts a command from the repository root (scripts/lib/proc.ts); SIGKILLed after timeoutMs. */
export function start(
  cmd: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs = 90_000,
): Running {
  let out = '';
  let err = '';
  const waiters: (() => void)[] = [];
  const proc = startProc(cmd, cmd, args, {
    cwd: repoRoot,
    env: { ...process.env, CI: 'true', ...env },
    detached: false,
    onStdoutLine: (l) => (out += l + '\n'),
    onStderrLine: (l) => {
      err += l + '\n';
      for (const w of waiters) w();
    },
  });
  const timer = setTimeout(() => {
    killTree(proc.pid);
  }, timeoutMs);
  const done = proc.exited.then(({ code, signal }) => {
    clearTimeout(timer);
    for (const w of waiters) w();
    return { code, signal, stdout: out, stderr: err };
  });
  const waitForStderr = (re: RegExp, ms: number): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => {
        reject(new Error(`timed out waiting for ${String(re)} on stderr:\n${err}`));
      }, ms);
      const check = (): void => {
        if (re.test(err)) {
          clearTimeout(t);
          resolve();
        } else if (!proc.running) {
          clearTimeout(t);
          reject(new Error(`process ended before ${String(re)} appeared on stderr:\n${err}`));
        }
      };
      waiters.push(check);
      check();
    });
  return { child: proc.child, stdout: () => out, stderr: () => err, done, waitForStderr };
}

export function run(
  cmd: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs?: number,
): Promise<Finished> {
  return start(cmd, args, env, timeoutMs).done;
}

export async function tempDir(
  prefix: string,
): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A zombie still answers kill(0); it no longer runs, so it does not count as left behind.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

export interface ChartInfo {
  canvasId: string;
  type: string;
  datasets: number;
  /** finite, non-null data points over all datasets */
  points: number;
  /** canvas pixels that are not fully transparent */
  paintedPixels: number;
}

/** What the report page holds, as far as the checks read it (no DOM types in this project). */
interface PageGlobals {
  document: { documentElement: { dataset: Record<string, string> }; body: { innerText: string } };
  Chart: {
    instances: Record<
      string,
      {
        data: { datasets: { data: unknown[] }[] };
        config: { type: string };
        canvas: {
          id: string;
          width: number;
          height: number;
          getContext(kind: '2d'): {
            getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> };
          } | null;
        };
      }
    >;
  };
}

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Opens a report in headless Chromium with every network request refused (the page must be
 * self-contained), and returns console errors, failed requests and what each Chart.js chart holds.
 */
export async function inspectReport(
  executablePath: string,
  htmlFile: string,
): Promise<{
  errors: string[];
  requests: string[];
  charts: ChartInfo[];
  title: string;
  text: string;
}> {
  const browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith('file:')) return route.continue();
      requests.push(url);
      return route.abort();
    });
    await page.goto('file://' + htmlFile, { waitUntil: 'load' });
    await page.waitForFunction(
      () =>
        (globalThis as unknown as PageGlobals).document.documentElement.dataset.chartsReady ===
        'true',
      null,
      { timeout: 10_000 },
    );
    const charts = await page.evaluate((): ChartInfo[] => {
      const w = globalThis as unknown as PageGlobals;
      return Object.values(w.Chart.instances).map((c) => {
        let points = 0;
        for (const ds of c.data.datasets) {
          for (const v of ds.data) {
            const y = Array.isArray(v)
              ? (v as unknown[])[1]
              : v !== null && typeof v === 'object'
                ? (v as { y?: unknown }).y
                : v;
            if (typeof y === 'number' && Number.isFinite(y)) points++;
          }
        }
        const canvas = c.canvas;
        const ctx = canvas.getContext('2d');
        const img = ctx?.getImageData(0, 0, canvas.width, canvas.height).data ?? [];
        let painted = 0;
        for (let i = 3; i < img.length; i += 4) if (img[i] !== 0) painted++;
        return {
          canvasId: canvas.id,
          type: c.config.type,
          datasets: c.data.datasets.length,
          points,
          paintedPixels: painted,
        };
      });
    });
    const title = await page.title();
    const text = await page.evaluate(
      () => (globalThis as unknown as PageGlobals).document.body.innerText,
    );
    return { errors, requests, charts, title, text };
  } finally {
    await browser.close();
  }
}

/**
 * The schema of make bench's result.json: client-bench/result.schema.json (the client's result,
 * unchanged) merged with scripts/bench-result.schema.json (the blocks the orchestrator adds).
 */
export function benchResultSchema(): ReturnType<typeof loadResultSchema> {
  const client = loadResultSchema();
  const ext = JSON.parse(
    readFileSync(path.join(repoRoot, 'scripts/bench-result.schema.json'), 'utf8'),
  ) as { required: string[]; properties: object; $defs: object };
  return {
    ...client,
    required: [...(client.required ?? []), ...ext.required],
    properties: { ...client.properties, ...ext.properties },
    $defs: { ...client.$defs, ...ext.$defs },
  };
}

export function validateBenchResult(result: unknown): string[] {
  return validate(result, benchResultSchema());
}

/** Processes whose command line mentions `needle` (e.g. a test's temp folder), except ourselves. */
export function processesMentioning(needle: string): { pid: number; cmd: string }[] {
  const found: { pid: number; cmd: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (cmd.includes(needle) && isAlive(Number(entry))) found.push({ pid: Number(entry), cmd });
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** Live child processes of `pid` (from /proc/<pid>/stat's ppid field). */
export function childrenOf(pid: number): number[] {
  const kids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid && isAlive(Number(entry))) kids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return kids;
}

/**
 * SIGKILLs a process and its children. The orchestrator starts server and client in their own
 * process groups and stops them itself, which SIGKILL prevents: a test that gives up on it must
 * stop them too.
 */
export function killTree(pid: number): void {
  for (const kid of childrenOf(pid)) killTree(kid);
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** A make bench (dist/scripts/bench.js) caught in its measured window. */
export interface BenchInWindow {
  bench: Running;
  pid: number;
  /** its RESULTS_DIR */
  dir: string;
}

/**
 * Starts make bench's script with `env` in a fresh RESULTS_DIR and resolves `settleMs` after it
 * reports the measured window; when the test ends its process tree is killed (if it still runs)
 * and the directory removed. For the fault tests (SIGINT, SIGKILL of the server mid-window).
 */
export async function benchInWindow(
  t: { after(fn: () => unknown): void },
  prefix: string,
  env: Record<string, string>,
  settleMs: number,
): Promise<BenchInWindow> {
  const tmp = await tempDir(prefix);
  t.after(tmp.remove);
  const bench = start('node', ['dist/scripts/bench.js'], {
    PROMETHEUS: '0',
    ...env,
    RESULTS_DIR: tmp.dir,
  });
  const pid = bench.child.pid;
  if (pid === undefined) throw new Error('bench has no pid (it did not start)');
  t.after(() => {
    if (bench.child.exitCode === null) killTree(pid);
  });
  await bench.waitForStderr(/measure: /, 60_000);
  await new Promise((r) => setTimeout(r, settleMs));
  return { bench, pid, dir: tmp.dir };
}
