// Static checks on Grafana dashboard JSON: what a reviewer would otherwise catch by clicking
// through Grafana. Returns human-readable problems; an empty list means the dashboard is clean.
// Used by grafana/dashboards.test.ts on every file in grafana/dashboards/.

import { allPanels, at, isObject, objects, panelName, str, type GridPos } from './model.js';

export { allPanels };

const GRID_WIDTH = 24;

/** Grafana unit ids used here, plus Grafana's custom-unit prefixes (count:, suffix:, prefix:). */
const KNOWN_UNITS = new Set([
  'short',
  'none',
  's',
  'ms',
  'µs',
  'ns',
  'bytes',
  'decbytes',
  'Bps',
  'binBps',
  'ops',
  'reqps',
  'percent',
  'percentunit',
  'bool_yes_no',
]);
const CUSTOM_UNIT = /^(count|suffix|prefix):\S.*$/;

/** Schema versions Grafana 10.x-11.x write and read without migration surprises. */
export const ACCEPTED_SCHEMA_VERSIONS = [36, 37, 38, 39];

/** The dashboard variables every dashboard has. */
const REQUIRED_VARIABLES = ['mode', 'run_id', 'shard'];

function overlaps(a: GridPos, b: GridPos): boolean {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

export function unitIsKnown(unit: unknown): boolean {
  return typeof unit === 'string' && (KNOWN_UNITS.has(unit) || CUSTOM_UNIT.test(unit));
}

/** Range selectors in a PromQL expression, e.g. ['$__rate_interval'] for rate(x[$__rate_interval]). */
export function rangeSelectors(expr: string): string[] {
  return [...expr.matchAll(/\[([^\]]*)\]/g)].map((m) => m[1] ?? '');
}

/** wsbench metric base names in an expression (histogram series suffixes removed). */
export function wsbenchMetrics(expr: string): string[] {
  const names = expr.match(/\bwsbench_[a-z0-9_]+/g) ?? [];
  return [...new Set(names.map((n) => n.replace(/_(bucket|sum|count)$/, '')))];
}

function gridPos(v: unknown): GridPos | undefined {
  const { x, y, w, h } = isObject(v) ? v : {};
  const all = [x, y, w, h];
  if (!all.every((n) => Number.isInteger(n))) return undefined;
  return { x: Number(x), y: Number(y), w: Number(w), h: Number(h) };
}

export function lintDashboard(d: unknown, datasourceUid: string): string[] {
  const problems: string[] = [];
  if (!isObject(d)) return [`dashboard is not a JSON object: ${JSON.stringify(d)}`];

  if (typeof d.uid !== 'string' || !/^[A-Za-z0-9_-]{1,40}$/.test(d.uid)) {
    problems.push(`dashboard uid ${JSON.stringify(d.uid)} must be 1-40 of [A-Za-z0-9_-]`);
  }
  if (!str(d.title)) problems.push('dashboard has no title');
  if (typeof d.schemaVersion !== 'number' || !ACCEPTED_SCHEMA_VERSIONS.includes(d.schemaVersion)) {
    problems.push(
      `schemaVersion ${JSON.stringify(d.schemaVersion)} not in ${ACCEPTED_SCHEMA_VERSIONS.join(', ')}`,
    );
  }
  if ('__inputs' in d || '__requires' in d) {
    problems.push(
      'dashboard has __inputs/__requires (export-for-sharing format); provisioning needs plain JSON',
    );
  }
  const text = JSON.stringify(d);
  if (/\$\{DS_[A-Z0-9_]+\}/.test(text)) problems.push('dashboard refers to a ${DS_...} input');

  // Variables: mode and run_id, query variables on the provisioned datasource.
  const vars = objects(at(d, 'templating', 'list'));
  for (const name of REQUIRED_VARIABLES) {
    const v = vars.find((x) => x.name === name);
    if (!v) {
      problems.push(`variable $${name} is missing`);
      continue;
    }
    if (v.type !== 'query') {
      problems.push(`variable $${name} must be a query variable, is ${JSON.stringify(v.type)}`);
    }
    const uid = at(v, 'datasource', 'uid');
    if (uid !== datasourceUid) {
      problems.push(`variable $${name} datasource uid ${JSON.stringify(uid)} != ${datasourceUid}`);
    }
    const q = str(v.query) ?? str(at(v, 'query', 'query'));
    if (q === undefined || !q.startsWith('label_values(')) {
      problems.push(`variable $${name} must query label_values(...), has ${JSON.stringify(q)}`);
    }
  }

  const ids = new Map<number, string>();
  const placed: Array<{ name: string; g: GridPos }> = [];
  for (const p of allPanels(d)) {
    const where = panelName(p);
    const id = p.id;
    if (typeof id !== 'number' || !Number.isInteger(id) || id <= 0) {
      problems.push(`${where}: id must be a positive integer`);
    } else {
      const other = ids.get(id);
      if (other !== undefined) problems.push(`${where}: id ${id} already used by ${other}`);
      else ids.set(id, where);
    }

    const g = gridPos(p.gridPos);
    if (!g) {
      problems.push(`${where}: gridPos must have integer x, y, w, h`);
    } else {
      if (g.x < 0 || g.y < 0 || g.w < 1 || g.h < 1 || g.x + g.w > GRID_WIDTH) {
        problems.push(
          `${where}: gridPos ${JSON.stringify(g)} outside the ${GRID_WIDTH}-column grid`,
        );
      }
      for (const other of placed) {
        if (overlaps(g, other.g)) {
          problems.push(`${where}: gridPos ${JSON.stringify(g)} overlaps ${other.name}`);
        }
      }
      placed.push({ name: where, g });
    }
    if (p.type === 'row') continue;

    if (!str(p.title)) problems.push(`${where}: no title`);
    const uid = at(p, 'datasource', 'uid');
    if (uid !== datasourceUid) {
      problems.push(`${where}: datasource uid ${JSON.stringify(uid)} != ${datasourceUid}`);
    }
    const unit = at(p, 'fieldConfig', 'defaults', 'unit');
    if (!unit) problems.push(`${where}: no unit (fieldConfig.defaults.unit)`);
    else if (!unitIsKnown(unit)) problems.push(`${where}: unknown unit ${JSON.stringify(unit)}`);
    if (p.type === 'heatmap' && !unitIsKnown(at(p, 'options', 'yAxis', 'unit'))) {
      problems.push(`${where}: heatmap needs options.yAxis.unit`);
    }

    const targets = objects(p.targets);
    if (targets.length === 0) problems.push(`${where}: no query`);
    const refIds = new Set<string>();
    for (const t of targets) {
      const refId = str(t.refId);
      const tw = `${where} target ${refId ?? '?'}`;
      if (refId === undefined || refId === '' || refIds.has(refId)) {
        problems.push(`${tw}: missing or duplicate refId`);
      } else {
        refIds.add(refId);
      }
      const tuid = at(t, 'datasource', 'uid');
      if (tuid !== datasourceUid) {
        problems.push(`${tw}: datasource uid ${JSON.stringify(tuid)} != ${datasourceUid}`);
      }
      const expr = str(t.expr);
      if (expr === undefined || expr.trim() === '') {
        problems.push(`${tw}: empty expr`);
        continue;
      }
      problems.push(...lintExpr(expr).map((m) => `${tw}: ${m}`));
    }
  }
  return problems;
}

/** The rules every query follows: rates over $__rate_interval, the variables as filters. */
export function lintExpr(expr: string): string[] {
  const problems: string[] = [];
  for (const r of rangeSelectors(expr)) {
    if (r !== '$__rate_interval') problems.push(`range [${r}] must be [$__rate_interval]`);
  }
  if (/\b(rate|irate|increase)\s*\(/.test(expr) && !expr.includes('[$__rate_interval]')) {
    problems.push('rate without $__rate_interval');
  }
  if (!expr.includes('mode=~"$mode"')) problems.push('does not filter on $mode');
  if (/wsbench_client_|job="wsbench-client"/.test(expr)) {
    if (!expr.includes('run_id=~"$run_id"')) problems.push('client series must filter on $run_id');
    if (!expr.includes('shard=~"$shard"')) problems.push('client series must filter on $shard');
  }
  return problems;
}
