// make capacity: the capacity search for MODE (lib/capacity.ts). Settings: lib/config.ts
// (MODE CLIENTS SYMBOLS VARY RATE SLO_P99_MS CAPACITY_BUDGET_S STEP_S STEP_WARMUP_S START_RATE
// START_CLIENTS PRECISION PIN ...). SERVER_ARGS passes extra server flags to every step (e.g. a
// CPU burn for the verdict tests).
import { runMain } from '../protocol/cli.js';
import { EXIT } from '../protocol/codes.js';
import { capacityCli } from './lib/capacity-cli.js';
import { BENCH_FLAGS, CAPACITY_HELP, readConfig } from './lib/config.js';
import { unbuiltExit } from './runtimes/native.js';

const NAME = 'wsbench-capacity';

async function main(): Promise<number> {
  const cfg = readConfig(NAME, BENCH_FLAGS, CAPACITY_HELP);
  if (cfg === null) return EXIT.ok;
  const unbuilt = unbuiltExit(NAME);
  if (unbuilt !== null) return unbuilt;
  const extra = (process.env.SERVER_ARGS ?? '').split(/\s+/).filter((a) => a !== '');
  return capacityCli(NAME, cfg, extra);
}

runMain(main);
