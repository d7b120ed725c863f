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
 * for a specific command).
 *
 * Service (what vkr's ring thread does, as non-blocking steps for the
 * context's single-threaded loop; the scheduler is VenusContextBackend.tick):
 * {@link VenusRing.service} drains at most a chunk and says when it wants to
 * run again. While active, a ring is polled for a new tail with backing-off
 * delays (0 after progress, then {@link RING_BUSY_POLLS} polls separated
 * only by a sched_yield, then 10 µs doubling up to 1 ms); after
 * `idleTimeout` without new data it sets IDLE, re-reads the tail once (the
 * guest may have published just before seeing IDLE) and goes to sleep until
 * {@link VenusRing.wake} (vkNotifyRingMESA, vkSubmitVirtqueueSeqnoMESA). A
 * ring whose decoder stopped before a command (a handler set
 * `decoder.yieldRequested`) stays active and retries that command with the
 * same backing-off delays, except when it waits in vkWaitVirtqueueSeqnoMESA
 * for a seqno the context has not submitted: then it is parked (costs
 * nothing) until vkSubmitVirtqueueSeqnoMESA wakes it.
 */
import type { VenusDecoder } from "./decoder.ts";
import type { U64 } from "./reader.ts";

export const RING_STATUS_IDLE = 0x1;
export const RING_STATUS_FATAL = 0x2;
export const RING_STATUS_ALIVE = 0x4;
export const MAX_RING_BUFFER_SIZE = 16 << 20;
/**
 * Empty polls of an active ring that are retried at once, with only a
 * sched_yield(2) in between (vkr's busy phase): on a shared CPU the thread
 * about to publish runs first, without a timer wake-up.
 */
export const RING_BUSY_POLLS = 16;
/** first retry delay (ms) of an active ring after its busy phase */
export const RING_BACKOFF_MIN_MS = 0.01;
/** longest retry delay (ms) of an active ring */
export const RING_BACKOFF_MAX_MS = 1;
/**
 * Most bytes one service step decodes (whole commands; more when one command
 * is larger): bounds how long a flooding ring keeps the context loop away
 * from its socket.
 */
export const RING_CHUNK_BYTES = 64 * 1024;

/**
 * The retry delay (ms) after `emptyPolls` polls that found nothing: 0 (a
 * yield) for the first {@link RING_BUSY_POLLS}, then 10 µs, doubling each
 * time the count doubles, at most 1 ms.
 */
export function ringBackoffMs(emptyPolls: number): number {
  if (emptyPolls < RING_BUSY_POLLS) return 0;
  const steps = Math.floor(Math.log2(emptyPolls)) - Math.log2(RING_BUSY_POLLS);
  return Math.min(RING_BACKOFF_MAX_MS, RING_BACKOFF_MIN_MS * 2 ** steps);
}

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
    if (base % 4 !== 0) return `ring offset ${base} not 4-byte aligned`;
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
  /**
   * The resource as 32-bit words, for the control words the guest reads and
   * writes concurrently (head, tail, status, extra): every access is one
   * Atomics load or store of a whole word. A DataView would not do: V8's
   * unoptimized DataView getters and setters move multi-byte values a byte
   * at a time, so a tail read while the guest stores it can mix old and new
   * bytes (a tail in the middle of a command), and a head store can be seen
   * half-done by the guest (tests/shared_words_test.ts races both).
   */
  readonly #words: Uint32Array;
  /** renderer's free-running consumed-byte count (mirrors the head word) */
  cur = 0;
  /** VkRingMonitorInfoMESA period in µs, or 0 when the ring is not monitored */
  monitorPeriodUs = 0;
  /** VkRingCreateInfoMESA idleTimeout, in ms */
  idleTimeoutMs = 1;
  /** last seqno from vkSubmitVirtqueueSeqnoMESA */
  virtqueueSeqno: U64 = 0;
  /** the seqno vkWaitVirtqueueSeqnoMESA stopped the ring on (set by that handler), or null */
  awaitedVirtqueueSeqno: U64 | null = null;
  /** the last drain stopped before a command whose handler yielded */
  yielded = false;
  /** IDLE is set and the ring sleeps until {@link wake} */
  asleep = false;
  /** service state: time of the last progress/wake, next poll (ms), empty polls since */
  lastActiveMs = 0;
  nextPollMs = 0;
  emptyPolls = 0;
  /** service steps that looked at the ring, and times it fell asleep */
  polls = 0;
  sleeps = 0;
  /** batches that needed the straddle copy, and bytes copied for it */
  straddles = 0;
  copiedBytes = 0;
  /** the time source of {@link lastActiveMs} after a drain (ms; tests may replace it) */
  clock: () => number = () => performance.now();
  /** called with a copy of the bytes of every batch consumed (capture hook) */
  onBatch: ((bytes: Uint8Array) => void) | null = null;
  #scratch: Uint8Array | null = null;
  #draining = false;
  #rangeStart = 0;
  #rangeHead = 0;

  constructor(
    readonly id: U64,
    readonly resId: number,
    readonly u8: Uint8Array,
    readonly layout: RingLayout,
    readonly decoder: VenusDecoder,
  ) {
    if (u8.byteOffset % 4 !== 0) throw new RangeError("ring memory not 4-byte aligned");
    this.#words = new Uint32Array(u8.buffer, u8.byteOffset, u8.byteLength >> 2);
    decoder.afterCommand = (pos) => this.#setHead(this.#rangeHead + pos - this.#rangeStart);
  }

  get tail(): number {
    return Atomics.load(this.#words, this.layout.tail >> 2);
  }
  get head(): number {
    return Atomics.load(this.#words, this.layout.head >> 2);
  }
  get status(): number {
    return Atomics.load(this.#words, this.layout.status >> 2);
  }
  /**
   * Sets status bits with an atomic read-modify-write: the guest clears ALIVE
   * concurrently, and a locked RMW is also the full barrier the IDLE handshake
   * needs (store IDLE, then load the tail; the guest stores the tail, then
   * loads the status).
   */
  setStatusBits(bits: number): void {
    Atomics.or(this.#words, this.layout.status >> 2, bits);
  }
  clearStatusBits(bits: number): void {
    Atomics.and(this.#words, this.layout.status >> 2, ~bits);
  }

  /** Bytes published by the guest and not consumed yet. */
  get pending(): number {
    return (this.tail - this.cur) >>> 0;
  }

  /** Stopped in vkWaitVirtqueueSeqnoMESA on a seqno the context has not submitted yet. */
  get parked(): boolean {
    return this.yielded && this.awaitedVirtqueueSeqno !== null &&
      BigInt(this.virtqueueSeqno) < BigInt(this.awaitedVirtqueueSeqno);
  }

  /**
   * Wakes the ring (vkNotifyRingMESA, vkSubmitVirtqueueSeqnoMESA, a poller
   * whose wait completed): clears IDLE, resets the back-off, polls at once.
   */
  wake(nowMs: number): void {
    if (this.asleep) {
      this.asleep = false;
      this.clearStatusBits(RING_STATUS_IDLE);
    }
    this.#activeAt(nowMs, nowMs);
  }

  /** Active at `activeMs` (the idle timeout counts from there); polled again at `nowMs`. */
  #activeAt(activeMs: number, nowMs: number): number {
    this.lastActiveMs = activeMs;
    this.emptyPolls = 0;
    return this.nextPollMs = nowMs;
  }

  /**
   * One service step at time `nowMs` (ms): unless asleep, parked or not due
   * yet, drains at most about `maxBytes` (whole commands), then decides how
   * the ring goes on. Returns the time (ms) it wants its next step
   * (<= nowMs: at once; Infinity: only after {@link wake}), or false when the
   * context became fatal (FATAL is set).
   */
  service(nowMs: number, maxBytes = Infinity): number | false {
    // asleep, parked, or being drained further up this stack (a nested wait)
    if (this.asleep || this.parked || this.#draining) return Infinity;
    if (nowMs < this.nextPollMs) return this.nextPollMs;
    this.polls++;
    const before = this.cur;
    if (!this.drain(maxBytes)) return false;
    if (this.cur !== before) {
      // progress: look again at once (the rest of a batch, or a tail published
      // meanwhile). Active until now, not since the drain began: a drain that
      // took longer than the idle timeout (a long driver call, a preemption)
      // must not send the ring to sleep at the very next empty poll.
      return this.#activeAt(this.clock(), nowMs);
    }
    if (this.yielded) return this.parked ? Infinity : this.#backOff(nowMs);
    if (nowMs - this.lastActiveMs < this.idleTimeoutMs) return this.#backOff(nowMs);
    this.setStatusBits(RING_STATUS_IDLE);
    if (this.tail !== this.cur) {
      // published just before the guest could see IDLE: it will not notify, so go on
      this.clearStatusBits(RING_STATUS_IDLE);
      return this.#activeAt(nowMs, nowMs);
    }
    this.asleep = true;
    this.sleeps++;
    return Infinity;
  }

  /**
   * vkr's schedule: the first {@link RING_BUSY_POLLS} empty polls only
   * yield the CPU, then the sleep doubles each time the number of empty polls
   * doubles (10 µs up to 32, 20 µs up to 64, 40 µs up to 128 …, at
   * most 1 ms), so a ring that was busy a moment ago is looked at again
   * within tens of µs — what submit→execute latency depends on — while a
   * ring that stays empty quickly costs next to nothing.
   */
  #backOff(nowMs: number): number {
    // in the busy phase (0 ms) the scheduler yields the CPU before the next poll
    return this.nextPollMs = nowMs + ringBackoffMs(++this.emptyPolls);
  }

  /** in the busy phase of its back-off: due at once, but only after a yield */
  get busyPolling(): boolean {
    return this.emptyPolls > 0 && this.emptyPolls < RING_BUSY_POLLS;
  }

  #setHead(v: number): void {
    this.cur = v >>> 0;
    // seq_cst (xchg on x86): the replies written before it are visible first
    Atomics.store(this.#words, this.layout.head >> 2, this.cur);
  }

  /** Writes `value` at `offset` of the extra region; false when out of range. */
  writeExtra(offset: U64, value: number): boolean {
    if (typeof offset !== "number" || offset % 4 !== 0 || offset + 4 > this.layout.extraSize) {
      return false;
    }
    Atomics.store(this.#words, (this.layout.extra + offset) >> 2, value >>> 0);
    return true;
  }

  /** True when the head has reached ring seqno `seqno` (wrap-aware). */
  reached(seqno: number): boolean {
    return ((this.cur - seqno) >>> 0) <= 0x7fffffff;
  }

  /**
   * Decodes and executes the commands between head and tail, stopping after
   * about `maxBytes` (at a command boundary, at least one command) or before
   * a command whose handler yielded ({@link yielded}). Status bits other than
   * FATAL are the caller's ({@link service}). Returns false when the context
   * became fatal (the FATAL status bit is then set).
   */
  drain(maxBytes = Infinity): boolean {
    const dec = this.decoder;
    if (dec.fatal) return this.#fatal();
    // a wait inside this ring's own command (e.g. in a stream it executes) may
    // serve "the other rings": never re-enter the decoder that is running
    if (this.#draining) return true;
    this.#draining = true;
    try {
      return this.#drain(maxBytes);
    } finally {
      this.#draining = false;
    }
  }

  #drain(maxBytes: number): boolean {
    const dec = this.decoder;
    this.yielded = false;
    this.awaitedVirtqueueSeqno = null;
    const tail = this.tail;
    const n = (tail - this.cur) >>> 0;
    if (n === 0) return true;
    if (n > this.layout.bufferSize) {
      dec.fatalState.set(`ring tail ${tail} is ${n} bytes ahead of head ${this.cur}`);
      dec.log.error(`${dec.name}: fatal: ${dec.fatalState.reason}`);
      return this.#fatal();
    }
    // copy before decoding (consumed space may be reused by the guest at once),
    // record what was consumed (all of it when the batch failed)
    const copy = this.onBatch ? this.#copyBatch(n) : null;
    const before = this.cur;
    const ok = this.#decodeBatch(n, maxBytes > 0 ? maxBytes : 1);
    if (copy) {
      const used = ok ? (this.cur - before) >>> 0 : n;
      if (used > 0) this.onBatch!(used === n ? copy : copy.subarray(0, used));
    }
    if (!ok) {
      // where the batch lay, for a failure that comes and goes (the tail read again shows
      // whether the guest moved it meanwhile)
      const size = this.layout.bufferSize;
      dec.log.warn(
        `${dec.name}: ring state at the failure: batch of ${n} bytes from head ${before} ` +
          `(buffer offset ${before & (size - 1)} of ${size}) to tail ${tail}, ` +
          `consumed to ${this.cur}; tail now ${this.tail}`,
      );
    }
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

  #decodeBatch(n: number, budget: number): boolean {
    const size = this.layout.bufferSize;
    const dec = this.decoder;
    let pos = this.cur & (size - 1);
    let left = n;
    while (left > 0 && budget > 0) {
      const before = this.cur;
      const contiguous = Math.min(left, size - pos);
      // the byte budget may cut this part short: stop at the last whole command
      const cut = contiguous > budget;
      const len = cut ? budget : contiguous;
      const wraps = !cut && contiguous < left;
      if (!this.#inPlace(pos, len, cut || wraps)) return false;
      const done = (this.cur - before) >>> 0;
      if (done < len && dec.incompleteAt < 0) { // a handler yielded
        this.yielded = true;
        return true;
      }
      left -= done;
      budget -= done;
      pos = (pos + done) & (size - 1);
      if (dec.incompleteAt < 0) continue;
      if (cut) {
        if (done > 0) return true; // the rest on a later drain
        budget = Infinity; // one command larger than the budget: decode it whole
        continue;
      }
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
        if (used < total && dec.incompleteAt < 0) { // a handler yielded
          this.yielded = true;
          return true;
        }
        left -= used;
        budget -= used;
        pos = (pos + used) & (size - 1);
        break;
      }
    }
    return true;
  }
}
