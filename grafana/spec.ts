// What a dashboard is made of before it becomes Grafana JSON: sections of panel specs, and the
// PromQL helpers every panel query is written with. grafana/build-dashboards.ts renders them.
import type { PanelType } from './model.js';

// Label selectors shared by every query. Server series carry `mode`; client series carry `mode`
// and `run_id`, and `shard` when client-bench runs as one shard of several (`--shard I/N`). The
// $shard variable's "All" is `.*`, which also matches series without the label (an unsharded
// run), so every client panel sums over the selected shards. The job tells server and client
// apart for the default Node metrics.
export const SRV = 'job="wsbench-server", mode=~"$mode"';
export const CLI = 'job="wsbench-client", mode=~"$mode", run_id=~"$run_id", shard=~"$shard"';
const RI = '$__rate_interval';

export interface Query {
  expr: string;
  legend: string;
  /** 'heatmap' turns cumulative le-buckets into heatmap cells. */
  format?: 'time_series' | 'heatmap';
}

export interface PanelSpec {
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

export interface Section {
  row: string;
  panels: PanelSpec[];
}

export const sum = (by: string, inner: string) => `sum by (${by}) (${inner})`;
export const rate = (metric: string, sel: string) => `rate(${metric}{${sel}}[${RI}])`;
export const quantile = (q: number, by: string, metric: string, sel: string) =>
  `histogram_quantile(${q}, sum by (${by}, le) (${rate(metric, sel)}))`;
