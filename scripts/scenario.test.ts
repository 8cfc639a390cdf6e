// The hostile-client scenarios through the Makefile, tiny, each one client-bench doing the
// scenario with its own flags: a reconnect storm (every connection back and receiving, the times in
// result.json), slow consumers in make compare (a reference run and a run with slow consumers among
// the healthy clients, the server's counters read), churn (connections closed and reopened during
// the broadcast, no gaps); plus the plans.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { processesMentioning, run, tempDir } from './test-helpers.js';
import { hostilePlan, slowCount, type HostileSettings } from './scenarios/hostile.js';
import type { ScenarioIndex } from './scenario.js';

const S: HostileSettings = {
  clients: 20,
  duration: 10,
  slowShare: 0.1,
  slowReadBps: 2000,
  stormClients: 1000,
  churnRate: 20,
  sloP99Ms: 50,
};

test('slow-consumers: 10 % of CLIENTS read slowly in client-bench, the reference has the healthy ones alone', () => {
  const w = hostilePlan('slow-consumers', S);
  assert.equal(w.clients, 20);
  assert.equal(w.healthyClients, 18);
  assert.deepEqual(w.clientArgs, ['--slow-share', '0.1', '--slow-read-rate', '2000']);
  const ref = hostilePlan('slow-consumers', S, true);
  assert.equal(ref.clients, 18);
  assert.deepEqual(ref.clientArgs, []);
  assert.deepEqual(ref.serverArgs, w.serverArgs, 'the same server in both runs');
  // below one connection's share, one slow consumer all the same
  const few = hostilePlan('slow-consumers', { ...S, clients: 5 });
  const share = Number(few.clientArgs[1]);
  assert.equal(slowCount(5, share), 1);
  assert.equal(few.healthyClients, 4);
  const storm = hostilePlan('reconnect-storm', S);
  assert.equal(storm.clients, 1000);
  assert.deepEqual(storm.clientArgs.slice(0, 4), ['--reconnect-at', '2.5', '--slo-p99-ms', '50']);
  assert.deepEqual(hostilePlan('churn', S).clientArgs, ['--churn-rate', '20']);
});

interface Ran {
  idx: ScenarioIndex;
  /** each run's result.json, in the order of idx.runs */
  results: Record<string, unknown>[];
  /** each run directory's files */
  files: string[][];
}

async function scenario(target: string[], env: Record<string, string>): Promise<Ran> {
  const tmp = await tempDir('wsbench-scenario-');
  try {
    const res = await run(
      'make',
      ['--no-print-directory', '-o', 'build', '-o', 'install', ...target],
      { RESULTS_DIR: tmp.dir, PROMETHEUS: '0', ...env },
      180_000,
    );
    assert.equal(res.code, 0, res.stderr);
    const out = JSON.parse(
      res.stdout
        .trim()
        .split('\n')
        .filter((l) => l.startsWith('{"event":"scenario"'))
        .pop() ?? '{}',
    ) as { scenario: string };
    assert.deepEqual(processesMentioning(tmp.dir), []);
    const idx = JSON.parse(readFileSync(out.scenario, 'utf8')) as ScenarioIndex;
    const dirs = idx.runs.map((r) => path.join(path.dirname(out.scenario), r.dir));
    return {
      idx,
      results: dirs.map(
        (d) =>
          JSON.parse(readFileSync(path.join(d, 'result.json'), 'utf8')) as Record<string, unknown>,
      ),
      files: dirs.map((d) => readdirSync(d)),
    };
  } finally {
    await tmp.remove();
  }
}

test('make bench SCENARIO=reconnect-storm: one client-bench drops every connection, all back, times measured', async () => {
  const { idx, results, files } = await scenario(['bench'], {
    SCENARIO: 'reconnect-storm',
    MODE: 'uws',
    STORM_CLIENTS: '60',
    DURATION: '5',
    WARMUP: '1',
    SCENARIO_RATE: '200',
    RUNTIME: 'native',
  });
  assert.equal(idx.runs.length, 1);
  const r = idx.runs[0]?.reconnect;
  assert.ok(r !== null && r !== undefined, 'result.json has the reconnect block');
  assert.deepEqual(results[0]?.reconnect, r, 'scenario.json quotes result.json');
  assert.equal(r.atSec, 1.25);
  assert.equal(r.dropped, 60);
  assert.equal(r.reopened, 60);
  assert.equal(r.receiving, 60);
  assert.ok(r.allOpenSec !== null && r.allOpenSec >= 0, JSON.stringify(r));
  assert.ok(r.allReceivingSec !== null && r.allReceivingSec >= r.allOpenSec, JSON.stringify(r));
  assert.equal(r.sloP99Ms, idx.settings.sloP99Ms, "the run's SLO (make's SLO_P99_MS)");
  const run0 = idx.runs[0];
  assert.ok(run0 !== undefined);
  assert.equal(run0.healthy.clients, 60);
  assert.ok((run0.healthy.msgsPerSec ?? 0) > 0, 'the clients kept receiving');
  assert.equal(run0.healthy.gaps, 0, 'a reopened socket is a new seq baseline');
  assert.ok(files[0]?.includes('client.log'));
  assert.ok(!files[0]?.some((f) => f.startsWith('crowd')), 'no second client process');
});

test('make compare SCENARIOS=slow-consumers: reference and with-slow runs per mode, drops counted', async () => {
  const { idx, results } = await scenario(['compare'], {
    SCENARIOS: 'slow-consumers',
    MODES: 'ws',
    REPEATS: '1',
    CLIENTS: '10',
    DURATION: '3',
    WARMUP: '1',
    SCENARIO_RATE: '500',
  });
  assert.deepEqual(
    idx.runs.map((r) => `${r.mode}:${r.variant}:${String(r.healthy.clients)}`),
    ['ws:reference:9', 'ws:with:9'],
  );
  const ref = idx.runs[0];
  const w = idx.runs[1];
  assert.ok(ref !== undefined && w !== undefined);
  assert.equal(ref.slowConsumers, null, 'the reference has no slow consumers');
  assert.equal((results[0]?.config as { clients: number }).clients, 9);
  const slow = w.slowConsumers;
  assert.ok(slow !== null, 'result.json has the slowConsumers block');
  const wResult = results[1];
  assert.ok(wResult !== undefined);
  assert.deepEqual(wResult.slowConsumers, slow);
  assert.equal(slow.connections, 1);
  assert.equal(slow.readBytesPerSec, 2000);
  assert.equal(
    (wResult.perConnection as { received: number[] }).received.length,
    9,
    'the top-level figures are the healthy connections alone',
  );
  assert.equal(
    typeof w.server?.droppedBackpressure,
    'number',
    "the server's drop counter was read",
  );
  assert.equal(typeof w.serverWindow?.droppedBackpressure, 'number');
  assert.equal(ref.healthy.gaps, 0);
  assert.equal(w.healthy.gaps, 0, 'the healthy clients lost nothing');
});

test('make bench SCENARIO=churn: connections close and reopen during the broadcast, no gaps', async () => {
  const { idx, results } = await scenario(['bench'], {
    SCENARIO: 'churn',
    MODE: 'ws',
    CLIENTS: '4',
    CHURN_RATE: '10',
    DURATION: '3',
    WARMUP: '1',
    SCENARIO_RATE: '200',
    RUNTIME: 'native',
  });
  const churn = idx.runs[0]?.churn;
  assert.ok(churn !== null && churn !== undefined, 'result.json has the churn block');
  assert.equal(churn.ratePerSec, 10);
  assert.equal(churn.closed, (results[0]?.churn as { closed: number }).closed);
  // 10/s over 3 s: about 30; a fifth of that on a loaded machine
  assert.ok(churn.closed >= 6, `closed ${String(churn.closed)}`);
  assert.ok(churn.reopened >= 3, `reopened ${String(churn.reopened)}`);
  assert.ok(churn.closedPerSec > 0 && churn.closedPerSec <= 12, JSON.stringify(churn));
  assert.equal(idx.runs[0]?.healthy.gaps, 0, 'the clients lost nothing');
});
