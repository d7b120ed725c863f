/**
 * Little-endian writes of Venus wire items into a bounded region (a reply
 * stream inside an SHM resource) or into a growable buffer (request encoding
 * for tests and tools). Padding bytes are written as zeros.
 *
 * A bounded writer never writes outside `[pos, end)`: the first write that
 * does not fit sets `overflow` and later writes are dropped.
 */
import type { U64 } from "./reader.ts";

const TWO32 = 4294967296;
const utf8 = new TextEncoder();

export class VenusWriter {
  u8: Uint8Array;
  dv: DataView;
  pos: number;
  end: number;
  overflow = false;

  /** A bounded writer over `u8[start, end)`, or a growable one when `u8` is omitted. */
  constructor(u8?: Uint8Array, start = 0, end?: number, readonly growable = u8 === undefined) {
    this.u8 = u8 ?? new Uint8Array(256);
    this.dv = new DataView(this.u8.buffer, this.u8.byteOffset, this.u8.byteLength);
    this.pos = start;
    this.end = end ?? this.u8.byteLength;
  }

  /** Retargets a bounded writer. */
  reset(u8: Uint8Array, start: number, end: number): void {
    if (u8 !== this.u8) {
      this.u8 = u8;
      this.dv = new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
    }
    this.pos = start;
    this.end = end;
    this.overflow = false;
  }

  /** The bytes written so far (growable writers: from 0). */
  get bytesWritten(): Uint8Array {
    return this.u8.subarray(0, this.pos);
  }

  #room(n: number): number {
    const p = this.pos;
    if (p + n <= this.end) {
      this.pos = p + n;
      return p;
    }
    if (!this.growable) {
      this.overflow = true;
      return -1;
    }
    let size = this.u8.byteLength * 2;
    while (size < p + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.u8);
    this.u8 = next;
    this.dv = new DataView(next.buffer);
    this.end = size;
    this.pos = p + n;
    return p;
  }

  u32(v: number | undefined): void {
    const p = this.#room(4);
    if (p >= 0) this.dv.setUint32(p, (v as number) >>> 0, true);
  }
  i32(v: number | undefined): void {
    const p = this.#room(4);
    if (p >= 0) this.dv.setInt32(p, (v as number) | 0, true);
  }
  f32(v: number | undefined): void {
    const p = this.#room(4);
    if (p >= 0) this.dv.setFloat32(p, v ?? 0, true);
  }
  f64(v: number | undefined): void {
    const p = this.#room(8);
    if (p >= 0) this.dv.setFloat64(p, v ?? 0, true);
  }
  u8v(v: number | undefined): void {
    this.u32(((v as number) & 0xff) >>> 0);
  }
  u16v(v: number | undefined): void {
    this.u32(((v as number) & 0xffff) >>> 0);
  }
  i8v(v: number | undefined): void {
    this.i32(v);
  }
  i16v(v: number | undefined): void {
    this.i32(v);
  }
  u64(v: U64 | undefined): void {
    const p = this.#room(8);
    if (p < 0) return;
    if (typeof v === "number" && v >= 0 && v <= Number.MAX_SAFE_INTEGER) {
      this.dv.setUint32(p, v % TWO32, true);
      this.dv.setUint32(p + 4, Math.floor(v / TWO32), true);
    } else if (v === undefined) {
      this.dv.setUint32(p, 0, true);
      this.dv.setUint32(p + 4, 0, true);
    } else {
      this.dv.setBigUint64(p, BigInt.asUintN(64, BigInt(v)), true);
    }
  }
  i64(v: U64 | undefined): void {
    this.u64(v);
  }
  ptr(present: boolean): void {
    this.u64(present ? 1 : 0);
  }
  handle(id: number | undefined): void {
    this.u64(id ?? 0);
  }
  count(n: number): void {
    this.u64(n);
  }
  fixed(n: number): void {
    this.u64(n);
  }

  #raw(src: Uint8Array, padded: number): void {
    const p = this.#room(padded);
    if (p < 0) return;
    this.u8.set(src, p);
    this.u8.fill(0, p + src.byteLength, p + padded);
  }
  /** packed bytes padded to 4 (uint8_t arrays, blobs); no count */
  bytes(b: Uint8Array | null | undefined): void {
    if (b) this.#raw(b, (b.byteLength + 3) & ~3);
  }
  /** typed scalar arrays written as raw little-endian bytes (no count) */
  raw(a: ArrayBufferView | null | undefined): void {
    if (a) this.bytes(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  }
  /** u32/i32/f32 arrays given as typed arrays or plain number arrays */
  u32Array(a: ArrayLike<number> | null | undefined): void {
    if (!a) return;
    if (ArrayBuffer.isView(a)) return this.raw(a as unknown as ArrayBufferView);
    for (let i = 0; i < a.length; i++) this.u32(a[i]);
  }
  i32Array(a: ArrayLike<number> | null | undefined): void {
    if (!a) return;
    if (ArrayBuffer.isView(a)) return this.raw(a as unknown as ArrayBufferView);
    for (let i = 0; i < a.length; i++) this.i32(a[i]);
  }
  f32Array(a: ArrayLike<number> | null | undefined): void {
    if (!a) return;
    if (a instanceof Float32Array) return this.raw(a);
    for (let i = 0; i < a.length; i++) this.f32(a[i]);
  }
  f64Array(a: ArrayLike<number> | null | undefined): void {
    if (!a) return;
    if (a instanceof Float64Array) return this.raw(a);
    for (let i = 0; i < a.length; i++) this.f64(a[i]);
  }
  u64Array(a: ArrayLike<U64> | null | undefined): void {
    if (!a) return;
    if (ArrayBuffer.isView(a)) return this.raw(a as unknown as ArrayBufferView);
    for (let i = 0; i < a.length; i++) this.u64(a[i]);
  }
  i64Array(a: ArrayLike<U64> | null | undefined): void {
    this.u64Array(a);
  }
  u16Array(a: ArrayLike<number> | null | undefined): void {
    if (!a) return;
    const t = a instanceof Uint16Array ? a : Uint16Array.from(a);
    this.raw(t);
  }
  handleArray(a: ArrayLike<number> | null | undefined): void {
    if (!a) return;
    for (let i = 0; i < a.length; i++) this.u64(a[i]);
  }
  /** the raw elements of a Span (its wire bytes), padded to 4 */
  spanRaw(s: { bytes: Uint8Array }): void {
    this.bytes(s.bytes);
  }
  string(s: string | null | undefined): void {
    if (s === null || s === undefined) return this.u64(0);
    const b = utf8.encode(s);
    const z = new Uint8Array(b.length + 1);
    z.set(b);
    this.u64(z.length);
    this.bytes(z);
  }
  fixedString(s: string | undefined, n: number): void {
    const b = utf8.encode(s ?? "").subarray(0, n - 1);
    const z = new Uint8Array(n);
    z.set(b);
    this.u64(n);
    this.bytes(z);
  }
  stringArray(a: ArrayLike<string> | null | undefined): void {
    if (!a) return;
    for (let i = 0; i < a.length; i++) this.string(a[i]);
  }
}
