// The client as a user runs it: the binary against real (scripted) servers on port 0.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startTestServer, type TestServer } from '../testkit/client-test-server.js';
import { runClient, startClient } from '../testkit/client-run.js';
import { loadResultSchema, validate } from '../testkit/client-schema-check.js';
import type { Result } from './result.js';

const schema = loadResultSchema();
const dir = await mkdtemp(join(tmpdir(), 'client-bench-'));
const servers: TestServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await rm(dir, { recursive: true, force: true });
});

async function server(...args: Parameters<typeof startTestServer>): Promise<TestServer> {
  const s = await startTestServer(...args);
  servers.push(s);
  return s;
}

function assertValid(r: unknown): void {
  assert.deepEqual(validate(r, schema), [], 'result must validate against result.schema.json');
}

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) =>
    srv.close(() => {
      r();
    }),
  );
  return port;
}

test('counts every tick: received == expected == the server sent counter (burst, 4 clients, 2 workers)', async () => {
  const s = await server({ kind: 'burst', perSymbol: 250, symbols: 8 }, 4);
  const { code, result, stderr } = await runClient([
    '-u',
    s.url,
    '-c',
    '4',
    '-W',
    '2',
    '-d',
    '3',
    '-w',
    '0',
    '-j',
    '-q',
  ]);
  assert.equal(code, 0, stderr);
  assert.ok(result);
  const total = 250 * 8 * 4;
  assert.equal(s.sent(), total);
  assert.equal(result.delivery.received, total);
  assert.equal(result.delivery.expected, total);
  assert.equal(result.delivery.serverSent, total);
  assert.equal(result.delivery.gaps, 0);
  assert.equal(result.delivery.duplicates, 0);
  assert.equal(result.delivery.reordered, 0);
  assert.equal(result.latencyUs.count, total);
  assert.equal(result.target.mode, 'test');
  assert.equal(result.client.workers.length, 2);
  assert.equal(result.connections.opened, 4);
  // Fairness: every client got the same number of ticks.
  assert.equal(result.throughput.perClient.min, result.throughput.perClient.max);
  const rate = total / result.throughput.windowSec;
  assert.ok(
    Math.abs(result.throughput.msgsPerSec - rate) / rate < 0.001,
    `${result.throughput.msgsPerSec} ~ ${rate}`,
  );
  assert.deepEqual(result.errors, []);
  assert.equal(result.aborted, null);
  assertValid(result);
});

test('gaps, duplicates and reorders are each counted', async () => {
  // 4 skipped; 6 twice; 8 late; 11 late then again.
  const seqs = [1, 2, 3, 5, 6, 6, 7, 9, 8, 10, 12, 11, 11];
  const s = await server({ kind: 'seqs', seqs }, 2);
  const { code, result, stderr } = await runClient([
    '-u',
    s.url,
    '-c',
    '2',
    '-d',
    '1.5',
    '-w',
    '0',
    '-j',
    '-q',
  ]);
  assert.equal(code, 0, stderr);
  assert.ok(result);
  assert.equal(result.delivery.received, 13 * 2);
  assert.equal(result.delivery.expected, 12 * 2);
  assert.equal(result.delivery.gaps, 1 * 2);
  assert.equal(result.delivery.duplicates, 2 * 2);
  assert.equal(result.delivery.reordered, 2 * 2);
  assertValid(result);
});

test('an injected delay shows up in the latency percentiles', async () => {
  const delayMs = 700;
  const s = await server({ kind: 'delayed', perSymbol: 300, delayMs }, 2);
  const { code, result, stderr } = await runClient([
    '-u',
    s.url,
    '-c',
    '2',
    '-d',
    '3',
    '-w',
    '0',
    '-j',
    '-q',
  ]);
  assert.equal(code, 0, stderr);
  assert.ok(result);
  assert.equal(result.latencyUs.count, 600);
  assert.ok(
    result.latencyUs.p50 >= delayMs * 1000,
    `p50 ${result.latencyUs.p50} µs >= ${delayMs} ms`,
  );
  assert.ok(result.latencyUs.p99 >= result.latencyUs.p50);
  assert.ok(result.latencyUs.max >= result.latencyUs.p99);
  // Without the delay the same burst is delivered much faster than the delay.
  const fast = await server({ kind: 'delayed', perSymbol: 300, delayMs: 0 }, 2);
  const quick = await runClient(['-u', fast.url, '-c', '2', '-d', '1.5', '-w', '0', '-j', '-q']);
  assert.ok(quick.result);
  assert.ok(
    quick.result.latencyUs.p50 < delayMs * 1000,
    `undelayed p50 ${quick.result.latencyUs.p50} µs`,
  );
});

test('ping interval measures RTT', async () => {
  const s = await server({ kind: 'steady', rate: 200 }, 1);
  const { code, result, stderr } = await runClient([
    '-u',
    s.url,
    '-c',
    '2',
    '-d',
    '1.5',
    '-w',
    '0',
    '-P',
    '100',
    '-j',
    '-q',
  ]);
  assert.equal(code, 0, stderr);
  assert.ok(result?.rttUs, 'rttUs present');
  assert.ok(result.rttUs.count >= 4, `rtt samples ${result.rttUs.count}`);
  assert.ok(result.rttUs.p50 > 0);
  assertValid(result);
});

test('--out writes the same result; progress lines and summary on stderr, nothing else on stdout', async () => {
  const s = await server({ kind: 'steady', rate: 500 }, 1);
  const out = join(dir, 'sub', 'result.json');
  const { code, stdout, stderr } = await runClient([
    '-u',
    s.url,
    '-c',
    '1',
    '-d',
    '1.5',
    '-w',
    '0.5',
    '-o',
    out,
    '-i',
    'my-run',
    '--json',
  ]);
  assert.equal(code, 0, stderr);
  const lines = stdout.split('\n');
  assert.equal(lines.length, 2, 'stdout is exactly one JSON line');
  assert.equal(lines[1], '');
  // Not a TTY: one plain line per second, phase first (which phase the first second lands in
  // depends on how long connecting took).
  assert.match(
    stderr,
    /^\[(connect|warmup \d+\/0\.5s|run \d+\/1\.5s)\] connected [01]\/1 {2}msg\/s [\d,]+ {2}MB\/s [\d.]+ {2}p99 [\d.]+ ms {2}gaps 0 {2}cpu [\d.]+ cores/m,
  );
  assert.match(stderr, /^\[run \d+\/1\.5s\] connected 1\/1 /m);
  assert.doesNotMatch(stderr, /\r/, 'no TTY control characters when stderr is not a TTY');
  assert.match(stderr, /client-bench result\n {2}run {9}my-run/);
  const r = JSON.parse(await readFile(out, 'utf8')) as Result;
  assert.deepEqual(JSON.parse(lines[0] ?? ''), r);
  assert.equal(r.runId, 'my-run');
  assert.ok(r.delivery.received > 0);
  assertValid(r);
});

test('--source-addresses spreads connections over local addresses round-robin', async () => {
  const s = await server({ kind: 'steady', rate: 100 }, 1);
  const { code, result, stderr } = await runClient([
    '-u',
    s.url,
    '-c',
    '6',
    '-W',
    '2',
    '-d',
    '1',
    '-w',
    '0',
    '--source-addresses',
    '127.0.0.2,127.0.0.3,127.0.0.4',
    '-j',
    '-q',
  ]);
  assert.equal(code, 0, stderr);
  assert.equal(result?.connections.opened, 6);
  const count = (a: string) => s.peers().filter((p) => p.endsWith(a)).length;
  assert.deepEqual([count('127.0.0.2'), count('127.0.0.3'), count('127.0.0.4')], [2, 2, 2]);
});

test('--connect-rate paces new connections', async () => {
  const s = await server({ kind: 'steady', rate: 100 }, 1);
  const args = ['-u', s.url, '-c', '10', '-W', '2', '-d', '0.5', '-w', '0', '-j', '-q'];
  const { code, result, stderr } = await runClient([...args, '-R', '10']);
  assert.equal(code, 0, stderr);
  assert.equal(result?.connections.opened, 10);
  assert.equal(result.config.connectRate, 10);
  // 10 connections at 10/s over 2 workers (5/s each): the last starts 0.8 s after the first.
  const at = s.arrivals();
  assert.equal(at.length, 10);
  const spread = Math.max(...at) - Math.min(...at);
  assert.ok(spread >= 700, `connections arrived within ${spread.toFixed(0)} ms`);
});

test('bad flags exit 2 quoting the value and what is allowed', async () => {
  const cases: [string[], RegExp][] = [
    [['--clients', 'abc'], /invalid --clients "abc": expected an integer 1-100000/],
    [['--duration=-3'], /invalid --duration "-3": expected a number 0\.1-86400/],
    [['-d', '-3'], /--duration needs a value: a number 0\.1-86400/],
    [
      ['--url', 'http://127.0.0.1:1/'],
      /invalid --url "http:\/\/127\.0\.0\.1:1\/": expected a ws:\/\/ URL/,
    ],
    [['--symbols', 'BTC USD'], /invalid --symbols "BTC USD"/],
    [['--workers', '99'], /invalid --workers "99": expected an integer 1-8/],
    [
      ['--source-addresses', '10.0.0.1'],
      /invalid --source-addresses "10\.0\.0\.1": expected .*127\.0\.0\.0\/8/,
    ],
    [['--frobnicate'], /unknown option "--frobnicate"/],
    [['--metrics-port', '70000'], /invalid --metrics-port "70000"/],
  ];
  for (const [args, re] of cases) {
    const { code, stderr, stdout } = await runClient(args);
    assert.equal(code, 2, `${args.join(' ')}: ${stderr}`);
    assert.match(stderr, re);
    assert.equal(stdout, '');
  }
  const bad = await runClient(['-c', '1'], { WSBENCH_CLOCK: 'sundial' });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /Invalid clock: "sundial"/);
});

test('--help lists every flag with short form and default', async () => {
  const { code, stdout } = await runClient(['--help']);
  assert.equal(code, 0);
  for (const flag of [
    '-u, --url URL',
    '-c, --clients N',
    '-d, --duration S',
    '-w, --warmup S',
    '-W, --workers N',
    '-s, --symbols LIST',
    '-R, --connect-rate N',
    '-o, --out FILE',
    '-j, --json',
    '-M, --metrics-port PORT',
    '-i, --run-id ID',
    '-q, --quiet',
    '-P, --ping-interval MS',
    '--source-addresses LIST',
  ]) {
    assert.ok(stdout.includes(flag), `help mentions ${flag}`);
  }
  assert.match(stdout, /\(default ws:\/\/127\.0\.0\.1:8080\/;/);
  assert.match(stdout, /--clients N +connections\n +\(default 100; an integer 1-100000\)/);
});

test('unreachable URL: clear error, exit 2 within a few seconds', async () => {
  const port = await freePort();
  const { code, stderr, ms } = await runClient([
    '-u',
    `ws://127.0.0.1:${port}/`,
    '-c',
    '1',
    '-d',
    '1',
  ]);
  assert.equal(code, 2);
  assert.match(stderr, new RegExp(`cannot reach ws://127\\.0\\.0\\.1:${port}/: ECONNREFUSED`));
  assert.ok(ms < 5000, `took ${ms} ms`);
});

test('SIGINT stops the run, writes the partial result, exits 130', async () => {
  const s = await server({ kind: 'steady', rate: 1000 }, 1);
  const out = join(dir, 'sigint.json');
  const run = startClient(['-u', s.url, '-c', '2', '-d', '60', '-w', '0', '-o', out]);
  try {
    await run.waitFor(/^\[run [1-9]/);
    run.child.kill('SIGINT');
    const { code, stderr } = await run.done;
    assert.equal(code, 130, stderr);
    assert.match(stderr, /ABORTED: interrupted by SIGINT/);
    const r = JSON.parse(await readFile(out, 'utf8')) as Result;
    assert.deepEqual(r.aborted, { reason: 'interrupted by SIGINT' });
    assert.ok(r.delivery.received > 0, 'what was measured is kept');
    assert.ok(r.throughput.windowSec > 0 && r.throughput.windowSec < 60);
    assertValid(r);
  } finally {
    run.child.kill('SIGKILL');
  }
});

test('SIGINT while still connecting: partial result with the connections opened so far', async () => {
  const s = await server({ kind: 'steady', rate: 100 }, 1);
  const out = join(dir, 'sigint-connect.json');
  const run = startClient(['-u', s.url, '-c', '50', '-R', '5', '-d', '5', '-w', '0', '-o', out]);
  try {
    await run.waitFor(/^\[connect\] connected [1-9]/);
    run.child.kill('SIGINT');
    const { code, stderr } = await run.done;
    assert.equal(code, 130, stderr);
    const r = JSON.parse(await readFile(out, 'utf8')) as Result;
    assert.deepEqual(r.aborted, { reason: 'interrupted by SIGINT' });
    assert.ok(
      r.connections.opened >= 1 && r.connections.opened < 50,
      `opened ${r.connections.opened}`,
    );
    assert.equal(r.throughput.windowSec, 0, 'no window was measured');
    assertValid(r);
  } finally {
    run.child.kill('SIGKILL');
  }
});

test('server dies mid-run: partial result with the abort reason, exit 3', async () => {
  // The server runs in its own process so that it can really die (SIGKILL, no close frames).
  const serverModule = fileURLToPath(new URL('../testkit/client-test-server.js', import.meta.url));
  const srv = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `const { startTestServer } = await import(${JSON.stringify(serverModule)});
       const s = await startTestServer({ kind: 'steady', rate: 1000 }, 1);
       console.log(s.port);`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  try {
    const port = await new Promise<number>((resolve) =>
      srv.stdout.once('data', (d) => {
        resolve(Number(String(d).trim()));
      }),
    );
    const out = join(dir, 'died.json');
    const run = startClient([
      '-u',
      `ws://127.0.0.1:${port}/`,
      '-c',
      '3',
      '-d',
      '60',
      '-w',
      '0',
      '-o',
      out,
    ]);
    try {
      await run.waitFor(/^\[run [1-9]/);
      srv.kill('SIGKILL');
      const { code, stderr } = await run.done;
      assert.equal(code, 3, stderr);
      const r = JSON.parse(await readFile(out, 'utf8')) as Result;
      assert.match(r.aborted?.reason ?? '', /server closed all 3 connections mid-run/);
      assert.ok(r.delivery.received > 0, 'what was measured is kept');
      assert.deepEqual(r.closes, { '1006': 3 });
      assert.equal(r.errors.find((e) => e.type === 'disconnect')?.count, 3);
      assertValid(r);
    } finally {
      run.child.kill('SIGKILL');
    }
  } finally {
    srv.kill('SIGKILL');
  }
});

test('timeline: one entry per second across warm-up and window, adding up to the window counts', async () => {
  const s = await server({ kind: 'steady', rate: 500 }, 1);
  const { code, result, stderr } = await runClient([
    '-u',
    s.url,
    '-c',
    '2',
    '-d',
    '3',
    '-w',
    '2',
    '-j',
    '-q',
  ]);
  assert.equal(code, 0, stderr);
  assert.ok(result?.timeline);
  assertValid(result);
  const phases = result.timeline.map((e) => e.phase);
  assert.deepEqual(
    [...phases].sort(
      (a, b) =>
        ['connect', 'warmup', 'window'].indexOf(a) - ['connect', 'warmup', 'window'].indexOf(b),
    ),
    phases,
    'phases in order',
  );
  const warm = result.timeline.filter((e) => e.phase === 'warmup');
  const win = result.timeline.filter((e) => e.phase === 'window');
  assert.ok(warm.length >= 1, `warm-up seconds: ${phases.join(',')}`);
  assert.ok(win.length >= 3 && win.length <= 4, `window seconds: ${phases.join(',')}`);
  for (let i = 1; i < result.timeline.length; i++)
    assert.equal(
      (result.timeline[i]?.t ?? 0) - (result.timeline[i - 1]?.t ?? 0) > 0.99,
      true,
      'one entry per second',
    );
  const winFrames = win.reduce((a, e) => a + e.msgsPerSec * e.durationSec, 0);
  // The window's seconds start within a second of the window edges: they hold its frames,
  // give or take the frames of that first fraction of a second.
  assert.ok(
    Math.abs(winFrames - result.delivery.received) <= result.throughput.msgsPerSec * 1.1,
    `timeline ${winFrames} vs window ${result.delivery.received}`,
  );
  for (const e of win) {
    assert.equal(e.open, 2);
    assert.equal(e.gaps, 0);
    assert.ok(e.msgsPerSec > 0 && e.p99Us >= e.p50Us && e.maxUs >= e.p99Us);
  }
});

test('--burn-ns makes the client the bottleneck and the verdict says so with its ns per frame', async () => {
  // 16,000 ticks at the window start, 250 µs of busy work each: 4 s of work in a 1 s window.
  // The spin is calibrated once at start-up in wall time: calibrated on a busy or slower core, a
  // frame burns less than asked (CI once saw the 1.6× margin of 100 µs not suffice), so the
  // margin is 4× (more work than this makes read turns so long that the worker misses its 5 s
  // report deadline).
  const s = await server({ kind: 'burst', perSymbol: 2000, symbols: 8 }, 1);
  const args = ['-u', s.url, '-c', '1', '-d', '1', '-w', '0', '-j', '-q'];
  const slow = await runClient([...args, '--burn-ns', '250000']);
  assert.equal(slow.code, 0, slow.stderr);
  assert.ok(slow.result?.client.saturation);
  assertValid(slow.result);
  assert.equal(slow.result.client.clientBound, true);
  assert.equal(slow.result.client.saturation.saturated, true);
  assert.equal(slow.result.client.saturation.burnNs, 250_000);
  assert.match(
    slow.result.client.saturation.reason,
    /busy [\d.]+: the client spent \d+ ns of CPU per delivered frame.*--burn-ns 250000/,
  );
  // The spin is calibrated in wall time: on a contended core its CPU per frame is lower, so
  // only its presence is checked here (the reason above carries the measured figure).
  assert.ok((slow.result.client.saturation.nsPerFrame ?? 0) > 0);
  assert.ok(slow.result.delivery.received < 16_000, 'the slow client could not keep up');
  const fast = await server({ kind: 'burst', perSymbol: 2000, symbols: 8 }, 1);
  const calm = await runClient(['-u', fast.url, ...args.slice(2)]);
  assert.equal(calm.code, 0, calm.stderr);
  assert.equal(calm.result?.delivery.received, 16_000);
  assert.equal(calm.result.client.saturation?.saturated, false);
  assert.equal(calm.result.client.saturation.reason, '');
});
