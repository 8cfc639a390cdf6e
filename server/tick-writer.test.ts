import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeTick, OPCODE, readHeader } from '../protocol/index.js';
import { TickWriter, writeDecimal, writeUint } from './tick-writer.js';

const buf = Buffer.alloc(512);
const str = (end: number) => buf.toString('latin1', 0, end);

describe('tick writer', () => {
  it('writes integers as JavaScript prints them', () => {
    for (const v of [0, 1, 9, 10, 99, 100, 12345, 2 ** 31, 1_700_000_123_456, 2 ** 53 - 1]) {
      assert.equal(str(writeUint(buf, 0, v)), String(v));
    }
  });

  it('writes grid decimals as JavaScript prints the number', () => {
    const cases: [number, number][] = [
      [0, 2],
      [1, 2],
      [5, 2],
      [10, 2],
      [100, 2],
      [12345, 2],
      [5000025, 2],
      [5000050, 2],
      [1, 4],
      [10, 4],
      [1200, 4],
      [6003, 4],
      [10000, 4],
      [123456789, 4],
      [1, 3],
      [1000, 3],
      [1001, 3],
      [120, 3],
    ];
    for (const [units, d] of cases) {
      assert.equal(
        str(writeDecimal(buf, 0, units, d)),
        String(units / 10 ** d),
        `${units}/10^${d}`,
      );
    }
  });

  it('frames equal encodeTick for many random grid ticks', () => {
    const symbols = ['BTC-USD', 'DOGE-USD', 'SYM-1024'];
    const w = new TickWriter(symbols);
    for (let k = 0; k < 20000; k++) {
      const s = k % 3;
      const decimals = [2, 4, 2][s] ?? 2;
      const units = Math.floor(Math.random() * 10 ** (1 + Math.floor(Math.random() * 10)));
      const sizeUnits = 1 + Math.floor(Math.random() * 1001);
      const seq = 1 + Math.floor(Math.random() * 10 ** Math.floor(Math.random() * 12));
      const ts = Math.floor(Math.random() * 2e12);
      const end = w.writeFrame(buf, 0, s, seq, units, decimals, sizeUnits, 3, ts);
      const text = encodeTick({
        symbol: symbols[s] ?? '',
        seq,
        price: units / 10 ** decimals,
        size: sizeUnits / 1000,
        ts,
      });
      const h = readHeader(buf, 0);
      assert.ok(h !== null);
      assert.deepEqual([h.fin, h.opcode, h.masked], [true, OPCODE.text, false]);
      assert.equal(h.payloadLength, text.length);
      assert.equal(w.payloadAt, h.headerLength);
      assert.equal(buf.toString('latin1', h.headerLength, end), text);
      assert.ok(end <= w.maxFrameBytes);
    }
    // The bound holds for the largest numbers the writer accepts.
    const end = w.writeFrame(buf, 0, 1, 1e16 - 1, 1e20 - 1, 4, 1e20 - 1, 4, 1e16 - 1);
    assert.ok(end <= w.maxFrameBytes, `${end} <= ${w.maxFrameBytes}`);
  });

  it('moves a payload of 126+ bytes behind a 4-byte header', () => {
    const w = new TickWriter(['X'.repeat(90)]);
    const end = w.writeFrame(buf, 10, 0, 123456789012, 123456789, 2, 5, 3, 1_700_000_000_000);
    const text = encodeTick({
      symbol: 'X'.repeat(90),
      seq: 123456789012,
      price: 1234567.89,
      size: 0.005,
      ts: 1_700_000_000_000,
    });
    assert.ok(text.length >= 126);
    assert.deepEqual([buf[10], buf[11], buf.readUInt16BE(12)], [0x81, 126, text.length]);
    assert.equal(buf.toString('latin1', 14, end), text);
  });
});
