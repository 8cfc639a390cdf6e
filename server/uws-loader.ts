// Loads a native uWebSockets.js build: tries the installed packages in order and takes the first
// whose native binary loads on this Node, platform and glibc. The official package is published
// only on GitHub; on npm there are republishes with different reach:
//   @btc-vision/uwebsockets.js 20.57  Node 20/22/24/25 binaries, all need glibc >= 2.38 (Debian 13)
//   @trufflesuite/uws-js-unofficial 20.30 (installed as "uWebSockets.js")  Node <= 20, glibc 2.27
// The trufflesuite package silently returns a JS shim built on `ws` when its binary does not
// load; that shim is refused (a benchmark of it would be a lie). No imports from the server, so
// that the image build can run this file on its own (`node uws-loader.js` prints the choice).
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** The packages tried, in order (require specifiers). WSBENCH_UWS_PACKAGE=<one> tries only it. */
export const UWS_PACKAGES = ['@btc-vision/uwebsockets.js', 'uWebSockets.js'] as const;

function candidates(): readonly string[] {
  const only = process.env.WSBENCH_UWS_PACKAGE ?? '';
  if (only === '') return UWS_PACKAGES;
  if (!(UWS_PACKAGES as readonly string[]).includes(only)) {
    throw new UwsLoadError(
      `invalid WSBENCH_UWS_PACKAGE "${only}": expected ${UWS_PACKAGES.join(' or ')} (or empty: the first that loads)`,
    );
  }
  return [only];
}

/** What ran: reported in /health (`runtime.uws`) and so in result.json. */
export interface UwsRuntime {
  /** The package's own name (the alias "uWebSockets.js" is @trufflesuite/uws-js-unofficial). */
  package: string;
  version: string;
  /** The specifier it was required by. */
  specifier: string;
  /** The native binary's file name, e.g. uws_linux_x64_137.node. */
  binary: string;
  /** The package folder (the image build keeps only this one). */
  dir: string;
}

export class UwsLoadError extends Error {
  override name = 'UwsLoadError';
}

const require = createRequire(import.meta.url);
let loaded: { module: unknown; runtime: UwsRuntime } | undefined;

/** The uWS package loaded in this process, as /health reports it; null when no uws mode ran. */
export function loadedUws(): Pick<UwsRuntime, 'package' | 'version' | 'binary'> | null {
  if (!loaded) return null;
  const { package: name, version, binary } = loaded.runtime;
  return { package: name, version, binary };
}

/** Where a package lives and what it calls itself, without loading its code. */
function describe(specifier: string): { name: string; version: string; dir: string } | null {
  let main: string;
  try {
    main = require.resolve(specifier);
  } catch {
    return null; // not installed
  }
  // The package's exports may hide package.json: walk up from the entry point instead.
  let dir = dirname(main);
  for (let i = 0; i < 4; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name !== undefined) {
        return { name: pkg.name, version: pkg.version ?? 'unknown', dir };
      }
    } catch {
      // no package.json here: one level up
    }
    dir = dirname(dir);
  }
  return { name: specifier, version: 'unknown', dir: dirname(main) };
}

function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  // btc-vision prefixes the loader's error with a paragraph on supported platforms: keep the cause.
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  return (lines.find((l) => /^Error:|GLIBC|cannot open|invalid ELF/.test(l)) ?? lines[0] ?? '')
    .replace(/^Error: /, '')
    .slice(0, 300);
}

function glibc(): string {
  const header = (process.report.getReport() as { header?: { glibcVersionRuntime?: string } })
    .header;
  return header?.glibcVersionRuntime ?? 'none';
}

/**
 * Loads the first package of UWS_PACKAGES whose native binary loads; throws UwsLoadError naming
 * each package and why it did not (not installed, binary did not load, JS fallback refused).
 */
export function loadUws(): { module: unknown; runtime: UwsRuntime } {
  if (loaded) return loaded;
  const binary = `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`;
  const reasons: string[] = [];
  // UWS_USE_FALLBACK asks the trufflesuite package for its JS shim; it stands for "no native
  // binary" for every package, so the refusal can be tested on any machine.
  const fallbackAsked = /^(1|true)$/i.test(process.env.UWS_USE_FALLBACK ?? '');
  for (const specifier of candidates()) {
    const pkg = describe(specifier);
    if (!pkg) {
      reasons.push(`${specifier}: not installed`);
      continue;
    }
    const label =
      pkg.name === specifier
        ? `${pkg.name}@${pkg.version}`
        : `${specifier} (${pkg.name}@${pkg.version})`;
    if (fallbackAsked) {
      reasons.push(`${label}: UWS_USE_FALLBACK is set (asks for the JS fallback on ws: refused)`);
      continue;
    }
    // The trufflesuite package prints its fallback notice with console.log; stdout carries only
    // the server's ready line.
    const log = console.log;
    console.log = console.error;
    let mod: unknown;
    try {
      mod = require(specifier);
    } catch (err) {
      reasons.push(`${label}: ${firstLine(err)}`);
      continue;
    } finally {
      console.log = log;
    }
    // getParts exists only in the native build (the fallback shim lacks it).
    if (typeof (mod as { getParts?: unknown }).getParts !== 'function') {
      reasons.push(`${label}: JS fallback on ws instead of the native binary (refused)`);
      continue;
    }
    loaded = {
      module: mod,
      runtime: { package: pkg.name, version: pkg.version, specifier, binary, dir: pkg.dir },
    };
    return loaded;
  }
  throw new UwsLoadError(
    `the uWebSockets.js native binary is not loaded on Node ${process.version} ` +
      `(${process.platform}-${process.arch}, ABI ${process.versions.modules}, glibc ${glibc()}): ` +
      reasons.join('; '),
  );
}

// `node uws-loader.js`: prints the chosen package as JSON (the image build keeps only it), or the
// reasons on stderr with exit 1.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    const { runtime } = loadUws();
    process.stdout.write(JSON.stringify({ node: process.version, uws: runtime }) + '\n');
  } catch (err) {
    console.error(`uws-loader: ${(err as Error).message}`);
    process.exitCode = 1;
  }
}
