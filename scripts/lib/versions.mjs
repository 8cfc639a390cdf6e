// Versions a result carries: Node and every package that shapes the numbers.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const PACKAGES = [
  'ws',
  'uWebSockets.js',
  'prom-client',
  'hdr-histogram-js',
  'autocannon',
  'zx',
  'chart.js',
];
const SEARCH = ['node_modules', 'server/node_modules', 'client-bench/node_modules'];

function packageVersion(name) {
  for (const dir of SEARCH) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(repoRoot, dir, name, 'package.json'), 'utf8'));
      // uWebSockets.js is an npm alias: say which package really is installed
      return pkg.name && pkg.name !== name ? `${pkg.version} (${pkg.name})` : pkg.version;
    } catch {
      // try the next place
    }
  }
  return null;
}

export function versions() {
  const out = { node: process.version };
  try {
    out.wsbench = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')).version;
  } catch {
    out.wsbench = null;
  }
  for (const name of PACKAGES) out[name] = packageVersion(name);
  return out;
}

/** The same machine block client-bench writes, for results that have no client part. */
export function machineInfo() {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    model: cpus[0]?.model ?? 'unknown',
    node: process.version,
    os: `${os.type()} ${os.release()}`,
    arch: process.arch,
    totalMemBytes: os.totalmem(),
  };
}
