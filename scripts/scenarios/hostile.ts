// The hostile-client scenarios of make bench SCENARIO=... (scripts/scenario.ts): each is one
// client-bench process with its own scenario flags (docs/interfaces.md) — slow consumers among the
// healthy connections, a reconnect storm of every connection, churn — against a server with the
// flags below. slow-consumers also has a reference: the same healthy clients without the slow ones.

export const HOSTILE_SCENARIOS = ['slow-consumers', 'reconnect-storm', 'churn'] as const;
export type HostileScenario = (typeof HOSTILE_SCENARIOS)[number];

/** The server's backpressure cap in slow-consumers (both variants). */
export const SLOW_CAP_BYTES = 262_144;

/** The symbol the storm's connections subscribe to (one of eight: an eighth of the rate each). */
export const STORM_SYMBOL = 'BTC-USD';

export interface HostileSettings {
  clients: number;
  duration: number;
  /** slow-consumers: share of CLIENTS that read slowly */
  slowShare: number;
  /** slow-consumers: bytes/s a slow client reads */
  slowReadBps: number;
  /** reconnect-storm: connections that drop at once and reconnect */
  stormClients: number;
  /** churn: connections closed and reopened per second */
  churnRate: number;
  sloP99Ms: number;
}

export interface HostilePlan {
  scenario: HostileScenario;
  /** client-bench's connections (all of them, slow ones included) */
  clients: number;
  /** the healthy ones among them (the figures at the top of result.json) */
  healthyClients: number;
  /** client-bench flags beyond the run's usual ones */
  clientArgs: string[];
  /** extra server flags */
  serverArgs: string[];
  description: string;
}

/**
 * How many of `clients` connections client-bench makes slow for a --slow-share: connection k is
 * slow when ⌊(k+1)·share⌋ > ⌊k·share⌋, so ⌊clients·share⌋ of them (client-bench/worker.ts).
 */
export function slowCount(clients: number, share: number): number {
  return Math.floor(clients * share);
}

/** The run; `reference: true` is the same run without the slow consumers (slow-consumers). */
export function hostilePlan(
  name: HostileScenario,
  s: HostileSettings,
  reference = false,
): HostilePlan {
  switch (name) {
    case 'slow-consumers': {
      // at least one slow consumer: below 1/CLIENTS the share is raised to one connection's
      const share = slowCount(s.clients, s.slowShare) >= 1 ? s.slowShare : 1.5 / s.clients;
      const slow = slowCount(s.clients, share);
      const healthy = s.clients - slow;
      return {
        scenario: name,
        clients: reference ? healthy : s.clients,
        healthyClients: healthy,
        clientArgs: reference
          ? []
          : ['--slow-share', String(share), '--slow-read-rate', String(s.slowReadBps)],
        // a 256 KiB cap (both runs): on loopback the kernel holds several MB per stalled socket
        // too, so with the default 1 MiB the policy would act even later
        serverArgs: ['--max-backpressure', String(SLOW_CAP_BYTES)],
        description: reference
          ? `reference: the ${healthy} healthy clients alone`
          : `${healthy} healthy clients + ${slow} slow consumers among them (${s.slowReadBps} B/s each, ${fmtShare(slow / s.clients)}), one client-bench`,
      };
    }
    case 'reconnect-storm': {
      const at = s.duration / 4;
      return {
        scenario: name,
        clients: s.stormClients,
        healthyClients: s.stormClients,
        clientArgs: [
          '--reconnect-at',
          String(at),
          '--slo-p99-ms',
          String(s.sloP99Ms),
          '--symbols',
          STORM_SYMBOL,
        ],
        serverArgs: [],
        description: `${s.stormClients} clients (${STORM_SYMBOL}) drop at once and reconnect ${at} s into the window (client-bench --reconnect-at); p99 objective ${s.sloP99Ms} ms`,
      };
    }
    case 'churn':
      return {
        scenario: name,
        clients: s.clients,
        healthyClients: s.clients,
        clientArgs: ['--churn-rate', String(s.churnRate)],
        serverArgs: [],
        description: `${s.clients} clients; during the window ${s.churnRate} of them per second close (close handshake) and reopen, round-robin (client-bench --churn-rate: each lives ~${fmtLife(s.clients / s.churnRate)} s)`,
      };
  }
}

function fmtShare(f: number): string {
  return `${String(Math.round(f * 1000) / 10)} %`;
}

function fmtLife(sec: number): string {
  return String(Math.round(sec * 10) / 10);
}
