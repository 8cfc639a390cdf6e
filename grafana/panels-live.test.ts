// The real check for the dashboards, since Grafana itself cannot run here: Debian's prometheus
// scrapes real servers in every mode and real client-bench runs every second; each panel query
// of every dashboard, with the dashboard variables substituted as Grafana would, must return at
// least one series with a finite value, for each mode. A panel that would show "No data" fails.
// The recording rules and the variable queries are checked the same way.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { requireTool } from '../testkit/require-tool.js';
import {
  activeTargets,
  instantQuery,
  labelValues,
  loadPrometheusLocal,
  loadedRules,
  repoRoot,
} from '../prometheus/local.js';
import { isObject, panelQueries } from './model.js';

const MODES = ['ws-naive', 'ws', 'uws'] as const;
const SCRAPE = 1; // seconds, as in prometheus/prometheus.yml
// What Grafana substitutes at the finest zoom with datasource timeInterval "1s":
// $__rate_interval = max($__interval + scrape, 4 x scrape) = 4s.
const RATE_INTERVAL = `${4 * SCRAPE}s`;
const CLIENTS = 4;
const RATE = 2000;
const CLIENT_SECONDS = 45;
const SHARDED_MODE = 'uws';
const SHARDS = 2; // stopped by the test once the queries ran; bounds the run if it hangs
const root = repoRoot();

/** Dashboard variables replaced the way Grafana does for one selected mode, run and shard
 * (the default `.*` is the variable's All). */
export function substitute(expr: string, mode: string, runId: string, shard = '.*'): string {
  return expr
    .replaceAll('$__rate_interval', RATE_INTERVAL)
    .replaceAll('$__interval', `${SCRAPE}s`)
    .replaceAll('$__range', '1m')
    .replaceAll('$run_id', runId)
    .replaceAll('$shard', shard)
    .replaceAll('$mode', mode);
}

type JsonLine = Record<string, unknown>;

/** The first JSON-object line on a stream for which `want` holds. */
function firstJsonLine(
  stream: NodeJS.ReadableStream,
  want: (o: JsonLine) => boolean,
  what: string,
): Promise<JsonLine> {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: stream });
    const timer = setTimeout(() => {
      reject(new Error(`timed out waiting for ${what}`));
    }, 20_000);
    rl.on('line', (line) => {
      if (!line.startsWith('{')) return;
      try {
        const o: unknown = JSON.parse(line);
        if (isObject(o) && want(o)) {
          clearTimeout(timer);
          resolve(o);
        }
      } catch {
        // a human line that happens to start with '{'
      }
    });
    rl.on('close', () => {
      reject(new Error(`stream closed before ${what}`));
    });
  });
}

/** Keeps the last few KB a child wrote to a stream, for error messages. */
function keepTail(stream: NodeJS.ReadableStream): () => string {
  let tail = '';
  stream.on('data', (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-2000);
  });
  return () => tail.trim();
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => {
    child.kill('SIGKILL');
  }, 6000);
  await exited;
  clearTimeout(timer);
}

test('every dashboard panel and recording rule returns data from a real Prometheus, for each mode', async (t) => {
  if (!requireTool(t, 'prometheus')) return;
  const serverMain = join(root, 'dist', 'server', 'main.js');
  const clientMain = join(root, 'dist', 'client-bench', 'main.js');
  assert.ok(existsSync(serverMain) && existsSync(clientMain), 'build first: npx tsc -p .');

  const children: ChildProcess[] = [];
  t.after(async () => {
    await Promise.all(children.map(stop));
  });
  const dir = mkdtempSync(join(tmpdir(), 'wsbench-live-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  // Three servers and three clients at a modest rate: this checks wiring, not speed.
  const runs = await Promise.all(
    MODES.map(async (mode) => {
      const server = spawn(
        process.execPath,
        [serverMain, '--mode', mode, '--port', '0', '--rate', String(RATE)],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      children.push(server);
      const serverLog = keepTail(server.stderr);
      const ready = await firstJsonLine(
        server.stdout,
        (o) => o.event === 'listening',
        `${mode} ready line`,
      ).catch((err: unknown) => {
        throw new Error(`${String(err)}; server stderr:\n${serverLog()}`);
      });
      const runId = `live-${mode}-${process.pid}`;
      // One mode's client runs as SHARDS shards of one run (client-bench --shard I/N), so the
      // shard variable and the per-shard panels are checked against real shard labels.
      const shards = mode === SHARDED_MODE ? SHARDS : 1;
      const startAt = String(Date.now() + 2000);
      const metricsPorts = await Promise.all(
        Array.from({ length: shards }, async (_, i) => {
          const shardArgs =
            shards > 1 ? ['--shard', `${i + 1}/${shards}`, '--start-at', startAt] : [];
          const client = spawn(
            process.execPath,
            [
              clientMain,
              ...['--url', `ws://127.0.0.1:${Number(ready.port)}/`, '--clients', String(CLIENTS)],
              ...['--workers', '1', '--warmup', '1', '--duration', String(CLIENT_SECONDS)],
              ...['--metrics-port', '0', '--run-id', runId, '--quiet', ...shardArgs],
            ],
            { stdio: ['ignore', 'ignore', 'pipe'] },
          );
          children.push(client);
          const clientLog = keepTail(client.stderr);
          const metrics = await firstJsonLine(
            client.stderr,
            (o) => o.event === 'metrics',
            `${mode} client metrics port`,
          ).catch((err: unknown) => {
            throw new Error(`${String(err)}; client stderr:\n${clientLog()}`);
          });
          return Number(metrics.port);
        }),
      );
      return { mode, runId, serverPort: Number(ready.port), metricsPorts };
    }),
  );

  const local = await loadPrometheusLocal();
  const prom = await local.startLocalPrometheus({
    dir,
    targets: {
      server: runs.map((r) => ({ address: `127.0.0.1:${r.serverPort}`, mode: r.mode })),
      client: runs.flatMap((r) =>
        r.metricsPorts.map((port) => ({
          address: `127.0.0.1:${port}`,
          mode: r.mode,
          runId: r.runId,
        })),
      ),
    },
  });
  assert.ok(prom, 'prometheus binary vanished');
  t.after(() => prom.stop());

  // Wait until every target has been scraped often enough for 4 s rates and 10 s rules.
  const deadline = Date.now() + 30_000;
  for (;;) {
    const up = await instantQuery(
      prom.url,
      'count_over_time(up{job=~"wsbench-.*"}[1m]) and up == 1',
    );
    const enough = up.filter((s) => Number(s.value[1]) >= 8).length;
    if (enough === MODES.length + MODES.length - 1 + SHARDS) break;
    if (Date.now() > deadline) {
      const listing: string = JSON.stringify(await activeTargets(prom.url));
      assert.fail(`targets not scraped 8 times within 30 s (${enough} ready): ${listing}`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }

  const report: string[] = [];
  const failures: string[] = [];
  // Runs one query per mode concurrently; records a report line per mode, in mode order.
  const checkModes = async (what: string, exprFor: (run: (typeof runs)[number]) => string) => {
    const results = await Promise.all(runs.map((run) => instantQuery(prom.url, exprFor(run))));
    results.forEach((result, i) => {
      const run = runs[i];
      if (!run) return;
      const { mode } = run;
      const finite = result.filter((s) => Number.isFinite(Number(s.value[1])));
      const foreign = result.filter((s) => s.metric.mode !== undefined && s.metric.mode !== mode);
      const sample = finite[0] ? Number(finite[0].value[1]).toPrecision(4) : '-';
      report.push(
        `${mode.padEnd(8)} ${String(result.length).padStart(2)} series  ${sample.padStart(10)}  ${what}`,
      );
      if (finite.length === 0) failures.push(`${what} [${mode}] -> no data: ${exprFor(run)}`);
      if (foreign.length > 0) {
        failures.push(`${what} [${mode}] -> series of another mode: ${exprFor(run)}`);
      }
    });
  };

  // 1. Every panel query of every dashboard, per mode.
  const dashDir = join(root, 'grafana', 'dashboards');
  let queries = 0;
  const dashboards: unknown[] = [];
  for (const file of readdirSync(dashDir).filter((f) => f.endsWith('.json'))) {
    const dashboard: unknown = JSON.parse(readFileSync(join(dashDir, file), 'utf8'));
    dashboards.push(dashboard);
    for (const q of panelQueries(dashboard)) {
      queries++;
      const expr = q.expr ?? '';
      await checkModes(`${file} #${q.panelId ?? '?'} "${q.title}" ${q.refId ?? '?'}`, (run) =>
        substitute(expr, run.mode, run.runId),
      );
    }
  }
  assert.ok(queries >= 20, `only ${queries} panel queries found`);

  // 2. Every recording rule, per mode.
  const names = (await loadedRules(prom.url)).map((r) => r.name);
  assert.equal(names.length, 12);
  for (const name of names) {
    await checkModes(`rule ${name}`, (run) => `${name}{mode="${run.mode}"}`);
  }

  // 3. The variable queries offer every mode, and every run under its mode.
  const modes = await labelValues(prom.url, 'mode', 'wsbench_server_messages_sent_total');
  assert.deepEqual([...modes].sort(), [...MODES].sort());
  for (const run of runs) {
    const ids = await labelValues(
      prom.url,
      'run_id',
      `wsbench_client_messages_received_total{mode=~"${run.mode}"}`,
    );
    assert.deepEqual(ids, [run.runId]);
  }

  // 4. Shards: the $shard variable lists the sharded run's shards (and none for a one-process
  // run); each per-shard panel shows one series per shard, or only the picked shard; the
  // headline sums over the shards (the per-shard series add up to it).
  const sharded = runs.find((r) => r.mode === SHARDED_MODE);
  assert.ok(sharded);
  const shardLabels = Array.from({ length: SHARDS }, (_, i) => String(i + 1));
  for (const run of runs) {
    const values = await labelValues(
      prom.url,
      'shard',
      `wsbench_client_messages_received_total{mode=~"${run.mode}", run_id=~"${run.runId}"}`,
    );
    assert.deepEqual(values, run === sharded ? shardLabels : [], `$shard values for ${run.mode}`);
  }
  const perShard = dashboards
    .flatMap((d) => panelQueries(d))
    .filter((q) => /by \([^)]*\bshard\b/.test(q.expr ?? ''));
  assert.ok(perShard.length >= 3, `only ${perShard.length} per-shard queries`);
  for (const q of perShard) {
    const expr = q.expr ?? '';
    const all = await instantQuery(prom.url, substitute(expr, sharded.mode, sharded.runId));
    assert.deepEqual(
      all.map((x) => x.metric.shard).sort(),
      shardLabels,
      `"${q.title}" with $shard = All`,
    );
    const one = await instantQuery(prom.url, substitute(expr, sharded.mode, sharded.runId, '2'));
    assert.deepEqual(
      one.map((x) => x.metric.shard),
      ['2'],
      `"${q.title}" with $shard = 2`,
    );
  }
  const received = (by: string) =>
    `sum by (${by}) (wsbench_client_messages_received_total{job="wsbench-client", mode="${sharded.mode}", run_id="${sharded.runId}"})`;
  const [total] = await instantQuery(prom.url, received('mode, run_id'));
  const parts = await instantQuery(prom.url, received('mode, run_id, shard'));
  assert.equal(parts.length, SHARDS);
  assert.ok(total && Number(total.value[1]) > 0, 'the sharded run received nothing');
  assert.equal(
    parts.reduce((n, x) => n + Number(x.value[1]), 0),
    Number(total.value[1]),
    'the shards do not add up to the run',
  );

  t.diagnostic(`${queries} panel queries x ${MODES.length} modes, ${names.length} rules:`);
  for (const line of report) t.diagnostic(line);
  assert.deepEqual(failures, [], 'queries without data');
});
