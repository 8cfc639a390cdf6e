// The Grafana dashboard JSON this repository writes (schemaVersion 39, Grafana 10/11), as types,
// and safe readers for dashboard JSON of unknown shape (files on disk, a broken copy in a test).
// The generator produces `Dashboard`; the lint and the tests read files through `JsonObject`,
// so a malformed file is reported, never a TypeError.

export interface DatasourceRef {
  type: 'prometheus';
  uid: string;
}

export interface GridPos {
  x: number;
  y: number;
  w: number;
  h: number;
}

export type PanelType = 'timeseries' | 'stat' | 'heatmap' | 'state-timeline';

export interface Target {
  datasource: DatasourceRef;
  refId: string;
  expr: string;
  legendFormat: string;
  range: boolean;
  instant: boolean;
  editorMode: 'code';
  format?: 'heatmap';
}

export interface ThresholdStep {
  color: string;
  value: number | null;
}

export interface ValueMapping {
  type: 'value';
  options: Record<string, { text: string; color: string; index: number }>;
}

export interface FieldDefaults {
  unit: string;
  thresholds: { mode: 'absolute'; steps: ThresholdStep[] };
  mappings: ValueMapping[];
  min?: number;
  max?: number;
  decimals?: number;
  color?: { mode: 'palette-classic' | 'thresholds' };
  custom?: Record<string, unknown>;
}

export interface Panel {
  id: number;
  type: PanelType;
  title: string;
  description: string;
  datasource: DatasourceRef;
  gridPos: GridPos;
  fieldConfig: { defaults: FieldDefaults; overrides: never[] };
  options: Record<string, unknown>;
  targets: Target[];
  repeat?: string;
  repeatDirection?: 'h';
  maxPerRow?: number;
}

export interface RowPanel {
  id: number;
  type: 'row';
  title: string;
  collapsed: boolean;
  gridPos: GridPos;
  panels: Panel[];
}

export interface Variable {
  name: string;
  label: string;
  type: 'query';
  datasource: DatasourceRef;
  definition: string;
  query: string;
  refresh: 2;
  includeAll: boolean;
  multi: boolean;
  allValue: string;
  current: { selected: boolean; text: string[]; value: string[] };
  options: never[];
  regex: string;
  sort: number;
  hide: number;
}

export interface Dashboard {
  uid: string;
  title: string;
  description: string;
  tags: string[];
  editable: boolean;
  graphTooltip: number;
  timezone: string;
  schemaVersion: number;
  version: number;
  refresh: string;
  time: { from: string; to: string };
  timepicker: { refresh_intervals: string[] };
  fiscalYearStartMonth: number;
  liveNow: boolean;
  annotations: { list: never[] };
  links: never[];
  templating: { list: Variable[] };
  panels: Array<RowPanel | Panel>;
}

// ---------------------------------------------------------------------------------------------
// Reading JSON of unknown shape.

export type JsonObject = Readonly<Record<string, unknown>>;

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The value at a path of object keys, or undefined when any step is missing or not an object. */
export function at(v: unknown, ...path: string[]): unknown {
  let cur = v;
  for (const key of path) {
    if (!isObject(cur)) return undefined;
    cur = cur[key];
  }
  return cur;
}

/** The objects in an array (anything else is skipped); [] when v is not an array. */
export function objects(v: unknown): JsonObject[] {
  return Array.isArray(v) ? v.filter(isObject) : [];
}

export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** A short label for a panel in messages: `panel 7 "Title"`. */
export function panelName(p: JsonObject): string {
  const id = typeof p.id === 'number' ? String(p.id) : '?';
  return `panel ${id} "${str(p.title) ?? ''}"`;
}

/** Every panel, including panels nested in rows. */
export function allPanels(dashboard: unknown): JsonObject[] {
  const out: JsonObject[] = [];
  for (const p of objects(at(dashboard, 'panels'))) {
    out.push(p);
    if (p.type === 'row') out.push(...objects(p.panels));
  }
  return out;
}

export interface PanelQuery {
  panelId: number | undefined;
  title: string;
  type: string;
  refId: string | undefined;
  expr: string | undefined;
}

/** Every query of every (non-row) panel, flattened. */
export function panelQueries(dashboard: unknown): PanelQuery[] {
  return allPanels(dashboard)
    .filter((p) => p.type !== 'row')
    .flatMap((p) =>
      objects(p.targets).map((t) => ({
        panelId: typeof p.id === 'number' ? p.id : undefined,
        title: str(p.title) ?? '',
        type: str(p.type) ?? '',
        refId: str(t.refId),
        expr: str(t.expr),
      })),
    );
}
