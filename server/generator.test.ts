import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  createScanned,
  encodeTick,
  FRAME_TICK,
  OPCODE,
  readHeader,
  scanFrame,
} from '../protocol/index.js';
import { defined } from '../testkit/server-harness.js';
import { Generator, TickBatch } from './generator.js';

describe('generator', () => {
  it('takes symbols in turn with seq starting at 1 and growing by 1 per symbol', () => {
    const g = new Generator(3);
    const b = new TickBatch(10);
    for (let i = 0; i < 9; i++) g.push(b, 1000 + i);
    assert.equal(b.count, 9);
    assert.equal(g.generated, 9);
    const seen = b.ticks.slice(0, 9).map((t) => `${t.symbol}#${t.seq}`);
    assert.deepEqual(seen, [
      'BTC-USD#1',
      'ETH-USD#1',
      'SOL-USD#1',
      'BTC-USD#2',
      'ETH-USD#2',
      'SOL-USD#2',
      'BTC-USD#3',
      'ETH-USD#3',
      'SOL-USD#3',
    ]);
    assert.deepEqual([...b.symbolIndex.subarray(0, 9)], [0, 1, 2, 0, 1, 2, 0, 1, 2]);
  });

  it('encodes each tick once, in the protocol field order, scannable without JSON.parse', () => {
    const g = new Generator(2);
    const b = new TickBatch(4);
    g.push(b, 42);
    const text = b.frames.toString('latin1', b.payloadStart(0), b.offsets[1]);
    const t = JSON.parse(text) as Record<string, unknown>;
    assert.deepEqual(Object.keys(t), ['type', 'symbol', 'seq', 'price', 'size', 'ts']);
    assert.equal(t.ts, 42);
    // The naive mode stringifies the tick object itself: it must give the same bytes.
    const tick = defined(b.ticks[0], 'tick 0');
    const naive = JSON.stringify({
      type: 'tick',
      symbol: tick.symbol,
      seq: tick.seq,
      price: tick.price,
      size: tick.size,
      ts: tick.ts,
    });
    assert.equal(naive, text);
    const s = createScanned();
    assert.equal(scanFrame(Buffer.from(text), s), FRAME_TICK);
    assert.equal(s.seq, 1);
  });

  it('random-walks prices that stay positive and finite, even with an adversarial random source', () => {
    for (const rnd of [() => 0, () => 0.999999, Math.random]) {
      const g = new Generator(10, rnd);
      const b = new TickBatch(1);
      for (let i = 0; i < 20000; i++) {
        b.count = 0;
        g.push(b, i);
        const { price, size } = defined(b.ticks[0], 'tick 0');
        assert.ok(Number.isFinite(price) && price > 0, `price ${price}`);
        assert.ok(size > 0 && size <= 1.001, `size ${size}`);
        const text = b.frames.toString('latin1', b.payloadStart(0), b.offsets[1]);
        assert.ok(!/\de[+-]?\d/i.test(text), `no exponent notation: ${text}`);
        assert.equal(text, encodeTick(defined(b.ticks[0], 'tick 0')));
      }
    }
  });

  it('writes the batch as back-to-back text frames, each the bytes of encodeTick', () => {
    const g = new Generator(16);
    const b = new TickBatch(100);
    for (let i = 0; i < 100; i++) g.push(b, 1_700_000_000_000 + i);
    const bytes = b.bytes;
    let at = 0;
    for (let i = 0; i < 100; i++) {
      assert.equal(b.offsets[i], at);
      const h = defined(readHeader(bytes, at) ?? undefined, `frame header ${i}`);
      assert.deepEqual([h.fin, h.opcode, h.masked, h.rsv], [true, OPCODE.text, false, 0]);
      assert.equal(h.headerLength, 2);
      assert.equal(b.payloadStart(i), at + h.headerLength);
      const end = at + h.headerLength + h.payloadLength;
      const tick = defined(b.ticks[i], `tick ${i}`);
      assert.equal(bytes.toString('latin1', at + h.headerLength, end), encodeTick(tick));
      at = end;
    }
    assert.equal(at, bytes.length);
    // A new batch gets a new buffer: sockets may still be writing the previous one.
    const before = b.frames;
    b.count = 0;
    g.push(b, 1);
    assert.notEqual(b.frames.buffer, before.buffer);
  });

  it('snapshot holds the latest tick per symbol as valid JSON', () => {
    const g = new Generator(3);
    assert.deepEqual(JSON.parse(g.snapshot(5)), { ts: 5, ticks: {} });
    const b = new TickBatch(8);
    for (let i = 0; i < 7; i++) g.push(b, i);
    const snap = JSON.parse(g.snapshot(99)) as {
      ts: number;
      ticks: Record<string, { seq: number }>;
    };
    assert.equal(snap.ts, 99);
    assert.deepEqual(Object.keys(snap.ticks), ['BTC-USD', 'ETH-USD', 'SOL-USD']);
    assert.equal(snap.ticks['BTC-USD']?.seq, 3);
    assert.equal(snap.ticks['SOL-USD']?.seq, 2);
  });
});
