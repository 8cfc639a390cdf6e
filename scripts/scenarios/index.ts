// The compare scenarios: one file each, one line here. A scenario says how many clients and what
// rate a run of it uses, given the compare settings (CLIENTS, STEADY_RATE).
import { capacity } from './capacity.js';
import { fanout } from './fanout.js';
import { firehose } from './firehose.js';
import { steady } from './steady.js';
import type { Scenario, ScenarioPlan, ScenarioSettings } from './scenario.js';

export type { Scenario, ScenarioPlan, ScenarioSettings } from './scenario.js';

export const SCENARIOS = { capacity, firehose, fanout, steady } as const satisfies Record<
  string,
  Scenario
>;
export type ScenarioName = keyof typeof SCENARIOS;
export const SCENARIO_NAMES = Object.keys(SCENARIOS) as ScenarioName[];

export function scenarioPlan(name: ScenarioName, s: ScenarioSettings): ScenarioPlan {
  const sc: Scenario = SCENARIOS[name];
  return { name, ...sc.plan(s), description: sc.describe(s), search: sc.search === true };
}
