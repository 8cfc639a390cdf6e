import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as wsModule from 'ws';
import { OPCODE, frameText, headerLength, readHeader, writeHeader } from './framing.js';

interface SenderStatic {
  frame(data: Buffer, opts: Record<string, unknown>): Buffer[];
}
// @types/ws does not declare Sender; the ESM wrapper exports it.
const Sender = (wsModule as unknown as { Sender: SenderStatic }).Sender;

describe('framing', () => {
  it('writes the same bytes as ws Sender.frame for every length class', () => {
    for (const len of [0, 1, 125, 126, 127, 65535, 65536, 70000]) {
      const payload = Buffer.alloc(len, 'x');
      const expected = Buffer.concat(
        Sender.frame(payload, { fin: true, opcode: 1, mask: false, readOnly: false, rsv1: false }),
      );
      const got = frameText(payload.toString('latin1'));
      assert.equal(got.length, headerLength(len) + len, `length for ${len}`);
      assert.ok(got.equals(expected), `frame bytes for payload of ${len}`);
      const buf = Buffer.alloc(headerLength(len) + len);
      const at = writeHeader(buf, 0, len);
      assert.equal(at, headerLength(len));
      assert.ok(buf.subarray(0, at).equals(expected.subarray(0, at)));
    }
  });

  it('frames non-ASCII text by its UTF-8 byte length', () => {
    const got = frameText('€');
    assert.deepEqual([...got], [0x81, 3, 0xe2, 0x82, 0xac]);
  });
});

describe('readHeader', () => {
  it('reads back every header writeHeader writes, and null for a truncated one', () => {
    for (const len of [0, 1, 125, 126, 127, 65535, 65536, 70000]) {
      const buf = Buffer.alloc(headerLength(len) + 4);
      const end = writeHeader(buf, 0, len);
      const h = readHeader(buf, 0, end);
      assert.deepEqual(h, {
        fin: true,
        rsv: 0,
        opcode: OPCODE.text,
        masked: false,
        payloadLength: len,
        headerLength: end,
      });
      assert.equal(readHeader(buf, 0, end - 1), null, `truncated header for ${len}`);
    }
  });

  it('reads masks, reserved bits and control opcodes; a huge 64-bit length is Infinity', () => {
    const masked = Buffer.from([0x89, 0x85, 1, 2, 3, 4]);
    assert.deepEqual(readHeader(masked, 0), {
      fin: true,
      rsv: 0,
      opcode: OPCODE.ping,
      masked: true,
      payloadLength: 5,
      headerLength: 6,
    });
    assert.equal(readHeader(Buffer.from([0xf1, 0x00]), 0)?.rsv, 7);
    const huge = Buffer.from([0x81, 0x7f, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
    assert.equal(readHeader(huge, 0)?.payloadLength, Infinity);
  });
});
