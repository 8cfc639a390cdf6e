#!/usr/bin/env node
// make report: rebuilds report.md and report.html for every run (result.json) and every
// comparison (compare.json) under RESULTS_DIR (default ./results).
import path from 'node:path';
import { writeCompareReports, writeRunReports } from './lib/report.mjs';
import { findDirsWith, resultsDir } from './lib/results.mjs';

const root = resultsDir();
const runDirs = await findDirsWith(root, 'result.json');
const compareDirs = await findDirsWith(root, 'compare.json');
let failed = 0;
for (const dir of runDirs) {
  try {
    await writeRunReports(dir);
  } catch (err) {
    failed++;
    console.error(`wsbench-report: ${path.relative(process.cwd(), dir)}: ${err.message}`);
  }
}
for (const dir of compareDirs) {
  try {
    await writeCompareReports(dir);
  } catch (err) {
    failed++;
    console.error(`wsbench-report: ${path.relative(process.cwd(), dir)}: ${err.message}`);
  }
}
console.error(
  `wsbench-report: rebuilt ${runDirs.length} run report(s) and ${compareDirs.length} comparison report(s) in ${root}` +
    (failed ? `; ${failed} failed` : ''),
);
if (runDirs.length + compareDirs.length === 0)
  console.error(
    `wsbench-report: nothing to do (no result.json under ${root}); run make bench first`,
  );
process.exitCode = failed ? 1 : 0;
