import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Generator, type TickBatch } from './generator.js';
import { Pacer, turnCap } from './pacer.js';

/** A pacer on a fake clock: each turn() is driven by the test, never by timers. */
function fakePacer(rate: number, batch: number) {
  let ns = 1_000_000_000n;
  const sizes: number[] = [];
  const stamps: number[] = [];
  const gen = new Generator(4);
  const pacer = new Pacer({
    rate,
    batch,
    timer: 'spin',
    generator: gen,
    hrtime: () => ns,
    onBatch: (b: TickBatch) => {
      sizes.push(b.count);
      for (const t of b.ticks.slice(0, b.count)) stamps.push(t.ts);
    },
  });
  return {
    pacer,
    gen,
    sizes,
    stamps,
    advance(ms: number) {
      ns += BigInt(Math.round(ms * 1e6));
    },
  };
}

function fakePacerWithLag(rate: number) {
  let ns = 1_000_000_000n;
  const lags: number[] = [];
  const pacer = new Pacer({
    rate,
    batch: 64,
    timer: 'sleep',
    generator: new Generator(4),
    hrtime: () => ns,
    onBatch: () => {},
    onLag: (s) => lags.push(s),
  });
  return {
    pacer,
    lags,
    advance(ms: number) {
      ns += BigInt(Math.round(ms * 1e6));
    },
  };
}

describe('pacer', () => {
  it('rate 0 emits `batch` ticks per turn, all stamped with the same time', () => {
    const p = fakePacer(0, 64);
    p.pacer.start();
    p.pacer.turn();
    p.pacer.turn();
    p.pacer.stop();
    assert.deepEqual(p.sizes.slice(0, 2), [64, 64]);
    assert.equal(new Set(p.stamps.slice(0, 64)).size, 1);
  });

  it('at a target rate emits exactly what is due, stamped with the due times', () => {
    const p = fakePacer(1000, 64);
    p.pacer.start();
    p.pacer.turn(); // t=0: tick 0 due
    p.advance(10);
    p.pacer.turn(); // t=10ms: ticks 1..10 due
    p.advance(0.5);
    p.pacer.turn(); // nothing new due
    p.advance(0.5);
    p.pacer.turn(); // tick 11
    p.pacer.stop();
    assert.deepEqual(p.sizes, [1, 10, 1]);
    const diffs = p.stamps.slice(1).map((t, i) => t - (p.stamps[i] ?? 0));
    assert.deepEqual(diffs, new Array(11).fill(1000), 'due times 1 ms apart, not the turn times');
    assert.equal(p.gen.generated, 12);
  });

  it('catches up at most `cap` ticks per turn and skips a backlog over one second', () => {
    const p = fakePacer(10000, 64);
    assert.equal(p.pacer.cap, turnCap(10000, 64));
    assert.equal(p.pacer.cap, 64);
    p.pacer.start();
    p.pacer.turn();
    p.advance(100); // 1000 ticks due: bounded to 64 per turn
    p.pacer.turn();
    p.pacer.turn();
    assert.deepEqual(p.sizes, [1, 64, 64]);
    p.advance(5000); // a 5 s stall: never a 50000-tick burst
    p.pacer.turn();
    assert.equal(p.sizes[3], 64);
    assert.ok(p.pacer.skipped > 40000, `skipped ${p.pacer.skipped}`);
    p.pacer.turn(); // back on schedule: nothing more due at this instant
    p.pacer.stop();
    assert.equal(p.sizes.length, 4);
    // Seq never jumps: skipped ticks were never generated.
    assert.equal(p.gen.generated, 1 + 64 + 64 + 64);
  });

  it('rate 0 on the interval timer emits batches for one millisecond per firing', () => {
    let ns = 1_000_000_000n;
    const sizes: number[] = [];
    const pacer = new Pacer({
      rate: 0,
      batch: 10,
      timer: 'interval',
      generator: new Generator(2),
      hrtime: () => {
        ns += 100_000n; // every clock read advances 0.1 ms
        return ns;
      },
      onBatch: (b) => sizes.push(b.count),
    });
    pacer.start();
    sizes.length = 0;
    pacer.turn();
    pacer.stop();
    // Each batch costs one clock read (0.1 ms): ten batches fill the millisecond.
    assert.deepEqual(sizes, new Array(10).fill(10));
  });

  it('rate 0 without subscribers generates nothing until someone subscribes', async () => {
    let wanted = false;
    const seen = { ticks: 0 };
    const gen = new Generator(8);
    const pacer = new Pacer({
      rate: 0,
      batch: 64,
      timer: 'sleep',
      generator: gen,
      wanted: () => wanted,
      onBatch: (b) => {
        seen.ticks += b.count;
      },
    });
    pacer.start();
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(seen, { ticks: 0 });
    assert.equal(gen.generated, 0);
    wanted = true;
    await new Promise((r) => setTimeout(r, 50));
    pacer.stop();
    assert.ok(seen.ticks > 0, 'generates once wanted');
  });

  it('the turn cap covers 2 ms of ticks at high rates', () => {
    assert.equal(turnCap(0, 64), 64);
    assert.equal(turnCap(1_000_000, 64), 2000);
  });

  for (const kind of ['sleep', 'spin'] as const) {
    it(`${kind}: at a fixed rate every tick is emitted, stamped with its due time`, async () => {
      const stamps: number[] = [];
      const pacer = new Pacer({
        rate: 500,
        batch: 64,
        timer: kind,
        generator: new Generator(4),
        onBatch: (b) => {
          for (const t of b.ticks.slice(0, b.count)) stamps.push(t.ts);
        },
      });
      pacer.start();
      await new Promise((r) => setTimeout(r, 300));
      pacer.stop();
      assert.ok(stamps.length >= 100, `${stamps.length} ticks in 300 ms at 500/s`);
      const steps = new Set(stamps.slice(1).map((t, i) => t - (stamps[i] ?? 0)));
      assert.ok(
        [...steps].every((d) => Math.abs(d - 2000) <= 1),
        `steps ${[...steps].join()}`,
      );
      if (kind === 'sleep') {
        // Sleeping: no turn without a tick due (a spin pacer runs many empty turns instead).
        assert.ok(
          pacer.wakeups <= stamps.length + 5,
          `${pacer.wakeups} turns, ${stamps.length} ticks`,
        );
      } else {
        assert.ok(pacer.wakeups > stamps.length, `${pacer.wakeups} turns, ${stamps.length} ticks`);
      }
    });
  }

  it('sleep: at a high rate a turn carries what is due instead of one tick each', async () => {
    const sizes: number[] = [];
    const pacer = new Pacer({
      rate: 50_000,
      batch: 64,
      timer: 'sleep',
      turnMs: 2,
      generator: new Generator(4),
      onBatch: (b) => sizes.push(b.count),
    });
    pacer.start();
    await new Promise((r) => setTimeout(r, 200));
    pacer.stop();
    const ticks = sizes.reduce((a, b) => a + b, 0);
    // 2 ms turns at 50k/s: ~100 ticks per turn (the cap is 2 ms of ticks).
    assert.ok(ticks / sizes.length > 20, `${ticks} ticks in ${sizes.length} turns`);
  });

  it('--burn-us: each generated tick costs that much CPU in the turn', () => {
    const turns: number[] = [];
    const pacer = new Pacer({
      rate: 0,
      batch: 3,
      timer: 'spin',
      burnUs: 2000,
      generator: new Generator(2),
      onBatch: () => {},
      onTurn: (s) => turns.push(s),
    });
    pacer.start();
    pacer.turn();
    pacer.stop();
    assert.ok((turns[0] ?? 0) >= 0.006, `a 3-tick turn took ${turns[0] ?? 0} s, burning 3 x 2 ms`);
  });

  it('reports how late each turn starts and how far behind it is', () => {
    const p = fakePacerWithLag(1000);
    p.pacer.start();
    p.pacer.turn(); // tick 0 on time
    p.advance(5.5); // ticks 1..5 due, the first of them 4.5 ms ago
    p.pacer.turn();
    assert.deepEqual(
      p.lags.map((l) => Math.round(l * 1e4) / 1e4),
      [0, 0.0045],
    );
    assert.equal(p.pacer.behindSeconds(), 0, 'the next tick (6) is not due yet');
    p.advance(10);
    assert.ok(Math.abs(p.pacer.behindSeconds() - 0.0095) < 1e-9, `${p.pacer.behindSeconds()}`);
    p.pacer.stop();
  });

  it('runs on real timers and stops cleanly', async () => {
    let ticks = 0;
    const pacer = new Pacer({
      rate: 2000,
      batch: 64,
      timer: 'sleep',
      generator: new Generator(8),
      onBatch: (b) => (ticks += b.count),
    });
    pacer.start();
    await new Promise((r) => setTimeout(r, 200));
    pacer.stop();
    const at = ticks;
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(at > 0, 'ticks were generated');
    assert.equal(ticks, at, 'nothing after stop()');
  });
});
