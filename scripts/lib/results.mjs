// Where results live: RESULTS_DIR (default ./results), one folder per run or comparison, and the
// `latest` / `latest-compare` symlinks that point at the newest of each.
import { mkdir, readdir, rename, stat, symlink, unlink } from 'node:fs/promises';
import path from 'node:path';

export function resultsDir(env = process.env) {
  return path.resolve(env.RESULTS_DIR || 'results');
}

/** YYYYMMDD-HHMMSS-<suffix> in UTC, the run-id format client-bench uses too. */
export function stampId(suffix, date = new Date()) {
  const iso = date.toISOString();
  return `${iso.slice(0, 10).replaceAll('-', '')}-${iso.slice(11, 19).replaceAll(':', '')}-${suffix}`;
}

/** Creates a fresh folder under `parent`; adds -2, -3, ... when the id was already taken. */
export async function makeUniqueDir(parent, id) {
  await mkdir(parent, { recursive: true });
  for (let i = 1; ; i++) {
    const name = i === 1 ? id : `${id}-${i}`;
    try {
      await mkdir(path.join(parent, name));
      return { id: name, dir: path.join(parent, name) };
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
    }
  }
}

/** Points parent/<linkName> at target (relative link, replaced atomically). */
export async function pointLink(parent, linkName, target) {
  const link = path.join(parent, linkName);
  const tmp = `${link}.tmp-${process.pid}`;
  await unlink(tmp).catch(() => {});
  await symlink(path.relative(parent, target), tmp);
  await rename(tmp, link);
}

/** Every folder under `root` (not following symlinks) that holds `fileName`, deepest first. */
export async function findDirsWith(root, fileName) {
  const found = [];
  async function walk(dir) {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) if (e.isDirectory()) await walk(path.join(dir, e.name));
    if (entries.some((e) => e.isFile() && e.name === fileName)) found.push(dir);
  }
  if ((await stat(root).catch(() => null))?.isDirectory()) await walk(root);
  return found;
}

/** A path as a person would type it: relative when inside the current folder. */
export function displayPath(p) {
  const rel = path.relative(process.cwd(), p);
  return rel && !rel.startsWith('..') ? rel : p;
}
