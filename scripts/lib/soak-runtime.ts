// A runtime that samples while it runs: it wraps another runtime (native) and, once the server is
// up, samples the server's and client-bench's /metrics every few seconds (lib/soak-sampler.ts).
// client-bench gets --metrics-port 0 so its counters and latency buckets can be read.
import type {
  ClientHandle,
  RunContext,
  Runtime,
  ServerHandle,
  Window,
} from '../runtimes/runtime.js';
import type { Placement, Resources, RunPlan } from './result.js';
import { SoakSampler, type SoakSample } from './soak-sampler.js';

export class SoakRuntime implements Runtime {
  readonly name;
  private sampler: SoakSampler | null = null;

  constructor(
    private readonly inner: Runtime,
    private readonly intervalMs: number,
  ) {
    this.name = inner.name;
  }

  get samples(): SoakSample[] {
    return this.sampler?.samples ?? [];
  }

  place(plan: RunPlan): Promise<Placement> {
    return this.inner.place(plan);
  }

  async startServer(plan: RunPlan, ctx: RunContext, placement: Placement): Promise<ServerHandle> {
    const server = await this.inner.startServer(plan, ctx, placement);
    const sampler = new SoakSampler(`${server.httpBase}/metrics`, server.pid, this.intervalMs);
    this.sampler = sampler.start();
    return {
      ...server,
      stop: async () => {
        await sampler.stop();
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
    const args = extraArgs.includes('--metrics-port')
      ? extraArgs
      : [...extraArgs, '--metrics-port', '0'];
    const client = this.inner.startClient(plan, server, ctx, placement, args);
    void client.metricsPort.then((port) => {
      if (port !== null && this.sampler !== null)
        this.sampler.clientMetricsUrl = `http://127.0.0.1:${port}/metrics`;
    });
    return client;
  }

  sample(window: Window): Promise<Resources> {
    return this.inner.sample(window);
  }
}
