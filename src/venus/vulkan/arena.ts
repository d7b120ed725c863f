/**
 * The marshalling arena: native memory that decoded Venus arguments are laid
 * out in (C layout, x86-64/aarch64 LP64) right before a Vulkan call.
 *
 * One arena per stream (context stream, each ring, executed streams), reset
 * before every command: no allocation per call except when a command needs
 * more than the arena holds. Then marshalling throws {@link ARENA_FULL}; the
 * caller grows the arena (doubling, up to {@link MAX_ARENA}) and marshals the
 * command again from the start — marshalling has no side effects before the
 * native call, so the retry is exact. The backing store of a fixed-size
 * ArrayBuffer never moves, so addresses stay valid for the whole call.
 *
 * Offsets passed around are arena-relative; pointers written into native
 * structs are absolute addresses (`base + offset`, exact as doubles: user
 * space addresses are < 2^47).
 */
import { Span } from "../span.ts";

/**
 * Thrown when a command does not fit the arena. Deliberately not an Error:
 * an Error made while a module loads captures a stack trace, and for the
 * launcher's bundle V8 then re-parses the whole chunk's top level to find
 * source positions — about 10 ms of every worker's start.
 */
export const ARENA_FULL: { readonly message: string } = Object.freeze({
  message: "marshalling arena full",
  toString: () => "marshalling arena full",
});
export const MAX_ARENA = 256 << 20;
const TWO32 = 4294967296;
const enc = new TextEncoder();
const dec = new TextDecoder();

/** Resolves a guest object id to its host handle (0 → 0). */
export type HandleResolver = (id: number) => number | bigint;

/** arena offsets whose BigInt address is cached (top-level arguments sit near the start) */
const BIG_CACHED = 4096;

/** BigInts of 0..1023 (small sizes, counts, offsets), made once */
const SMALL = Array.from({ length: 1024 }, (_, i) => BigInt(i));

/**
 * `v` as a BigInt, the form Deno's fast FFI path takes for u64/usize
 * arguments (a number there falls back to a generic call about 20× slower).
 */
export function B(v: number | bigint): bigint {
  if (typeof v === "bigint") return v;
  return v >= 0 && v < 1024 && (v | 0) === v ? SMALL[v] : BigInt(v);
}

export class Arena {
  buf!: ArrayBuffer;
  u8!: Uint8Array<ArrayBuffer>;
  dv!: DataView<ArrayBuffer>;
  /** native address of byte 0 */
  base = 0;
  top = 0;
  /** guest id → host handle (set by the owner) */
  h: HandleResolver = () => 0;
  /** host handle → guest id, for the rare output handle inside a struct */
  rid: (host: number | bigint) => number = () => 0;

  constructor(size = 64 << 10) {
    this.#allocate(size);
  }

  /**
   * BigInt addresses of the first {@link BIG_CACHED} arena offsets, made on
   * first use (see {@link P}); a packed array filled up front (assigning far
   * past the end of an empty array would make V8 switch it to a slow
   * dictionary)
   */
  #big!: (bigint | undefined)[];

  /**
   * An absolute address (0 for null) as a BigInt for an FFI argument; the
   * addresses inside the arena are cached per offset, so the marshalling of
   * a command allocates no BigInt once its layout has been seen.
   */
  P(addr: number): bigint {
    if (addr === 0) return 0n;
    const o = addr - this.base;
    if (o < 0 || o >= BIG_CACHED) return BigInt(addr);
    return this.#big[o] ??= BigInt(addr);
  }

  #allocate(size: number): void {
    this.#big = new Array(BIG_CACHED).fill(undefined);
    this.buf = new ArrayBuffer(size);
    this.u8 = new Uint8Array(this.buf);
    this.dv = new DataView(this.buf);
    this.base = Number(Deno.UnsafePointer.value(Deno.UnsafePointer.of(this.u8)));
    this.top = 0;
  }

  get size(): number {
    return this.buf.byteLength;
  }

  /** Doubles the arena; false when it is already at {@link MAX_ARENA}. */
  grow(): boolean {
    if (this.buf.byteLength >= MAX_ARENA) return false;
    this.#allocate(this.buf.byteLength * 2);
    return true;
  }

  reset(): void {
    this.top = 0;
  }

  /** Reserves `size` zeroed bytes aligned to `align` (power of two); returns the offset. */
  alloc(size: number, align = 8): number {
    const o = this.allocRaw(size, align);
    const end = o + size;
    if (size <= 64) { for (let i = o; i < end; i++) this.u8[i] = 0; }
    else this.u8.fill(0, o, end);
    return o;
  }

  /** Like {@link alloc} without zeroing (the caller writes every byte). */
  allocRaw(size: number, align = 8): number {
    const o = (this.top + align - 1) & ~(align - 1);
    const end = o + size;
    if (end > this.u8.byteLength) throw ARENA_FULL;
    this.top = end;
    return o;
  }

  addr(o: number): number {
    return this.base + o;
  }

  // ---- scalar writes/reads at arena offsets
  w64(o: number, v: number | bigint | undefined | null): void {
    if (typeof v === "bigint") this.dv.setBigUint64(o, BigInt.asUintN(64, v), true);
    else if (v) {
      if (v < 0) this.dv.setBigInt64(o, BigInt(v), true);
      else {
        this.dv.setUint32(o, v % TWO32, true);
        this.dv.setUint32(o + 4, Math.floor(v / TWO32), true);
      }
    }
  }
  r64(o: number): number | bigint {
    const hi = this.dv.getUint32(o + 4, true);
    if (hi < 0x200000) return hi * TWO32 + this.dv.getUint32(o, true);
    return this.dv.getBigUint64(o, true);
  }
  ri64(o: number): number | bigint {
    const v = this.dv.getBigInt64(o, true);
    return v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v;
  }
  /** a pointer field (absolute address) */
  wp(o: number, addr: number): void {
    if (addr) {
      this.dv.setUint32(o, addr % TWO32, true);
      this.dv.setUint32(o + 4, Math.floor(addr / TWO32), true);
    }
  }
  rp(o: number): number {
    return this.dv.getUint32(o + 4, true) * TWO32 + this.dv.getUint32(o, true);
  }
  /** the arena offset of an absolute address inside the arena, or -1 */
  off(addr: number): number {
    const o = addr - this.base;
    return addr !== 0 && o >= 0 && o < this.u8.byteLength ? o : -1;
  }
  /** host handle of guest id `id` written at `o` */
  wh(o: number, id: number): void {
    if (id) this.w64(o, this.h(id));
  }

  // ---- out-of-line data; each returns an absolute address (0 for null)

  /** NUL-terminated UTF-8 string */
  str(s: string | null | undefined): number {
    if (s == null) return 0;
    const b = enc.encode(s);
    const o = this.alloc(b.length + 1, 1);
    this.u8.set(b, o);
    return this.base + o;
  }
  /** array of string pointers */
  strs(a: readonly (string | null)[] | null | undefined): number {
    if (!a || a.length === 0) return 0;
    const o = this.alloc(a.length * 8);
    for (let i = 0; i < a.length; i++) this.wp(o + i * 8, this.str(a[i]));
    return this.base + o;
  }
  /** char[n] in place */
  fstr(o: number, s: string | null | undefined, n: number): void {
    if (!s) return;
    const r = enc.encodeInto(s, this.u8.subarray(o, o + n - 1));
    this.u8[o + r.written] = 0;
  }
  rstr(o: number, n: number): string {
    let e = o;
    const end = o + n;
    while (e < end && this.u8[e] !== 0) e++;
    return dec.decode(this.u8.subarray(o, e));
  }
  /** bytes from a Uint8Array or a u8 Span */
  blob(b: Uint8Array | Span<number> | null | undefined): number {
    if (!b) return 0;
    if (b instanceof Uint8Array) {
      if (b.length === 0) return 0;
      const o = this.allocRaw(b.length, 8);
      this.u8.set(b, o);
      return this.base + o;
    }
    const n = b.count * b.stride;
    if (n === 0) return 0;
    const o = this.allocRaw(n, 8);
    b.copyTo(this.u8, o);
    return this.base + o;
  }
  /** a scalar array (Span, typed array or number[]) in C layout */
  scalars(
    a: ArrayLike<number | bigint> | Span<number | bigint> | null | undefined,
    s: string,
  ): number {
    if (!a) return 0;
    const n = a.length;
    if (n === 0) return 0;
    const sz = SCALAR_SIZE[s];
    const o = this.alloc(n * sz, 8);
    if (a instanceof Span) {
      // wire layout of 4/8-byte scalar arrays is the C layout
      if (a.stride === sz) a.copyTo(this.u8, o);
      else for (let i = 0; i < n; i++) this.ws(o + i * sz, s, a.at(i));
    } else {
      for (let i = 0; i < n; i++) this.ws(o + i * sz, s, (a as ArrayLike<number>)[i]);
    }
    return this.base + o;
  }
  /** handle array from ids (Span or number[]) */
  handles(a: ArrayLike<number> | Span<number> | null | undefined): number {
    if (!a || a.length === 0) return 0;
    const n = a.length;
    const o = this.alloc(n * 8);
    if (a instanceof Span) { for (let i = 0; i < n; i++) this.wh(o + i * 8, a.at(i)); }
    else for (let i = 0; i < n; i++) this.wh(o + i * 8, (a as ArrayLike<number>)[i]);
    return this.base + o;
  }
  /** struct array (Span or array of decoded structs) with a writer */
  structs<T>(
    a: ArrayLike<T> | Span<T> | null | undefined,
    size: number,
    align: number,
    w: (a: Arena, o: number, v: T) => void,
    flat = false,
  ): number {
    if (!a || a.length === 0) return 0;
    const n = a.length;
    const o = this.alloc(n * size, align);
    if (a instanceof Span) {
      if (flat && a.stride === size) a.copyTo(this.u8, o);
      else for (let i = 0; i < n; i++) w(this, o + i * size, a.at(i) as T);
    } else {
      for (let i = 0; i < n; i++) w(this, o + i * size, (a as ArrayLike<T>)[i]);
    }
    return this.base + o;
  }
  /** one struct */
  struct<T>(
    v: T | null | undefined,
    size: number,
    align: number,
    w: (a: Arena, o: number, v: T) => void,
  ): number {
    if (v == null) return 0;
    const o = this.alloc(size, align);
    w(this, o, v);
    return this.base + o;
  }

  ws(o: number, s: string, v: number | bigint | undefined): void {
    if (v === undefined) return;
    const dv = this.dv;
    switch (s) {
      case "u8":
        return dv.setUint8(o, Number(v));
      case "i8":
        return dv.setInt8(o, Number(v));
      case "u16":
        return dv.setUint16(o, Number(v), true);
      case "i16":
        return dv.setInt16(o, Number(v), true);
      case "u32":
        return dv.setUint32(o, Number(v), true);
      case "i32":
        return dv.setInt32(o, Number(v), true);
      case "f32":
        return dv.setFloat32(o, Number(v), true);
      case "f64":
        return dv.setFloat64(o, Number(v), true);
      default:
        return this.w64(o, v);
    }
  }
  rs(o: number, s: string): number | bigint {
    const dv = this.dv;
    switch (s) {
      case "u8":
        return dv.getUint8(o);
      case "i8":
        return dv.getInt8(o);
      case "u16":
        return dv.getUint16(o, true);
      case "i16":
        return dv.getInt16(o, true);
      case "u32":
        return dv.getUint32(o, true);
      case "i32":
        return dv.getInt32(o, true);
      case "f32":
        return dv.getFloat32(o, true);
      case "f64":
        return dv.getFloat64(o, true);
      case "i64":
        return this.ri64(o);
      default:
        return this.r64(o);
    }
  }
}

export const SCALAR_SIZE: Record<string, number> = {
  u8: 1,
  i8: 1,
  u16: 2,
  i16: 2,
  u32: 4,
  i32: 4,
  f32: 4,
  u64: 8,
  i64: 8,
  f64: 8,
};
