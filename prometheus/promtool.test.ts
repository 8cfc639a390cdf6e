// The Prometheus side without the wsbench processes: promtool accepts the Docker config and the
// generated native config, the recording rules compute what prometheus/wsbench.rules.test.yml
// says, and scripts/prometheus-local.ts starts and stops a real prometheus.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { requireTool } from '../testkit/require-tool.js';
import { activeTargets, loadPrometheusLocal, loadedRules, repoRoot } from './local.js';

const root = repoRoot();
const promDir = join(root, 'prometheus');

function promtool(bin: string, args: string[], cwd = promDir) {
  const r = spawnSync(bin, args, { cwd, encoding: 'utf8' });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'wsbench-promtest-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

test('promtool check config accepts prometheus/prometheus.yml and its rule file', (t) => {
  const bin = requireTool(t, 'promtool');
  if (!bin) return;
  const r = promtool(bin, ['check', 'config', 'prometheus.yml']);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /SUCCESS: 1 rule files found/);
  assert.match(r.out, /SUCCESS: 12 rules found/);
});

test('promtool test rules: recording rules give the expected rates and quantiles', (t) => {
  const bin = requireTool(t, 'promtool');
  if (!bin) return;
  const r = promtool(bin, ['test', 'rules', 'wsbench.rules.test.yml']);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /SUCCESS/);
});

test('promtool test rules fails when an expectation is wrong (the rule test can fail)', (t) => {
  const bin = requireTool(t, 'promtool');
  if (!bin) return;
  const dir = tempDir(t);
  const original = readFileSync(join(promDir, 'wsbench.rules.test.yml'), 'utf8');
  const wrong = original
    .replace('value: 1500', 'value: 1501')
    .replace('- wsbench.rules.yml', `- ${JSON.stringify(join(promDir, 'wsbench.rules.yml'))}`);
  assert.notEqual(wrong, original);
  writeFileSync(join(dir, 'wrong.test.yml'), wrong);
  const r = promtool(bin, ['test', 'rules', 'wrong.test.yml'], dir);
  assert.notEqual(r.code, 0, r.out);
  assert.match(r.out, /exp:.*1\.501E\+03/);
});

test('the generated native config passes promtool and mirrors the Docker config', async (t) => {
  const bin = requireTool(t, 'promtool');
  if (!bin) return;
  const local = await loadPrometheusLocal();
  const dir = tempDir(t);
  const text = local.renderLocalConfig({
    targets: {
      server: ['127.0.0.1:8080', { address: '127.0.0.1:8081', mode: 'ws' }],
      client: ['127.0.0.1:9464'],
    },
    mode: 'uws',
    runId: 'run "quoted"',
  });
  const file = join(dir, 'prometheus.yml');
  writeFileSync(file, text);
  const r = promtool(bin, ['check', 'config', file], dir);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /SUCCESS: 12 rules found/);

  // Same jobs and intervals as the Docker file.
  const docker = readFileSync(join(promDir, 'prometheus.yml'), 'utf8');
  const values = (s: string, key: string) =>
    [...s.matchAll(new RegExp(`^\\s*-?\\s*${key}:\\s*"?([^"\\n]+?)"?\\s*$`, 'gm'))].map(
      (m) => m[1] ?? '',
    );
  for (const key of ['job_name', 'scrape_interval', 'scrape_timeout', 'evaluation_interval']) {
    assert.deepEqual(values(text, key), values(docker, key), key);
  }
  assert.match(text, /targets: \["127\.0\.0\.1:8080"\]\n\s+labels: \{ mode: "uws" \}/);
  assert.match(text, /targets: \["127\.0\.0\.1:8081"\]\n\s+labels: \{ mode: "ws" \}/);
  assert.match(text, /labels: \{ mode: "uws", run_id: "run \\"quoted\\"" \}/);
});

test('startLocalPrometheus returns null without a prometheus binary', async () => {
  const local = await loadPrometheusLocal();
  const savedPath = process.env.PATH;
  process.env.PATH = '/nonexistent';
  try {
    const r = await local.startLocalPrometheus({ dir: '/tmp/unused', targets: { server: [] } });
    assert.equal(r, null);
  } finally {
    process.env.PATH = savedPath;
  }
});

test('startLocalPrometheus rejects a bad target, quoting it', async () => {
  const local = await loadPrometheusLocal();
  await assert.rejects(
    local.startLocalPrometheus({
      dir: '/tmp/unused',
      targets: { server: ['http://127.0.0.1:80/metrics'] },
      bin: '/bin/true',
    }),
    /invalid server target "http:\/\/127\.0\.0\.1:80\/metrics"/,
  );
});

test('startLocalPrometheus: ready on a free port, rules loaded, labelled targets, stop() ends it', async (t) => {
  if (!requireTool(t, 'prometheus')) return;
  const local = await loadPrometheusLocal();
  const dir = tempDir(t);
  const prom = await local.startLocalPrometheus({
    dir,
    targets: { server: ['127.0.0.1:9'], client: ['127.0.0.1:9'] },
    mode: 'ws-naive',
    runId: 'r1',
  });
  assert.ok(prom);
  t.after(() => prom.stop());
  assert.notEqual(prom.port, 0);
  assert.equal((await fetch(`${prom.url}/-/ready`)).status, 200);

  const groups = [...new Set((await loadedRules(prom.url)).map((r) => r.group))].sort();
  assert.deepEqual(groups, ['wsbench-latency', 'wsbench-resources', 'wsbench-throughput']);

  // Targets appear after the first discovery cycle.
  let active: Awaited<ReturnType<typeof activeTargets>> = [];
  for (let i = 0; i < 50 && active.length < 2; i++) {
    active = await activeTargets(prom.url);
    if (active.length < 2) await new Promise((r) => setTimeout(r, 100));
  }
  const byJob = new Map(active.map((a) => [a.labels.job, a.labels]));
  assert.equal(byJob.get('wsbench-server')?.mode, 'ws-naive');
  assert.equal(byJob.get('wsbench-client')?.run_id, 'r1');

  await prom.stop();
  assert.throws(() => process.kill(prom.pid, 0), /ESRCH/, 'prometheus still running after stop()');
  await assert.rejects(fetch(`${prom.url}/-/ready`));
  // stop() twice is harmless.
  await prom.stop();
  assert.ok(existsSync(join(dir, 'prometheus-data')), 'TSDB not in the given dir');
});
