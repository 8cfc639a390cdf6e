// The seed's per-client encoding: a fresh object and a fresh JSON string per client per tick. The
// engines' paths without serialize-once (mode-ws.ts, mode-uws.ts) both use this one function, so
// the switch measures the same work in either library. Its bytes equal protocol's encodeTick().
import type { Tick } from '../protocol/tick.js';

/** The seed's hot path: a fresh object and a fresh string per client. */
export function stringifyTick(tick: Tick): string {
  return JSON.stringify({
    type: 'tick',
    symbol: tick.symbol,
    seq: tick.seq,
    price: tick.price,
    size: tick.size,
    ts: tick.ts,
  });
}
