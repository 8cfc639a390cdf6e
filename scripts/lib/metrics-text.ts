// Reads the Prometheus text format the server and client-bench serve on /metrics: the sum of one
// metric family (optionally only samples whose labels match), and a histogram's buckets.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (m?.[1] === undefined || m[3] === undefined) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) if (l[1] !== undefined) labels[l[1]] = l[2] ?? '';
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

/** Sum of every sample of `name` whose labels include `where`. */
export function total(
  samples: readonly Sample[],
  name: string,
  where: Record<string, string> = {},
): number {
  let sum = 0;
  for (const s of samples) {
    if (s.name !== name) continue;
    if (Object.entries(where).every(([k, v]) => s.labels[k] === v)) sum += s.value;
  }
  return sum;
}

/** Cumulative bucket counts of histogram `name`, by upper bound (seconds), ascending. */
export function buckets(samples: readonly Sample[], name: string): [number, number][] {
  const byLe = new Map<number, number>();
  for (const s of samples) {
    if (s.name !== `${name}_bucket`) continue;
    const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
    byLe.set(le, (byLe.get(le) ?? 0) + s.value);
  }
  return [...byLe.entries()].sort((a, b) => a[0] - b[0]);
}

/** The quantile q of the observations between two cumulative bucket readings (upper bound). */
export function bucketQuantile(
  before: readonly [number, number][],
  after: readonly [number, number][],
  q: number,
): number | null {
  const prev = new Map(before);
  const delta = after.map(([le, c]) => [le, c - (prev.get(le) ?? 0)] as const);
  const count = delta[delta.length - 1]?.[1] ?? 0;
  if (count <= 0) return null;
  const rank = q * count;
  for (const [le, c] of delta) if (c >= rank) return le;
  return null;
}
