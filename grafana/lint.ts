// Static checks on Grafana dashboard JSON: what a reviewer would otherwise catch by clicking
// through Grafana. Returns human-readable problems; an empty list means the dashboard is clean.
// Used by grafana/dashboards.test.ts on every file in grafana/dashboards/.

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

type Json = Record<string, any>;

export interface GridPos {
  x: number;
  y: number;
  w: number;
  h: number;
}

function overlaps(a: GridPos, b: GridPos): boolean {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

export function unitIsKnown(unit: unknown): boolean {
  return typeof unit === 'string' && (KNOWN_UNITS.has(unit) || CUSTOM_UNIT.test(unit));
}

/** Every panel, including panels nested in collapsed rows. */
export function allPanels(dashboard: Json): Json[] {
  const out: Json[] = [];
  for (const p of dashboard.panels ?? []) {
    out.push(p);
    if (p.type === 'row' && Array.isArray(p.panels)) out.push(...p.panels);
  }
  return out;
}

/** Range selectors in a PromQL expression, e.g. ['$__rate_interval'] for rate(x[$__rate_interval]). */
export function rangeSelectors(expr: string): string[] {
  return [...expr.matchAll(/\[([^\]]*)\]/g)].map((m) => m[1]);
}

/** wsbench metric base names in an expression (histogram series suffixes removed). */
export function wsbenchMetrics(expr: string): string[] {
  const names = expr.match(/\bwsbench_[a-z0-9_]+/g) ?? [];
  return [...new Set(names.map((n) => n.replace(/_(bucket|sum|count)$/, '')))];
}

export function lintDashboard(d: Json, datasourceUid: string): string[] {
  const problems: string[] = [];
  const where = (p: Json) => `panel ${p.id ?? '?'} "${p.title ?? ''}"`;

  if (typeof d.uid !== 'string' || !/^[A-Za-z0-9_-]{1,40}$/.test(d.uid)) {
    problems.push(`dashboard uid ${JSON.stringify(d.uid)} must be 1-40 of [A-Za-z0-9_-]`);
  }
  if (!d.title) problems.push('dashboard has no title');
  if (!ACCEPTED_SCHEMA_VERSIONS.includes(d.schemaVersion)) {
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
  const vars: Json[] = d.templating?.list ?? [];
  for (const name of ['mode', 'run_id']) {
    const v = vars.find((x) => x.name === name);
    if (!v) {
      problems.push(`variable $${name} is missing`);
      continue;
    }
    if (v.type !== 'query')
      problems.push(`variable $${name} must be a query variable, is ${v.type}`);
    if (v.datasource?.uid !== datasourceUid) {
      problems.push(
        `variable $${name} datasource uid ${JSON.stringify(v.datasource?.uid)} != ${datasourceUid}`,
      );
    }
    const q = typeof v.query === 'string' ? v.query : v.query?.query;
    if (typeof q !== 'string' || !q.startsWith('label_values(')) {
      problems.push(`variable $${name} must query label_values(...), has ${JSON.stringify(q)}`);
    }
  }

  const panels = allPanels(d);
  const ids = new Map<number, string>();
  const placed: Array<{ p: Json; g: GridPos }> = [];
  for (const p of panels) {
    if (!Number.isInteger(p.id) || p.id <= 0)
      problems.push(`${where(p)}: id must be a positive integer`);
    else if (ids.has(p.id))
      problems.push(`${where(p)}: id ${p.id} already used by ${ids.get(p.id)}`);
    else ids.set(p.id, where(p));

    const g = p.gridPos as GridPos | undefined;
    if (!g || ![g.x, g.y, g.w, g.h].every((n) => Number.isInteger(n))) {
      problems.push(`${where(p)}: gridPos must have integer x, y, w, h`);
    } else {
      if (g.x < 0 || g.y < 0 || g.w < 1 || g.h < 1 || g.x + g.w > GRID_WIDTH) {
        problems.push(
          `${where(p)}: gridPos ${JSON.stringify(g)} outside the ${GRID_WIDTH}-column grid`,
        );
      }
      for (const other of placed) {
        if (overlaps(g, other.g)) {
          problems.push(`${where(p)}: gridPos ${JSON.stringify(g)} overlaps ${where(other.p)}`);
        }
      }
      placed.push({ p, g });
    }
    if (p.type === 'row') continue;

    if (!p.title) problems.push(`${where(p)}: no title`);
    if (p.datasource?.uid !== datasourceUid) {
      problems.push(
        `${where(p)}: datasource uid ${JSON.stringify(p.datasource?.uid)} != ${datasourceUid}`,
      );
    }
    const unit = p.fieldConfig?.defaults?.unit;
    if (!unit) problems.push(`${where(p)}: no unit (fieldConfig.defaults.unit)`);
    else if (!unitIsKnown(unit)) problems.push(`${where(p)}: unknown unit ${JSON.stringify(unit)}`);
    if (p.type === 'heatmap' && !unitIsKnown(p.options?.yAxis?.unit)) {
      problems.push(`${where(p)}: heatmap needs options.yAxis.unit`);
    }

    const targets: Json[] = p.targets ?? [];
    if (targets.length === 0) problems.push(`${where(p)}: no query`);
    const refIds = new Set<string>();
    for (const t of targets) {
      const tw = `${where(p)} target ${t.refId ?? '?'}`;
      if (!t.refId || refIds.has(t.refId)) problems.push(`${tw}: missing or duplicate refId`);
      refIds.add(t.refId);
      if (t.datasource?.uid !== datasourceUid) {
        problems.push(
          `${tw}: datasource uid ${JSON.stringify(t.datasource?.uid)} != ${datasourceUid}`,
        );
      }
      const expr = t.expr;
      if (typeof expr !== 'string' || expr.trim() === '') {
        problems.push(`${tw}: empty expr`);
        continue;
      }
      for (const r of rangeSelectors(expr)) {
        if (r !== '$__rate_interval') {
          problems.push(`${tw}: range [${r}] must be [$__rate_interval]`);
        }
      }
      if (/\b(rate|irate|increase)\s*\(/.test(expr) && !expr.includes('[$__rate_interval]')) {
        problems.push(`${tw}: rate without $__rate_interval`);
      }
      if (!expr.includes('mode=~"$mode"')) problems.push(`${tw}: does not filter on $mode`);
      if (
        /wsbench_client_|job="wsbench-client"/.test(expr) &&
        !expr.includes('run_id=~"$run_id"')
      ) {
        problems.push(`${tw}: client series must filter on $run_id`);
      }
    }
  }
  return problems;
}
