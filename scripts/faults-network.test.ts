// A network cut between client and server during a run (a TCP proxy in this test that stops
// forwarding, both directions, connections left open): the sampled run must report it as a
// network stall — the server up, its loop free and still producing while the clients receive
// nothing — and not as a slow server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { TcpProxy } from '../testkit/tcp-proxy.js';
import { Progress } from './lib/progress.js';
import { runBench } from './lib/run.js';
import { classifyStalls } from './lib/soak-analysis.js';
import { SoakRuntime } from './lib/soak-runtime.js';
import type { Runtime, ServerHandle } from './runtimes/runtime.js';
import { NativeRuntime } from './runtimes/native.js';
import { tempDir } from './test-helpers.js';

/** The native runtime with the client's WebSocket path through a proxy (HTTP stays direct). */
function throughProxy(inner: Runtime, onProxy: (p: TcpProxy) => void): Runtime {
  return {
    name: inner.name,
    place: (plan) => inner.place(plan),
    async startServer(plan, ctx, placement): Promise<ServerHandle> {
      const s = await inner.startServer(plan, ctx, placement);
      const proxy = await TcpProxy.start(Number(new URL(s.httpBase).port));
      onProxy(proxy);
      return {
        ...s,
        wsUrl: `ws://127.0.0.1:${proxy.port}/`,
        stop: async () => {
          await proxy.close();
          return s.stop();
        },
      };
    },
    startClient: (plan, server, ctx, placement, extra) =>
      inner.startClient(plan, server, ctx, placement, extra),
    sample: (w) => inner.sample(w),
  };
}

test('network cut mid-window: reported as a network stall, not a slow server', async (t) => {
  const tmp = await tempDir('wsbench-fault-net-');
  t.after(tmp.remove);
  let proxy: TcpProxy | null = null;
  const native = new NativeRuntime({ pin: 'auto', serverCores: null, clientCores: null });
  const runtime = new SoakRuntime(
    throughProxy(native, (p) => (proxy = p)),
    500,
  );
  const sink = new Writable({
    write: (_c, _e, cb) => {
      cb();
    },
  });
  const cutter = (async () => {
    // cut once ticks flow through the proxy into client-bench, for the rest of the window
    for (let i = 0; i < 200; i++) {
      await new Promise((r) => setTimeout(r, 100));
      if (runtime.samples.some((s) => (s.receivedPerSec ?? 0) > 0)) break;
    }
    await new Promise((r) => setTimeout(r, 1000));
    (proxy as TcpProxy | null)?.cut();
    return Date.now();
  })();
  const outcome = await runBench(
    runtime,
    // prettier-ignore
    { mode: 'ws', clients: 4, duration: 6, warmup: 1, rate: 500, symbols: 8, httpLoad: false, httpConnections: 1 },
    {
      runDir: tmp.dir,
      runId: 'net-cut',
      progress: new Progress('net', null, sink),
      scenario: 'fault-network',
    },
  );
  const cutAt = await cutter;
  const after = runtime.samples.filter((s) => s.at > cutAt + 600);
  assert.ok(after.length >= 3, `samples after the cut: ${after.length}`);
  const stalls = classifyStalls(runtime.samples);
  assert.ok(
    stalls.some((s) => s.kind === 'network'),
    `a network stall is reported: ${JSON.stringify(stalls)}`,
  );
  assert.ok(!stalls.some((s) => s.kind === 'server'), `no server stall: ${JSON.stringify(stalls)}`);
  assert.notEqual(outcome.result.verdict.limit, 'server-cpu', 'not reported as a slow server');
  assert.ok(
    after.every((s) => s.serverUp),
    'the server answered throughout',
  );
});
