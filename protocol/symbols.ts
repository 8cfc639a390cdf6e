// Symbol names are fixed so every mode, run and machine streams the same instruments.
const BASE_SYMBOLS = [
  'BTC-USD',
  'ETH-USD',
  'SOL-USD',
  'XRP-USD',
  'ADA-USD',
  'DOGE-USD',
  'AVAX-USD',
  'DOT-USD',
] as const;

export const MAX_SYMBOLS = 1024;
/** Longest symbol a client may name in a command (longer ones are rejected, not truncated). */
export const MAX_SYMBOL_LENGTH = 32;

/** The first `count` symbol names: the eight base pairs, then SYM-0009, SYM-0010, ... */
export function symbolNames(count: number): string[] {
  if (!Number.isInteger(count) || count < 1 || count > MAX_SYMBOLS) {
    throw new RangeError(
      `Invalid symbol count: ${JSON.stringify(count)} (expected 1..${MAX_SYMBOLS})`,
    );
  }
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    names.push(BASE_SYMBOLS[i] ?? `SYM-${String(i + 1).padStart(4, '0')}`);
  }
  return names;
}
