// A report as data: sections of tables, text, warnings and charts. report.ts builds it from
// result.json / compare.json; render-md.ts and render-html.ts draw it.

/** A Chart.js configuration, carried as JSON into the page. */
export interface ChartConfig {
  type: string;
  data: unknown;
  options?: unknown;
}

export type Block =
  | { kind: 'table'; columns: string[]; rows: string[][]; caption?: string | undefined }
  | { kind: 'text'; text: string }
  | { kind: 'warning'; text: string }
  | { kind: 'chart'; id: string; title: string; config: ChartConfig };

export interface Section {
  title: string;
  blocks: Block[];
}

export interface ReportModel {
  title: string;
  subtitle: string;
  warnings: string[];
  sections: Section[];
}

export const table = (columns: string[], rows: string[][], caption?: string): Block => ({
  kind: 'table',
  columns,
  rows,
  caption,
});
export const text = (t: string): Block => ({ kind: 'text', text: t });
export const warning = (t: string): Block => ({ kind: 'warning', text: t });
export const chart = (id: string, title: string, config: ChartConfig): Block => ({
  kind: 'chart',
  id,
  title,
  config,
});
