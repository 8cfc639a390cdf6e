// Number formatting and small statistics shared by the reports and the progress lines.

/** 1234567 -> "1.23M", 45210 -> "45.2k"; null/undefined/NaN -> "–". */
export function si(n, digits = 3) {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–';
  const abs = Math.abs(n);
  if (abs >= 1e9) return trim((n / 1e9).toPrecision(digits)) + 'G';
  if (abs >= 1e6) return trim((n / 1e6).toPrecision(digits)) + 'M';
  if (abs >= 1e3) return trim((n / 1e3).toPrecision(digits)) + 'k';
  return trim(n >= 100 ? n.toFixed(0) : n.toPrecision(digits));
}

function trim(s) {
  return s.includes('.') && !s.includes('e') ? s.replace(/\.?0+$/, '') : s;
}

export function bytes(n) {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–';
  if (n >= 1024 ** 3) return (n / 1024 ** 3).toFixed(2) + ' GiB';
  if (n >= 1024 ** 2) return (n / 1024 ** 2).toFixed(1) + ' MiB';
  if (n >= 1024) return (n / 1024).toFixed(1) + ' KiB';
  return n + ' B';
}

export function fixed(n, digits = 2) {
  return n === null || n === undefined || !Number.isFinite(n) ? '–' : n.toFixed(digits);
}

export function ratio(n) {
  return n === null || n === undefined || !Number.isFinite(n) ? '–' : n.toFixed(2) + 'x';
}

export function percent(n) {
  return n === null || n === undefined || !Number.isFinite(n) ? '–' : (n * 100).toFixed(2) + '%';
}

/** Latency in µs shown in the unit a person reads best. */
export function us(n) {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–';
  if (n >= 1e6) return (n / 1e6).toFixed(2) + ' s';
  if (n >= 1e3) return (n / 1e3).toFixed(2) + ' ms';
  return Math.round(n) + ' µs';
}

export function seconds(s) {
  if (!Number.isFinite(s) || s < 0) return '–';
  if (s < 60) return Math.ceil(s) + 's';
  return Math.floor(s / 60) + 'm' + String(Math.ceil(s % 60)).padStart(2, '0') + 's';
}

export function median(values) {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

export function minMax(values) {
  const v = values.filter(Number.isFinite);
  if (v.length === 0) return { min: null, max: null };
  return { min: Math.min(...v), max: Math.max(...v) };
}

/** Escapes text for HTML element content and attribute values. */
export function html(s) {
  return String(s ?? '')
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;');
}

/** Escapes a Markdown table cell. */
export function cell(s) {
  return String(s ?? '')
    .replaceAll('|', '\\|')
    .replaceAll('\n', ' ');
}
