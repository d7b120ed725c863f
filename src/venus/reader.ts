/**
 * Bounds-checked little-endian reads of Venus wire items (venus-wire.md §2–§3)
 * straight from a caller's bytes (a mapped SHM ring, a SUBMIT_CMD payload):
 * no copy of the stream is made.
 *
 * Error model (mirrors vkr's decoder, venus-wire.md §9): the first error
 * marks the reader `bad` and records the message and byte offset; reads past
 * the end return zeros and do not advance; array reads after an error return
 * empty arrays, so a malformed stream can never make the decoder allocate or
 * loop beyond what the remaining bytes allow. Nothing here throws.
 *
 * Values: 32-bit scalars are numbers; 64-bit scalars are {@link U64} — a
 * number when below 2^53 (the common case, no allocation), else a bigint.
 * Object handles are numbers: ids ≥ 2^53 are rejected (Mesa allocates ids
 * from a counter starting at 1; ring ids are user-space pointers < 2^47).
 * Views returned for arrays and blobs alias the stream and are only valid
 * while the command is being handled (like vkr's temp-pool pointers).
 */
import type { ObjectTable } from "./object_table.ts";
import type { Span } from "./span.ts";

/** A 64-bit wire value: a number when exactly representable, else a bigint. */
export type U64 = number | bigint;
/** An output scalar the handler fills in (or an in/out count). */
export interface Ref<T> {
  value: T;
}

/** Arrays whose elements occupy no request bytes are capped at this many elements. */
export const MAX_ZERO_SIZE_ELEMENTS = 1 << 16;
/** Output arrays (data the handler produces) are capped at this many bytes. */
export const MAX_OUTPUT_BYTES = 64 << 20;

const TWO32 = 4294967296;
const utf8 = new TextDecoder("utf-8", { fatal: false });
const EMPTY_U8 = new Uint8Array(0);

if (new Uint8Array(new Uint32Array([1]).buffer)[0] !== 1) {
  throw new Error("the Venus reader needs a little-endian host");
}

export class VenusReader {
  u8: Uint8Array = EMPTY_U8;
  dv: DataView = new DataView(EMPTY_U8.buffer);
  // 32-bit views of the same bytes: every wire item is 4-byte aligned relative
  // to the stream start, and typed-array loads are much cheaper than DataView
  // calls on the hot path (the host is little endian, checked above)
  w32: Uint32Array = new Uint32Array(0);
  i32v: Int32Array = new Int32Array(0);
  f32v: Float32Array = new Float32Array(0);
  u8off = 0;
  /** absolute read position in `u8` */
  pos = 0;
  /** absolute end of the readable range */
  end = 0;
  /** start of the stream, for offsets in error messages */
  base = 0;
  /** set by the first error; sticky until {@link reset} */
  bad = false;
  /** the first error's message and stream-relative offset */
  error = "";
  errorOffset = 0;
  /** true when the first error was a read past the end (used by the ring reader) */
  overrun = false;

  /** `objects` resolves input handles; null skips the lookup (reply decoding in tools). */
  constructor(public objects: ObjectTable | null) {}

  /**
   * Points the reader at `u8[start, end)`; clears any previous error. A
   * range that does not start 4-byte aligned in its ArrayBuffer (never the
   * case for mappings, payloads and ring batches) is copied once.
   */
  reset(u8: Uint8Array, start = 0, end = u8.byteLength): void {
    if (((u8.byteOffset + start) & 3) !== 0) {
      u8 = u8.slice(start, end);
      end -= start;
      start = 0;
    }
    if (u8 !== this.u8) {
      this.u8 = u8;
      this.dv = new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
      // views over the whole ArrayBuffer from 0, indexed by (u8off + pos) >> 2
      const words = u8.buffer.byteLength >> 2;
      this.u8off = u8.byteOffset;
      this.w32 = new Uint32Array(u8.buffer, 0, words);
      this.i32v = new Int32Array(u8.buffer, 0, words);
      this.f32v = new Float32Array(u8.buffer, 0, words);
    }
    this.pos = start;
    this.base = start;
    this.end = end;
    this.bad = false;
    this.error = "";
    this.errorOffset = 0;
    this.overrun = false;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  /** Marks the stream malformed (first error wins). Returns 0 for convenience. */
  fail(msg: string): number {
    if (!this.bad) {
      this.bad = true;
      this.error = msg;
      this.errorOffset = this.pos - this.base;
    }
    return 0;
  }

  #short(n: number): number {
    if (!this.bad) this.overrun = true;
    return this.fail(`read of ${n} bytes past the end of the stream`);
  }

  /** A fixed-size part of `n` bytes does not fit: read past the end (sets `overrun`). */
  truncated(n: number): void {
    this.#short(n);
  }

  u32(): number {
    const p = this.pos;
    if (p + 4 > this.end) return this.#short(4);
    this.pos = p + 4;
    return this.w32[(p + this.u8off) >> 2];
  }
  i32(): number {
    const p = this.pos;
    if (p + 4 > this.end) return this.#short(4);
    this.pos = p + 4;
    return this.i32v[(p + this.u8off) >> 2];
  }
  f32(): number {
    const p = this.pos;
    if (p + 4 > this.end) return this.#short(4);
    this.pos = p + 4;
    return this.f32v[(p + this.u8off) >> 2];
  }
  f64(): number {
    const p = this.pos;
    if (p + 8 > this.end) return this.#short(8);
    this.pos = p + 8;
    return this.dv.getFloat64(p, true);
  }
  /** uint8_t: 4 bytes on the wire, value in the low byte */
  u8v(): number {
    return this.u32() & 0xff;
  }
  u16v(): number {
    return this.u32() & 0xffff;
  }
  i8v(): number {
    return (this.u32() << 24) >> 24;
  }
  i16v(): number {
    return (this.u32() << 16) >> 16;
  }
  u64(): U64 {
    const p = this.pos;
    if (p + 8 > this.end) return this.#short(8);
    this.pos = p + 8;
    const i = (p + this.u8off) >> 2;
    const hi = this.w32[i + 1];
    if (hi < 0x200000) return hi * TWO32 + this.w32[i];
    return this.dv.getBigUint64(p, true);
  }
  i64(): U64 {
    const p = this.pos;
    if (p + 8 > this.end) return this.#short(8);
    this.pos = p + 8;
    const hi = this.dv.getInt32(p + 4, true);
    if (hi < 0x200000 && hi >= -0x200000) return hi * TWO32 + this.dv.getUint32(p, true);
    return this.dv.getBigInt64(p, true);
  }
  /** A u64 that must fit a number (counts, ids); larger → error. */
  #u64n(what: string): number {
    const p = this.pos;
    if (p + 8 > this.end) return this.#short(8);
    this.pos = p + 8;
    const i = (p + this.u8off) >> 2;
    const hi = this.w32[i + 1];
    if (hi >= 0x200000) return this.fail(`${what} ${this.dv.getBigUint64(p, true)} out of range`);
    return hi * TWO32 + this.w32[i];
  }
  /** simple-pointer presence marker (§3.1) */
  ptr(): boolean {
    const p = this.pos;
    if (p + 8 > this.end) return this.#short(8) !== 0;
    this.pos = p + 8;
    const i = (p + this.u8off) >> 2;
    return (this.w32[i] | this.w32[i + 1]) !== 0;
  }
  /** `const VkAllocationCallbacks*`: must be NULL */
  allocator(): null {
    if (this.ptr()) this.fail("pAllocator must be NULL");
    return null;
  }

  /** An input handle: id 0 is VK_NULL_HANDLE; others must exist with this object type. */
  handle(objectType: number): number {
    const p = this.pos;
    if (p + 8 > this.end) return this.#short(8);
    this.pos = p + 8;
    const i = (p + this.u8off) >> 2;
    const lo = this.w32[i];
    const hi = this.w32[i + 1];
    if ((lo | hi) === 0) return 0;
    if (hi >= 0x200000) {
      return this.fail(`object id 0x${hi.toString(16)}${lo.toString(16)} out of range`);
    }
    const id = hi * TWO32 + lo;
    if (this.objects !== null && !this.objects.has(id, objectType)) {
      return this.fail(`unknown object id ${id} (expected object type ${objectType})`);
    }
    return id;
  }
  /** u64 from the 32-bit words at index `i` (fast paths; bounds already checked) */
  u64At(i: number): U64 {
    const hi = this.w32[i + 1];
    if (hi < 0x200000) return hi * TWO32 + this.w32[i];
    return (BigInt(hi) << 32n) | BigInt(this.w32[i]);
  }
  i64At(i: number): U64 {
    const hi = this.i32v[i + 1];
    if (hi < 0x200000 && hi >= -0x200000) return hi * TWO32 + this.w32[i];
    return (BigInt(hi) << 32n) | BigInt(this.w32[i]);
  }
  /** An input handle from its two words (fast paths; bounds already checked). */
  handleAt(lo: number, hi: number, objectType: number): number {
    const id = hi * TWO32 + lo;
    const o = this.objects;
    if (o !== null && objectType < 64 && o.recent[objectType] === id && id !== 0) return id;
    if ((lo | hi) === 0) return 0;
    if (hi >= 0x200000) return this.fail(`object id ${id} out of range`);
    if (this.objects !== null && !this.objects.has(id, objectType)) {
      return this.fail(`unknown object id ${id} (expected object type ${objectType})`);
    }
    return id;
  }
  /** An output handle: the id the guest assigned (validated when the object is created). */
  newHandle(): number {
    return this.#u64n("object id");
  }

  /** Dynamic-array count (§3.2), bounded by the bytes left (or a cap for 0-byte elements). */
  count(minElemBytes: number): number {
    const p = this.pos;
    if (p + 8 > this.end) return this.#short(8);
    const i = (p + this.u8off) >> 2;
    const n = this.w32[i];
    if (this.w32[i + 1] !== 0) return this.#badCount(p);
    this.pos = p + 8;
    if (n === 0) return 0;
    if (minElemBytes > 0 ? n * minElemBytes > this.end - p - 8 : n > MAX_ZERO_SIZE_ELEMENTS) {
      // elements that do not fit may continue past the end of a ring batch: an overrun
      if (minElemBytes > 0 && !this.bad) this.overrun = true;
      return this.#tooMany(n);
    }
    return n;
  }
  #badCount(p: number): number {
    this.pos = p + 8;
    return this.fail(`array count ${this.dv.getBigUint64(p, true)} out of range`);
  }
  #tooMany(n: number): number {
    return this.fail(`array count ${n} exceeds the stream`);
  }
  /** Count of an output array whose elements are not in the request (capped). */
  outCount(elemBytes: number): number {
    const n = this.#u64n("array count");
    if (n * elemBytes > MAX_OUTPUT_BYTES) {
      return this.fail(`output array of ${n} elements too large`);
    }
    return n;
  }
  /** Count of an output struct array whose elements are not in the request (capped). */
  outStructCount(): number {
    const n = this.#u64n("array count");
    if (n > MAX_ZERO_SIZE_ELEMENTS) return this.fail(`output array of ${n} structs too large`);
    return n;
  }
  /** Static array `T[N]` (§3.3): the count must equal N. */
  fixed(n: number): boolean {
    const c = this.#u64n("array count");
    if (c !== n) {
      this.fail(`static array count ${c} != ${n}`);
      return false;
    }
    return true;
  }
  /** A required pointer arrived NULL. */
  missing(what: string): null {
    this.fail(`required pointer ${what} is NULL`);
    return null;
  }
  /** pNext of a struct that has no protocol extension structs: must be end-of-chain. */
  noChain(head: string): null {
    if (this.ptr()) this.fail(`unexpected pNext element in ${head}`);
    return null;
  }
  badSType(s: number, head: string): null {
    this.fail(`unexpected sType ${s} in the pNext chain of ${head}`);
    return null;
  }
  /** Decodes `n` structs with `fn` (stops at the first error). */
  list<T>(n: number, fn: (r: VenusReader) => T): T[] {
    const a: T[] = [];
    for (let i = 0; i < n && !this.bad; i++) a.push(fn(this));
    return a;
  }
  sizeMismatch(what: string, got: number, want: number): null {
    this.fail(`array size mismatch for ${what}: ${got} != ${want}`);
    return null;
  }

  #span(bytes: number): number {
    const p = this.pos;
    if (this.bad) return -1;
    if (!(bytes >= 0 && bytes <= this.end - p)) {
      this.#short(bytes);
      return -1;
    }
    this.pos = p + bytes;
    return p;
  }

  #a4(n: number): ArrayBuffer | null {
    const p = this.#span(n * 4);
    if (p < 0) return null;
    const off = this.u8.byteOffset + p;
    if ((off & 3) === 0) {
      this.#a4off = off;
      return this.u8.buffer as ArrayBuffer;
    }
    this.#a4off = 0;
    return this.u8.slice(p, p + n * 4).buffer;
  }
  #a4off = 0;
  u32Array(n: number): Uint32Array {
    const b = this.#a4(n);
    return b === null ? new Uint32Array(0) : new Uint32Array(b, this.#a4off, n);
  }
  i32Array(n: number): Int32Array {
    const b = this.#a4(n);
    return b === null ? new Int32Array(0) : new Int32Array(b, this.#a4off, n);
  }
  f32Array(n: number): Float32Array {
    const b = this.#a4(n);
    return b === null ? new Float32Array(0) : new Float32Array(b, this.#a4off, n);
  }
  #a8(n: number): ArrayBuffer | null {
    // returns the buffer to view at `this.#a8off` (the stream itself when 8-aligned, else a copy)
    const p = this.#span(n * 8);
    if (p < 0) return null;
    const off = this.u8.byteOffset + p;
    if ((off & 7) === 0) {
      this.#a8off = off;
      return this.u8.buffer as ArrayBuffer;
    }
    this.#a8off = 0;
    return this.u8.slice(p, p + n * 8).buffer;
  }
  #a8off = 0;
  u64Array(n: number): BigUint64Array {
    const b = this.#a8(n);
    return b === null ? new BigUint64Array(0) : new BigUint64Array(b, this.#a8off, n);
  }
  i64Array(n: number): BigInt64Array {
    const b = this.#a8(n);
    return b === null ? new BigInt64Array(0) : new BigInt64Array(b, this.#a8off, n);
  }
  f64Array(n: number): Float64Array {
    const b = this.#a8(n);
    return b === null ? new Float64Array(0) : new Float64Array(b, this.#a8off, n);
  }
  /** `n` packed bytes padded to 4 once (uint8_t arrays, blobs) */
  bytes(n: number): Uint8Array {
    const p = this.#span(pad4(n));
    if (p < 0) return EMPTY_U8;
    return this.u8.subarray(p, p + n);
  }
  /** `n` packed uint16_t padded to 4 once */
  u16Array(n: number): Uint16Array {
    const p = this.#span(pad4(n * 2));
    if (p < 0) return new Uint16Array(0);
    return new Uint16Array(this.u8.slice(p, p + n * 2).buffer);
  }
  /** scalar arrays given by wire element type (for generic code) */
  handleArray(n: number, objectType: number): number[] {
    const a: number[] = [];
    for (let i = 0; i < n && !this.bad; i++) a.push(this.handle(objectType));
    return a;
  }
  newHandleArray(n: number): number[] {
    const a: number[] = [];
    for (let i = 0; i < n && !this.bad; i++) a.push(this.newHandle());
    return a;
  }

  /** Points `s` at the next `n` elements (no copy, no allocation); null after an error. */
  span<T>(s: Span<T>, n: number): Span<T> | null {
    const bytes = s.stride === 1 ? pad4(n) : n * s.stride;
    const p = this.pos;
    if (this.bad || bytes > this.end - p) {
      this.#span(bytes);
      return null;
    }
    this.pos = p + bytes;
    s.u8 = this.u8;
    s.dv = this.dv;
    s.offset = p;
    s.count = n;
    return s;
  }
  /** A span of flat structs, each checked by `check(reader, wordIndex)` (sType, pNext, handles). */
  checkedSpan<T>(
    s: Span<T>,
    n: number,
    check: (r: VenusReader, i: number) => boolean,
  ): Span<T> | null {
    const sp = this.span(s, n);
    if (sp === null) return null;
    const words = sp.stride >> 2;
    for (let e = 0, i = (sp.offset + this.u8off) >> 2; e < n; e++, i += words) {
      if (!check(this, i)) return null;
    }
    return sp;
  }

  /** A span of input handles: every non-zero id must exist with `objectType`. */
  handleSpan(s: Span<number>, n: number, objectType: number): Span<number> | null {
    const sp = this.span(s, n);
    if (sp === null) return null;
    const w = this.w32;
    for (let k = 0, i = (sp.offset + this.u8off) >> 2; k < n; k++, i += 2) {
      this.handleAt(w[i], w[i + 1], objectType);
      if (this.bad) return null;
    }
    return sp;
  }

  /** `const char*` (§3.4): u64 length incl. NUL, bytes padded; 0 → null. */
  string(): string | null {
    const n = this.#u64n("string length");
    if (n === 0) return null;
    const b = this.bytes(n);
    return cstr(b);
  }
  /** `char[N]` (§3.3): u64 N + N bytes; the last byte is forced to NUL. */
  fixedString(n: number): string {
    if (!this.fixed(n)) return "";
    return cstr(this.bytes(n));
  }
  stringArray(n: number): string[] {
    const a: string[] = [];
    for (let i = 0; i < n && !this.bad; i++) a.push(this.string() ?? "");
    return a;
  }
}

/** `n` rounded up to a multiple of 4, without 32-bit overflow */
function pad4(n: number): number {
  return n + ((4 - (n % 4)) % 4);
}

function cstr(b: Uint8Array): string {
  let e = b.indexOf(0);
  if (e < 0) e = Math.max(0, b.length - 1);
  return utf8.decode(b.subarray(0, e));
}

/** Zero-filled output arrays for handlers to fill in (sizes already capped). */
export const zeros = {
  u32: (n: number) => new Uint32Array(n),
  i32: (n: number) => new Int32Array(n),
  f32: (n: number) => new Float32Array(n),
  u64: (n: number) => new BigUint64Array(n),
  i64: (n: number) => new BigInt64Array(n),
  f64: (n: number) => new Float64Array(n),
  u16: (n: number) => new Uint16Array(n),
  u8: (n: number) => new Uint8Array(n),
};
