/**
 * A split virtqueue served from guest memory (virtio 1.2, section 2.7).
 *
 * Everything the guest wrote is untrusted: head and next indices are range
 * checked, chains are cut off at the queue size (indirect tables at their
 * own size), indirect tables may not nest, device-readable buffers may not
 * follow device-writable ones, and every buffer must lie inside guest
 * memory. A bad chain yields a {@link ChainError}; the caller returns its
 * head with length 0 so the guest driver does not wait forever.
 *
 * Shared words. The index and event words the driver writes while we read
 * them (avail.flags, avail.idx, used_event) and the ones it reads while we
 * write them (used.idx, avail_event) are accessed through 16-bit typed
 * arrays with Atomics: one untorn load or store each. (V8's unoptimized
 * DataView getters and setters move a u16 a byte at a time, so a DataView
 * read of avail.idx racing the driver's store can see 0x01ff between 0x00ff
 * and 0x0100, which looks like a corrupt ring; tests/shared_words_test.ts.)
 * That needs the alignment virtio requires anyway: avail 2, used 4 bytes.
 * The used elements and the descriptors are only read or written while the
 * other side leaves them alone, so plain views do.
 *
 * Memory ordering. Atomics.load/store are sequentially consistent: on
 * x86-64 a load is a plain load and a store is an `xchg`, a full fence. So
 * "used element, then used.idx" and "avail.idx, then ring entries" keep
 * their order, and the two places where a later load must not pass an
 * earlier store (publishing avail_event then re-reading avail.idx, and
 * publishing used.idx then reading used_event) are ordered by the store.
 */
import type { GuestMemory, GuestView } from "./guest_memory.ts";

const VRING_DESC_F_NEXT = 1;
const VRING_DESC_F_WRITE = 2;
const VRING_DESC_F_INDIRECT = 4;
const VRING_AVAIL_F_NO_INTERRUPT = 1;
/** Largest queue size virtio allows. */
export const MAX_QUEUE_SIZE = 32768;

/** The 64-bit address of descriptor `o` of `table`, for messages. */
function hex(table: DataView, o: number): string {
  return `0x${table.getBigUint64(o, true).toString(16)}`;
}

/** One device-readable or device-writable buffer of a chain. */
export type Segment = GuestView;

/** A descriptor chain the device took from the avail ring. */
export interface Chain {
  head: number;
  readable: Segment[];
  writable: Segment[];
  readableLen: number;
  writableLen: number;
}

/** A chain that broke a rule; `head` goes back to the guest with length 0. */
export class ChainError extends Error {
  constructor(readonly head: number, message: string) {
    super(message);
    this.name = "ChainError";
  }
}

/** The queue's avail index moved by more than its size: the ring is corrupt. */
export class RingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RingError";
  }
}

/** Addresses as SET_VRING_ADDR gives them (front-end virtual addresses). */
export interface RingAddrs {
  desc: number;
  avail: number;
  used: number;
}

export class SplitQueue {
  num = 0;
  addrs: RingAddrs | null = null;
  /** next avail ring slot to take (free-running u16) */
  lastAvail = 0;
  /** next used ring slot to fill (free-running u16) */
  usedIdx = 0;
  /** used.idx when the driver was last notified */
  signalledUsed = 0;
  signalledValid = false;
  eventIdx = false;
  indirect = false;
  /** the ring was found corrupt; nothing more is taken until it is set up again */
  broken = false;

  #gen = -1;
  #desc: DataView | null = null;
  /** avail as u16s: flags, idx, ring[num], used_event */
  #avail: Uint16Array | null = null;
  /** used as u16s (flags, idx, …, avail_event) and as u32s (elements from word 1) */
  #used16: Uint16Array | null = null;
  #used32: Uint32Array | null = null;

  constructor(readonly index: number, readonly mem: GuestMemory) {}

  /** Sets up the ring addresses; false when they are not inside guest memory or misaligned. */
  setAddrs(addrs: RingAddrs): boolean {
    this.addrs = addrs;
    this.#gen = -1;
    this.broken = false;
    if (!this.#map()) return false;
    // Resume where the used ring is (the ring survives a stop/start).
    this.usedIdx = Atomics.load(this.#used16!, 1);
    this.signalledValid = false;
    return true;
  }

  /** True when the ring memory is mapped for the current memory table. */
  #map(): boolean {
    if (this.#gen === this.mem.generation && this.#desc) return true;
    this.#desc =
      this.#avail =
      this.#used16 =
      this.#used32 =
        null;
    if (!this.addrs || this.num === 0) return false;
    const n = this.num;
    const d = this.mem.uva(this.addrs.desc, 16 * n);
    const a = this.mem.uva(this.addrs.avail, 6 + 2 * n);
    const u = this.mem.uva(this.addrs.used, 6 + 8 * n);
    if (!d || !a || !u || a.byteOffset % 2 !== 0 || u.byteOffset % 4 !== 0) return false;
    this.#desc = new DataView(d.buffer, d.byteOffset, d.byteLength);
    this.#avail = new Uint16Array(a.buffer, a.byteOffset, 3 + n);
    this.#used16 = new Uint16Array(u.buffer, u.byteOffset, 3 + 4 * n);
    this.#used32 = new Uint32Array(u.buffer, u.byteOffset, 1 + 2 * n);
    this.#gen = this.mem.generation;
    return true;
  }

  get ready(): boolean {
    return !this.broken && this.#map();
  }

  /** Number of chains the guest made available and we have not taken. */
  pending(): number {
    if (!this.ready) return 0;
    const idx = Atomics.load(this.#avail!, 1);
    const n = (idx - this.lastAvail) & 0xffff;
    if (n > this.num) {
      this.broken = true;
      throw new RingError(
        `queue ${this.index}: avail.idx ${idx} is ${n} ahead of ${this.lastAvail} (size ${this.num})`,
      );
    }
    return n;
  }

  /** Takes the next chain; null when none is pending. */
  pop(): Chain | null {
    if (this.pending() === 0) return null;
    const head = this.#avail![2 + this.lastAvail % this.num];
    this.lastAvail = (this.lastAvail + 1) & 0xffff;
    if (this.eventIdx) {
      // avail_event: ask for a kick once the driver goes past what we took.
      Atomics.store(this.#used16!, 2 + 4 * this.num, this.lastAvail);
    }
    if (head >= this.num) {
      // Not even a valid id to hand back: the guest broke the ring.
      this.broken = true;
      throw new RingError(`queue ${this.index}: head index ${head} >= queue size ${this.num}`);
    }
    return this.#walk(head);
  }

  #walk(head: number): Chain {
    const chain: Chain = { head, readable: [], writable: [], readableLen: 0, writableLen: 0 };
    let table = this.#desc!;
    let size = this.num;
    let i = head;
    let count = 0;
    let inIndirect = false;
    for (;;) {
      if (i >= size) {
        throw new ChainError(head, `descriptor index ${i} out of range (table ${size})`);
      }
      if (++count > size) {
        throw new ChainError(head, `descriptor chain longer than its table (${size}): loop?`);
      }
      const o = 16 * i;
      // The 64-bit address as a double: exact below 2^53, and anything at or
      // above 2^53 (hi >= 2^21) is far outside any guest memory anyway.
      const hi = table.getUint32(o + 4, true);
      const addr = hi < 0x200000 ? hi * 0x100000000 + table.getUint32(o, true) : -1;
      const len = table.getUint32(o + 8, true);
      const flags = table.getUint16(o + 12, true);
      const next = table.getUint16(o + 14, true);
      if (flags & VRING_DESC_F_INDIRECT) {
        if (!this.indirect) throw new ChainError(head, "indirect descriptor not negotiated");
        if (inIndirect) throw new ChainError(head, "nested indirect descriptor table");
        if (flags & VRING_DESC_F_NEXT) throw new ChainError(head, "indirect descriptor with NEXT");
        if (len === 0 || len % 16 !== 0 || len / 16 > MAX_QUEUE_SIZE) {
          throw new ChainError(head, `bad indirect table length ${len}`);
        }
        const t = this.mem.gpa(addr, len);
        if (!t) {
          throw new ChainError(head, `indirect table ${hex(table, o)}+${len} outside guest memory`);
        }
        table = new DataView(t.buffer, t.byteOffset, t.byteLength);
        size = len / 16;
        i = 0;
        count = 0;
        inIndirect = true;
        continue;
      }
      if (len > 0) {
        const v = this.mem.gpa(addr, len);
        if (!v) throw new ChainError(head, `buffer ${hex(table, o)}+${len} outside guest memory`);
        if (flags & VRING_DESC_F_WRITE) {
          chain.writable.push(v);
          chain.writableLen += len;
        } else {
          if (chain.writable.length > 0) {
            throw new ChainError(head, "device-readable buffer after a device-writable one");
          }
          chain.readable.push(v);
          chain.readableLen += len;
        }
      }
      if (!(flags & VRING_DESC_F_NEXT)) return chain;
      i = next;
    }
  }

  /** Returns a chain to the driver with `len` bytes written. */
  push(head: number, len: number): void {
    if (!this.ready) return;
    const u = this.#used32!;
    const slot = 1 + 2 * (this.usedIdx % this.num);
    u[slot] = head;
    u[slot + 1] = len;
    // the element is visible before the index that publishes it
    this.usedIdx = (this.usedIdx + 1) & 0xffff;
    Atomics.store(this.#used16!, 1, this.usedIdx);
  }

  /**
   * Publishes avail_event (event-idx) and re-checks for work that raced
   * with it; true when more chains are pending.
   */
  enableNotifications(): boolean {
    if (!this.ready) return false;
    if (this.eventIdx) {
      Atomics.store(this.#used16!, 2 + 4 * this.num, this.lastAvail);
    }
    return this.pending() > 0;
  }

  /** Whether the driver wants an interrupt for the used entries added since the last one. */
  needsNotify(): boolean {
    if (!this.ready) return false;
    // (push's seq_cst used.idx store comes before the used_event / flags load)
    const newIdx = this.usedIdx;
    if (!this.eventIdx) {
      return (Atomics.load(this.#avail!, 0) & VRING_AVAIL_F_NO_INTERRUPT) === 0;
    }
    const old = this.signalledUsed;
    const valid = this.signalledValid;
    this.signalledUsed = newIdx;
    this.signalledValid = true;
    if (!valid) return true;
    const event = Atomics.load(this.#avail!, 2 + this.num);
    // vring_need_event: notify when used_event lies in [old, new).
    return ((newIdx - event - 1) & 0xffff) < ((newIdx - old) & 0xffff);
  }
}

/** Copies the concatenation of `segs` into `dst` (up to its length); returns bytes copied. */
export function gather(segs: readonly Segment[], dst: Uint8Array): number {
  let off = 0;
  for (const s of segs) {
    if (off >= dst.length) break;
    const n = Math.min(s.length, dst.length - off);
    dst.set(n === s.length ? s : s.subarray(0, n), off);
    off += n;
  }
  return off;
}

/** Copies `src` into the concatenation of `segs` (as much as fits); returns bytes written. */
export function scatter(src: Uint8Array, segs: readonly Segment[]): number {
  let off = 0;
  for (const s of segs) {
    if (off >= src.length) break;
    const n = Math.min(s.length, src.length - off);
    s.set(src.subarray(off, off + n));
    off += n;
  }
  return off;
}
