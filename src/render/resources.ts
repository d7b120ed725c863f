/**
 * A context's resource table: the blobs it created (memfd-backed SHM, or
 * exported backend objects) and the fds the VMM imported into it, by res_id.
 *
 * SHM resources are mapped once, read-write, when they enter the table and
 * unmapped when they leave it; their `mapping` is what the Venus layer reads
 * rings and command streams from and writes replies into.
 */
import type { OwnedFd } from "../../ffi/fd.ts";
import type { Mapping } from "../../ffi/mmap.ts";

export const FD_TYPE_DMABUF = 0;
export const FD_TYPE_OPAQUE = 1;
export const FD_TYPE_SHM = 2;
export const FD_TYPE_INVALID = -1;

export interface Resource {
  readonly resId: number;
  readonly fdType: number;
  readonly size: number;
  /** the resource's fd, kept open while it is in the table */
  readonly fd: OwnedFd;
  /** for SHM resources: the read-write mapping of the whole blob */
  readonly mapping: Mapping | null;
}

/** Limits that keep one guest from exhausting the host through resources. */
export interface ResourceLimits {
  /** most resources one context may hold */
  maxCount: number;
  /** most bytes of SHM one context may have mapped at once */
  maxShmBytes: number;
}

export const DEFAULT_RESOURCE_LIMITS: ResourceLimits = {
  maxCount: 65536,
  maxShmBytes: 4 * 1024 ** 3,
};

export class ResourceTable {
  #map = new Map<number, Resource>();
  #shmBytes = 0;

  constructor(readonly limits: ResourceLimits = DEFAULT_RESOURCE_LIMITS) {}

  get count(): number {
    return this.#map.size;
  }

  get shmBytes(): number {
    return this.#shmBytes;
  }

  has(resId: number): boolean {
    return this.#map.has(resId);
  }

  get(resId: number): Resource | undefined {
    return this.#map.get(resId);
  }

  /** Why a new resource of `shmSize` mapped bytes cannot be added, or null if it can. */
  refusal(resId: number, shmSize = 0): string | null {
    if (this.#map.has(resId)) return `res_id ${resId} already exists`;
    if (this.#map.size >= this.limits.maxCount) {
      return `resource limit reached (${this.limits.maxCount})`;
    }
    if (shmSize > 0 && this.#shmBytes + shmSize > this.limits.maxShmBytes) {
      return `shm limit reached (${this.#shmBytes} + ${shmSize} > ${this.limits.maxShmBytes} bytes)`;
    }
    return null;
  }

  /** Adds a resource; the table now owns its fd and mapping. */
  add(res: Resource): void {
    const why = this.refusal(res.resId, res.mapping?.size ?? 0);
    if (why) throw new Error(why);
    this.#map.set(res.resId, res);
    this.#shmBytes += res.mapping?.size ?? 0;
  }

  /** Removes, unmaps and closes a resource; false when the id is unknown. */
  remove(resId: number): boolean {
    const res = this.#map.get(resId);
    if (!res) return false;
    this.#map.delete(resId);
    this.#release(res);
    return true;
  }

  #release(res: Resource): void {
    if (res.mapping) {
      this.#shmBytes -= res.mapping.size;
      res.mapping.unmap();
    }
    res.fd.close();
  }

  /** Frees every resource. */
  clear(): void {
    for (const res of this.#map.values()) this.#release(res);
    this.#map.clear();
  }

  [Symbol.iterator](): IterableIterator<Resource> {
    return this.#map.values();
  }
}
