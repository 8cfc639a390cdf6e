// Where results live: RESULTS_DIR (default ./results), one folder per run or comparison, and the
// `latest` / `latest-compare` symlinks that point at the newest of each.
import { mkdir, readdir, rename, stat, symlink, unlink } from 'node:fs/promises';
import path from 'node:path';

export function resultsDir(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.RESULTS_DIR;
  return path.resolve(dir === undefined || dir === '' ? 'results' : dir);
}

/** YYYYMMDD-HHMMSS-<suffix> in UTC, the run-id format client-bench uses too. */
export function stampId(suffix: string, date = new Date()): string {
  const iso = date.toISOString();
  return `${iso.slice(0, 10).replaceAll('-', '')}-${iso.slice(11, 19).replaceAll(':', '')}-${suffix}`;
}

/** Creates a fresh folder under `parent`; adds -2, -3, ... when the id was already taken. */
export async function makeUniqueDir(
  parent: string,
  id: string,
): Promise<{ id: string; dir: string }> {
  await mkdir(parent, { recursive: true });
  for (let i = 1; ; i++) {
    const name = i === 1 ? id : `${id}-${i}`;
    try {
      await mkdir(path.join(parent, name));
      return { id: name, dir: path.join(parent, name) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}

/** Points parent/<linkName> at target (relative link, replaced atomically). */
export async function pointLink(parent: string, linkName: string, target: string): Promise<void> {
  const link = path.join(parent, linkName);
  const tmp = `${link}.tmp-${process.pid}`;
  await unlink(tmp).catch(() => undefined);
  await symlink(path.relative(parent, target), tmp);
  await rename(tmp, link);
}

/** Every folder under `root` (not following symlinks) that holds `fileName`, deepest first. */
export async function findDirsWith(root: string, fileName: string): Promise<string[]> {
  const found: string[] = [];
  async function walk(dir: string): Promise<void> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) if (e.isDirectory()) await walk(path.join(dir, e.name));
    if (entries.some((e) => e.isFile() && e.name === fileName)) found.push(dir);
  }
  if ((await stat(root).catch(() => null))?.isDirectory() === true) await walk(root);
  return found;
}

/** A path as a person would type it: relative when inside the current folder. */
export function displayPath(p: string): string {
  const rel = path.relative(process.cwd(), p);
  return rel !== '' && !rel.startsWith('..') ? rel : p;
}
