// The verdict's classification on figures measured here (docs/bench.md, the capacity tables):
// what limited a late run must be named for what it was, not for the nearest neighbour.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { judge, type VerdictInput } from './lib/verdict.js';

/** A run of 4 s at `rate` ticks/s, every tick delivered, server on CPU 0 and client on CPU 1. */
function run(over: Partial<VerdictInput> & { rate: number }): VerdictInput {
  const expected = over.rate * 4 * 100;
  return {
    sloP99Ms: 10,
    aborted: null,
    p99Us: 5000,
    delivery: { received: expected, expected, gaps: 0 },
    clientBound: false,
    clientWhy: null,
    serverCpuCores: 0.3,
    clientCpuCores: 0.3,
    machine: {
      cpus: 2,
      userCores: 0.5,
      systemCores: 0.2,
      softirqCores: 0.1,
      idleCores: 1.2,
      coreBusy: { '0': 0.4, '1': 0.4 },
      coreSoftirq: { '0': 0.05, '1': 0.05 },
    },
    serverCores: '0',
    clientCores: '1',
    serverWindow: {
      ticksGenerated: over.rate * 4,
      messagesSent: expected,
      droppedBackpressure: 0,
      droppedClosed: 0,
      seconds: 4,
    },
    clientWorkers: [{ cpuCores: 0.3 }],
    ...over,
  };
}

describe('verdict', () => {
  it('every tick on time: none', () => {
    assert.equal(judge(run({ rate: 1000 })).limit, 'none');
  });

  it("softirq filling the server's core is the kernel network path, not other processes", () => {
    // uws at 20k ticks/s, 100 clients: core 0 99 % busy, the server 0.68 of it, softirq 0.29.
    const v = judge(
      run({
        rate: 20_000,
        p99Us: 18_700,
        serverCpuCores: 0.68,
        clientCpuCores: 0.7,
        clientWorkers: [{ cpuCores: 0.7 }],
        machine: {
          cpus: 2,
          userCores: 1.1,
          systemCores: 0.4,
          softirqCores: 0.35,
          idleCores: 0.2,
          coreBusy: { '0': 0.99, '1': 0.75 },
          coreSoftirq: { '0': 0.29, '1': 0.06 },
        },
      }),
    );
    assert.equal(v.limit, 'kernel-network', v.summary);
    assert.match(v.summary, /server's core: 99% busy = server 0\.68 \+ irq\/softirq 0\.29/);
  });

  it("other processes filling the server's core stay cpu-contention", () => {
    const v = judge(
      run({
        rate: 2000,
        p99Us: 30_000,
        serverCpuCores: 0.4,
        machine: {
          cpus: 2,
          userCores: 1.8,
          systemCores: 0.1,
          softirqCores: 0.05,
          idleCores: 0.05,
          coreBusy: { '0': 0.99, '1': 0.98 },
          coreSoftirq: { '0': 0.03, '1': 0.02 },
        },
      }),
    );
    assert.equal(v.limit, 'cpu-contention', v.summary);
    assert.match(v.reasons.join('\n'), /other processes 0\.56: they compete/);
  });

  it('1,000 clients on one client worker: the fan-in burst is the client, a lower bound', () => {
    // uws, 1,000 clients at 31 ticks/s: client 0.39 cores = 12.6 ms of reading per tick, p99 25 ms.
    const v = judge(
      run({
        rate: 31,
        p99Us: 25_000,
        serverCpuCores: 0.33,
        clientCpuCores: 0.39,
        clientWorkers: [{ cpuCores: 0.39 }],
      }),
    );
    assert.equal(v.limit, 'client', v.summary);
    assert.equal(v.clientBound, true);
    assert.match(v.summary, /client fan-in burst: the client is busy 12\.6 ms per tick/);
  });

  it("a server that writes each tick's subscribers for longer than the p99 is server-fanout", () => {
    // ws at 1,000 clients, 100 ticks/s: 0.7 cores = 7 ms per tick; the client reads 2 ms of it.
    const v = judge(
      run({
        rate: 100,
        p99Us: 12_000,
        serverCpuCores: 0.7,
        clientCpuCores: 0.2,
        clientWorkers: [{ cpuCores: 0.2 }],
      }),
    );
    assert.equal(v.limit, 'server-fanout', v.summary);
    assert.equal(v.clientBound, false);
  });

  it('late with neither burst explaining it, neither process busy: kernel-network', () => {
    const v = judge(run({ rate: 1000, p99Us: 40_000, serverCpuCores: 0.2, clientCpuCores: 0.25 }));
    assert.equal(v.limit, 'kernel-network', v.summary);
  });

  it('lost ticks are never blamed on a burst', () => {
    const v = judge(
      run({
        rate: 31,
        p99Us: 25_000,
        clientCpuCores: 0.39,
        clientWorkers: [{ cpuCores: 0.39 }],
        delivery: { received: 12_000, expected: 12_400, gaps: 400 },
      }),
    );
    assert.notEqual(v.limit, 'client');
  });
});
