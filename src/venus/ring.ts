/**
 * A Venus ring (venus-runtime.md §4.1): a circular command buffer inside an
 * SHM resource with head/tail/status/extra words, drained by decoding the
 * bytes between the renderer's head and the tail the guest published.
 *
 * Zero copy: a batch that does not wrap is decoded in place. When a batch
 * wraps, the commands before the end of the buffer are decoded in place; the
 * one command that straddles the end is decoded from a small scratch copy
 * (its bytes before the end plus a window after the start, grown until the
 * command fits), then decoding continues in place after the wrap. So only the
 * straddling command (plus at most a window) is ever copied, instead of vkr's
 * copy of every batch.
 *
 * The head word is advanced after every executed command (the guest may wait
 * for a specific command). Threads, idle/notify and the monitor are the
 * caller's business: {@link VenusRing.drain} is a synchronous step.
 */
import type { VenusDecoder } from "./decoder.ts";
import type { U64 } from "./reader.ts";

export const RING_STATUS_IDLE = 0x1;
export const RING_STATUS_FATAL = 0x2;
export const RING_STATUS_ALIVE = 0x4;
export const MAX_RING_BUFFER_SIZE = 16 << 20;

/** The fields of VkRingCreateInfoMESA that describe the memory layout. */
export interface RingCreateInfo {
  resourceId: number;
  offset: U64;
  size: U64;
  idleTimeout: U64;
  headOffset: U64;
  tailOffset: U64;
  statusOffset: U64;
  bufferOffset: U64;
  bufferSize: U64;
  extraOffset: U64;
  extraSize: U64;
}

export interface RingLayout {
  head: number;
  tail: number;
  status: number;
  buffer: number;
  bufferSize: number;
  extra: number;
  extraSize: number;
}

/** Validates a ring layout against an SHM resource of `resSize` bytes; absolute offsets or an error. */
export function ringLayout(ci: RingCreateInfo, resSize: number): RingLayout | string {
  const n = (v: U64, what: string): number => {
    if (typeof v !== "number") throw new Error(`${what} ${v} out of range`);
    return v;
  };
  try {
    const base = n(ci.offset, "offset");
    const size = n(ci.size, "size");
    if (base + size > resSize) {
      return `ring [${base}, +${size}) outside the resource (${resSize} bytes)`;
    }
    const regions: [string, number, number][] = [
      ["head", n(ci.headOffset, "headOffset"), 4],
      ["tail", n(ci.tailOffset, "tailOffset"), 4],
      ["status", n(ci.statusOffset, "statusOffset"), 4],
      ["buffer", n(ci.bufferOffset, "bufferOffset"), n(ci.bufferSize, "bufferSize")],
      ["extra", n(ci.extraOffset, "extraOffset"), n(ci.extraSize, "extraSize")],
    ];
    for (const [name, off, len] of regions) {
      if (off + len > size) return `ring ${name} region outside the ring`;
      if (off % 4 !== 0 || len % 4 !== 0) return `ring ${name} region not 4-byte aligned`;
    }
    for (let i = 0; i < regions.length; i++) {
      for (let j = i + 1; j < regions.length; j++) {
        const [a, ao, al] = regions[i];
        const [b, bo, bl] = regions[j];
        if (al > 0 && bl > 0 && ao < bo + bl && bo < ao + al) {
          return `ring regions ${a} and ${b} overlap`;
        }
      }
    }
    const bs = regions[3][2];
    if (bs === 0 || (bs & (bs - 1)) !== 0 || bs > MAX_RING_BUFFER_SIZE) {
      return `ring buffer size ${bs} is not a power of two <= 16 MiB`;
    }
    return {
      head: base + regions[0][1],
      tail: base + regions[1][1],
      status: base + regions[2][1],
      buffer: base + regions[3][1],
      bufferSize: bs,
      extra: base + regions[4][1],
      extraSize: regions[4][2],
    };
  } catch (e) {
    return (e as Error).message;
  }
}

const WINDOW = 4096;

export class VenusRing {
  readonly dv: DataView;
  /** renderer's free-running consumed-byte count (mirrors the head word) */
  cur = 0;
  /** VkRingMonitorInfoMESA period in µs, or 0 when the ring is not monitored */
  monitorPeriodUs = 0;
  /** last seqno from vkSubmitVirtqueueSeqnoMESA */
  virtqueueSeqno: U64 = 0;
  /** batches that needed the straddle copy, and bytes copied for it */
  straddles = 0;
  copiedBytes = 0;
  /** called with a copy of every batch before it is decoded (capture hook) */
  onBatch: ((bytes: Uint8Array) => void) | null = null;
  #scratch: Uint8Array | null = null;
  #rangeStart = 0;
  #rangeHead = 0;

  constructor(
    readonly id: U64,
    readonly resId: number,
    readonly u8: Uint8Array,
    readonly layout: RingLayout,
    readonly decoder: VenusDecoder,
  ) {
    this.dv = new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
    decoder.afterCommand = (pos) => this.#setHead(this.#rangeHead + pos - this.#rangeStart);
  }

  get tail(): number {
    return this.dv.getUint32(this.layout.tail, true);
  }
  get head(): number {
    return this.dv.getUint32(this.layout.head, true);
  }
  get status(): number {
    return this.dv.getUint32(this.layout.status, true);
  }
  setStatusBits(bits: number): void {
    this.dv.setUint32(this.layout.status, this.status | bits, true);
  }
  clearStatusBits(bits: number): void {
    this.dv.setUint32(this.layout.status, this.status & ~bits, true);
  }

  #setHead(v: number): void {
    this.cur = v >>> 0;
    this.dv.setUint32(this.layout.head, this.cur, true);
  }

  /** Writes `value` at `offset` of the extra region; false when out of range. */
  writeExtra(offset: U64, value: number): boolean {
    if (typeof offset !== "number" || offset % 4 !== 0 || offset + 4 > this.layout.extraSize) {
      return false;
    }
    this.dv.setUint32(this.layout.extra + offset, value >>> 0, true);
    return true;
  }

  /** True when the head has reached ring seqno `seqno` (wrap-aware). */
  reached(seqno: number): boolean {
    return ((this.cur - seqno) >>> 0) <= 0x7fffffff;
  }

  /**
   * Decodes and executes everything between head and tail. Returns false when
   * the context became fatal (the FATAL status bit is then set).
   */
  drain(): boolean {
    const dec = this.decoder;
    if (dec.fatal) return this.#fatal();
    // synchronous model: the ring is "asleep" (IDLE) except while draining, so
    // the guest keeps sending vkNotifyRingMESA after publishing a tail
    this.clearStatusBits(RING_STATUS_IDLE);
    const ok = this.#drain();
    if (ok) this.setStatusBits(RING_STATUS_IDLE);
    return ok;
  }

  #drain(): boolean {
    const dec = this.decoder;
    const tail = this.tail;
    const n = (tail - this.cur) >>> 0;
    if (n === 0) return true;
    if (n > this.layout.bufferSize) {
      dec.fatalState.set(`ring tail ${tail} is ${n} bytes ahead of head ${this.cur}`);
      dec.log.error(`${dec.name}: fatal: ${dec.fatalState.reason}`);
      return this.#fatal();
    }
    if (this.onBatch) this.onBatch(this.#copyBatch(n));
    const ok = this.#decodeBatch(n);
    return ok ? true : this.#fatal();
  }

  #copyBatch(n: number): Uint8Array {
    const size = this.layout.bufferSize;
    const pos = this.cur & (size - 1);
    const first = Math.min(n, size - pos);
    const out = new Uint8Array(n);
    out.set(this.u8.subarray(this.layout.buffer + pos, this.layout.buffer + pos + first));
    out.set(this.u8.subarray(this.layout.buffer, this.layout.buffer + n - first), first);
    return out;
  }

  #fatal(): false {
    this.setStatusBits(RING_STATUS_FATAL);
    return false;
  }

  /** Decodes `len` bytes at ring position `pos` (both within one contiguous part). */
  #inPlace(pos: number, len: number, allowIncomplete: boolean): boolean {
    const start = this.layout.buffer + pos;
    this.#rangeStart = start;
    this.#rangeHead = this.cur;
    return this.decoder.decodeRange(this.u8, start, start + len, allowIncomplete);
  }

  #decodeBatch(n: number): boolean {
    const size = this.layout.bufferSize;
    const dec = this.decoder;
    let pos = this.cur & (size - 1);
    let left = n;
    while (left > 0) {
      const before = this.cur;
      const contiguous = Math.min(left, size - pos);
      const wraps = contiguous < left;
      if (!this.#inPlace(pos, contiguous, wraps)) return false;
      const done = (this.cur - before) >>> 0;
      if (done < contiguous && dec.incompleteAt < 0) return true; // a handler yielded
      left -= done;
      pos = (pos + done) & (size - 1);
      if (dec.incompleteAt < 0) continue;
      // a command straddles the end of the buffer: decode it from a scratch copy
      const head = size - pos;
      let window = Math.min(left - head, WINDOW);
      for (;;) {
        const total = head + window;
        if (!this.#scratch || this.#scratch.byteLength < total) {
          this.#scratch = new Uint8Array(Math.max(total, 2 * WINDOW));
        }
        const s = this.#scratch;
        s.set(this.u8.subarray(this.layout.buffer + pos, this.layout.buffer + size), 0);
        s.set(this.u8.subarray(this.layout.buffer, this.layout.buffer + window), head);
        this.copiedBytes += total;
        this.#rangeStart = 0;
        this.#rangeHead = this.cur;
        const last = window >= left - head;
        const b2 = this.cur;
        if (!dec.decodeRange(s, 0, total, !last)) return false;
        const used = (this.cur - b2) >>> 0;
        if (dec.incompleteAt === 0 && !last) {
          window = Math.min(left - head, window * 2);
          continue;
        }
        this.straddles++;
        if (used < total && dec.incompleteAt < 0) return true; // a handler yielded
        left -= used;
        pos = (pos + used) & (size - 1);
        break;
      }
    }
    return true;
  }
}
