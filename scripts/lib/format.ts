// Number formatting and small statistics shared by the reports, the summary and the progress lines.

type Num = number | null | undefined;

function ok(n: Num): n is number {
  return typeof n === 'number' && Number.isFinite(n);
}

function trim(s: string): string {
  return s.includes('.') && !s.includes('e') ? s.replace(/\.?0+$/, '') : s;
}

/** 1234567 -> "1.23M", 45210 -> "45.2k"; null/undefined/NaN -> "–". */
export function si(n: Num, digits = 3): string {
  if (!ok(n)) return '–';
  const abs = Math.abs(n);
  if (abs >= 1e9) return trim((n / 1e9).toPrecision(digits)) + 'G';
  if (abs >= 1e6) return trim((n / 1e6).toPrecision(digits)) + 'M';
  if (abs >= 1e3) return trim((n / 1e3).toPrecision(digits)) + 'k';
  return trim(n >= 100 ? n.toFixed(0) : n.toPrecision(digits));
}

export function bytes(n: Num): string {
  if (!ok(n)) return '–';
  if (n >= 1024 ** 3) return (n / 1024 ** 3).toFixed(2) + ' GiB';
  if (n >= 1024 ** 2) return (n / 1024 ** 2).toFixed(1) + ' MiB';
  if (n >= 1024) return (n / 1024).toFixed(1) + ' KiB';
  return `${n} B`;
}

export function fixed(n: Num, digits = 2): string {
  return ok(n) ? n.toFixed(digits) : '–';
}

export function ratio(n: Num): string {
  return ok(n) ? n.toFixed(2) + 'x' : '–';
}

export function percent(n: Num): string {
  return ok(n) ? (n * 100).toFixed(2) + '%' : '–';
}

/** Latency in µs shown in the unit a person reads best. */
export function us(n: Num): string {
  if (!ok(n)) return '–';
  if (n >= 1e6) return (n / 1e6).toFixed(2) + ' s';
  if (n >= 1e3) return (n / 1e3).toFixed(2) + ' ms';
  return `${Math.round(n)} µs`;
}

export function seconds(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '–';
  if (s < 60) return `${Math.ceil(s)}s`;
  return `${Math.floor(s / 60)}m${String(Math.ceil(s % 60)).padStart(2, '0')}s`;
}

export function median(values: readonly Num[]): number | null {
  const v = values.filter(ok).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = v.length >> 1;
  const hi = v[mid] ?? 0;
  return v.length % 2 ? hi : ((v[mid - 1] ?? hi) + hi) / 2;
}

export function minMax(values: readonly Num[]): { min: number | null; max: number | null } {
  const v = values.filter(ok);
  if (v.length === 0) return { min: null, max: null };
  return { min: Math.min(...v), max: Math.max(...v) };
}

export function round(n: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** Escapes text for HTML element content and attribute values. */
export function html(s: string | number | null | undefined): string {
  return String(s ?? '')
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;');
}

/** Escapes a Markdown table cell. */
export function cell(s: string | number | null | undefined): string {
  return String(s ?? '')
    .replaceAll('|', '\\|')
    .replaceAll('\n', ' ');
}

/** An error's message, whatever was thrown. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
