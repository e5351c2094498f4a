/**
 * A set of short ASCII byte strings, found by their bytes and a hash of them: each key's bytes are copied once into
 * an arena, and a look-up compares bytes, so a column's repeated values are recognised without making a JS string
 * per row. The caller keeps what it maps each key to in arrays indexed by the key's number (0, 1, 2, ... in
 * insertion order).
 */
/** A copy of typed array `a` twice as long (or `min` long, if more), its contents at the start. */
export function doubled<T extends Uint8Array | Int32Array | Float64Array>(a: T, min = 0): T {
  const out = new (a.constructor as new (n: number) => T)(Math.max(a.length * 2, min));
  out.set(a);
  return out;
}

export class AsciiTable {
  private arena = new Uint8Array(1024);
  private used = 0;
  private starts = new Int32Array(16);
  private hashes = new Int32Array(16);
  private slots = new Int32Array(32).fill(-1);
  private mask = 31;
  size = 0;
  /** The hash of the key `find` looked for last (what `insert` then files it under). */
  private hash = 0;

  /** The number of the key b[s, e), or -1. */
  find(b: Uint8Array, s: number, e: number): number {
    // FNV-1a over 32-bit words (then the tail's bytes), then a final mix: a multiplication per four bytes
    let h = (0x811c9dc5 ^ (e - s)) | 0;
    let i = s;
    for (; i + 4 <= e; i += 4) h = Math.imul(h ^ (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)), 0x01000193);
    for (; i < e; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d);
    h ^= h >>> 12;
    this.hash = h;
    const n = e - s;
    const { arena, starts, slots, hashes } = this;
    for (let slot = h & this.mask; ; slot = (slot + 1) & this.mask) {
      const at = slots[slot]!;
      if (at < 0) return -1;
      if (hashes[at] !== h) continue;
      const ks = starts[at]!;
      if (starts[at + 1]! - ks !== n) continue;
      let j = 0;
      while (j < n && arena[ks + j] === b[s + j]) j++;
      if (j === n) return at;
    }
  }

  /** Adds the key b[s, e), for which `find` has just said -1, and returns its number. */
  insert(b: Uint8Array, s: number, e: number): number {
    const i = this.size++;
    const n = e - s;
    if (this.used + n > this.arena.length) this.arena = doubled(this.arena, this.used + n);
    this.arena.set(b.subarray(s, e), this.used);
    if (i + 2 > this.starts.length) {
      this.starts = doubled(this.starts);
      this.hashes = doubled(this.hashes);
    }
    this.starts[i] = this.used;
    this.used += n;
    this.starts[i + 1] = this.used;
    this.hashes[i] = this.hash;
    if (2 * this.size > this.slots.length) {
      this.slots = new Int32Array(this.slots.length * 2).fill(-1);
      this.mask = this.slots.length - 1;
      for (let k = 0; k < this.size; k++) this.place(k);
    } else this.place(i);
    return i;
  }

  private place(k: number): void {
    let slot = this.hashes[k]! & this.mask;
    while (this.slots[slot]! >= 0) slot = (slot + 1) & this.mask;
    this.slots[slot] = k;
  }

  clear(): void {
    this.size = 0;
    this.used = 0;
    this.slots.fill(-1);
  }
}
