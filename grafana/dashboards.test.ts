// Dashboards and provisioning, checked without Grafana: the committed JSON is exactly what the
// generator writes, every dashboard passes the lint, and provisioning matches Prometheus.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  DATASOURCE_UID,
  SCHEMA_VERSION,
  buildAll,
  dashboardsDir,
  observabilityDoc,
  panelsMarkdown,
  repoRoot,
  serialise,
  withPanelsSection,
} from './build-dashboards.js';
import { lintDashboard, wsbenchMetrics } from './lint.js';
import { allPanels, at, panelQueries } from './model.js';

const root = repoRoot();
const read = (...p: string[]) => readFileSync(join(root, ...p), 'utf8');

/** The files as Grafana reads them: JSON of unknown shape, checked by the lint. */
function committedDashboards(): Array<[string, unknown]> {
  return readdirSync(dashboardsDir())
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => [f, JSON.parse(readFileSync(join(dashboardsDir(), f), 'utf8')) as unknown]);
}

/** The single `key: value` of a flat YAML key (enough for our own small provisioning files). */
function yamlValues(text: string, key: string): string[] {
  const re = new RegExp(`^\\s*-?\\s*${key}:\\s*(.+?)\\s*$`, 'gm');
  return [...text.matchAll(re)].map((m) => (m[1] ?? '').replace(/^["']|["']$/g, ''));
}

test('committed dashboards are exactly what grafana/build-dashboards.ts generates', () => {
  const built = buildAll();
  const committed = readdirSync(dashboardsDir())
    .filter((f) => f.endsWith('.json'))
    .sort();
  assert.deepEqual(committed, [...built.keys()].sort(), 'a dashboard file is missing or stray');
  for (const [file, dashboard] of built) {
    const onDisk = readFileSync(join(dashboardsDir(), file), 'utf8');
    assert.equal(
      onDisk,
      serialise(dashboard),
      `${file} differs from the generator: run "npx tsc -p . && node dist/grafana/build-dashboards.js"`,
    );
  }
});

test('the panel list in docs/observability.md is the generated one', () => {
  const doc = readFileSync(observabilityDoc(), 'utf8');
  assert.equal(
    doc,
    withPanelsSection(doc, panelsMarkdown(buildAll())),
    'docs/observability.md panel list is stale: run "node dist/grafana/build-dashboards.js"',
  );
});

test('every dashboard passes the lint (uids, ids, gridPos, datasource, units, queries)', () => {
  const uids = new Set<string>();
  for (const [file, d] of committedDashboards()) {
    assert.deepEqual(lintDashboard(d, DATASOURCE_UID), [], `${file} has lint problems`);
    const uid = String(at(d, 'uid'));
    assert.ok(!uids.has(uid), `${file}: dashboard uid ${uid} is used twice`);
    uids.add(uid);
    assert.equal(at(d, 'schemaVersion'), SCHEMA_VERSION);
  }
  assert.ok(uids.size >= 1, 'no dashboards in grafana/dashboards/');
});

test('the lint catches what it promises to catch', () => {
  const good = buildAll().get('wsbench-overview.json');
  assert.ok(good);
  const broken = structuredClone(good);
  const panels = broken.panels.flatMap((p) => (p.type === 'row' ? [] : [p]));
  const [p0, p1, p2, p3, p4, p5, p6, p7] = panels;
  const t7 = p7?.targets[0];
  assert.ok(p0 && p1 && p2 && p3 && p4 && p5 && p6 && t7, 'the overview has fewer than 8 panels');
  p1.id = p0.id; // duplicate id
  p2.gridPos = { ...p3.gridPos }; // overlap
  p4.fieldConfig.defaults.unit = ''; // no unit
  p5.targets = []; // no query
  p6.datasource = { type: 'prometheus', uid: 'other' }; // wrong datasource
  t7.expr = t7.expr.replaceAll('$__rate_interval', '1m');
  broken.schemaVersion = 41;
  const problems = lintDashboard({ ...broken, __inputs: [] }, DATASOURCE_UID).join('\n');
  for (const expected of [
    /id \d+ already used/,
    /overlaps/,
    /no unit/,
    /no query/,
    /datasource uid "other"/,
    /range \[1m\] must be \[\$__rate_interval\]/,
    /schemaVersion 41/,
    /__inputs/,
  ]) {
    assert.match(problems, expected);
  }
});

test('the overview compares modes on every question the issue asks', () => {
  const d = committedDashboards().find(([, x]) => at(x, 'uid') === 'wsbench-overview')?.[1];
  assert.ok(d, 'wsbench-overview dashboard missing');
  const exprs = panelQueries(d)
    .map((q) => q.expr)
    .join('\n');
  for (const metric of [
    'wsbench_server_messages_sent_total', // throughput, server
    'wsbench_client_messages_received_total', // throughput, client
    'wsbench_server_bytes_sent_total', // MB/s
    'wsbench_server_messages_dropped_total', // drops
    'wsbench_client_gaps_total', // gaps
    'wsbench_client_latency_seconds_bucket', // latency + heatmap
    'process_cpu_seconds_total', // CPU cores
    'process_resident_memory_bytes',
    'nodejs_heap_size_used_bytes',
    'wsbench_server_heap_live_bytes', // leak vs garbage
    'nodejs_external_memory_bytes',
    'nodejs_eventloop_lag_p99_seconds',
    'nodejs_gc_duration_seconds_sum',
    'wsbench_server_clients_connected', // connections
    'wsbench_server_http_requests_total', // HTTP requests
    'wsbench_client_bound', // client saturation
  ]) {
    assert.ok(exprs.includes(metric), `no panel queries ${metric}`);
  }
  for (const q of ['0.5', '0.99', '0.999']) {
    assert.ok(
      exprs.includes(
        `histogram_quantile(${q}, sum by (mode, run_id, le) (rate(wsbench_client_latency`,
      ),
    );
  }
  const types = new Set(allPanels(d).map((p) => p.type));
  assert.ok(types.has('heatmap'), 'no latency heatmap');
});

test('every wsbench metric a panel queries is a name from docs/interfaces.md', () => {
  const contract = read('docs', 'interfaces.md');
  const known = new Set(contract.match(/\bwsbench_[a-z0-9_]+/g) ?? []);
  // The table writes `wsbench_client_gaps_total` / `_duplicates_total` / `_reorders_total`.
  for (const s of ['duplicates', 'reorders']) known.add(`wsbench_client_${s}_total`);
  for (const [file, d] of committedDashboards()) {
    for (const q of panelQueries(d)) {
      for (const m of wsbenchMetrics(q.expr ?? '')) {
        assert.ok(known.has(m), `${file} "${q.title}" queries ${m}, not in docs/interfaces.md`);
      }
    }
  }
});

test('provisioning: datasource uid and timeInterval match the dashboards and the scrape interval', () => {
  const ds = read('grafana', 'provisioning', 'datasources', 'wsbench.yml');
  assert.deepEqual(yamlValues(ds, 'uid'), [DATASOURCE_UID]);
  assert.deepEqual(yamlValues(ds, 'type'), ['prometheus']);
  assert.deepEqual(yamlValues(ds, 'url'), ['http://prometheus:9090']);
  const scrape = yamlValues(read('prometheus', 'prometheus.yml'), 'scrape_interval');
  assert.deepEqual(scrape, ['1s']);
  assert.deepEqual(yamlValues(ds, 'timeInterval'), scrape);

  const provider = read('grafana', 'provisioning', 'dashboards', 'wsbench.yml');
  assert.deepEqual(yamlValues(provider, 'type'), ['file']);
  assert.deepEqual(yamlValues(provider, 'allowUiUpdates'), ['false']);
  assert.deepEqual(yamlValues(provider, 'path'), ['/var/lib/grafana/dashboards']);
});
