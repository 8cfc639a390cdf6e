// make ablation: the configuration list (from a switch table or the mode presets), the alternating
// order, the effects and interactions from hand-made runs, the verdicts, and one tiny real
// ablation (1 s runs) whose report holds the table and a drawn waterfall chart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { requireTool } from '../testkit/require-tool.js';
import { inspectReport, processesMentioning, run, tempDir } from './test-helpers.js';
import {
  ablationConfigs,
  ablationOrder,
  loadSwitchTable,
  type SwitchTable,
} from './lib/ablation-plan.js';
import {
  configRows,
  effects,
  runVerdict,
  type AblationRun,
  type RunVerdict,
} from './lib/ablation-analysis.js';
import type { Figures } from './lib/summary.js';

const TABLE: SwitchTable = {
  source: 'test',
  flag: '--opt',
  engines: { ws: ['pacer', 'serialize-once', 'frame-once'], uws: ['pubsub'] },
};

test('with a switch table: baseline, each alone, leave-one-out, all, the other library', () => {
  const configs = ablationConfigs('ws', TABLE);
  assert.deepEqual(
    configs.map((c) => c.name),
    [
      'baseline',
      '+pacer',
      '+serialize-once',
      '+frame-once',
      'all-pacer',
      'all-serialize-once',
      'all-frame-once',
      'all',
      'uws-none',
      'uws',
    ],
  );
  const byName = new Map(configs.map((c) => [c.name, c]));
  assert.deepEqual(byName.get('baseline')?.serverArgs, ['--opt', 'none']);
  assert.deepEqual(byName.get('all-pacer')?.serverArgs, ['--opt', 'serialize-once,frame-once']);
  assert.deepEqual(byName.get('uws')?.serverArgs, ['--opt', 'pubsub']);
  assert.equal(byName.get('uws')?.mode, 'uws');
  assert.deepEqual(byName.get('uws-none')?.serverArgs, ['--opt', 'none']);
  assert.equal(byName.get('uws-none')?.kind, 'library');
});

test('MODE=uws with the server’s own table: its switches, then ws naive and ws full', async () => {
  const table = await loadSwitchTable();
  assert.ok(table !== null, 'dist/server/opts.js exports OPTIMISATIONS');
  assert.deepEqual(table.engines.uws, ['pacer', 'serialize-once', 'pubsub', 'cork']);
  const configs = ablationConfigs('uws', table);
  assert.deepEqual(
    configs.map((c) => `${c.name}:${c.mode}:${c.serverArgs.join(' ')}`),
    [
      'baseline:uws:--opt none',
      '+pacer:uws:--opt pacer',
      '+serialize-once:uws:--opt serialize-once',
      '+pubsub:uws:--opt pubsub',
      '+cork:uws:--opt cork',
      'all-pacer:uws:--opt serialize-once,pubsub,cork',
      'all-serialize-once:uws:--opt pacer,pubsub,cork',
      'all-pubsub:uws:--opt pacer,serialize-once,cork',
      'all-cork:uws:--opt pacer,serialize-once,pubsub',
      'all:uws:--opt pacer,serialize-once,pubsub,cork',
      'ws-none:ws:--opt none',
      'ws:ws:--opt pacer,serialize-once,frame-once,batch,nodelay',
    ],
  );
  // MODE=ws ends with the uws library swap alone and combined.
  assert.deepEqual(
    ablationConfigs('ws', table)
      .slice(-2)
      .map((c) => `${c.name}:${c.mode}:${c.serverArgs.join(' ')}`),
    ['uws-none:uws:--opt none', 'uws:uws:--opt pacer,serialize-once,pubsub,cork'],
  );
});

test('without a switch table the configurations are the mode presets', () => {
  const configs = ablationConfigs('ws', null);
  assert.deepEqual(
    configs.map((c) => `${c.name}:${c.kind}`),
    ['ws-naive:baseline', 'ws:all', 'uws:library'],
  );
  assert.ok(configs.every((c) => c.serverArgs.length === 0));
});

test('the switch table is read from dist/server/opts.js when the server has one', async (t) => {
  const tmp = await tempDir('wsbench-opts-');
  t.after(tmp.remove);
  assert.equal(await loadSwitchTable(tmp.dir), null);
  mkdirSync(path.join(tmp.dir, 'dist/server'), { recursive: true });
  writeFileSync(
    path.join(tmp.dir, 'dist/server/opts.js'),
    "export const OPTIMISATIONS = { ws: ['pacer', 'nodelay'], bogus: ['x'] };\n",
  );
  const table = await loadSwitchTable(tmp.dir);
  assert.ok(table !== null);
  assert.deepEqual(table.engines, { ws: ['pacer', 'nodelay'] });
  assert.equal(table.flag, '--opt');
});

test('the order alternates over the repeats', () => {
  const order = ablationOrder(ablationConfigs('ws', null), 3).map(
    (o) => `${o.config.name}${o.repeat}`,
  );
  assert.deepEqual(order, [
    'ws-naive0',
    'ws0',
    'uws0',
    'uws1',
    'ws1',
    'ws-naive1',
    'ws-naive2',
    'ws2',
    'uws2',
  ]);
});

function fig(msgsPerSec: number, over: Partial<Figures> = {}): Figures {
  return {
    msgsPerSec,
    latencyUs: { p99: 1000 },
    clientBound: false,
    serverCpuCores: 1,
    cpuUsPerMsg: 1e6 / msgsPerSec,
    ...over,
  };
}

function runs(
  values: Record<string, number[]>,
  verdict: RunVerdict = 'server-bound',
): AblationRun[] {
  return Object.entries(values).flatMap(([config, list]) =>
    list.map((v, repeat) => ({ config, repeat, dir: '', figures: fig(v), verdict, why: '' })),
  );
}

test('effects: alone vs marginal, an interaction only where the ranges do not overlap', () => {
  const configs = ablationConfigs('ws', TABLE);
  const rows = configRows(
    configs,
    runs({
      baseline: [100, 105, 95],
      '+pacer': [200, 210, 190], // 2x alone
      '+serialize-once': [150, 155, 145],
      '+frame-once': [120, 125, 115],
      'all-pacer': [400, 410, 390], // all/all-pacer ≈ 1.0: pacer adds nothing on top -> interaction
      'all-serialize-once': [260, 270, 250], // ≈ 1.54: like alone (1.5) -> no interaction
      'all-frame-once': [330, 340, 320],
      all: [400, 405, 395],
      uws: [800, 810, 790],
    }),
  );
  const base = rows.find((r) => r.config.name === 'baseline');
  assert.equal(base?.ratio, 1);
  assert.equal(rows.find((r) => r.config.name === 'all')?.ratio, 4);
  const e = new Map(effects(rows).map((x) => [x.opt, x]));
  assert.equal(e.get('pacer')?.alone.median, 2);
  assert.equal(e.get('pacer')?.marginal.median, 1);
  assert.equal(e.get('pacer')?.interaction, true);
  assert.equal(e.get('serialize-once')?.interaction, false);
  assert.ok(e.get('pacer')?.conclusive);
});

test('a client-bound run makes its configuration and every effect built on it not conclusive', () => {
  const configs = ablationConfigs('ws', null);
  const list = [...runs({ 'ws-naive': [100], uws: [500] }), ...runs({ ws: [400] }, 'client-bound')];
  const rows = configRows(configs, list);
  const ws = rows.find((r) => r.config.name === 'ws');
  assert.ok(ws !== undefined);
  assert.equal(ws.conclusive, false);
  assert.match(ws.verdict, /not conclusive: client-bound \(1\/1\)/);
  assert.equal(rows.find((r) => r.config.name === 'uws')?.conclusive, true);
});

test('run verdicts: client-bound, server-bound, schedule-bound, kernel-bound, aborted', () => {
  const r = (over: Record<string, unknown>): Parameters<typeof runVerdict>[0] => ({
    throughput: { msgsPerSec: 1000 },
    delivery: { received: 10, expected: 20, gaps: 10 },
    client: { clientBound: false },
    server: { cpuCores: 0.5 },
    resources: { machine: { cpus: 2, idleCores: 0.8, systemCores: 0.5, softirqCores: 0.1 } },
    bench: { config: { rate: 0 } },
    ...over,
  });
  assert.equal(runVerdict(r({ client: { clientBound: true } })).verdict, 'client-bound');
  assert.equal(runVerdict(r({ server: { cpuCores: 0.97 } })).verdict, 'server-bound');
  assert.equal(
    runVerdict(r({ resources: { machine: { cpus: 2, idleCores: 0.05 } } })).verdict,
    'schedule-bound',
  );
  assert.equal(runVerdict(r({})).verdict, 'kernel-bound');
  assert.equal(runVerdict(r({ aborted: { reason: 'server died' } })).verdict, 'aborted');
});

test('a tiny real ablation (presets, 2 repeats, 1 s runs): table, alternating runs, waterfall drawn', async (t) => {
  const tmp = await tempDir('wsbench-ablation-');
  t.after(tmp.remove);
  const res = await run(
    'node',
    [
      'dist/scripts/ablation.js',
      '--plan',
      'presets',
      '--duration',
      '1',
      '--warmup',
      '0',
      '--repeats',
      '2',
    ],
    { RESULTS_DIR: tmp.dir, MODE: 'ws' },
    180_000,
  );
  assert.equal(res.code, 0, res.stderr);
  assert.match(
    res.stderr,
    /\| configuration \| msg\/s median \(min–max\) \| × baseline \| server CPU µs\/msg \| p99 \| verdict \|/,
  );
  assert.match(res.stderr, /\| ws-naive \| [\d.]+[kM]? \([\d.]+[kM]?–[\d.]+[kM]?\) \| 1\.00x \|/);
  const out = JSON.parse(
    res.stdout
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .pop() ?? '{}',
  ) as { dir: string; reportHtml: string };
  const index = JSON.parse(readFileSync(path.join(out.dir, 'ablation.json'), 'utf8')) as {
    runs: { config: string; exitCode: number; dir: string }[];
  };
  assert.deepEqual(
    index.runs.map((r) => `${r.config}:${r.exitCode}`),
    ['ws-naive:0', 'ws:0', 'uws:0', 'uws:0', 'ws:0', 'ws-naive:0'],
  );
  for (const r of index.runs)
    assert.ok(readFileSync(path.join(out.dir, r.dir, 'result.json'), 'utf8').length > 0);
  assert.deepEqual(processesMentioning(tmp.dir), [], 'no process left behind');
  const chromium = requireTool(t, 'chromium');
  if (chromium === null) return;
  const page = await inspectReport(chromium, out.reportHtml);
  assert.deepEqual(page.errors, []);
  assert.deepEqual(page.requests, []);
  const wf = page.charts.find((c) => c.canvasId === 'chart-waterfall');
  assert.ok(wf !== undefined, 'the waterfall chart is on the page');
  assert.equal(wf.points, 3, 'baseline, all, the other library');
  assert.ok(wf.paintedPixels > 0);
});

test('a bad SCENARIO exits 2 with the value quoted and the allowed names', async () => {
  const bad = await run('node', ['dist/scripts/ablation.js'], { SCENARIO: 'nope' }, 20_000);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /invalid SCENARIO .*"nope".*firehose, fanout, capacity/);
});

test('SCENARIO=capacity: one capacity search per configuration, its best rate in the table', async (t) => {
  const tmp = await tempDir('wsbench-ablation-cap-');
  t.after(tmp.remove);
  const res = await run(
    'node',
    // prettier-ignore
    ['dist/scripts/ablation.js', '--plan', 'presets', '--scenario', 'capacity', '--capacity-budget', '6', '--duration', '1',
      '--warmup', '0', '--repeats', '1', '--clients', '2', '--slo-p99-ms', '1000'],
    { RESULTS_DIR: tmp.dir, MODE: 'ws' },
    240_000,
  );
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stderr, /\[ablation\] 01-ws-naive-r1: capacity [\d.]+[kM]? deliveries\/s/);
  assert.match(res.stderr, /\| ws-naive \| [\d.]+[kM]? \(/, 'the best passing rate is the figure');
  assert.deepEqual(processesMentioning(tmp.dir), []);
});
