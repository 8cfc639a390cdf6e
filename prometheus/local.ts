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

/** GET /api/v1/query at the server's current time; returns the result vector. */
export async function instantQuery(
  baseUrl: string,
  expr: string,
): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> {
  const res = await fetch(`${baseUrl}/api/v1/query?query=${encodeURIComponent(expr)}`, {
    signal: AbortSignal.timeout(10_000),
  });
  const body = (await res.json()) as any;
  if (body.status !== 'success') {
    throw new Error(`query failed (${res.status} ${body.errorType}: ${body.error}): ${expr}`);
  }
  if (body.data.resultType !== 'vector') {
    throw new Error(`expected a vector, got ${body.data.resultType}: ${expr}`);
  }
  return body.data.result;
}
