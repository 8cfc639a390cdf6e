// The runtime of the hostile-client scenarios (scripts/scenario.ts): another runtime (native)
// whose client-bench gets the scenario's own flags (--slow-share, --reconnect-at, --churn-rate;
// scenarios/hostile.ts), and whose server's drop and slow-client counters are read from /metrics
// just before it stops (the totals of the whole run; result.json's serverWindow has the window's).
import type {
  ClientHandle,
  RunContext,
  Runtime,
  ServerHandle,
  Window,
} from '../runtimes/runtime.js';
import type { Placement, Resources, RunPlan } from './result.js';
import { parseExposition, total } from './soak-sampler.js';

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

export class ScenarioRuntime implements Runtime {
  readonly name;
  counters: ServerCounters | null = null;
  readonly startPrometheus?: Runtime['startPrometheus'];

  constructor(
    private readonly inner: Runtime,
    private readonly clientArgs: readonly string[],
  ) {
    this.name = inner.name;
    if (inner.startPrometheus !== undefined)
      this.startPrometheus = inner.startPrometheus.bind(inner);
  }

  place(plan: RunPlan): Promise<Placement> {
    return this.inner.place(plan);
  }

  async startServer(plan: RunPlan, ctx: RunContext, placement: Placement): Promise<ServerHandle> {
    const server = await this.inner.startServer(plan, ctx, placement);
    return {
      ...server,
      stop: async () => {
        if (server.alive()) this.counters = await serverCounters(server.httpBase);
        return server.stop();
      },
    };
  }

  startClient(
    plan: RunPlan,
    server: ServerHandle,
    ctx: RunContext,
    placement: Placement,
    extraArgs: readonly string[],
  ): ClientHandle {
    if (this.clientArgs.length > 0) ctx.note(`client-bench ${this.clientArgs.join(' ')}`);
    return this.inner.startClient(plan, server, ctx, placement, [...extraArgs, ...this.clientArgs]);
  }

  sample(window: Window): Promise<Resources> {
    return this.inner.sample(window);
  }
}
