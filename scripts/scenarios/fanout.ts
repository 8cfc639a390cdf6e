import type { Scenario } from './scenario.js';

/** CLIENTS clients, server at maximum rate: broadcast throughput under overload. */
export const fanout: Scenario = {
  plan: (s) => ({ clients: s.clients, rate: 0 }),
  describe: (s) => `${s.clients} clients, server at maximum rate: broadcast throughput`,
};
