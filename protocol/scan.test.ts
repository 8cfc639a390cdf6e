// The unrolled tick scanner against a plain literal-by-literal reading of the same format: every
// single-byte change of real ticks gives the same kind and the same fields from both.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createScanned, encodeTick, FRAME_OTHER, FRAME_TICK, scanFrameAt } from './index.js';

const LITERALS = {
  prefix: Buffer.from('{"type":"tick","symbol":"', 'latin1'),
  seq: Buffer.from('","seq":', 'latin1'),
  ts: Buffer.from(',"ts":', 'latin1'),
};

/** The format read the slow, obvious way: indexOf for each literal, digits by regex. */
function reference(frame: Buffer): { kind: number; seq?: number; ts?: number; symbol?: string } {
  const text = frame.toString('latin1');
  const m = /^\{"type":"tick","symbol":"([^"]{1,63})","seq":(\d{1,15})/.exec(text);
  const t = /,"ts":(\d{1,15})\}$/.exec(text);
  if (m === null || t === null || t.index < m.index + m[0].length) return { kind: FRAME_OTHER };
  return { kind: FRAME_TICK, symbol: m[1], seq: Number(m[2]), ts: Number(t[1]) };
}

test('scanFrameAt matches a literal-by-literal reading for every single-byte change', () => {
  assert.equal(LITERALS.prefix.length, 25);
  const ticks = [
    { symbol: 'BTC-USD', seq: 1, price: 50012.25, size: 0.5, ts: 123 },
    { symbol: 'S', seq: 987654321, price: 1, size: 2, ts: 999_999_999_999_999 },
    { symbol: 'SYM-0042', seq: 42, price: 0.01, size: 10, ts: 1_700_000_000_000 },
  ];
  const out = createScanned();
  let checked = 0;
  for (const tick of ticks) {
    const frame = Buffer.from(encodeTick(tick), 'latin1');
    assert.equal(scanFrameAt(frame, 0, frame.length, out), FRAME_TICK);
    assert.equal(out.seq, tick.seq);
    assert.equal(out.ts, tick.ts);
    for (let p = 0; p < frame.length; p++) {
      for (const v of [0x22, 0x30, 0x39, 0x7d, 0x78]) {
        const copy = Buffer.from(frame);
        copy[p] = v;
        // Embedded at an offset in a larger buffer, as the client scans in place.
        const host = Buffer.concat([Buffer.from('xx'), copy, Buffer.from('yy')]);
        const kind = scanFrameAt(host, 2, 2 + copy.length, out);
        const ref = reference(copy);
        assert.equal(kind, ref.kind, `byte ${p} = ${v}: ${copy.toString('latin1')}`);
        if (kind === FRAME_TICK) {
          assert.equal(out.seq, ref.seq);
          assert.equal(out.ts, ref.ts);
          assert.equal(host.toString('latin1', out.symbolStart, out.symbolEnd), ref.symbol);
        }
        checked++;
      }
    }
  }
  assert.ok(checked > 1000);
});
