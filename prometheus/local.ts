// Typed access to scripts/prometheus-local.mjs from compiled tests. The script is plain ESM that
// tsc does not copy into dist/, so it is loaded from the repository root at run time.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export type TargetEntry = string | { address: string; mode?: string; runId?: string };

export interface LocalPrometheusOptions {
  dir: string;
  targets: { server?: TargetEntry[]; client?: TargetEntry[] };
  mode?: string;
  runId?: string;
  port?: number;
  scrapeInterval?: string;
  bin?: string | null;
}

export interface LocalPrometheus {
  url: string;
  port: number;
  pid: number;
  configFile: string;
  dataDir: string;
  logFile: string;
  stop(): Promise<void>;
}

export interface PrometheusLocalModule {
  RULES_FILE: string;
  startLocalPrometheus(opts: LocalPrometheusOptions): Promise<LocalPrometheus | null>;
  renderLocalConfig(opts: Omit<LocalPrometheusOptions, 'dir' | 'port' | 'bin'>): string;
  checkConfigWithPromtool(file: string): { ok: boolean; output: string } | null;
  findBinary(name: string): string | null;
  freePort(): Promise<number>;
}

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
  const url = pathToFileURL(join(repoRoot(), 'scripts', 'prometheus-local.mjs')).href;
  return (await import(url)) as PrometheusLocalModule;
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
