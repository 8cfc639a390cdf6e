import type { Scenario } from './scenario.js';

/**
 * CLIENTS clients, the capacity search (lib/capacity.ts): the highest fixed rate with every tick
 * delivered within the SLO. compare runs it once per mode (not per repeat: it is many runs).
 */
export const capacity: Scenario = {
  search: true,
  plan: (s) => ({ clients: s.clients, rate: 0 }),
  describe: (s) =>
    `${s.clients} clients, capacity search: the highest tick rate with every tick delivered and p99 within the SLO`,
};
