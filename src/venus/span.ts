/**
 * A zero-copy, zero-allocation view of a fixed-stride array inside the
 * command stream: how top-level array parameters of plain element type
 * (scalars, handles, structs of scalars, byte blobs) reach the handlers.
 *
 * A decoder owns one Span per (command, parameter) and re-targets it for
 * every command, so a Span is only valid during the handler call: copy what
 * you need (a native backend copies `bytes` — for structs of 4-byte scalars
 * the wire layout is the C layout — or translates handle ids) before
 * returning. `at(i)` / `toArray()` decode elements on demand.
 */
import { VenusReader } from "./reader.ts";

export type SpanKind = "u32" | "i32" | "f32" | "u64" | "i64" | "f64" | "u8" | "handle" | "struct";

const EMPTY = new Uint8Array(0);
const TWO32 = 4294967296;

export class Span<T = unknown> {
  u8: Uint8Array = EMPTY;
  dv: DataView = new DataView(EMPTY.buffer);
  /** byte offset of element 0 in `u8` */
  offset = 0;
  /** number of elements */
  count = 0;
  #reader: VenusReader | null = null;

  constructor(
    /** wire bytes per element */
    readonly stride: number,
    readonly kind: SpanKind,
    /** element decoder for struct spans */
    readonly decodeElem: ((r: VenusReader) => T) | null = null,
  ) {}

  get length(): number {
    return this.count;
  }

  /** The elements' wire bytes (a view, no copy). */
  get bytes(): Uint8Array {
    return this.u8.subarray(this.offset, this.offset + this.count * this.stride);
  }

  /**
   * Copies the elements' wire bytes into `dst` at `at`: small spans byte by
   * byte (no view object made), larger ones with one TypedArray.set.
   */
  copyTo(dst: Uint8Array, at: number): void {
    const n = this.count * this.stride;
    const src = this.u8, off = this.offset;
    if (n <= 64) { for (let i = 0; i < n; i++) dst[at + i] = src[off + i]; }
    else dst.set(src.subarray(off, off + n), at);
  }

  /** Element `i` (decoded on demand; numbers for 32-bit kinds and handles). */
  at(i: number): T {
    const p = this.offset + i * this.stride;
    const dv = this.dv;
    switch (this.kind) {
      case "u32":
        return dv.getUint32(p, true) as T;
      case "i32":
        return dv.getInt32(p, true) as T;
      case "f32":
        return dv.getFloat32(p, true) as T;
      case "f64":
        return dv.getFloat64(p, true) as T;
      case "u8":
        return this.u8[p] as T;
      case "u64":
      case "handle": {
        const hi = dv.getUint32(p + 4, true);
        return (hi < 0x200000 ? hi * TWO32 + dv.getUint32(p, true) : dv.getBigUint64(p, true)) as T;
      }
      case "i64":
        return dv.getBigInt64(p, true) as T;
      case "struct": {
        const r = this.#reader ??= new VenusReader(null);
        r.reset(this.u8, p, p + this.stride);
        return this.decodeElem!(r);
      }
    }
  }

  toArray(): T[] {
    const a: T[] = [];
    for (let i = 0; i < this.count; i++) a.push(this.at(i));
    return a;
  }
}
