// make bench (native) end to end: the real server and client-bench, short runs (2 s) into a temp
// RESULTS_DIR. Asserts what a user checks: exit code, a result.json that validates, non-zero
// throughput with consistent delivery accounting, CPU/RSS/HTTP numbers, placement, reports, no
// process left behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { requireTool, which } from '../testkit/require-tool.js';
import type { BenchResult } from './lib/result.js';
import {
  inspectReport,
  isAlive,
  processesMentioning,
  run,
  tempDir,
  validateBenchResult,
} from './test-helpers.js';

const SHORT = {
  CLIENTS: '4',
  DURATION: '2',
  WARMUP: '1',
  RATE: '0',
  SYMBOLS: '8',
  PROMETHEUS: '0',
};

function readResult(runDir: string): BenchResult {
  return JSON.parse(readFileSync(path.join(runDir, 'result.json'), 'utf8')) as BenchResult;
}

interface ResultLine {
  event: string;
  runDir: string;
  reportMd: string;
  reportHtml: string;
}

function lastJsonLine(stdout: string): ResultLine {
  const lines = stdout
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'));
  assert.ok(lines.length > 0, `a JSON line on stdout, got: ${stdout}`);
  return JSON.parse(lines[lines.length - 1] ?? '{}') as ResultLine;
}

/** The value, asserted present. */
function must<T>(v: T | null | undefined, what: string): T {
  assert.ok(v !== null && v !== undefined, `${what} is present`);
  return v;
}

function assertRun(result: BenchResult, mode: string, clients: number): void {
  assert.deepEqual(
    validateBenchResult(result),
    [],
    'result.json validates against the merged schema',
  );
  assert.equal(result.aborted, null, 'not aborted');
  assert.equal(result.server.mode, mode);
  assert.equal(result.target.mode, mode, 'client saw the same mode in /health');
  assert.equal(result.config.clients, clients);
  assert.ok(must(result.throughput, 'throughput').msgsPerSec > 0, 'non-zero throughput');
  const d = must(result.delivery, 'delivery');
  assert.ok(d.received > 0, 'messages received');
  assert.ok(d.expected >= d.received, `expected (${d.expected}) covers received (${d.received})`);
  assert.equal(d.duplicates, 0, 'no duplicates');
  assert.equal(d.reordered, 0, 'no reordering');
  const lat = must(result.latencyUs, 'latencyUs');
  assert.ok(lat.count > 0 && lat.p50 > 0, 'latency recorded');
  assert.ok((result.server.cpuCores ?? 0) > 0, 'server CPU sampled');
  assert.ok((result.server.rssMaxBytes ?? 0) > 10 * 1024 * 1024, 'server RSS sampled');
  assert.ok((result.resources.client.cpuCores ?? 0) > 0, 'client CPU sampled');
  assert.ok(result.resources.server.samples.length >= 3, 'CPU/RSS series over the window');
  const http = must(result.http, 'http');
  assert.ok(http.requests > 0 && http.reqPerSec > 0, 'autocannon hit /snapshot');
  assert.equal(http.non2xx, 0, '/snapshot answered 200');
  assert.ok(result.bench.versions.node.startsWith('v20'), 'Node version recorded');
  assert.match(result.verdict.summary, /\S/, 'every run names its limit');
  assert.ok(must(result.serverTimeline, 'serverTimeline').points.length >= 2, 'server per second');
  assert.ok(must(result.serverWindow, 'serverWindow').messagesSent > 0, 'server window counters');
  for (const pid of [result.placement.server.pid, result.placement.client.pid]) {
    assert.equal(isAlive(must(pid, 'pid')), false, `pid ${pid ?? '?'} was stopped`);
  }
}

for (const mode of ['ws-naive', 'ws', 'uws']) {
  test(`bench ${mode}: short native run writes a valid result, reports and results/latest`, async (t) => {
    const tmp = await tempDir(`wsbench-bench-${mode}-`);
    t.after(tmp.remove);
    // ws-naive runs unpinned to cover PIN=0; the others use the default placement.
    const pin: Record<string, string> = mode === 'ws-naive' ? { PIN: '0' } : {};
    const res = await run('node', ['dist/scripts/bench.js'], {
      ...SHORT,
      ...pin,
      MODE: mode,
      RESULTS_DIR: tmp.dir,
    });
    assert.equal(res.code, 0, res.stderr);
    const out = lastJsonLine(res.stdout);
    assert.equal(out.event, 'result');
    const result = readResult(out.runDir);
    assertRun(result, mode, 4);
    assert.match(res.stderr, /measure: /, 'phase lines on stderr');
    assert.match(res.stderr, /msg\/s delivered/, 'summary on stderr');
    assert.equal(
      path.resolve(tmp.dir, readlinkSync(path.join(tmp.dir, 'latest'))),
      out.runDir,
      'latest -> run',
    );
    assert.ok(existsSync(out.reportMd) && existsSync(out.reportHtml), 'report.md and report.html');
    const md = readFileSync(out.reportMd, 'utf8');
    assert.match(md, new RegExp(`\\| ${mode} \\| 4 \\|`), 'summary row in report.md');
    if (mode === 'ws-naive') {
      assert.equal(result.placement.pinned, false);
      assert.equal(result.placement.reason, 'PIN=0');
    } else {
      assert.equal(result.placement.pinned, true, 'pinned on a 2-core machine');
      assert.notEqual(
        result.placement.server.cores,
        result.placement.client.cores,
        'separate cores',
      );
    }
    assert.deepEqual(processesMentioning(tmp.dir), [], 'no process left behind');
  });
}

test('make bench-native passes MODE/CLIENTS/DURATION through the Makefile; report.html draws real data', async (t) => {
  const tmp = await tempDir('wsbench-bench-make-');
  t.after(tmp.remove);
  // -o build -o install: `make test` has built already; the recipe under test is bench-native.
  const res = await run(
    'make',
    ['--no-print-directory', '-o', 'build', '-o', 'install', 'bench-native'],
    {
      ...SHORT,
      PROMETHEUS: '1', // the default; on here so the URL is printed and recorded
      MODE: 'uws',
      CLIENTS: '3',
      RESULTS_DIR: tmp.dir,
    },
  );
  assert.equal(res.code, 0, res.stderr);
  const out = lastJsonLine(res.stdout);
  const result = readResult(out.runDir);
  assertRun(result, 'uws', 3);
  assert.equal(result.config.duration, 2);
  if (which('prometheus') !== null) {
    const prom = must(result.bench.prometheus, 'bench.prometheus');
    assert.match(prom.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.ok(res.stderr.includes(`Prometheus: ${prom.url}`), 'Prometheus URL printed');
  } else {
    assert.equal(result.bench.prometheus, null);
  }
  assert.deepEqual(processesMentioning(tmp.dir), [], 'server, client and Prometheus are gone');

  const chromium = requireTool(t, 'chromium', 'make deps (apt-get install chromium)');
  if (!chromium) return;
  const page = await inspectReport(chromium, out.reportHtml);
  assert.deepEqual(page.errors, [], 'no console errors');
  assert.deepEqual(page.requests, [], 'self-contained: no network requests');
  assert.deepEqual(
    page.charts.map((c) => c.canvasId).sort(),
    ['chart-latency', 'chart-resources', 'chart-throughput', 'chart-timeline'],
    'the per-second timeline is drawn too',
  );
  for (const c of page.charts) {
    assert.ok(c.points > 0, `${c.canvasId} has data`);
    assert.ok(c.paintedPixels > 1000, `${c.canvasId} is drawn`);
  }
  assert.match(page.text, /uws/);
});

test('bench: bad settings exit 2 quoting the value and listing what is allowed', async (t) => {
  const tmp = await tempDir('wsbench-bench-bad-');
  t.after(tmp.remove);
  const bad = await run('node', ['dist/scripts/bench.js'], {
    MODE: 'uwebsockets',
    RESULTS_DIR: tmp.dir,
  });
  assert.equal(bad.code, 2);
  assert.match(
    bad.stderr,
    /wsbench-bench: invalid MODE \(env for --mode\) "uwebsockets": expected one of: ws-naive, ws, uws/,
  );
  const dur = await run('node', ['dist/scripts/bench.js'], {
    MODE: 'ws',
    DURATION: 'ten',
    RESULTS_DIR: tmp.dir,
  });
  assert.equal(dur.code, 2);
  assert.match(
    dur.stderr,
    /invalid DURATION \(env for --duration\) "ten": expected a number 1-3600/,
  );
  const pin = await run('node', ['dist/scripts/bench.js'], { PIN: 'maybe', RESULTS_DIR: tmp.dir });
  assert.equal(pin.code, 2);
  assert.match(pin.stderr, /invalid PIN \(env for --pin\) "maybe": expected auto, 1 or 0/);
  const flag = await run('node', ['dist/scripts/bench.js', '--clients', '0'], {
    RESULTS_DIR: tmp.dir,
  });
  assert.equal(flag.code, 2, 'a flag is checked like its env variable');
  assert.match(flag.stderr, /invalid --clients "0": expected an integer 1-100000/);
});

test('bench: a server that refuses to start fails the run (exit 1) with its reason in result.json', async (t) => {
  const tmp = await tempDir('wsbench-bench-fail-');
  t.after(tmp.remove);
  // UWS_USE_FALLBACK=1 makes uWebSockets.js load its JS shim; the uws mode must refuse that.
  const res = await run('node', ['dist/scripts/bench.js'], {
    ...SHORT,
    MODE: 'uws',
    UWS_USE_FALLBACK: '1',
    RESULTS_DIR: tmp.dir,
  });
  assert.equal(res.code, 1, res.stderr);
  const out = lastJsonLine(res.stdout);
  const result = readResult(out.runDir);
  assert.match(
    must(result.aborted, 'aborted').reason,
    /server exited .* before it was ready: .*native binary/,
  );
  assert.equal(result.throughput, null, 'nothing invented when nothing was measured');
  assert.match(res.stderr, /ABORTED: server exited/);
  assert.equal(isAlive(must(result.placement.server.pid, 'server pid')), false);
  assert.deepEqual(processesMentioning(tmp.dir), []);
});
