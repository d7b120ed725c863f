/**
 * Guard against a race in Mesa venus's timeline-semaphore feedback.
 *
 * With feedback on (Mesa's default), a timeline semaphore has a "feedback
 * slot": 8 bytes of guest-mapped memory holding its counter, which the
 * guest reads instead of asking the host. A submission that signals the
 * semaphore gets an extra command buffer that copies the signal value from
 * a source slot into that slot (one 8-byte vkCmdCopyBuffer). vkSignalSemaphore
 * in the guest (Mesa 25.0 vn_SignalSemaphore) first queues the host call on
 * the ring, *then* writes the new value into the slot from the CPU. If the
 * host runs the signal in between — and it often does: the ring notify
 * wakes the worker, which on a busy machine preempts the guest thread right
 * there — work waiting for that value runs, its feedback copy writes the
 * higher value, and the guest's late CPU write then puts the lower value
 * back. The guest waits forever for a value the semaphore already passed
 * (seen as "sync"/"nomem" workloads stuck in vkWaitSemaphores under load).
 *
 * The host can close the window without the guest's help: it learns each
 * semaphore's slot from the feedback copies it executes (buffer bound to
 * mapped memory → slot address; the copy's source holds the signal value,
 * which matches it to the signal semaphore of the batch), and it runs a
 * guest vkSignalSemaphore(sem, v) only once the slot already reads ≥ v,
 * i.e. after the guest's own write. A ring waiting for that yields and is
 * retried; after GRACE_MS the signal runs anyway (a slot learned wrongly
 * costs time, never a hang). Clients that write the slot first (or have no
 * feedback) never wait.
 */
import type { Logger } from "../../log.ts";
import type { HostMemoryTable } from "./host_memory.ts";
import { B } from "./arena.ts";

/** longest a guest vkSignalSemaphore is held back waiting for the slot write */
export const GRACE_MS = 100;

interface Slot {
  memory: number;
  offset: number;
}

interface FeedbackCopy {
  src: Slot;
  dst: Slot;
}

/** what a copy region must tell (VkBufferCopy) */
interface CopyRegion {
  srcOffset: number | bigint;
  dstOffset: number | bigint;
  size: number | bigint;
}

export class FeedbackGuard {
  /** buffer id → the memory it is bound to */
  readonly #bindings = new Map<number, Slot>();
  /** command buffer id → its 8-byte copies between mapped buffers */
  readonly #copies = new Map<number, FeedbackCopy[]>();
  /** timeline semaphore id → its feedback slot */
  readonly #slots = new Map<number, Slot>();
  /** semaphore id → when a held-back signal was first seen (ms) */
  readonly #held = new Map<number, number>();
  /** signals held back at least once, and those let go at GRACE_MS */
  stats = { held: 0, expired: 0 };

  constructor(
    readonly memory: HostMemoryTable,
    readonly log?: Logger,
    readonly name = "",
  ) {}

  /** false while no feedback copy was ever recorded: submits have nothing to learn */
  get tracking(): boolean {
    return this.#copies.size > 0;
  }

  bindBuffer(buffer: number, memory: number, offset: number | bigint): void {
    if (this.memory.get(memory)) this.#bindings.set(buffer, { memory, offset: Number(offset) });
    else this.#bindings.delete(buffer);
  }

  destroyBuffer(buffer: number): void {
    this.#bindings.delete(buffer);
  }

  /** vkBeginCommandBuffer / reset / free: the recorded copies are gone */
  resetCommandBuffer(cmd: number): void {
    this.#copies.delete(cmd);
  }

  /** vkCmdCopyBuffer: remembers an 8-byte copy between two mapped buffers */
  copyBuffer(
    cmd: number,
    src: number,
    dst: number,
    regions: { readonly length: number; at(i: number): CopyRegion | undefined } | null,
  ): void {
    if (!regions || regions.length !== 1) return;
    // the bindings first: most copies are not between mapped buffers, and
    // they need not decode their region
    const s = this.#bindings.get(src), d = this.#bindings.get(dst);
    if (!s || !d) return;
    const region = regions.at(0);
    if (!region || B(region.size) !== 8n) return;
    let list = this.#copies.get(cmd);
    if (!list) this.#copies.set(cmd, list = []);
    list.push({
      src: { memory: s.memory, offset: s.offset + Number(region.srcOffset) },
      dst: { memory: d.memory, offset: d.offset + Number(region.dstOffset) },
    });
  }

  /**
   * A submitted batch: its command buffers and the (semaphore, value) pairs
   * it signals. A feedback copy whose source holds exactly one signal
   * semaphore's value names that semaphore's slot.
   */
  submitBatch(cmds: Iterable<number>, signals: { semaphore: number; value: bigint }[]): void {
    if (signals.length === 0 || this.#copies.size === 0) return;
    const found: { value: bigint; dst: Slot }[] = [];
    for (const c of cmds) {
      for (const copy of this.#copies.get(c) ?? []) {
        const v = this.#read(copy.src);
        if (v !== null) found.push({ value: v, dst: copy.dst });
      }
    }
    if (found.length === 0) return;
    for (const s of signals) {
      const same = signals.filter((o) => o.value === s.value).length;
      const hits = found.filter((f) => f.value === s.value);
      if (same === 1 && hits.length === 1) this.#slots.set(s.semaphore, hits[0].dst);
    }
  }

  destroySemaphore(sem: number): void {
    this.#slots.delete(sem);
    this.#held.delete(sem);
  }

  /**
   * May the guest's vkSignalSemaphore(sem, value) run now? False while the
   * semaphore's slot still reads less than `value` (the guest has not yet
   * written it), for at most GRACE_MS from the first ask.
   */
  signalReady(sem: number, value: number | bigint, nowMs: number): boolean {
    const slot = this.#slots.get(sem);
    if (!slot) return true;
    const cur = this.#read(slot);
    if (cur === null || cur >= B(value)) {
      if (this.#held.delete(sem)) {
        this.log?.debug(
          `${this.name}: vkSignalSemaphore ${sem}: held until the guest wrote its feedback slot`,
        );
      }
      return true;
    }
    const since = this.#held.get(sem);
    if (since === undefined) {
      this.#held.set(sem, nowMs);
      this.stats.held++;
      return false;
    }
    if (nowMs - since < GRACE_MS) return false;
    this.#held.delete(sem);
    this.stats.expired++;
    this.log?.debug(
      `${this.name}: vkSignalSemaphore ${sem}: ran after ${GRACE_MS} ms without the guest's write`,
    );
    return true;
  }

  #read(slot: Slot): bigint | null {
    const m = this.memory.get(slot.memory);
    if (!m || slot.offset < 0 || slot.offset + 8 > m.size) return null;
    // the guest may be storing it right now: one whole 8-byte load when aligned
    // (Mesa's slots are), not an unoptimized DataView's byte-at-a-time read
    if (slot.offset % 8 === 0) {
      return Atomics.load(new BigUint64Array(m.map.buffer, slot.offset, 1), 0);
    }
    return m.map.view.getBigUint64(slot.offset, true);
  }
}
