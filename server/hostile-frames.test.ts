// Frames no library would send, from a raw client (testkit/raw-client.ts), while a healthy `ws`
// client receives ticks: every mode must fail (close) the offending connection or ignore the frame,
// stay up, and keep the healthy stream whole. The close code each mode answers with is part of
// the expectation (docs/server.md, "Hostile input"), so a library upgrade that changes it shows
// up here. RFC 6455 references: §5.1 masking, §5.2 RSV bits and opcodes, §5.4 fragmentation,
// §5.5 control frames, §7.4 close codes, §8.1 UTF-8.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { OPCODE } from '../protocol/framing.js';
import { assertServerHealthy, healthyClient } from '../testkit/hostile-kit.js';
import { buildFrame, closePayload, RawClient } from '../testkit/raw-client.js';
import { ALL_MODES, Cleanup, startServer } from '../testkit/server-harness.js';

/**
 * What the hostile client sees: a close frame with this code then TCP closed (a number), TCP
 * closed without a close frame ('drop'), or the connection left open with no answer ('open').
 */
type Outcome = number | 'drop' | 'open';
interface Case {
  name: string;
  frames: Buffer[];
  /** ws-naive and ws share the `ws` library's receiver; uws is uWS's C++ parser. */
  ws: Outcome;
  uws: Outcome;
}

const ping = '{"op":"ping","id":1}';
const text = (payload: Buffer | string, more: Partial<Parameters<typeof buildFrame>[0]> = {}) =>
  buildFrame({ opcode: OPCODE.text, payload, ...more });
const close = (payload: Buffer) => buildFrame({ opcode: OPCODE.close, payload });
const INVALID_UTF8 = Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]);

const CASES: Case[] = [
  {
    name: 'RSV1 set (no extension agreed)',
    frames: [text(ping, { rsv: 4 })],
    ws: 1002,
    uws: 'drop',
  },
  { name: 'RSV2 and RSV3 set', frames: [text(ping, { rsv: 3 })], ws: 1002, uws: 'drop' },
  {
    name: 'reserved data opcode 0x3',
    frames: [buildFrame({ opcode: 3, payload: 'x' })],
    ws: 1002,
    uws: 'drop',
  },
  {
    name: 'reserved control opcode 0xB',
    frames: [buildFrame({ opcode: 0xb, payload: 'x' })],
    ws: 1002,
    uws: 'drop',
  },
  {
    name: 'fragmented ping',
    frames: [
      buildFrame({ opcode: OPCODE.ping, payload: 'ab', fin: false }),
      buildFrame({ opcode: OPCODE.continuation, payload: 'cd' }),
    ],
    ws: 1002,
    uws: 'drop',
  },
  {
    name: 'fragmented close',
    frames: [buildFrame({ opcode: OPCODE.close, payload: closePayload(1000), fin: false })],
    ws: 1002,
    uws: 'drop',
  },
  {
    name: 'ping with a 126-byte payload (control frames carry at most 125)',
    frames: [buildFrame({ opcode: OPCODE.ping, payload: Buffer.alloc(126, 0x61) })],
    ws: 1002,
    uws: 'drop',
  },
  {
    name: 'continuation with nothing to continue',
    frames: [buildFrame({ opcode: OPCODE.continuation, payload: ping })],
    ws: 1002,
    uws: 'drop',
  },
  {
    name: 'a new text frame inside a fragmented message',
    frames: [text('{"op":', { fin: false }), text('"ping","id":1}')],
    ws: 1002,
    uws: 'drop',
  },
  { name: 'invalid UTF-8 in a text frame', frames: [text(INVALID_UTF8)], ws: 1007, uws: 'drop' },
  {
    name: 'invalid UTF-8 split across fragments',
    frames: [
      text(Buffer.from([0x22, 0xe2]), { fin: false }),
      buildFrame({ opcode: OPCODE.continuation, payload: Buffer.from([0x28, 0xa1, 0x22]) }),
    ],
    ws: 1007,
    uws: 'drop',
  },
  {
    name: '64-bit length 2^62 declared, 1 byte sent',
    frames: [text('x', { declaredLength: 2 ** 62 })],
    ws: 1009,
    uws: 'drop',
  },
  {
    name: '64-bit length with the most significant bit set',
    frames: [Buffer.from([0x81, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4])],
    ws: 1009,
    uws: 'drop',
  },
  {
    name: 'declared 1 MiB in the 64-bit form, 1 byte sent',
    frames: [text('x', { declaredLength: 2 ** 20 })],
    ws: 1009,
    uws: 'drop',
  },
  // RFC 6455 §5.1: the server MUST fail the connection. uWS 20.30 never checks the MASK bit: it
  // takes 4 payload bytes for the key and waits for the rest, so the frame is never processed
  // (no reply) and the connection stays open until more bytes or its idle timeout.
  { name: 'unmasked text frame', frames: [text(ping, { mask: false })], ws: 1002, uws: 'open' },
  ...[999, 1004, 1005, 1006, 1015, 2999, 5000].map((code): Case => ({
    name: `close code ${code} (not allowed on the wire)`,
    frames: [close(closePayload(code))],
    ws: 1002,
    // uWS answers an invalid close code with an empty close frame: 1005 "no status".
    uws: 1005,
  })),
  {
    name: 'close frame with a 1-byte payload',
    frames: [close(Buffer.from([3]))],
    ws: 1002,
    uws: 1005,
  },
  {
    name: 'close reason that is not UTF-8',
    frames: [close(Buffer.concat([closePayload(1000), Buffer.from([0xff])]))],
    ws: 1007,
    uws: 1005,
  },
  // Valid closes are echoed.
  { name: 'close 1000', frames: [close(closePayload(1000, 'bye'))], ws: 1000, uws: 1000 },
  {
    name: 'close 4000 (application range)',
    frames: [close(closePayload(4000))],
    ws: 4000,
    uws: 4000,
  },
];

for (const mode of ALL_MODES) {
  describe(`server mode ${mode}: malformed and forbidden frames`, () => {
    const cleanup = new Cleanup();
    afterEach(() => cleanup.run());

    it('accepts valid but unusual framing: fragments with a ping between them, a frame a byte at a time', async () => {
      const server = await startServer(['--mode', mode, '--rate', '2000'], {}, cleanup);
      cleanup.add(() => server.stop());
      const c = await RawClient.connect(server.port);
      cleanup.add(() => {
        c.destroy();
      });
      c.write(
        Buffer.concat([
          text('{"op":"pi', { fin: false }),
          buildFrame({ opcode: OPCODE.ping, payload: 'between' }),
          buildFrame({ opcode: OPCODE.continuation, payload: 'ng","id":', fin: false }),
          buildFrame({ opcode: OPCODE.continuation, payload: '41}' }),
        ]),
      );
      assert.ok(await c.until(() => c.texts.some((t) => t.startsWith('{"type":"pong","id":41'))));
      assert.ok(
        c.frames.some((f) => f.opcode === OPCODE.pong && f.payload.toString() === 'between'),
      );
      const bytes = text('{"op":"ping","id":42}');
      for (const b of bytes) {
        c.write(Buffer.from([b]));
        await new Promise((r) => setImmediate(r));
      }
      assert.ok(await c.until(() => c.texts.some((t) => t.startsWith('{"type":"pong","id":42'))));
    });

    it('fails each offending connection as documented, stays up, the healthy client sees no gap', async () => {
      const server = await startServer(['--mode', mode, '--rate', '2000'], {}, cleanup);
      cleanup.add(() => server.stop());
      const healthy = await healthyClient(server, cleanup);
      const results = await Promise.all(
        CASES.map(async (k) => {
          const c = await RawClient.connect(server.port);
          cleanup.add(() => {
            c.destroy();
          });
          for (const f of k.frames) c.write(f);
          const expected = mode === 'uws' ? k.uws : k.ws;
          const end = await c.ending(expected === 'open' ? 1500 : 5000);
          const got: Outcome =
            end.closeFrame !== null ? end.closeFrame.code : end.socketClosed ? 'drop' : 'open';
          // Nothing the hostile client sent may have been taken as a command.
          const answered = c.texts.length;
          return { name: k.name, expected, got, answered };
        }),
      );
      for (const r of results) {
        assert.deepEqual(
          { got: r.got, answered: r.answered },
          { got: r.expected, answered: 0 },
          r.name,
        );
      }
      await assertServerHealthy(server, healthy, 'after the malformed frames');
    });
  });
}
