// The tick frame. Field order is fixed and the encoder is the only writer, so every server mode
// sends byte-identical frames for the same tick and only the server differs between runs.

export interface Tick {
  symbol: string;
  seq: number;
  price: number;
  size: number;
  /** Intended send time, integer µs on the clock of ./clock.ts. */
  ts: number;
}

/** `{"type":"tick","symbol":"BTC-USD","seq":1,"price":50012.25,"size":0.5,"ts":123}` */
export function encodeTick(t: Tick): string {
  // Symbols come from symbolNames() (no characters that need escaping), numbers print as JSON.
  return (
    '{"type":"tick","symbol":"' +
    t.symbol +
    '","seq":' +
    t.seq +
    ',"price":' +
    t.price +
    ',"size":' +
    t.size +
    ',"ts":' +
    t.ts +
    '}'
  );
}
