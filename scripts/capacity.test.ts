// The capacity search and the verdict on the real server and the real client, with tiny budgets:
// the search finds a rate that then holds when re-run alone; a step with gaps, a late p99 or a
// saturated client fails with that reason; the verdict names an artificially slowed client
// (SIGSTOP/SIGCONT cycles) and a server whose core another process takes (a CPU hog pinned to
// it). Tests assert behaviour, not speed: the SLOs are lenient where only pass/fail is checked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CLIENT_PROBES, runCapacity, stepPasses } from './lib/capacity.js';
import { allowedCpus, hasTaskset, start } from './lib/proc.js';
import { Progress } from './lib/progress.js';
import type { RunPlan } from './lib/result.js';
import { runBench } from './lib/run.js';
import { NativeRuntime } from './runtimes/native.js';
import { childrenOf } from './test-helpers.js';

const PLACE = { pin: 'auto' as const, serverCores: null, clientCores: null };
const pinned = hasTaskset() && allowedCpus().length >= 2;

async function tmp(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'wsbench-capacity-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const quiet = new Progress('test', null, { write: () => true } as unknown as NodeJS.WritableStream);

function plan(over: Partial<RunPlan>): RunPlan {
  return {
    mode: 'uws',
    clients: 4,
    duration: 2,
    warmup: 0.5,
    rate: 1000,
    symbols: 8,
    httpLoad: false,
    httpConnections: 1,
    ...over,
  };
}

async function oneRun(
  dir: string,
  p: RunPlan,
  sloP99Ms: number,
  serverArgs: string[] = [],
  during?: (clientPid: number) => void,
) {
  // once client-bench runs (polled: on a loaded machine it may take a while to start)
  let timer: NodeJS.Timeout | null = null;
  if (during !== undefined) {
    const poll = (): void => {
      const pid = clientPid();
      if (pid !== null) during(pid);
      else timer = setTimeout(poll, 100);
    };
    timer = setTimeout(poll, 300);
  }
  try {
    return await runBench(new NativeRuntime(PLACE, undefined, serverArgs), p, {
      runDir: dir,
      runId: path.basename(dir),
      progress: quiet,
      sloP99Ms,
      prometheus: false,
    });
  } finally {
    if (timer !== null) clearTimeout(timer);
  }
}

/** The client-bench child of this process (the test is the orchestrator). */
function clientPid(): number | null {
  for (const pid of childrenOf(process.pid)) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmd.includes('client-bench/main.js')) return pid;
    } catch {
      // gone
    }
  }
  return null;
}

/** Stops and continues a process: stopped `stopMs` of every `periodMs`, until the returned stop(). */
function stutter(pid: number, stopMs: number, periodMs: number): () => void {
  let on = true;
  const cycle = (): void => {
    if (!on) return;
    try {
      process.kill(pid, 'SIGSTOP');
    } catch {
      return;
    }
    setTimeout(() => {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // gone
      }
      if (on) setTimeout(cycle, periodMs - stopMs);
    }, stopMs);
  };
  cycle();
  return () => {
    on = false;
    try {
      process.kill(pid, 'SIGCONT');
    } catch {
      // gone
    }
  };
}

test('capacity: the search finds a rate that holds when re-run alone', async (t) => {
  const dir = await tmp(t);
  const notes: string[] = [];
  const cap = await runCapacity({
    mode: 'uws',
    vary: 'rate',
    clients: 4,
    rate: 200,
    base: { duration: 1.5, warmup: 0.5, symbols: 8, httpLoad: false, httpConnections: 1 },
    sloP99Ms: 2000,
    budgetS: 40,
    precision: 0.25,
    dir,
    capacityId: 'test',
    runtime: () => new NativeRuntime(PLACE),
    note: (l) => notes.push(l),
  });
  assert.ok(cap.steps.length >= 1, `steps ran: ${notes.join('\n')}`);
  assert.ok(cap.best !== null, `a step passed: ${notes.join('\n')}`);
  assert.equal(cap.best.deliveriesPerSec, cap.best.ticksPerSec * 4, 'deliveries = ticks × clients');
  for (let i = 1; i < cap.steps.length && cap.firstFail === null; i++) {
    const [a, b] = [cap.steps[i - 1], cap.steps[i]];
    if (a !== undefined && b !== undefined && a.pass)
      assert.equal(b.rate, a.rate * 2, 'ramp ×2 while passing');
  }
  assert.ok(
    cap.steps.every((s) => s.p99Us !== null && s.serverCpuCores !== null),
    'every step measured',
  );
  assert.match(notes[0] ?? '', /step 1: .* ticks\/s × 4 clients/, 'progress per step');

  // The found rate is the edge the search saw: on a shared machine one re-run at the edge can
  // land on a busy second, so it gets a second attempt; both failing means it does not hold.
  const tries: string[] = [];
  let held = false;
  for (let k = 0; k < 2 && !held; k++) {
    const againDir = path.join(dir, `again-${k}`);
    await mkdir(againDir);
    const again = await oneRun(againDir, plan({ rate: cap.best.ticksPerSec, duration: 1.5 }), 2000);
    held = stepPasses(again.result.verdict, 0) && again.result.delivery?.gaps === 0;
    tries.push(`${again.result.verdict.summary} (${again.result.verdict.reasons.join('; ')})`);
  }
  assert.ok(held, `re-run alone holds: ${tries.join(' | ')}`);
});

test('capacity: a step the client fails is probed past before the search bisects below it', async (t) => {
  const dir = await tmp(t);
  const notes: string[] = [];
  // A client that burns 200 µs per frame saturates somewhere in the ramp, and at every rate above.
  const cap = await runCapacity({
    mode: 'uws',
    vary: 'rate',
    clients: 2,
    rate: 250,
    base: { duration: 1.5, warmup: 0.5, symbols: 8, httpLoad: false, httpConnections: 1 },
    sloP99Ms: 2000,
    budgetS: 60,
    precision: 0.25,
    dir,
    capacityId: 'test',
    runtime: () => new NativeRuntime(PLACE),
    clientArgs: ['--burn-ns', '200000'],
    note: (l) => notes.push(l),
  });
  const log = notes.join('\n');
  t.diagnostic(log);
  const first = cap.steps.findIndex((s) => !s.pass && s.limit === 'client');
  assert.ok(first > 0, `a passing step, then one the client failed:\n${log}`);
  const failed = cap.steps[first];
  assert.ok(failed !== undefined);
  // the next steps double past it (while they fail on the client too), then the search goes below
  const next = cap.steps.slice(first + 1, first + 1 + CLIENT_PROBES);
  assert.ok(next.length > 0, log);
  next.forEach((s, i) => {
    if (i === 0 || next[i - 1]?.pass === false)
      assert.equal(s.rate, failed.rate * 2 ** (i + 1), `probe ${i + 1} doubles:\n${log}`);
  });
  assert.match(log, /failed on the client: probing/);
  if (next.every((s) => !s.pass)) {
    assert.ok(cap.best !== null && cap.best.ticksPerSec < failed.rate, log);
    assert.equal(cap.lowerBound, true, 'the client was the limit: a lower bound');
  }
});

test('capacity: a step with a late p99 fails with that reason', async (t) => {
  const dir = await tmp(t);
  // p99 from due time can never be under 1 µs: the step must fail on latency alone.
  const out = await oneRun(dir, plan({ rate: 500, duration: 1.5 }), 0.001);
  const v = out.result.verdict;
  assert.equal(v.late, true);
  assert.notEqual(v.limit, 'none');
  assert.ok(
    v.reasons.some((r) => /^p99 .* > SLO 0\.001 ms$/.test(r)),
    v.reasons.join('; '),
  );
  assert.equal(v.lost.gaps, 0, 'nothing lost: only late');
});

test('capacity: a step with gaps (server backpressure drops) fails with that reason', async (t) => {
  const dir = await tmp(t);
  let stopStutter = (): void => undefined;
  // A 1 KiB backpressure limit and a client stopped for 1.5 s of every 2 s, longer than the kernel's
  // socket buffers absorb at this rate: the server drops.
  const out = await oneRun(
    dir,
    plan({ rate: 50_000, duration: 3 }),
    1000,
    ['--max-backpressure', '1024'],
    (pid) => {
      stopStutter = stutter(pid, 1500, 2000);
    },
  );
  stopStutter();
  const v = out.result.verdict;
  const { gaps, dropped, skipped, missing } = v.lost;
  assert.ok(gaps + dropped + skipped + missing > 0, `ticks lost: ${JSON.stringify(v.lost)}`);
  if (gaps > 0)
    assert.ok(
      v.reasons.some((r) => /seq gaps/.test(r)),
      v.reasons.join('; '),
    );
  if (dropped > 0)
    assert.ok(
      v.reasons.some((r) => /dropped/.test(r)),
      v.reasons.join('; '),
    );
  assert.notEqual(v.limit, 'none', `a lossy step fails: ${v.summary}`);
});

test('verdict: an artificially slowed client (SIGSTOP cycles) is named as the limit', async (t) => {
  const dir = await tmp(t);
  let stopStutter = (): void => undefined;
  const out = await oneRun(dir, plan({ rate: 2000, duration: 2.5 }), 1000, [], (pid) => {
    stopStutter = stutter(pid, 250, 400);
  });
  stopStutter();
  const v = out.result.verdict;
  assert.equal(v.limit, 'client', `${v.summary} (${v.reasons.join('; ')})`);
  assert.equal(out.result.client?.clientBound, true);
});

test(
  'verdict: a server whose core is taken by a CPU hog is named as the limit',
  { skip: !pinned && 'needs taskset and 2 CPUs' },
  async (t) => {
    const dir = await tmp(t);
    const server = String(allowedCpus()[0] ?? 0);
    const hogs = [0, 1].map(() =>
      start('hog', process.execPath, ['-e', 'for(;;){}'], { cores: server }),
    );
    t.after(async () => {
      for (const h of hogs) await h.stop('SIGKILL', 1000);
    });
    const out = await oneRun(dir, plan({ rate: 20_000, clients: 20, duration: 2 }), 2);
    const v = out.result.verdict;
    // On a shared machine the client may be the first limit; the finding must be there either way.
    assert.notEqual(v.limit, 'none', v.summary);
    assert.ok(
      v.limit === 'cpu-contention' ||
        v.limit === 'server-cpu' ||
        v.reasons.some((r) => /server's core \d+ \d+% busy/.test(r)),
      `${v.limit}: ${v.summary} (${v.reasons.join('; ')})`,
    );
    assert.ok((v.serverCoreBusy ?? 0) >= 0.95, `the server's core is full (${v.serverCoreBusy})`);
  },
);

test('verdict: an artificially slowed server (--burn-us per tick) is named as the limit', async (t) => {
  const dir = await tmp(t);
  // 2 ms of CPU per tick at 1000 ticks/s asks for 2 cores: one event loop cannot keep up.
  const out = await oneRun(dir, plan({ rate: 1000, duration: 2 }), 1000, ['--burn-us', '2000']);
  const v = out.result.verdict;
  assert.ok(
    v.limit === 'server-cpu' || v.limit === 'cpu-contention',
    `${v.limit}: ${v.summary} (${v.reasons.join('; ')})`,
  );
  // the server's core was its own: then the server itself must be the saturated one
  if ((v.serverCoreBusy ?? 0) < 0.95 || (v.serverCpuCores ?? 0) >= 0.9)
    assert.equal(v.limit, 'server-cpu', v.summary);
  assert.ok(v.late || v.lost.skipped > 0, 'ticks late or skipped');
});
