import type { Scenario } from './scenario.js';

/** One client, server at maximum rate: raw per-socket throughput. */
export const firehose: Scenario = {
  plan: () => ({ clients: 1, rate: 0 }),
  describe: () => 'one client, server at maximum rate: raw per-socket throughput',
};
