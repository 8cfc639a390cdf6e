// Sharded runs as a user runs them: the real server, several client-bench --shard processes
// against it, then `client-bench merge`. The merged result must be the exact sum of the shards,
// its percentiles those of an HDR merge of the shards' histograms (computed here independently),
// and merges of different runs or configurations must be refused naming the field.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as hdr from 'hdr-histogram-js';
import type { Result } from './result.js';
import { loadResultSchema, validate } from '../testkit/client-schema-check.js';

const SERVER = fileURLToPath(new URL('../server/main.js', import.meta.url));
const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));
const schema = loadResultSchema();
const dir = await mkdtemp(join(tmpdir(), 'client-bench-merge-'));
const children: ChildProcess[] = [];
after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

interface Done {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: readonly string[]): Promise<Done> {
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve) =>
    child.on('close', (code) => {
      resolve({ code, stdout, stderr });
    }),
  );
}

async function startServer(rate: number): Promise<string> {
  const child = spawn(
    process.execPath,
    [SERVER, '--mode', 'ws', '--port', '0', '--rate', String(rate)],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  children.push(child);
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /"event":"listening".*"port":(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => {
      reject(new Error(`server exited with ${String(code)}: ${err}`));
    });
  });
  return `ws://127.0.0.1:${String(port)}/`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function readResult(file: string): Promise<Result> {
  return JSON.parse(await readFile(file, 'utf8')) as Result;
}

/** The HDR merge a user would do by hand: decode every shard's histogram and add them. */
function hdrMerge(encoded: readonly string[]) {
  const acc = hdr.build({ bitBucketSize: 64, numberOfSignificantValueDigits: 3, autoResize: true });
  for (const e of encoded) acc.add(hdr.decodeFromCompressedBase64(e, 64));
  const at = (p: number) => Math.min(acc.getValueAtPercentile(p), acc.maxValue);
  const out = {
    p50: at(50),
    p90: at(90),
    p99: at(99),
    p999: at(99.9),
    max: acc.maxValue,
    count: acc.totalCount,
  };
  acc.destroy();
  return out;
}

/** Starts shards I/N with the same flags; launches are staggered so only --start-at aligns them. */
async function shards(
  url: string,
  n: number,
  startAt: number,
  extra: (i: number) => string[],
  staggerMs: number,
): Promise<{ files: string[]; runs: Done[] }> {
  const files: string[] = [];
  const pending: Promise<Done>[] = [];
  for (let i = 1; i <= n; i++) {
    const file = join(dir, `${String(startAt)}-shard-${String(i)}of${String(n)}.json`);
    files.push(file);
    pending.push(
      run([
        '-u',
        url,
        '-W',
        '1',
        '-w',
        '0.5',
        '--shard',
        `${String(i)}/${String(n)}`,
        '--start-at',
        String(startAt),
        '-q',
        '-o',
        file,
        ...extra(i),
      ]),
    );
    await sleep(staggerMs);
  }
  return { files, runs: await Promise.all(pending) };
}

test('three real shards merge into the exact sum, percentiles from the merged HDR histograms', async () => {
  const url = await startServer(3000);
  const startAt = Date.now() + 11_000; // room for three Node start-ups on a loaded machine
  const { files, runs } = await shards(url, 3, startAt, () => ['-c', '10', '-d', '2'], 1000);
  for (const r of runs) assert.equal(r.code, 0, r.stderr);
  const rs = await Promise.all(files.map(readResult));
  for (const r of rs) assert.deepEqual(validate(r, schema), []);

  // Connection k belongs to shard (k mod 3) + 1: 10 clients -> 4, 3, 3; config.clients is the total.
  assert.deepEqual(
    rs.map((r) => [r.shard?.index, r.shard?.clients, r.connections.opened, r.config.clients]),
    [
      [1, 4, 4, 10],
      [2, 3, 3, 10],
      [3, 3, 3, 10],
    ],
  );
  // One run id, derived from --start-at by every shard alike.
  assert.equal(new Set(rs.map((r) => r.runId)).size, 1);
  // Launched 1 s apart, every window ends at the planned time (start-at + warm-up + duration by
  // the host's clock), not relative to its own launch; a shard whose connect phase outlasted the
  // warm-up starts late (shard.lateMs) but ends on time.
  const plannedEnd = startAt + 500 + 2000;
  for (const r of rs) {
    const end = Date.parse(r.window?.endedAt ?? '');
    assert.ok(
      end >= plannedEnd - 5 && end - plannedEnd < 800,
      `shard ${String(r.shard?.index)}: window ended ${String(end - plannedEnd)} ms after the plan`,
    );
  }
  for (const r of rs)
    assert.ok(r.delivery.received > 500, `shard received ${String(r.delivery.received)}`);

  const mergedFile = join(dir, 'merged.json');
  const m = await run(['merge', ...files, '-o', mergedFile]);
  assert.equal(m.code, 0, m.stderr);
  assert.match(m.stderr, /client-bench merged result/);
  const merged = await readResult(mergedFile);
  assert.deepEqual(validate(merged, schema), []);
  assert.equal(merged.shard, null);
  const sum = (f: (r: Result) => number) => rs.reduce((a, r) => a + f(r), 0);
  assert.equal(
    merged.delivery.received,
    sum((r) => r.delivery.received),
  );
  assert.equal(
    merged.delivery.expected,
    sum((r) => r.delivery.expected),
  );
  assert.equal(
    merged.delivery.gaps,
    sum((r) => r.delivery.gaps),
  );
  assert.equal(merged.connections.opened, 10);
  assert.equal(merged.delivery.received, merged.delivery.expected, 'paced: every seq arrived');
  assert.equal(merged.latencyUs.count, merged.delivery.received);

  // Percentiles equal those of an HDR merge of the shards' histograms, not an average.
  assert.deepEqual(merged.latencyUs, hdrMerge(rs.map((r) => r.histograms.latencyUs)));
  const con = hdrMerge(rs.map((r) => r.histograms.connectUs));
  assert.equal(merged.connectMs.p99, Math.round(con.p99) / 1000);

  // Fairness over every connection of every shard, each over its own shard's window.
  const rates = rs
    .flatMap((r) => r.perConnection.received.map((n) => n / r.throughput.windowSec))
    .sort((a, b) => a - b);
  assert.equal(merged.perConnection.received.length, 10);
  assert.equal(merged.throughput.perClient.min, Math.round((rates[0] ?? 0) * 10) / 10);
  assert.equal(merged.throughput.perClient.max, Math.round((rates[9] ?? 0) * 10) / 10);

  // The server's counter is server-wide: close to the sum over the shards, not three times it.
  const sent = merged.delivery.serverSent;
  assert.ok(sent !== null);
  assert.ok(
    Math.abs(sent - merged.delivery.received) <= 200 + 0.15 * sent,
    `server sent ${String(sent)} vs received ${String(merged.delivery.received)}`,
  );
  const mi = merged.merge;
  assert.ok(mi);
  assert.deepEqual(mi.missing, []);
  // Each shard's timeline is its own clock's: left out, and said so (not shard 1's kept).
  assert.ok(rs.every((r) => (r.timeline ?? []).length > 0));
  assert.equal(merged.timeline, undefined);
  assert.deepEqual(
    mi.notMerged.map((n) => n.field),
    ['timeline'],
  );
  assert.match(m.stderr, /not merged {2}timeline: each shard cuts its seconds/);
  assert.equal(merged.churn, null, 'no shard churned');
  assert.deepEqual(
    mi.shards.map((s) => [s.index, s.received]),
    rs.map((r) => [r.shard?.index, r.delivery.received]),
  );
  // The windows coincide: they overlap for all but the start spread (a shard that connected late
  // starts late but still ends at the common end, so its window is shorter, never shifted).
  const shortest = Math.min(...rs.map((r) => r.throughput.windowSec));
  assert.ok(
    mi.overlap !== null && mi.overlap.sec >= shortest - 0.4,
    `overlap ${JSON.stringify(mi.overlap)}, shortest window ${String(shortest)} s`,
  );
  assert.equal(
    merged.client.clientBound,
    rs.some((r) => r.client.clientBound),
  );

  // Two of three: still merged, but marked aborted with the missing shard named (exit 3).
  const part = await run(['merge', files[0] ?? '', files[1] ?? '', '-q']);
  assert.equal(part.code, 3, part.stderr);
  assert.match(part.stderr, /missing: 3/);
  const partial = JSON.parse(part.stdout) as Result;
  assert.deepEqual(partial.merge?.missing, [3]);
  assert.match(partial.aborted?.reason ?? '', /shard\(s\) 3 of 3 missing/);

  // The same shard twice, an edited config, a merged result: refused (exit 2), naming why.
  const twice = await run(['merge', files[0] ?? '', files[0] ?? '']);
  assert.equal(twice.code, 2);
  assert.match(twice.stderr, /shard 1\/3 given twice/);
  const edited = join(dir, 'edited.json');
  await writeFile(edited, JSON.stringify({ ...rs[1], config: { ...rs[1]?.config, clients: 20 } }));
  const bad = await run(['merge', files[0] ?? '', edited]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /differs from .* in config\.clients: 10 vs 20/);
  const broken = join(dir, 'broken.json');
  const r1 = rs[1];
  assert.ok(r1);
  await writeFile(
    broken,
    JSON.stringify({ ...r1, histograms: { ...r1.histograms, latencyUs: 'AAAA' } }),
  );
  const undecodable = await run(['merge', files[0] ?? '', broken]);
  assert.equal(undecodable.code, 2);
  assert.match(undecodable.stderr, /histograms\.latencyUs is not an encoded HDR histogram/);
  const again = await run(['merge', mergedFile]);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /already a merged result/);
});

test('scenario blocks: churn adds up exactly, slow consumers are left out with the reason', async () => {
  const url = await startServer(1000);
  const startAt = Date.now() + 8000;
  const { files, runs } = await shards(
    url,
    2,
    startAt,
    () => ['-c', '8', '-d', '2', '--churn-rate', '4', '--slow-share', '0.25'],
    500,
  );
  for (const r of runs) assert.equal(r.code, 0, r.stderr);
  const rs = await Promise.all(files.map(readResult));
  for (const r of rs) {
    assert.ok(r.churn && r.slowConsumers, 'every shard churned and had slow consumers');
    assert.ok(r.churn.closed > 0, JSON.stringify(r.churn));
  }
  const m = await run(['merge', ...files, '-q']);
  assert.equal(m.code, 0, m.stderr);
  const merged = JSON.parse(m.stdout) as Result;
  assert.deepEqual(validate(merged, schema), []);
  const sum = (f: (c: NonNullable<Result['churn']>) => number) =>
    rs.reduce((a, r) => a + (r.churn ? f(r.churn) : 0), 0);
  assert.deepEqual(merged.churn, {
    ratePerSec: 8,
    closed: sum((c) => c.closed),
    reopened: sum((c) => c.reopened),
    failedReopens: sum((c) => c.failedReopens),
  });
  assert.equal(merged.slowConsumers, undefined);
  const mm = merged.merge;
  assert.ok(mm);
  assert.deepEqual(
    mm.notMerged.map((n) => n.field),
    ['timeline', 'slowConsumers'],
  );
  assert.match(mm.notMerged[1]?.reason ?? '', /percentiles only \(no histogram\)/);
  // One shard's churn alone is not the run's: left out too, naming the shard.
  const other = join(dir, 'no-churn.json');
  await writeFile(other, JSON.stringify({ ...rs[1], churn: null }));
  const part = await run(['merge', files[0] ?? '', other, '-q']);
  assert.equal(part.code, 0, part.stderr);
  const partial = JSON.parse(part.stdout) as Result;
  assert.equal(partial.churn, undefined);
  assert.match(
    partial.merge?.notMerged.find((n) => n.field === 'churn')?.reason ?? '',
    /only shard\(s\) 1 of those given ran with --churn-rate/,
  );
});

test('shards of different configurations are refused, naming the field that differs', async () => {
  const url = await startServer(500);
  const startAt = Date.now() + 7000;
  const { files, runs } = await shards(
    url,
    2,
    startAt,
    (i) => ['-c', '2', '-d', i === 1 ? '1' : '1.5'],
    0,
  );
  for (const r of runs) assert.equal(r.code, 0, r.stderr);
  const m = await run(['merge', ...files]);
  assert.equal(m.code, 2, m.stderr);
  assert.match(m.stderr, /in config\.duration: 1 vs 1\.5 \(results of different runs/);
});

test('bad --shard and --start-at values are quoted with what is allowed (exit 2)', async () => {
  const future = String(Date.now() + 60_000);
  const cases: [string[], RegExp][] = [
    [
      ['--shard', '0/3', '--start-at', future],
      /invalid --shard "0\/3": expected I\/N with 1 <= I <= N <= 1024/,
    ],
    [['--shard', '4/3', '--start-at', future], /invalid --shard "4\/3": expected I\/N/],
    [['--shard', 'two', '--start-at', future], /invalid --shard "two": expected I\/N/],
    [
      ['--shard', '3/3', '-c', '2', '--start-at', future],
      /--shard 3\/3 with --clients 2: every shard needs at least one connection/,
    ],
    [['--shard', '2/3'], /--shard 2\/3 needs --start-at/],
    [['--start-at', '1764756000'], /invalid --start-at "1764756000": expected epoch milliseconds/],
    [['--start-at', '1000000000000'], /window ended .* ago/],
  ];
  for (const [args, re] of cases) {
    const r = await run(['-u', 'ws://127.0.0.1:9/', ...args]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re, args.join(' '));
  }
  const none = await run(['merge']);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /no result files given/);
});

test('with --shard every client series carries shard="I" (Prometheus sums over shards)', async () => {
  const url = await startServer(500);
  const child = spawn(
    process.execPath,
    [MAIN, '-u', url, '-c', '3', '-W', '1', '-w', '0.5', '-d', '3', '-q', '-M', '0'].concat([
      '--shard',
      '2/2',
      '--start-at',
      String(Date.now() + 4000),
    ]),
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.push(child);
  const exited = new Promise<number | null>((r) => child.on('close', r));
  const port = await new Promise<number>((resolve, reject) => {
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      err += d;
      const m = /"event":"metrics","port":(\d+)/.exec(err);
      if (m) resolve(Number(m[1]));
    });
    void exited.then(() => {
      reject(new Error(`client exited before serving metrics: ${err}`));
    });
  });
  const text = await (await fetch(`http://127.0.0.1:${String(port)}/metrics`)).text();
  assert.match(text, /^wsbench_client_messages_received_total\{[^}]*shard="2"[^}]*\} /m);
  assert.match(text, /^wsbench_client_connections\{[^}]*shard="2"/m);
  assert.equal(await exited, 0);
});
