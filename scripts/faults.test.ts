// Faults during a run, as a user would meet them: the server SIGKILLed in the middle of the
// measured window. make bench must keep the partial result, exit 3 (EXIT.aborted) and say what
// was lost, in result.json, in the report and on stderr, and leave no process behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { EXIT } from '../protocol/codes.js';
import { benchInWindow, childrenOf, isAlive, processesMentioning } from './test-helpers.js';

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

test('server SIGKILLed mid-window: partial result, exit 3, what was lost stated', async (t) => {
  const {
    bench,
    pid: benchPid,
    dir,
  } = await benchInWindow(
    t,
    'wsbench-fault-kill-',
    { MODE: 'ws', CLIENTS: '10', DURATION: '8', WARMUP: '1', RATE: '1000', HTTP_LOAD: '0' },
    2000,
  );
  const server = childrenOf(benchPid).find((pid) => cmdline(pid).includes('dist/server/main.js'));
  assert.ok(server !== undefined, 'the server runs as a child of make bench');
  process.kill(server, 'SIGKILL');
  const done = await bench.done;
  assert.equal(done.code, EXIT.aborted, done.stderr);
  assert.match(done.stderr, /ABORTED/);

  const out = JSON.parse(done.stdout.trim().split('\n').pop() ?? '{}') as {
    result: string;
    runDir: string;
  };
  const result = JSON.parse(readFileSync(out.result, 'utf8')) as {
    aborted: { reason: string } | null;
    throughput: { msgsPerSec: number; windowSec: number } | null;
    delivery: { received: number; gaps: number } | null;
    closes: Record<string, number>;
    server: { exit: { signal: string | null } | null };
  };
  const reason = result.aborted?.reason ?? '';
  assert.match(reason, /SIGKILL/, 'the orchestrator says how the server ended');
  assert.match(reason, /1006/, 'the client says how the connections ended');
  assert.match(reason, /lost: \d+\.\d s of the planned 8 s window were not measured/);
  assert.equal(result.server.exit?.signal, 'SIGKILL');
  // what was measured before the kill is kept
  assert.ok((result.delivery?.received ?? 0) > 0);
  assert.ok((result.throughput?.windowSec ?? 99) < 8);
  assert.equal(result.closes['1006'], 10, 'every connection ended abnormally');
  assert.match(readFileSync(path.join(out.runDir, 'report.md'), 'utf8'), /lost: /);
  for (const pid of childrenOf(benchPid)) assert.equal(isAlive(pid), false);
  assert.deepEqual(processesMentioning(dir), [], 'nothing left behind');
});
