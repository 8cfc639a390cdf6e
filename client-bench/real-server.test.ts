// client-bench against the real wsbench server (dist/server/main.js) in every mode: a paced run
// without drops must come out exact by seq ranges and agree with the server's own counter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runClient, startClient } from '../testkit/client-run.js';
import { loadResultSchema, validate } from '../testkit/client-schema-check.js';
import type { Result } from './result.js';

const SERVER = fileURLToPath(new URL('../server/main.js', import.meta.url));
const schema = loadResultSchema();

async function startServer(
  mode: string,
  rate: number,
  listen = 0,
): Promise<{ child: ChildProcess; url: string; port: number }> {
  const child = spawn(
    process.execPath,
    [SERVER, '--mode', mode, '--port', String(listen), '--rate', String(rate)],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let err = '';
  child.stderr.on('data', (d) => (err += String(d)));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += String(d);
      const m = /"event":"listening".*"port":(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => {
      reject(new Error(`server --mode ${mode} exited with ${code}: ${err}`));
    });
  });
  return { child, url: `ws://127.0.0.1:${port}/`, port };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(t);
}

for (const mode of ['ws-naive', 'ws', 'uws']) {
  test(`real server --mode ${mode}: exact delivery by seq ranges, agrees with the server's sent counter`, async (t) => {
    if (!existsSync(SERVER)) {
      // The server is part of this repository: missing means the build is broken.
      assert.fail(`${SERVER} not built (run npx tsc -p .)`);
    }
    const server = await startServer(mode, 4000);
    t.after(() => stop(server.child));
    const { code, result, stderr } = await runClient([
      '-u',
      server.url,
      '-c',
      '3',
      '-W',
      '2',
      '-d',
      '2',
      '-w',
      '0.5',
      '-j',
      '-q',
    ]);
    assert.equal(code, 0, stderr);
    assert.ok(result);
    assert.deepEqual(validate(result, schema), []);
    assert.equal(result.target.mode, mode);
    assert.equal(result.connections.opened, 3);
    const d = result.delivery;
    assert.ok(d.received > 1000, `received ${d.received}`);
    assert.equal(d.gaps, 0);
    assert.equal(d.duplicates, 0);
    assert.equal(d.reordered, 0);
    assert.equal(d.received, d.expected, 'every seq in the window arrived once');
    assert.equal(result.latencyUs.count, d.received);
    assert.ok(d.serverSent !== null, 'server /metrics read');
    // The two counters are read at slightly different instants; ticks in flight at the window
    // edges may land on either side.
    assert.ok(
      Math.abs(d.received - d.serverSent) <= 100 + 0.1 * d.serverSent,
      `received ${d.received} vs server sent ${d.serverSent}`,
    );
    assert.deepEqual(result.errors, []);
  });
}

test('real server: --symbols narrows the subscription', async (t) => {
  const server = await startServer('uws', 4000);
  t.after(() => stop(server.child));
  const all = await runClient(['-u', server.url, '-c', '1', '-d', '1.5', '-w', '0.3', '-j', '-q']);
  const one = await runClient([
    '-u',
    server.url,
    '-c',
    '1',
    '-d',
    '1.5',
    '-w',
    '0.3',
    '-s',
    'BTC-USD',
    '-j',
    '-q',
  ]);
  assert.ok(all.result && one.result, all.stderr + one.stderr);
  // 8 symbols share the rate: one symbol is about an eighth of the stream.
  const ratio = one.result.delivery.received / all.result.delivery.received;
  assert.ok(ratio > 0.06 && ratio < 0.2, `one symbol / all = ${ratio}`);
  assert.equal(one.result.delivery.gaps, 0);
  assert.deepEqual(one.result.config.symbols, ['BTC-USD']);
});

// ws only: a uws server restarted on the same port right after a SIGKILL fails to listen while the
// dead server's side of its connections sits in TIME_WAIT (seen here with uWS 20.30: "cannot
// listen"); Node's listen sets SO_REUSEADDR and rebinds at once (docs/client-bench.md).
for (const mode of ['ws']) {
  test(`real server --mode ${mode} SIGKILLed and restarted: --on-server-close reconnect reports the outage`, async (t) => {
    const first = await startServer(mode, 1000);
    t.after(() => stop(first.child));
    const run = startClient([
      ...['-u', first.url, '-c', '3', '-d', '8', '-w', '0.5', '-j', '-q'],
      ...['--on-server-close', 'reconnect'],
    ]);
    t.after(() => run.child.kill('SIGKILL'));
    await new Promise((r) => setTimeout(r, 2500));
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));
    const down = Date.now();
    await new Promise((r) => setTimeout(r, 1500));
    // the same port: what a restart policy (Docker, systemd) gives the clients back
    const second = await startServer(mode, 1000, first.port);
    t.after(() => stop(second.child));
    const upAfterMs = Date.now() - down;
    const { code, stdout, stderr } = await run.done;
    assert.equal(code, 0, stderr);
    const r = JSON.parse(stdout) as Result;
    assert.deepEqual(validate(r, schema), []);
    assert.equal(r.aborted, null);
    const loss = r.serverLoss;
    assert.ok(loss, 'serverLoss block');
    assert.equal(loss.closed, 3, JSON.stringify(loss));
    assert.equal(loss.recovered, true, JSON.stringify(loss));
    assert.equal(loss.receiving, 3);
    assert.ok(loss.failedReopens > 0, 'reopens were refused while the server was down');
    // the outage spans the server's absence: from the kill to the first tick of the new server
    assert.ok(
      loss.outageSec !== null && loss.outageSec >= (upAfterMs - 200) / 1000,
      `${loss.outageSec} s vs ${upAfterMs} ms down`,
    );
    assert.ok(loss.outageSec < 7, `${loss.outageSec} s`);
    assert.deepEqual(r.closes, { '1006': 3 });
    // the new server's seq starts over: neither gaps nor duplicates from it
    assert.equal(r.delivery.gaps, 0);
    assert.equal(r.delivery.duplicates, 0);
    assert.equal(r.delivery.received, r.delivery.expected);
    const lastSecond = r.timeline?.filter((e) => e.phase === 'window').at(-2);
    assert.ok((lastSecond?.msgsPerSec ?? 0) > 0, 'ticks flow again after the restart');
  });
}
