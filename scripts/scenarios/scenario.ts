// What a compare scenario is: a name, how many clients at what rate, and one line saying what it
// shows. A new scenario is one file beside this one plus one line in index.ts.

/** The compare settings a scenario may read. */
export interface ScenarioSettings {
  clients: number;
  steadyRate: number;
}

export interface Scenario {
  /** a search (many runs, lib/capacity.ts) rather than one run */
  search?: boolean;
  plan(s: ScenarioSettings): { clients: number; rate: number };
  describe(s: ScenarioSettings): string;
}

/** A scenario resolved against the settings (compare.json's config.scenarios entries). */
export interface ScenarioPlan {
  name: string;
  clients: number;
  /** ticks/s; 0 = as fast as possible */
  rate: number;
  description: string;
  search: boolean;
}
