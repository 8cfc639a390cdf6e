// Dashboards as code. `node dist/grafana/build-dashboards.js` writes grafana/dashboards/*.json;
// grafana/dashboards.test.ts regenerates them and fails when the committed JSON differs, so the
// JSON is never edited by hand (the Grafana provider also refuses UI edits).
//
// Target: Grafana 10/11 (pinned image grafana/grafana-oss:11.2.0), dashboard schemaVersion 39,
// Prometheus datasource by fixed uid, no __inputs. Every rate uses $__rate_interval; every panel
// has a unit. The panels are specified in grafana/overview.ts (helpers in grafana/spec.ts); this
// file renders them, lays them out and writes the files.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type {
  Dashboard,
  FieldDefaults,
  Panel,
  RowPanel,
  Target,
  ThresholdStep,
  ValueMapping,
  Variable,
} from './model.js';
import { OVERVIEW } from './overview.js';
import type { PanelSpec, Section } from './spec.js';

export type { Dashboard };
export const DATASOURCE_UID = 'wsbench-prom';
export const SCHEMA_VERSION = 39;
const DS = { type: 'prometheus', uid: DATASOURCE_UID } as const;
const GRID_WIDTH = 24;

function thresholds(spec: PanelSpec): FieldDefaults['thresholds'] {
  const steps: ThresholdStep[] = [{ color: 'green', value: null }];
  if (spec.redAbove !== undefined) steps.push({ color: 'red', value: spec.redAbove });
  return { mode: 'absolute', steps };
}

function mappings(spec: PanelSpec): ValueMapping[] {
  if (!spec.mappings) return [];
  const options: ValueMapping['options'] = {};
  spec.mappings.forEach((m, index) => {
    options[String(m.value)] = { text: m.text, color: m.color, index };
  });
  return [{ type: 'value', options }];
}

function targets(spec: PanelSpec): Target[] {
  return spec.queries.map((q, i) => ({
    datasource: DS,
    refId: String.fromCharCode(65 + i),
    expr: q.expr,
    legendFormat: q.legend,
    range: true,
    instant: false,
    editorMode: 'code' as const,
    ...(q.format === 'heatmap' ? { format: 'heatmap' as const } : {}),
  }));
}

function fieldDefaults(spec: PanelSpec): FieldDefaults {
  const defaults: FieldDefaults = {
    unit: spec.unit,
    thresholds: thresholds(spec),
    mappings: mappings(spec),
  };
  if (spec.min !== undefined) defaults.min = spec.min;
  if (spec.max !== undefined) defaults.max = spec.max;
  if (spec.decimals !== undefined) defaults.decimals = spec.decimals;
  switch (spec.type) {
    case 'timeseries':
      defaults.color = { mode: 'palette-classic' };
      defaults.custom = {
        drawStyle: 'line',
        lineWidth: 1,
        fillOpacity: 10,
        showPoints: 'never',
        spanNulls: false,
        axisPlacement: 'auto',
        thresholdsStyle: { mode: spec.redAbove !== undefined ? 'dashed' : 'off' },
      };
      break;
    case 'stat':
      defaults.color = { mode: spec.mappings ? 'thresholds' : 'palette-classic' };
      break;
    case 'state-timeline':
      defaults.color = { mode: 'thresholds' };
      defaults.custom = { fillOpacity: 80, lineWidth: 0 };
      break;
    case 'heatmap':
      defaults.custom = { scaleDistribution: { type: 'linear' } };
      break;
  }
  return defaults;
}

function options(spec: PanelSpec): Record<string, unknown> {
  switch (spec.type) {
    case 'timeseries':
      return {
        legend: {
          showLegend: true,
          displayMode: 'table',
          placement: 'bottom',
          calcs: ['mean', 'max', 'lastNotNull'],
        },
        tooltip: { mode: 'multi', sort: 'desc' },
      };
    case 'stat':
      return {
        reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
        colorMode: spec.mappings ? 'background' : 'value',
        graphMode: spec.mappings ? 'none' : 'area',
        justifyMode: 'auto',
        orientation: 'auto',
        textMode: 'value_and_name',
      };
    case 'state-timeline':
      return {
        showValue: 'auto',
        mergeValues: true,
        alignValue: 'left',
        rowHeight: 0.9,
        legend: { showLegend: true, displayMode: 'list', placement: 'bottom' },
        tooltip: { mode: 'single', sort: 'none' },
      };
    case 'heatmap':
      return {
        calculate: false,
        cellGap: 1,
        color: {
          mode: 'scheme',
          scheme: 'Oranges',
          fill: 'dark',
          scale: 'exponential',
          exponent: 0.5,
          steps: 64,
          reverse: false,
        },
        yAxis: { axisPlacement: 'left', unit: spec.yUnit ?? 's', reverse: false },
        rowsFrame: { layout: 'auto' },
        cellValues: { unit: spec.unit },
        filterValues: { le: 1e-9 },
        legend: { show: true },
        tooltip: { mode: 'single', yHistogram: false, showColorScale: false },
        exemplars: { color: 'rgba(255,0,255,0.7)' },
      };
  }
}

/** A multi-value query variable with All = `.*`; sort 1 = alphabetical, 3 = numerical. */
function variable(name: string, label: string, query: string, sort = 1): Variable {
  return {
    name,
    label,
    type: 'query',
    datasource: DS,
    definition: query,
    query,
    refresh: 2,
    includeAll: true,
    multi: true,
    allValue: '.*',
    current: { selected: true, text: ['All'], value: ['$__all'] },
    options: [],
    regex: '',
    sort,
    hide: 0,
  };
}

/** Lays panels out left to right, 24 columns wide, each section under a row header. */
export function renderDashboard(
  meta: { uid: string; title: string; tags: string[] },
  sections: Section[],
): Dashboard {
  const panels: Array<RowPanel | Panel> = [];
  let id = 1;
  let y = 0;
  for (const section of sections) {
    panels.push({
      id: id++,
      type: 'row',
      title: section.row,
      collapsed: false,
      gridPos: { h: 1, w: GRID_WIDTH, x: 0, y },
      panels: [],
    });
    y += 1;
    let x = 0;
    let lineHeight = 0;
    for (const spec of section.panels) {
      if (spec.w > GRID_WIDTH) throw new Error(`panel "${spec.title}" is wider than ${GRID_WIDTH}`);
      if (x + spec.w > GRID_WIDTH) {
        y += lineHeight;
        x = 0;
        lineHeight = 0;
      }
      const panel: Panel = {
        id: id++,
        type: spec.type,
        title: spec.title,
        description: spec.description,
        datasource: DS,
        gridPos: { h: spec.h, w: spec.w, x, y },
        fieldConfig: { defaults: fieldDefaults(spec), overrides: [] },
        options: options(spec),
        targets: targets(spec),
      };
      if (spec.repeat) {
        panel.repeat = spec.repeat;
        panel.repeatDirection = 'h';
        panel.maxPerRow = 3;
      }
      panels.push(panel);
      x += spec.w;
      lineHeight = Math.max(lineHeight, spec.h);
    }
    y += lineHeight;
  }
  return {
    uid: meta.uid,
    title: meta.title,
    description:
      'wsbench: WebSocket broadcast servers (ws-naive, ws, uws) compared. Generated by grafana/build-dashboards.ts.',
    tags: meta.tags,
    editable: false,
    graphTooltip: 1,
    timezone: 'browser',
    schemaVersion: SCHEMA_VERSION,
    version: 1,
    refresh: '5s',
    time: { from: 'now-15m', to: 'now' },
    timepicker: { refresh_intervals: ['5s', '10s', '30s', '1m', '5m'] },
    fiscalYearStartMonth: 0,
    liveNow: false,
    annotations: { list: [] },
    links: [],
    templating: {
      list: [
        variable('mode', 'Mode', 'label_values(wsbench_server_messages_sent_total, mode)'),
        variable(
          'run_id',
          'Run',
          'label_values(wsbench_client_messages_received_total{mode=~"$mode"}, run_id)',
        ),
        // Shards of a sharded run (client-bench --shard I/N); empty for a one-process run, whose
        // "All" (.*) still matches its unlabelled series.
        variable(
          'shard',
          'Shard',
          'label_values(wsbench_client_messages_received_total{mode=~"$mode", run_id=~"$run_id"}, shard)',
          3,
        ),
      ],
    },
    panels,
  };
}

/** Every dashboard this repository ships, by file name. */
export function buildAll(): Map<string, Dashboard> {
  return new Map([
    [
      'wsbench-overview.json',
      renderDashboard(
        { uid: 'wsbench-overview', title: 'wsbench: modes compared', tags: ['wsbench'] },
        OVERVIEW,
      ),
    ],
  ]);
}

/** The exact bytes written for a dashboard (stable key order, 2-space indent, final newline). */
export function serialise(d: Dashboard): string {
  return JSON.stringify(d, null, 2) + '\n';
}

/** The repository root, found from this file whether it runs from source or from dist/. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'grafana', 'provisioning'))) return dir;
    dir = dirname(dir);
  }
  throw new Error(`cannot find the repository root above ${fileURLToPath(import.meta.url)}`);
}

export function dashboardsDir(): string {
  return join(repoRoot(), 'grafana', 'dashboards');
}

// docs/observability.md lists every panel and its queries between these markers; the generator
// rewrites that section so the documentation cannot drift from the dashboards.
export const PANELS_BEGIN = '<!-- panels:begin (generated by grafana/build-dashboards.ts) -->';
export const PANELS_END = '<!-- panels:end -->';

/** Markdown table of every panel of every dashboard: id, title, type, unit, each query. */
export function panelsMarkdown(dashboards: Map<string, Dashboard>): string {
  const cell = (s: string) => s.replaceAll('|', '\\|');
  const lines: string[] = [];
  for (const [file, d] of dashboards) {
    lines.push(`**${d.title}** (\`grafana/dashboards/${file}\`, uid \`${d.uid}\`)`, '');
    lines.push('| id | panel | type | unit | query |', '|---|---|---|---|---|');
    for (const p of d.panels) {
      if (p.type === 'row') continue;
      for (const [i, t] of p.targets.entries()) {
        const head =
          i === 0
            ? [String(p.id), cell(p.title), p.type, p.fieldConfig.defaults.unit]
            : ['', '', '', ''];
        lines.push(`| ${head.join(' | ')} | \`${cell(t.expr)}\` |`);
      }
    }
    lines.push('');
  }
  return lines.join('\n');
}

/** Replaces the generated section of a markdown document. */
export function withPanelsSection(doc: string, section: string): string {
  const begin = doc.indexOf(PANELS_BEGIN);
  const end = doc.indexOf(PANELS_END);
  if (begin < 0 || end < begin)
    throw new Error(`markers ${PANELS_BEGIN} ... ${PANELS_END} not found`);
  return `${doc.slice(0, begin + PANELS_BEGIN.length)}\n\n${section}${doc.slice(end)}`;
}

export function observabilityDoc(): string {
  return join(repoRoot(), 'docs', 'observability.md');
}

function main(): void {
  const out = dashboardsDir();
  mkdirSync(out, { recursive: true });
  const all = buildAll();
  for (const [file, dashboard] of all) {
    writeFileSync(join(out, file), serialise(dashboard));
    console.error(`wrote ${join(out, file)} (${dashboard.panels.length} panels)`);
  }
  const doc = observabilityDoc();
  writeFileSync(doc, withPanelsSection(readFileSync(doc, 'utf8'), panelsMarkdown(all)));
  console.error(`updated the panel list in ${doc}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
