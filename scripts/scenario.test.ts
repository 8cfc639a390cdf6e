// The hostile-client scenarios through the Makefile, tiny: a reconnect storm (every crowd client
// back and receiving), slow consumers in make compare (a reference run and a run with the slow
// readers, the server's counters read), churn (connections opened and closed while client-bench
// counts no gaps); plus the plans.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { processesMentioning, run, tempDir } from './test-helpers.js';
import { crowdPlan, type CrowdSettings } from './lib/scenario-crowd.js';
import type { ScenarioIndex } from './scenario.js';

const S: CrowdSettings = {
  clients: 20,
  duration: 10,
  warmup: 2,
  slowShare: 0.1,
  slowReadBps: 2000,
  stormClients: 1000,
  churnRate: 20,
  churnLifetimeSec: 2,
  sloP99Ms: 50,
};

test('slow-consumers: 10 % of CLIENTS read slowly, the reference run has no crowd', () => {
  const w = crowdPlan('slow-consumers', S);
  assert.equal(w.benchClients, 18);
  assert.deepEqual(w.crowdArgs?.slice(0, 3), ['slow', '--clients', '2']);
  const ref = crowdPlan('slow-consumers', S, true);
  assert.equal(ref.crowdArgs, null);
  assert.deepEqual(ref.serverArgs, w.serverArgs, 'the same server in both runs');
  assert.deepEqual(crowdPlan('reconnect-storm', S).crowdArgs?.slice(0, 3), [
    'storm',
    '--clients',
    '1000',
  ]);
});

async function scenario(target: string[], env: Record<string, string>): Promise<ScenarioIndex> {
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
    return JSON.parse(readFileSync(out.scenario, 'utf8')) as ScenarioIndex;
  } finally {
    await tmp.remove();
  }
}

test('make bench SCENARIO=reconnect-storm: every client back, times measured', async () => {
  const idx = await scenario(['bench'], {
    SCENARIO: 'reconnect-storm',
    MODE: 'uws',
    CLIENTS: '2',
    STORM_CLIENTS: '60',
    DURATION: '4',
    WARMUP: '1',
    SCENARIO_RATE: '200',
    RUNTIME: 'native',
  });
  assert.equal(idx.runs.length, 1);
  const storm = idx.runs[0]?.crowd?.storm as
    | {
        clients: number;
        resubscribed: number;
        allResubscribedMs: number | null;
        firstTickMs: { max: number | null };
      }
    | undefined;
  assert.ok(storm !== undefined, 'the crowd reported');
  assert.equal(storm.resubscribed, 60);
  assert.ok(typeof storm.allResubscribedMs === 'number' && storm.allResubscribedMs > 0);
  assert.ok(typeof storm.firstTickMs.max === 'number');
  assert.ok((idx.runs[0]?.healthy.msgsPerSec ?? 0) > 0, 'the observers kept receiving');
});

test('make compare SCENARIOS=slow-consumers: reference and with-slow runs per mode, drops counted', async () => {
  const idx = await scenario(['compare'], {
    SCENARIOS: 'slow-consumers',
    MODES: 'ws',
    REPEATS: '1',
    CLIENTS: '10',
    DURATION: '3',
    WARMUP: '1',
    SCENARIO_RATE: '500',
  });
  assert.deepEqual(
    idx.runs.map((r) => `${r.mode}:${r.variant}`),
    ['ws:reference', 'ws:with'],
  );
  const w = idx.runs[1];
  assert.equal((w?.crowd?.slow as { clients: number } | undefined)?.clients, 1);
  assert.equal(
    typeof w?.server?.droppedBackpressure,
    'number',
    "the server's drop counter was read",
  );
  assert.equal(idx.runs[0]?.healthy.gaps, 0);
});

test('make bench SCENARIO=churn: connections open and close during the broadcast, no gaps', async () => {
  const idx = await scenario(['bench'], {
    SCENARIO: 'churn',
    MODE: 'ws',
    CLIENTS: '4',
    CHURN_RATE: '10',
    CHURN_LIFETIME: '1',
    DURATION: '3',
    WARMUP: '1',
    SCENARIO_RATE: '200',
    RUNTIME: 'native',
  });
  const churn = idx.runs[0]?.crowd?.churn as { opened: number; closedCleanly: number } | undefined;
  assert.ok(churn !== undefined);
  assert.ok(churn.opened >= 10, `opened ${churn.opened}`);
  assert.ok(churn.closedCleanly >= 5, `closed ${churn.closedCleanly}`);
  assert.equal(idx.runs[0]?.healthy.gaps, 0, 'the steady clients lost nothing');
});
