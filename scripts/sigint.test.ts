// Ctrl-C in the middle of make bench: every process it started is gone (checked by pid), the
// exit code is 130, and what was measured is kept in result.json (marked aborted) and the reports.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { benchInWindow, childrenOf, isAlive, processesMentioning } from './test-helpers.js';

/** The last stdout line of make bench (the parts this test reads). */
interface BenchOut {
  result: string;
  runDir: string;
}

/** result.json of an aborted run (the parts this test reads). */
interface AbortedResult {
  aborted: { reason: string };
  placement: { server: { pid: number }; client: { pid: number } };
  delivery: { received: number };
  throughput: { msgsPerSec: number };
  resources: { windowSec: number; server: { samples: unknown[] } };
}

test('SIGINT during the measured window stops server and client and keeps a partial result', async (t) => {
  // let it measure for a moment, then Ctrl-C
  const { bench, pid, dir } = await benchInWindow(
    t,
    'wsbench-sigint-',
    { MODE: 'ws', CLIENTS: '4', DURATION: '60', RATE: 'max', WARMUP: '1' },
    1500,
  );
  const running = childrenOf(pid);
  assert.ok(running.length >= 2, `server and client are running (children: ${running.join(', ')})`);
  bench.child.kill('SIGINT');
  const done = await bench.done;
  assert.equal(done.code, 130, done.stderr);
  assert.match(done.stderr, /SIGINT: stopping every process/);

  const out = JSON.parse(done.stdout.trim().split('\n').pop() ?? '') as BenchOut;
  const result = JSON.parse(readFileSync(out.result, 'utf8')) as AbortedResult;
  assert.match(result.aborted.reason, /SIGINT/);
  for (const pid of [result.placement.server.pid, result.placement.client.pid, ...running]) {
    assert.equal(isAlive(pid), false, `pid ${pid} was stopped`);
  }
  assert.deepEqual(processesMentioning(dir), [], 'nothing left behind');
  assert.ok(
    running.includes(result.placement.server.pid) && running.includes(result.placement.client.pid),
  );
  // what was measured is kept: client-bench's partial result and the sampled resources
  assert.ok(result.delivery.received > 0, 'messages measured before Ctrl-C are kept');
  assert.ok(result.throughput.msgsPerSec > 0);
  assert.ok(result.resources.server.samples.length > 0, 'server CPU/RSS samples kept');
  assert.ok(result.resources.windowSec < 30, 'the window ended at Ctrl-C');
  assert.ok(
    existsSync(path.join(out.runDir, 'report.md')) &&
      existsSync(path.join(out.runDir, 'report.html')),
  );
  assert.match(
    readFileSync(path.join(out.runDir, 'report.md'), 'utf8'),
    /run aborted \(interrupted[^)]*SIGINT/,
  );
});
