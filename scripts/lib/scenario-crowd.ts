// The hostile-client scenarios: beside client-bench (the healthy clients it measures) a crowd of
// misbehaving clients (testkit/crowd.ts) runs against the same server — slow readers, a reconnect
// storm, churn. CrowdRuntime wraps another runtime: once the server is up it starts the crowd on
// the client's core, and before the server stops it asks the crowd for its figures (SIGTERM →
// one JSON line) and reads the server's drop and slow-client counters from /metrics.
import path from 'node:path';
import type {
  ClientHandle,
  RunContext,
  Runtime,
  ServerHandle,
  Window,
} from '../runtimes/runtime.js';
import { startNode, type Proc } from './proc.js';
import type { Placement, Resources, RunPlan } from './result.js';
import { parseExposition, total } from './soak-sampler.js';
import { repoRoot } from './versions.js';

export const CROWD_MAIN = path.join(repoRoot, 'dist/testkit/crowd.js');

export const CROWD_SCENARIOS = ['slow-consumers', 'reconnect-storm', 'churn'] as const;
export type CrowdScenario = (typeof CROWD_SCENARIOS)[number];

export const SLOW_CAP_BYTES = 262_144;

export interface CrowdSettings {
  clients: number;
  duration: number;
  warmup: number;
  /** slow-consumers: share of CLIENTS that read slowly */
  slowShare: number;
  /** slow-consumers: bytes/s a slow client reads */
  slowReadBps: number;
  /** reconnect-storm: connections that drop at once and reconnect */
  stormClients: number;
  /** churn: connections opened (and closed) per second */
  churnRate: number;
  churnLifetimeSec: number;
  sloP99Ms: number;
}

export interface CrowdPlan {
  scenario: CrowdScenario;
  /** client-bench's clients (the healthy ones it measures) */
  benchClients: number;
  /** the crowd's command line after the script (null: no crowd, the reference run) */
  crowdArgs: string[] | null;
  /** extra server flags */
  serverArgs: string[];
  description: string;
}

/** The run with the crowd; `reference: true` is the same run without it (slow-consumers). */
export function crowdPlan(name: CrowdScenario, s: CrowdSettings, reference = false): CrowdPlan {
  switch (name) {
    case 'slow-consumers': {
      const slow = Math.max(1, Math.round(s.clients * s.slowShare));
      const healthy = Math.max(1, s.clients - slow);
      return {
        scenario: name,
        benchClients: healthy,
        crowdArgs: reference
          ? null
          : ['slow', '--clients', String(slow), '--read-bps', String(s.slowReadBps)],
        // a 256 KiB cap (both runs): on loopback the kernel holds ~0.4 MB per stalled socket
        // too, so with the default 1 MiB the policy would act only after ~15 s at 1000 ticks/s
        serverArgs: ['--max-backpressure', String(SLOW_CAP_BYTES)],
        description: reference
          ? `reference: ${healthy} healthy clients alone`
          : `${healthy} healthy clients + ${slow} slow readers (${s.slowReadBps} B/s each, ${Math.round(s.slowShare * 100)} %)`,
      };
    }
    case 'reconnect-storm':
      return {
        scenario: name,
        benchClients: Math.max(1, Math.min(s.clients, 10)),
        crowdArgs: [
          'storm',
          '--clients',
          String(s.stormClients),
          '--at',
          String(s.warmup + s.duration / 4),
          '--symbols',
          'BTC-USD',
          '--slo-ms',
          String(s.sloP99Ms),
        ],
        serverArgs: [],
        description: `${s.stormClients} clients (BTC-USD) drop at once and reconnect a quarter into the window; ${Math.min(s.clients, 10)} client-bench observers`,
      };
    case 'churn':
      return {
        scenario: name,
        benchClients: s.clients,
        crowdArgs: [
          'churn',
          '--rate',
          String(s.churnRate),
          '--lifetime',
          String(s.churnLifetimeSec),
        ],
        serverArgs: [],
        description: `${s.clients} steady clients while ${s.churnRate} connections/s open, subscribe and close after ${s.churnLifetimeSec} s`,
      };
  }
}

export interface ServerCounters {
  droppedBackpressure: number | null;
  droppedClosed: number | null;
  slowClientCloses: number | null;
  connections: number | null;
}

async function serverCounters(httpBase: string): Promise<ServerCounters | null> {
  try {
    const res = await fetch(`${httpBase}/metrics`, { signal: AbortSignal.timeout(3000) });
    const e = parseExposition(await res.text());
    const dropped = e.get('wsbench_server_messages_dropped_total') ?? [];
    const by = (reason: string): number | null =>
      dropped.find((x) => x.labels.includes(`reason="${reason}"`))?.value ?? null;
    return {
      droppedBackpressure: by('backpressure'),
      droppedClosed: by('closed'),
      slowClientCloses: total(e, 'wsbench_server_slow_client_closes_total'),
      connections: total(e, 'wsbench_server_connections_total'),
    };
  } catch {
    return null;
  }
}

export class CrowdRuntime implements Runtime {
  readonly name;
  crowd: Proc | null = null;
  crowdResult: Record<string, unknown> | null = null;
  counters: ServerCounters | null = null;

  constructor(
    private readonly inner: Runtime,
    private readonly crowdArgs: string[] | null,
  ) {
    this.name = inner.name;
  }

  place(plan: RunPlan): Promise<Placement> {
    return this.inner.place(plan);
  }

  async startServer(plan: RunPlan, ctx: RunContext, placement: Placement): Promise<ServerHandle> {
    const server = await this.inner.startServer(plan, ctx, placement);
    return {
      ...server,
      stop: async () => {
        this.stopped = true;
        await this.crowdStarted;
        if (this.crowd !== null) await this.crowd.stop('SIGTERM', 10_000);
        if (server.alive()) this.counters = await serverCounters(server.httpBase);
        return server.stop();
      },
    };
  }

  private stopped = false;
  private crowdStarted: Promise<void> = Promise.resolve();

  /**
   * The crowd starts once the server counts every client-bench connection: the healthy clients
   * connect first (a storm of 5,000 connects would otherwise crowd them out of the accept queue),
   * and the crowd joins during the warm-up.
   */
  private async startCrowd(
    server: ServerHandle,
    plan: RunPlan,
    ctx: RunContext,
    placement: Placement,
  ): Promise<void> {
    const args = this.crowdArgs;
    if (args === null) return;
    const deadline = performance.now() + 60_000;
    while (!this.stopped && performance.now() < deadline) {
      try {
        const res = await fetch(`${server.httpBase}/health`, { signal: AbortSignal.timeout(3000) });
        const h = (await res.json()) as { clients?: unknown };
        if (typeof h.clients === 'number' && h.clients >= plan.clients) break;
      } catch {
        // not yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    if (this.stopped) return;
    const crowd = startNode('crowd', [CROWD_MAIN, ...args, '--url', server.wsUrl], {
      cores: placement.client.cores,
      logFile: path.join(ctx.runDir, 'crowd.log'),
      onStdoutLine: (line) => {
        if (!line.startsWith('{"event":"crowd"')) return;
        try {
          this.crowdResult = JSON.parse(line) as Record<string, unknown>;
        } catch {
          // not the result line
        }
      },
    });
    this.crowd = crowd;
    ctx.note(`crowd: ${args.join(' ')} (pid ${crowd.pid})`);
  }

  startClient(
    plan: RunPlan,
    server: ServerHandle,
    ctx: RunContext,
    placement: Placement,
    extraArgs: readonly string[],
  ): ClientHandle {
    const client = this.inner.startClient(plan, server, ctx, placement, extraArgs);
    this.crowdStarted = this.startCrowd(server, plan, ctx, placement).catch((err: unknown) => {
      ctx.note(`crowd not started: ${String(err)}`);
    });
    return client;
  }

  sample(window: Window): Promise<Resources> {
    return this.inner.sample(window);
  }
}
