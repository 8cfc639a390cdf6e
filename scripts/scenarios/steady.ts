import type { Scenario } from './scenario.js';

/** CLIENTS clients at a fixed tick rate: latency percentiles at equal load. */
export const steady: Scenario = {
  plan: (s) => ({ clients: s.clients, rate: s.steadyRate }),
  describe: (s) =>
    `${s.clients} clients at a fixed tick rate (${s.steadyRate} ticks/s): latency percentiles at equal load`,
};
