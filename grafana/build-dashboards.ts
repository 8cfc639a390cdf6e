// Dashboards as code. `node dist/grafana/build-dashboards.js` writes grafana/dashboards/*.json;
// grafana/dashboards.test.ts regenerates them and fails when the committed JSON differs, so the
// JSON is never edited by hand (the Grafana provider also refuses UI edits).
//
// Target: Grafana 10/11 (pinned image grafana/grafana-oss:11.2.0), dashboard schemaVersion 39,
// Prometheus datasource by fixed uid, no __inputs. Every rate uses $__rate_interval; every panel
// has a unit. Metric names are those of docs/interfaces.md.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const DATASOURCE_UID = 'wsbench-prom';
export const SCHEMA_VERSION = 39;
const DS = { type: 'prometheus', uid: DATASOURCE_UID } as const;
const GRID_WIDTH = 24;

// Label selectors shared by every query. Server series carry `mode`; client series carry `mode`
// and `run_id`. The job tells server and client apart for the default Node metrics.
const SRV = 'job="wsbench-server", mode=~"$mode"';
const CLI = 'job="wsbench-client", mode=~"$mode", run_id=~"$run_id"';
const RI = '$__rate_interval';

type PanelType = 'timeseries' | 'stat' | 'heatmap' | 'state-timeline';

export interface Query {
  expr: string;
  legend: string;
  /** 'heatmap' turns cumulative le-buckets into heatmap cells. */
  format?: 'time_series' | 'heatmap';
}

interface PanelSpec {
  title: string;
  description: string;
  type: PanelType;
  unit: string;
  queries: Query[];
  w: number;
  h: number;
  min?: number;
  max?: number;
  decimals?: number;
  /** Value -> text/color, e.g. for the client-bound flag. */
  mappings?: Array<{ value: number; text: string; color: string }>;
  /** Red above this value (drawn as a dashed line on time series). */
  redAbove?: number;
  /** Heatmap: the y axis unit (the bucket bounds). */
  yUnit?: string;
  /** Repeat the panel once per selected value of this variable. */
  repeat?: string;
}

interface Section {
  row: string;
  panels: PanelSpec[];
}

const sum = (by: string, inner: string) => `sum by (${by}) (${inner})`;
const rate = (metric: string, sel: string) => `rate(${metric}{${sel}}[${RI}])`;
const quantile = (q: number, by: string, metric: string, sel: string) =>
  `histogram_quantile(${q}, sum by (${by}, le) (${rate(metric, sel)}))`;

const serverSent = sum('mode', rate('wsbench_server_messages_sent_total', SRV));
const clientReceived = sum('mode, run_id', rate('wsbench_client_messages_received_total', CLI));
const latencyQ = (q: number) =>
  quantile(q, 'mode, run_id', 'wsbench_client_latency_seconds_bucket', CLI);
const cpu = (sel: string, by: string) => sum(by, rate('process_cpu_seconds_total', sel));
const CLIENT_BOUND_MAPPINGS = [
  { value: 0, text: 'no (server-bound, valid)', color: 'green' },
  { value: 1, text: 'YES: client-bound', color: 'red' },
];

/** The overview: every mode side by side, one row per question a reader asks. */
export const OVERVIEW: Section[] = [
  {
    row: 'Headline',
    panels: [
      {
        title: 'Server deliveries/s',
        description: 'Frames the server wrote to client sockets per second (ticks x subscribers).',
        type: 'stat',
        unit: 'count:msg/s',
        queries: [{ expr: serverSent, legend: '{{mode}}' }],
        w: 6,
        h: 4,
      },
      {
        title: 'Client received/s',
        description: 'Frames the benchmark client received per second, all connections.',
        type: 'stat',
        unit: 'count:msg/s',
        queries: [{ expr: clientReceived, legend: '{{mode}} {{run_id}}' }],
        w: 6,
        h: 4,
      },
      {
        title: 'Latency p99',
        description: 'End-to-end latency: tick due time on the server to receipt by the client.',
        type: 'stat',
        unit: 's',
        queries: [{ expr: latencyQ(0.99), legend: '{{mode}} {{run_id}}' }],
        w: 6,
        h: 4,
      },
      {
        title: 'Client bound?',
        description:
          'YES means the client was saturated: the throughput measures the client, not the server.',
        type: 'stat',
        unit: 'bool_yes_no',
        queries: [
          {
            expr: `max by (mode, run_id) (wsbench_client_bound{${CLI}})`,
            legend: '{{mode}} {{run_id}}',
          },
        ],
        mappings: CLIENT_BOUND_MAPPINGS,
        w: 6,
        h: 4,
      },
    ],
  },
  {
    row: 'Throughput',
    panels: [
      {
        title: 'Messages/s: server sent vs client received',
        description:
          'Server deliveries and client receipts per mode. A gap between the two means frames queued or dropped.',
        type: 'timeseries',
        unit: 'count:msg/s',
        queries: [
          { expr: serverSent, legend: 'server sent {{mode}}' },
          { expr: clientReceived, legend: 'client received {{mode}} {{run_id}}' },
        ],
        w: 12,
        h: 8,
      },
      {
        title: 'Bandwidth: server sent vs client received',
        description: 'WebSocket payload bytes per second (SI: 1 MB/s = 10^6 B/s).',
        type: 'timeseries',
        unit: 'Bps',
        queries: [
          {
            expr: sum('mode', rate('wsbench_server_bytes_sent_total', SRV)),
            legend: 'server sent {{mode}}',
          },
          {
            expr: sum('mode, run_id', rate('wsbench_client_bytes_received_total', CLI)),
            legend: 'client received {{mode}} {{run_id}}',
          },
        ],
        w: 12,
        h: 8,
      },
      {
        title: 'Ticks generated/s vs target rate',
        description:
          'Ticks the generator produced per second, and the configured --rate (0 = as fast as possible).',
        type: 'timeseries',
        unit: 'count:ticks/s',
        queries: [
          {
            expr: sum('mode', rate('wsbench_server_ticks_generated_total', SRV)),
            legend: 'generated {{mode}}',
          },
          { expr: `max by (mode) (wsbench_server_target_rate{${SRV}})`, legend: 'target {{mode}}' },
        ],
        w: 12,
        h: 8,
      },
      {
        title: 'Broadcast loop duration p50 / p99',
        description: 'Time the server spends fanning one batch of ticks out to all sockets.',
        type: 'timeseries',
        unit: 's',
        queries: [
          {
            expr: quantile(0.5, 'mode', 'wsbench_server_broadcast_duration_seconds_bucket', SRV),
            legend: 'p50 {{mode}}',
          },
          {
            expr: quantile(0.99, 'mode', 'wsbench_server_broadcast_duration_seconds_bucket', SRV),
            legend: 'p99 {{mode}}',
          },
        ],
        w: 12,
        h: 8,
      },
    ],
  },
  {
    row: 'Delivery',
    panels: [
      {
        title: 'Delivered / sent',
        description:
          'Client receipts divided by server deliveries. Near 100% when one client-bench holds all connections; below means frames in flight or lost. Server and client are scraped at different instants, so with bursty modes short windows swing around 100%: zoom out to read it.',
        type: 'timeseries',
        unit: 'percentunit',
        queries: [
          {
            expr: `${sum('mode', rate('wsbench_client_messages_received_total', CLI))} / ${serverSent}`,
            legend: '{{mode}}',
          },
        ],
        w: 8,
        h: 8,
      },
      {
        title: 'Server drops and slow-client closes /s',
        description:
          'Frames the server skipped (backpressure: client buffer over --max-backpressure; closed: socket gone) and slow clients it closed.',
        type: 'timeseries',
        unit: 'count:msg/s',
        queries: [
          {
            expr: sum('mode, reason', rate('wsbench_server_messages_dropped_total', SRV)),
            legend: 'dropped {{reason}} {{mode}}',
          },
          {
            expr: sum('mode', rate('wsbench_server_slow_client_closes_total', SRV)),
            legend: 'slow-client closes {{mode}}',
          },
        ],
        w: 8,
        h: 8,
      },
      {
        title: 'Sequence gaps, duplicates, reorders /s',
        description: 'Seen by the client per symbol stream; all zero in a correct run.',
        type: 'timeseries',
        unit: 'count:msg/s',
        queries: [
          {
            expr: sum('mode, run_id', rate('wsbench_client_gaps_total', CLI)),
            legend: 'gaps {{mode}} {{run_id}}',
          },
          {
            expr: sum('mode, run_id', rate('wsbench_client_duplicates_total', CLI)),
            legend: 'duplicates {{mode}} {{run_id}}',
          },
          {
            expr: sum('mode, run_id', rate('wsbench_client_reorders_total', CLI)),
            legend: 'reorders {{mode}} {{run_id}}',
          },
        ],
        w: 8,
        h: 8,
      },
    ],
  },
  {
    row: 'Latency',
    panels: [
      {
        title: 'Latency p50 / p99 / p99.9',
        description:
          'From the tick due time (server, monotonic clock) to receipt by the client, over $__rate_interval windows.',
        type: 'timeseries',
        unit: 's',
        queries: [
          { expr: latencyQ(0.5), legend: 'p50 {{mode}} {{run_id}}' },
          { expr: latencyQ(0.99), legend: 'p99 {{mode}} {{run_id}}' },
          { expr: latencyQ(0.999), legend: 'p99.9 {{mode}} {{run_id}}' },
        ],
        w: 12,
        h: 9,
      },
      {
        title: 'Connect time p50 / p99',
        description:
          'WebSocket handshake time per connection, over the whole run (connects happen at the start).',
        type: 'timeseries',
        unit: 's',
        queries: [
          {
            expr: `histogram_quantile(0.5, sum by (mode, run_id, le) (wsbench_client_connect_seconds_bucket{${CLI}}))`,
            legend: 'p50 {{mode}} {{run_id}}',
          },
          {
            expr: `histogram_quantile(0.99, sum by (mode, run_id, le) (wsbench_client_connect_seconds_bucket{${CLI}}))`,
            legend: 'p99 {{mode}} {{run_id}}',
          },
        ],
        w: 12,
        h: 9,
      },
      {
        title: 'Latency heatmap: $mode',
        description: 'Frames per second in each latency bucket (one panel per selected mode).',
        type: 'heatmap',
        unit: 'count:msg/s',
        yUnit: 's',
        repeat: 'mode',
        queries: [
          {
            expr: sum('le', rate('wsbench_client_latency_seconds_bucket', CLI)),
            legend: '{{le}}',
            format: 'heatmap',
          },
        ],
        w: 8,
        h: 9,
      },
    ],
  },
  {
    row: 'CPU and client saturation',
    panels: [
      {
        title: 'CPU (cores): server vs client',
        description: 'process_cpu_seconds_total per second; 1.0 = one core fully busy.',
        type: 'timeseries',
        unit: 'count:cores',
        queries: [
          { expr: cpu(SRV, 'mode'), legend: 'server {{mode}}' },
          { expr: cpu(CLI, 'mode, run_id'), legend: 'client {{mode}} {{run_id}}' },
        ],
        w: 8,
        h: 8,
      },
      {
        title: 'Client saturation: busiest worker',
        description:
          'Busy share of the busiest client worker thread. Above 90% the client, not the server, is the bottleneck.',
        type: 'timeseries',
        unit: 'percentunit',
        redAbove: 0.9,
        min: 0,
        queries: [
          {
            expr: `max by (mode, run_id) (wsbench_client_worker_busy_ratio_max{${CLI}})`,
            legend: 'busiest worker {{mode}} {{run_id}}',
          },
        ],
        w: 8,
        h: 8,
      },
      {
        title: 'Client bound over time',
        description:
          'Red while the client was saturated: numbers from that window measure the client.',
        type: 'state-timeline',
        unit: 'bool_yes_no',
        queries: [
          {
            expr: `max by (mode, run_id) (wsbench_client_bound{${CLI}})`,
            legend: '{{mode}} {{run_id}}',
          },
        ],
        mappings: CLIENT_BOUND_MAPPINGS,
        w: 8,
        h: 8,
      },
    ],
  },
  {
    row: 'Memory, event loop, GC',
    panels: [
      {
        title: 'Resident memory (RSS)',
        description: 'process_resident_memory_bytes of the server and the client.',
        type: 'timeseries',
        unit: 'bytes',
        queries: [
          {
            expr: `max by (mode) (process_resident_memory_bytes{${SRV}})`,
            legend: 'server {{mode}}',
          },
          {
            expr: `max by (mode, run_id) (process_resident_memory_bytes{${CLI}})`,
            legend: 'client {{mode}} {{run_id}}',
          },
        ],
        w: 8,
        h: 8,
      },
      {
        title: 'V8 heap used',
        description: 'nodejs_heap_size_used_bytes (main thread isolate).',
        type: 'timeseries',
        unit: 'bytes',
        queries: [
          {
            expr: `max by (mode) (nodejs_heap_size_used_bytes{${SRV}})`,
            legend: 'server {{mode}}',
          },
          {
            expr: `max by (mode, run_id) (nodejs_heap_size_used_bytes{${CLI}})`,
            legend: 'client {{mode}} {{run_id}}',
          },
        ],
        w: 8,
        h: 8,
      },
      {
        title: 'External memory (Buffers)',
        description: 'nodejs_external_memory_bytes: Buffers and native memory held by JS objects.',
        type: 'timeseries',
        unit: 'bytes',
        queries: [
          {
            expr: `max by (mode) (nodejs_external_memory_bytes{${SRV}})`,
            legend: 'server {{mode}}',
          },
          {
            expr: `max by (mode, run_id) (nodejs_external_memory_bytes{${CLI}})`,
            legend: 'client {{mode}} {{run_id}}',
          },
        ],
        w: 8,
        h: 8,
      },
      {
        title: 'Event-loop lag p99',
        description: 'nodejs_eventloop_lag_p99_seconds since the previous scrape.',
        type: 'timeseries',
        unit: 's',
        queries: [
          {
            expr: `max by (mode) (nodejs_eventloop_lag_p99_seconds{${SRV}})`,
            legend: 'server {{mode}}',
          },
          {
            expr: `max by (mode, run_id) (nodejs_eventloop_lag_p99_seconds{${CLI}})`,
            legend: 'client {{mode}} {{run_id}}',
          },
        ],
        w: 12,
        h: 8,
      },
      {
        title: 'GC time (share of wall time)',
        description: 'Seconds spent in garbage collection per second, all GC kinds.',
        type: 'timeseries',
        unit: 'percentunit',
        queries: [
          {
            expr: sum('mode', rate('nodejs_gc_duration_seconds_sum', SRV)),
            legend: 'server {{mode}}',
          },
          {
            expr: sum('mode, run_id', rate('nodejs_gc_duration_seconds_sum', CLI)),
            legend: 'client {{mode}} {{run_id}}',
          },
        ],
        w: 12,
        h: 8,
      },
    ],
  },
  {
    row: 'Connections and HTTP',
    panels: [
      {
        title: 'Connections',
        description: 'Clients the server holds, and client-side connections by state.',
        type: 'timeseries',
        unit: 'short',
        queries: [
          {
            expr: `sum by (mode) (wsbench_server_clients_connected{${SRV}})`,
            legend: 'server connected {{mode}}',
          },
          {
            expr: `sum by (mode, run_id, state) (wsbench_client_connections{${CLI}})`,
            legend: 'client {{state}} {{mode}} {{run_id}}',
          },
        ],
        w: 12,
        h: 8,
      },
      {
        title: 'HTTP requests/s by route',
        description:
          '/health, /metrics, /snapshot (the autocannon target) and 404s on the WebSocket port.',
        type: 'timeseries',
        unit: 'reqps',
        queries: [
          {
            expr: sum('mode, route', rate('wsbench_server_http_requests_total', SRV)),
            legend: '{{route}} {{mode}}',
          },
        ],
        w: 12,
        h: 8,
      },
    ],
  },
];

// ---------------------------------------------------------------------------------------------
// Rendering to Grafana JSON.

type Json = Record<string, unknown>;

function thresholds(spec: PanelSpec): Json {
  const steps: Json[] = [{ color: 'green', value: null }];
  if (spec.redAbove !== undefined) steps.push({ color: 'red', value: spec.redAbove });
  return { mode: 'absolute', steps };
}

function mappings(spec: PanelSpec): Json[] {
  if (!spec.mappings) return [];
  const options: Json = {};
  spec.mappings.forEach((m, index) => {
    options[String(m.value)] = { text: m.text, color: m.color, index };
  });
  return [{ type: 'value', options }];
}

function targets(spec: PanelSpec): Json[] {
  return spec.queries.map((q, i) => ({
    datasource: DS,
    refId: String.fromCharCode(65 + i),
    expr: q.expr,
    legendFormat: q.legend,
    range: true,
    instant: false,
    editorMode: 'code',
    ...(q.format === 'heatmap' ? { format: 'heatmap' } : {}),
  }));
}

function fieldDefaults(spec: PanelSpec): Json {
  const defaults: Json = {
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

function options(spec: PanelSpec): Json {
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

export interface Dashboard extends Json {
  uid: string;
  title: string;
  panels: Json[];
}

function variable(name: string, label: string, query: string): Json {
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
    sort: 1,
    hide: 0,
  };
}

/** Lays panels out left to right, 24 columns wide, each section under a row header. */
export function renderDashboard(
  meta: { uid: string; title: string; tags: string[] },
  sections: Section[],
): Dashboard {
  const panels: Json[] = [];
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
      const panel: Json = {
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
    for (const p of d.panels as Json[]) {
      if (p.type === 'row') continue;
      const unit = (p.fieldConfig as any).defaults.unit as string;
      for (const [i, t] of (p.targets as Json[]).entries()) {
        const head =
          i === 0 ? [String(p.id), cell(String(p.title)), String(p.type), unit] : ['', '', '', ''];
        lines.push(`| ${head.join(' | ')} | \`${cell(String(t.expr))}\` |`);
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
