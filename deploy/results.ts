// Shared by the deploy/ tests: the repository root, and client-bench result files read back.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Result } from '../client-bench/result.js';

export type { Result };

/** The repository root (the folder holding deploy/), from source or from dist/. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'deploy', 'swarm', 'stack.yml'))) return dir;
    dir = dirname(dir);
  }
  throw new Error(`cannot find the repository root above ${fileURLToPath(import.meta.url)}`);
}

/** A result.json written by client-bench (a shard's or a merged one). */
export function readResult(file: string): Result {
  const value: unknown = JSON.parse(readFileSync(file, 'utf8'));
  if (typeof value !== 'object' || value === null || !('schemaVersion' in value)) {
    throw new Error(`${file} is not a client-bench result`);
  }
  return value as Result;
}
