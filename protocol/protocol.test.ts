import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createScanned,
  encodeError,
  encodePong,
  encodeTick,
  FRAME_OTHER,
  FRAME_PONG,
  FRAME_TICK,
  nowUs,
  parseCommand,
  scanFrame,
  scannedSymbol,
  symbolNames,
  useClock,
  type Tick,
} from './index.js';

const tick: Tick = { symbol: 'BTC-USD', seq: 123, price: 50012.25, size: 0.5, ts: 1234567890123 };

test('encodeTick writes the fixed field order of the design, and it is valid JSON', () => {
  const s = encodeTick(tick);
  assert.equal(
    s,
    '{"type":"tick","symbol":"BTC-USD","seq":123,"price":50012.25,"size":0.5,"ts":1234567890123}',
  );
  assert.deepEqual(JSON.parse(s), { type: 'tick', ...tick });
  // Same input, same bytes (every mode shares the encoder).
  assert.equal(encodeTick({ ...tick }), s);
});

test('scanFrame reads symbol, seq and ts of a tick without JSON.parse', () => {
  const out = createScanned();
  const buf = Buffer.from(encodeTick(tick));
  assert.equal(scanFrame(buf, out), FRAME_TICK);
  assert.equal(out.seq, 123);
  assert.equal(out.ts, 1234567890123);
  assert.equal(scannedSymbol(buf, out), 'BTC-USD');
  // Symbols hash apart, the same symbol hashes the same.
  const other = createScanned();
  scanFrame(Buffer.from(encodeTick({ ...tick, symbol: 'ETH-USD', seq: 1 })), other);
  assert.notEqual(other.symbolHash, out.symbolHash);
  const again = createScanned();
  scanFrame(Buffer.from(encodeTick({ ...tick, seq: 999999 })), again);
  assert.equal(again.symbolHash, out.symbolHash);
  assert.equal(again.seq, 999999);
});

test('scanFrame works on a view into a larger buffer', () => {
  const frame = Buffer.from(encodeTick(tick));
  const big = Buffer.concat([Buffer.from('xxxx'), frame, Buffer.from('yyyy')]);
  const view = big.subarray(4, 4 + frame.length);
  const out = createScanned();
  assert.equal(scanFrame(view, out), FRAME_TICK);
  assert.equal(scannedSymbol(view, out), 'BTC-USD');
  assert.equal(out.ts, tick.ts);
});

test('scanFrame reads pongs and classifies other frames as FRAME_OTHER', () => {
  const out = createScanned();
  assert.equal(scanFrame(Buffer.from(encodePong(7, 99)), out), FRAME_PONG);
  assert.equal(out.id, 7);
  assert.equal(out.ts, 99);
  assert.equal(scanFrame(Buffer.from(encodeError('bad_json', 'x')), out), FRAME_OTHER);
});

test('scanFrame rejects malformed ticks instead of misreading them', () => {
  const out = createScanned();
  const bad = [
    '',
    '{',
    '{"type":"tick","symbol":"',
    '{"type":"tick","symbol":"","seq":1,"price":1,"size":1,"ts":1}', // empty symbol
    '{"type":"tick","symbol":"BTC-USD","seq":,"price":1,"size":1,"ts":1}', // no seq digits
    '{"type":"tick","symbol":"BTC-USD","seq":1,"price":1,"size":1,"ts":}', // no ts digits
    '{"type":"tick","symbol":"BTC-USD","seq":1,"price":1,"size":1,"ts":12', // truncated
    '{"type":"tick","symbol":"BTC-USD","seq":1,"price":1,"size":1,"tz":12}', // wrong field
    '{"type":"tick","symbol":"' + 'A'.repeat(100) + '","seq":1,"ts":1}', // runaway symbol
    '{"type":"tick","symbol":"BTC-USD","seq":1,"price":1,"size":1,"ts":12345678901234567890}', // > 2^53
    '{"seq":1,"type":"tick","symbol":"BTC-USD","ts":1}', // other field order
  ];
  for (const s of bad) assert.equal(scanFrame(Buffer.from(s), out), FRAME_OTHER, s);
  // Random bytes never throw.
  for (let i = 0; i < 1000; i++) {
    const len = Math.floor(Math.random() * 120);
    const b = Buffer.alloc(len);
    for (let j = 0; j < len; j++) b[j] = Math.floor(Math.random() * 256);
    scanFrame(b, out);
  }
});

test('parseCommand accepts the three commands', () => {
  const known = new Set(symbolNames(8));
  assert.deepEqual(parseCommand('{"op":"subscribe","symbols":["BTC-USD","ETH-USD"]}', known), {
    ok: true,
    command: { op: 'subscribe', symbols: ['BTC-USD', 'ETH-USD'] },
  });
  assert.deepEqual(parseCommand('{"op":"subscribe","symbols":["*"]}', known), {
    ok: true,
    command: { op: 'subscribe', symbols: ['*'] },
  });
  assert.deepEqual(parseCommand('{"op":"unsubscribe","symbols":["BTC-USD"]}', known), {
    ok: true,
    command: { op: 'unsubscribe', symbols: ['BTC-USD'] },
  });
  assert.deepEqual(parseCommand('{"op":"ping","id":42}', known), {
    ok: true,
    command: { op: 'ping', id: 42 },
  });
});

test('parseCommand answers malformed input with a coded error that quotes it', () => {
  const known = new Set(symbolNames(8));
  const cases: [string, string][] = [
    ['not json', 'bad_json'],
    ['{"op":"subscribe"', 'bad_json'],
    ['[]', 'bad_command'],
    ['null', 'bad_command'],
    ['42', 'bad_command'],
    ['{}', 'unknown_op'],
    ['{"op":"explode"}', 'unknown_op'],
    ['{"op":"subscribe"}', 'bad_symbols'],
    ['{"op":"subscribe","symbols":[]}', 'bad_symbols'],
    ['{"op":"subscribe","symbols":"BTC-USD"}', 'bad_symbols'],
    ['{"op":"subscribe","symbols":[1]}', 'bad_symbols'],
    ['{"op":"subscribe","symbols":["NOPE-USD"]}', 'bad_symbols'],
    ['{"op":"subscribe","symbols":["' + 'X'.repeat(40) + '"]}', 'bad_symbols'],
    ['{"op":"ping"}', 'bad_command'],
    ['{"op":"ping","id":"7"}', 'bad_command'],
    ['{"op":"ping","id":-1}', 'bad_command'],
    ['{"op":"ping","id":1.5}', 'bad_command'],
  ];
  for (const [input, code] of cases) {
    const r = parseCommand(input, known);
    assert.ok(!r.ok, input);
    assert.equal(r.code, code, input);
    assert.ok(r.message.length > 0);
  }
  const r = parseCommand('{"op":"explode"}', known);
  assert.ok(!r.ok && r.message.includes('"explode"') && r.message.includes('subscribe'));
  const u = parseCommand('{"op":"subscribe","symbols":["NOPE-USD"]}', known);
  assert.ok(!u.ok && u.message.includes('"NOPE-USD"') && u.message.includes('BTC-USD'));
});

test('symbolNames gives the base pairs first, then numbered symbols, and validates the count', () => {
  assert.deepEqual(symbolNames(2), ['BTC-USD', 'ETH-USD']);
  const many = symbolNames(10);
  assert.equal(many[8], 'SYM-0009');
  assert.equal(many[9], 'SYM-0010');
  assert.equal(new Set(symbolNames(1024)).size, 1024);
  assert.throws(() => symbolNames(0), /Invalid symbol count: 0/);
  assert.throws(() => symbolNames(2000), /1\.\.1024/);
});

test('nowUs is a monotonic µs clock; useClock rejects unknown clocks', () => {
  const a = nowUs();
  const b = nowUs();
  assert.ok(Number.isInteger(a) && b >= a);
  // Monotonic µs tracks hrtime: the two agree to well under a second.
  assert.ok(Math.abs(Number(process.hrtime.bigint() / 1000n) - nowUs()) < 1e6);
  useClock('wall');
  assert.ok(Math.abs(nowUs() - Date.now() * 1000) < 5e6);
  useClock('monotonic');
  assert.throws(() => {
    useClock('sundial');
  }, /Invalid clock: "sundial" \(expected one of: monotonic, wall\)/);
});

test('parseCommand answers a command nested thousands of arrays deep (no stack overflow)', () => {
  const deep = (n: number): string => '['.repeat(n) + ']'.repeat(n);
  const known = new Set(symbolNames(8));
  const cases: [string, string][] = [
    [deep(20000), 'bad_command'],
    ['{"op":"subscribe","symbols":' + deep(20000) + '}', 'bad_symbols'],
    ['{"op":"subscribe","symbols":[' + deep(20000) + ']}', 'bad_symbols'],
    ['{"op":' + deep(20000) + '}', 'unknown_op'],
    ['{"op":"ping","id":' + deep(20000) + '}', 'bad_command'],
    [
      '{"op":"ping","id":{"a":' + '{"a":'.repeat(20000) + '1' + '}'.repeat(20001) + '}',
      'bad_command',
    ],
  ];
  for (const [input, code] of cases) {
    const r = parseCommand(input, known);
    assert.ok(!r.ok, input.slice(0, 40));
    assert.equal(r.code, code, input.slice(0, 40));
    assert.ok(r.message.length < 400, `bounded message: ${r.message.length}`);
    assert.doesNotThrow(() => encodeError(r.code, r.message));
  }
});
