// Test/bench helper: runs the client-bench binary as a child process (the way a user does),
// collects its output and exit code, and can act on its stderr while it runs.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Result } from '../client-bench/result.js';

export const MAIN = fileURLToPath(new URL('../client-bench/main.js', import.meta.url));

export interface ClientRun {
  child: ChildProcess;
  /** Resolves when the process exits. */
  done: Promise<{
    code: number | null;
    signal: string | null;
    stdout: string;
    stderr: string;
    ms: number;
  }>;
  /** Resolves with the first stderr line matching `re`. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<string>;
}

export function startClient(args: string[], env: NodeJS.ProcessEnv = {}): ClientRun {
  const t0 = Date.now();
  const child = spawn(process.execPath, [MAIN, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const waiters: { re: RegExp; resolve: (line: string) => void }[] = [];
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
    for (const w of [...waiters]) {
      const line = stderr.split('\n').find((l) => w.re.test(l));
      if (line !== undefined) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  });
  const done = new Promise<{
    code: number | null;
    signal: string | null;
    stdout: string;
    stderr: string;
    ms: number;
  }>((resolve) =>
    child.on('close', (code, signal) => {
      resolve({ code, signal, stdout, stderr, ms: Date.now() - t0 });
    }),
  );
  return {
    child,
    done,
    waitFor(re, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const line = stderr.split('\n').find((l) => re.test(l));
        if (line !== undefined) {
          resolve(line);
          return;
        }
        const timer = setTimeout(() => {
          reject(new Error(`no stderr line matching ${re} in ${timeoutMs} ms:\n${stderr}`));
        }, timeoutMs);
        waiters.push({
          re,
          resolve: (l) => {
            clearTimeout(timer);
            resolve(l);
          },
        });
        void done.then(() => {
          clearTimeout(timer);
          reject(new Error(`client exited before a stderr line matched ${re}:\n${stderr}`));
        });
      });
    },
  };
}

/** Runs to completion; with --json the result is parsed from stdout. */
export async function runClient(args: string[], env: NodeJS.ProcessEnv = {}) {
  const run = startClient(args, env);
  const out = await run.done;
  let result: Result | null = null;
  const line = out.stdout.trim().split('\n').pop();
  if (line?.startsWith('{')) result = JSON.parse(line) as Result;
  return { ...out, result };
}
