/** A seeded {@link SampleGen} for round-trip tests and the fuzzer. */
import type { SampleGen } from "../../src/venus/generated/samples.ts";
import type { ObjectTable } from "../../src/venus/object_table.ts";
import type { U64 } from "../../src/venus/reader.ts";

/** mulberry32 */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class SeededGen implements SampleGen {
  depth = 0;
  #nextId = 0x1000;
  #byType = new Map<number, number[]>();
  readonly rand: () => number;

  constructor(seed: number, readonly objects: ObjectTable) {
    this.rand = prng(seed);
    this.#nextId = (seed % 4096) * 0x100000 + 0x1000;
  }

  int(n: number): number {
    return Math.floor(this.rand() * n);
  }
  bool(): boolean {
    return this.rand() < 0.5;
  }
  maybe(): boolean {
    return this.depth < 3 && this.rand() < 0.6;
  }
  len(): number {
    return this.depth > 3 ? 0 : this.int(4);
  }
  u8(): number {
    return this.int(256);
  }
  u16(): number {
    return this.int(65536);
  }
  i8(): number {
    return this.int(256) - 128;
  }
  i16(): number {
    return this.int(65536) - 32768;
  }
  u32(): number {
    return (this.rand() * 4294967296) >>> 0;
  }
  i32(): number {
    return this.u32() | 0;
  }
  f32(): number {
    return Math.fround((this.rand() - 0.5) * 1e4);
  }
  f64(): number {
    return (this.rand() - 0.5) * 1e9;
  }
  u64(): U64 {
    const r = this.int(4);
    if (r === 0) return 0xffffffffffffffffn;
    if (r === 1) return (BigInt(this.u32()) << 32n) | BigInt(this.u32());
    return this.int(1 << 30) * 1024 + this.int(1024);
  }
  i64(): U64 {
    return this.int(2) ? -this.int(1 << 30) : this.u64();
  }
  arr(kind: string, n: number): ArrayLike<unknown> {
    switch (kind) {
      case "u8":
      case "i8":
        return this.bytes(n);
      case "u16":
      case "i16":
        return Uint16Array.from({ length: n }, () => this.u16());
      case "u32":
        return Uint32Array.from({ length: n }, () => this.u32());
      case "i32":
        return Int32Array.from({ length: n }, () => this.i32());
      case "f32":
        return Float32Array.from({ length: n }, () => this.f32());
      case "f64":
        return Float64Array.from({ length: n }, () => this.f64());
      case "u64":
        return BigUint64Array.from({ length: n }, () => BigInt(this.u64()));
      case "i64":
        return BigInt64Array.from({ length: n }, () => BigInt.asIntN(64, BigInt(this.i64())));
    }
    throw new Error(`arr ${kind}`);
  }
  bytes(n: number): Uint8Array {
    return Uint8Array.from({ length: n }, () => this.int(256));
  }
  str(): string {
    return "s" + this.int(1e6).toString(36).repeat(1 + this.int(3));
  }
  strs(n: number): string[] {
    return Array.from({ length: n }, () => this.str());
  }
  handle(objectType: number): number {
    let ids = this.#byType.get(objectType);
    if (!ids) this.#byType.set(objectType, ids = []);
    if (ids.length === 0 || (ids.length < 4 && this.bool())) {
      const id = this.#nextId++;
      const err = this.objects.create(objectType, id);
      if (err) throw new Error(err);
      ids.push(id);
      return id;
    }
    return ids[this.int(ids.length)];
  }
  handles(objectType: number, n: number): number[] {
    return Array.from({ length: n }, () => this.handle(objectType));
  }
  newHandle(): number {
    return 0x80000 + this.#nextId++;
  }
  newHandles(n: number): number[] {
    return Array.from({ length: n }, () => this.newHandle());
  }
  list<T>(n: number, f: (g: SampleGen) => T): T[] {
    return Array.from({ length: n }, () => f(this));
  }
  pick(sTypes: number[]): number[] {
    if (this.depth > 2 || this.rand() < 0.4) return [];
    const k = 1 + this.int(Math.min(3, sTypes.length));
    const pool = sTypes.slice();
    const out: number[] = [];
    for (let i = 0; i < k; i++) out.push(pool.splice(this.int(pool.length), 1)[0]);
    return out;
  }
}
