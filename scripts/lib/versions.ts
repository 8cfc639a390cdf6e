// Versions a result carries: Node and every package that shapes the numbers.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: this file is dist/scripts/lib/versions.js or scripts/lib/versions.ts. */
export const repoRoot = ((): string => {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const up = path.resolve(here, '../..');
  return path.basename(up) === 'dist' ? path.dirname(up) : up;
})();

const PACKAGES = [
  'ws',
  'uWebSockets.js',
  'prom-client',
  'hdr-histogram-js',
  'autocannon',
  'chart.js',
];
const SEARCH = ['node_modules', 'server/node_modules', 'client-bench/node_modules'];

function packageVersion(name: string): string | null {
  for (const dir of SEARCH) {
    try {
      const file = path.join(repoRoot, dir, name, 'package.json');
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      // uWebSockets.js is an npm alias: say which package really is installed
      const version = pkg.version ?? '?';
      return pkg.name !== undefined && pkg.name !== name ? `${version} (${pkg.name})` : version;
    } catch {
      // try the next place
    }
  }
  return null;
}

export type Versions = Record<string, string | null> & { node: string };

export function versions(): Versions {
  const out: Versions = { node: process.version };
  try {
    const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
      version?: string;
    };
    out.wsbench = pkg.version ?? null;
  } catch {
    out.wsbench = null;
  }
  for (const name of PACKAGES) out[name] = packageVersion(name);
  return out;
}
