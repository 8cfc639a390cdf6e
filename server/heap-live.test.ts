// The live heap follows what survives a major GC: objects kept alive raise it, the same objects
// let go lower it again, and garbage that never survives a collection does not count.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { LiveHeap } from './heap-live.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

async function collected(live: LiveHeap): Promise<number> {
  const before = live.majorGcs;
  gc();
  // the gc entry is delivered to the observer after the collection
  for (let i = 0; i < 100 && live.majorGcs === before; i++)
    await new Promise((r) => setTimeout(r, 10));
  assert.ok(live.majorGcs > before, 'the major GC was observed');
  return live.bytes;
}

test('heap_live follows retained objects across major GCs, not garbage', async () => {
  const live = new LiveHeap();
  try {
    const base = await collected(live);
    // ~30 MB of garbage allocated and dropped before the collection: not live
    for (let i = 0; i < 300; i++) void new Array(10_000).fill({ i });
    const afterGarbage = await collected(live);
    assert.ok(afterGarbage - base < 5e6, `garbage counted: ${base} -> ${afterGarbage}`);
    // ~24 MB kept alive
    const kept: number[][] = [];
    for (let i = 0; i < 300; i++) kept.push(Array.from({ length: 10_000 }, (_, j) => j + 0.5));
    const withKept = await collected(live);
    assert.ok(withKept - base > 20e6, `retained objects not seen: ${base} -> ${withKept}`);
    assert.equal(kept.length, 300);
    kept.length = 0;
    const released = await collected(live);
    assert.ok(released - base < 5e6, `released objects still counted: ${base} -> ${released}`);
  } finally {
    live.stop();
  }
});
