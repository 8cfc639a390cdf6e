import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as wsModule from 'ws';
import { frameText, headerLength, writeHeader } from './framing.js';

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
