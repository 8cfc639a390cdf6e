// make report: rebuilds report.md and report.html for every run (result.json) and every
// comparison (compare.json) under RESULTS_DIR (default ./results).
import path from 'node:path';
import { runMain } from '../protocol/cli.js';
import { EXIT } from '../protocol/codes.js';
import { errorText } from './lib/format.js';
import { writeCompareReports, writeRunReports } from './lib/report.js';
import { findDirsWith, resultsDir } from './lib/results.js';

const NAME = 'wsbench-report';

async function main(): Promise<number> {
  const root = resultsDir();
  const runDirs = await findDirsWith(root, 'result.json');
  const compareDirs = await findDirsWith(root, 'compare.json');
  let failed = 0;
  const each = async (dirs: string[], write: (d: string) => Promise<unknown>): Promise<void> => {
    for (const dir of dirs) {
      try {
        await write(dir);
      } catch (err) {
        failed++;
        console.error(`${NAME}: ${path.relative(process.cwd(), dir)}: ${errorText(err)}`);
      }
    }
  };
  await each(runDirs, writeRunReports);
  await each(compareDirs, writeCompareReports);
  console.error(
    `${NAME}: rebuilt ${runDirs.length} run report(s) and ${compareDirs.length} comparison report(s) in ${root}` +
      (failed > 0 ? `; ${failed} failed` : ''),
  );
  if (runDirs.length + compareDirs.length === 0)
    console.error(`${NAME}: nothing to do (no result.json under ${root}); run make bench first`);
  return failed > 0 ? EXIT.failed : EXIT.ok;
}

runMain(main);
