// Symbol hash -> dense index (0, 1, 2, ... in order of first sight), shared by a worker's
// connections. An open-addressing table on typed arrays: one or two array reads per frame, where
// a Map<number, number> lookup cost several times more on the per-frame path.
const EMPTY = -1;

export class SymbolTable {
  private keys = new Uint32Array(64);
  private values = new Int32Array(64).fill(EMPTY);
  private mask = 63;
  size = 0;

  /** The dense index of `hash` (a uint32), assigned on first sight. */
  indexOf(hash: number): number {
    const mask = this.mask;
    let slot = hash & mask;
    for (;;) {
      const v = this.values[slot] ?? EMPTY;
      if (v === EMPTY) return this.insert(hash, slot);
      if (this.keys[slot] === hash) return v;
      slot = (slot + 1) & mask;
    }
  }

  private insert(hash: number, slot: number): number {
    const idx = this.size++;
    this.keys[slot] = hash;
    this.values[slot] = idx;
    if (this.size * 2 > this.mask) this.grow();
    return idx;
  }

  private grow(): void {
    const keys = this.keys;
    const values = this.values;
    const size = keys.length * 2;
    this.keys = new Uint32Array(size);
    this.values = new Int32Array(size).fill(EMPTY);
    this.mask = size - 1;
    for (let i = 0; i < keys.length; i++) {
      const v = values[i] ?? EMPTY;
      if (v === EMPTY) continue;
      const hash = keys[i] ?? 0;
      let slot = hash & this.mask;
      while (this.values[slot] !== EMPTY) slot = (slot + 1) & this.mask;
      this.keys[slot] = hash;
      this.values[slot] = v;
    }
  }
}
