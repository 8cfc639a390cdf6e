// Access to scripts/prometheus-local.ts (compiled into dist/scripts/) for the tests.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type {
  TargetEntry,
  LocalPrometheusOptions,
  LocalPrometheus,
} from '../scripts/prometheus-local.js';

export type PrometheusLocalModule = typeof import('../scripts/prometheus-local.js');

/** The repository root (the folder holding prometheus/prometheus.yml), from source or dist/. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'prometheus', 'prometheus.yml'))) return dir;
    dir = dirname(dir);
  }
  throw new Error(`cannot find the repository root above ${fileURLToPath(import.meta.url)}`);
}

export async function loadPrometheusLocal(): Promise<PrometheusLocalModule> {
  return import('../scripts/prometheus-local.js');
}

export interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stringRecord(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (isRecord(v)) for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
  return out;
}

/** GET a Prometheus HTTP API path; returns its `data` once `status` is "success". */
export async function apiGet(baseUrl: string, path: string): Promise<unknown> {
  const res = await fetch(`${baseUrl}${path}`, { signal: AbortSignal.timeout(10_000) });
  const body: unknown = await res.json();
  if (!isRecord(body) || body.status !== 'success') {
    const { errorType, error } = isRecord(body) ? body : {};
    throw new Error(
      `prometheus ${path} failed (${res.status} ${String(errorType)}: ${String(error)})`,
    );
  }
  return body.data;
}

/** GET /api/v1/query at the server's current time; returns the result vector. */
export async function instantQuery(baseUrl: string, expr: string): Promise<Sample[]> {
  const data = await apiGet(baseUrl, `/api/v1/query?query=${encodeURIComponent(expr)}`).catch(
    (err: unknown) => {
      throw new Error(`${err instanceof Error ? err.message : String(err)}: ${expr}`);
    },
  );
  if (!isRecord(data) || data.resultType !== 'vector' || !Array.isArray(data.result)) {
    const type = isRecord(data) ? String(data.resultType) : typeof data;
    throw new Error(`expected a vector, got ${type}: ${expr}`);
  }
  return data.result.filter(isRecord).map((s) => {
    const [t, v] = Array.isArray(s.value) ? (s.value as unknown[]) : [];
    return { metric: stringRecord(s.metric), value: [Number(t), String(v)] };
  });
}

/** GET /api/v1/label/<label>/values for the series a selector matches. */
export async function labelValues(
  baseUrl: string,
  label: string,
  match: string,
): Promise<string[]> {
  const data = await apiGet(
    baseUrl,
    `/api/v1/label/${label}/values?match[]=${encodeURIComponent(match)}`,
  );
  return Array.isArray(data) ? data.filter((x): x is string => typeof x === 'string') : [];
}

/** GET /api/v1/rules: every loaded rule as { group, name }. */
export async function loadedRules(
  baseUrl: string,
): Promise<Array<{ group: string; name: string }>> {
  const data = await apiGet(baseUrl, '/api/v1/rules');
  const groups = isRecord(data) && Array.isArray(data.groups) ? data.groups.filter(isRecord) : [];
  return groups.flatMap((g) => {
    const rules = Array.isArray(g.rules) ? g.rules.filter(isRecord) : [];
    return rules.map((r) => ({ group: String(g.name), name: String(r.name) }));
  });
}

/** GET /api/v1/targets: the active targets' labels and health. */
export async function activeTargets(
  baseUrl: string,
): Promise<Array<{ labels: Record<string, string>; health: string }>> {
  const data = await apiGet(baseUrl, '/api/v1/targets');
  const active =
    isRecord(data) && Array.isArray(data.activeTargets) ? data.activeTargets.filter(isRecord) : [];
  return active.map((a) => ({ labels: stringRecord(a.labels), health: String(a.health) }));
}
