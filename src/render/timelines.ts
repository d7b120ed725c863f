/**
 * The fence timelines a context shares with the proxy: a memfd of u32
 * sequence numbers (one per virtio-gpu ring) and an optional eventfd.
 *
 * Retiring a fence stores its seqno with a sequentially consistent atomic
 * store (so every earlier write of this context is visible first) and then
 * adds 1 to the eventfd, in that order, as the proxy expects.
 */
import { eventfdWrite } from "../../ffi/libc.ts";
import type { OwnedFd } from "../../ffi/fd.ts";
import type { Mapping } from "../../ffi/mmap.ts";

export class Timelines implements Disposable {
  readonly count: number;
  #slots: Uint32Array;
  #retired = 0;

  constructor(
    readonly shmemFd: OwnedFd,
    readonly shmem: Mapping,
    readonly eventFd: OwnedFd | null,
  ) {
    this.count = Math.floor(shmem.size / 4);
    this.#slots = new Uint32Array(shmem.buffer, 0, this.count);
    for (let i = 0; i < this.count; i++) Atomics.store(this.#slots, i, 0);
  }

  /** Fences retired so far. */
  get retired(): number {
    return this.#retired;
  }

  /** Current seqno of timeline `ring`. */
  current(ring: number): number {
    return Atomics.load(this.#slots, ring);
  }

  retire(ring: number, seqno: number): void {
    if (ring < 0 || ring >= this.count) throw new RangeError(`no timeline ${ring}`);
    Atomics.store(this.#slots, ring, seqno >>> 0);
    this.#retired++;
    if (this.eventFd) eventfdWrite(this.eventFd.fd, 1n);
  }

  close(): void {
    this.shmem.unmap();
    this.shmemFd.close();
    this.eventFd?.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
