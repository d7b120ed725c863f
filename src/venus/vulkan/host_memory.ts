/**
 * Mappable device memory on any host: host-visible allocations are backed by
 * a sealable memfd that the worker maps and the driver imports as host
 * memory (VK_EXT_external_memory_host). CREATE_RESOURCE with the memory's
 * id as blob id then hands a duplicate of the memfd to the VMM as an SHM
 * blob, so the guest maps the very pages the driver uses — no udmabuf, no
 * DRM device, no copies.
 *
 * A memfd (and its mapping) lives until vkFreeMemory or context teardown,
 * after the driver has let go of the memory. One that was never exported (no
 * resource, so nobody else has its fd) goes to a small per-context pool
 * instead and is reused for the next allocation of the same size: a
 * create/free cycle then costs no memfd_create/ftruncate/fcntl/mmap/munmap/
 * close (six syscalls, most of a small allocation's cost). Its old contents
 * are this context's own (Vulkan leaves new memory undefined).
 */
import { OwnedFd } from "../../../ffi/fd.ts";
import {
  dupCloexec,
  F_ADD_SEALS,
  F_SEAL_SHRINK,
  fcntl,
  ftruncate,
  memfdCreate,
  MFD_ALLOW_SEALING,
  MFD_CLOEXEC,
} from "../../../ffi/libc.ts";
import { Mapping } from "../../../ffi/mmap.ts";
import type { Logger } from "../../log.ts";
import type { ExportedBlob } from "../../render/backend.ts";
import { FD_TYPE_SHM } from "../../render/resources.ts";

const PAGE = 4096;
const MEMORY_PROPERTY_HOST_COHERENT = 0x4;
const MEMORY_PROPERTY_HOST_CACHED = 0x8;
const BLOB_FLAG_USE_MAPPABLE = 0x1;
const MAP_CACHE_CACHED = 0x1;
const MAP_CACHE_WC = 0x3;

export class HostMemory {
  exported = false;

  constructor(
    readonly fd: OwnedFd,
    readonly map: Mapping,
    /** bytes the driver sees (page multiple) */
    readonly size: number,
    /** bytes of the file: the guest's allocation size, what its blob will ask for */
    public fileSize: number,
    readonly typeFlags: number,
  ) {}

  /** native address of the pages */
  get address(): number {
    return Number(Deno.UnsafePointer.value(this.map.pointer));
  }

  release(): void {
    this.map.unmap();
    this.fd.close();
  }
}

/** most memfds, and bytes, kept for reuse per context */
export const POOL_MAX_ENTRIES = 32;
export const POOL_MAX_BYTES = 32 << 20;

export class HostMemoryTable {
  readonly #byId = new Map<number, HostMemory>();
  /** freed, never-exported memfds by file size (newest last) */
  readonly #pool = new Map<number, HostMemory[]>();
  #poolEntries = 0;
  /** bytes of memfd-backed memory currently allocated (the pool included) */
  bytes = 0;
  /** bytes in the pool */
  pooledBytes = 0;
  /** allocations served from the pool */
  reused = 0;

  constructor(readonly log: Logger, readonly limitBytes: number) {}

  get size(): number {
    return this.#byId.size;
  }

  /** A memfd of `size` rounded up to the page size, mapped; null when over the limit or on failure. */
  create(size: number, typeFlags: number, who: string): HostMemory | null {
    const rounded = Math.ceil(size / PAGE) * PAGE;
    const pooled = this.#pool.get(size)?.pop();
    if (pooled) {
      this.#poolEntries--;
      this.pooledBytes -= pooled.size;
      this.reused++;
      return new HostMemory(pooled.fd, pooled.map, pooled.size, pooled.fileSize, typeFlags);
    }
    if (this.bytes + rounded > this.limitBytes) this.drainPool();
    if (this.bytes + rounded > this.limitBytes) {
      this.log.warn(
        `${who}: host-visible allocation of ${size} bytes refused: context limit ${this.limitBytes} bytes`,
      );
      return null;
    }
    let fd: OwnedFd | null = null;
    try {
      fd = new OwnedFd(memfdCreate("vesper-memory", MFD_CLOEXEC | MFD_ALLOW_SEALING));
      // the file is as long as the guest's allocation (the VMM checks blob size == file size);
      // the mapping and the driver's import cover whole pages, all backed by the file
      ftruncate(fd.fd, size);
      // the mapping must never lose pages under the driver (SIGBUS)
      fcntl(fd.fd, F_ADD_SEALS, F_SEAL_SHRINK);
      const map = Mapping.map(fd.fd, rounded);
      this.bytes += rounded;
      return new HostMemory(fd, map, rounded, size, typeFlags);
    } catch (e) {
      fd?.close();
      this.log.warn(
        `${who}: host-visible allocation of ${size} bytes failed: ${(e as Error).message}`,
      );
      return null;
    }
  }

  bind(id: number, mem: HostMemory): void {
    this.#byId.set(id, mem);
  }

  get(id: number): HostMemory | undefined {
    return this.#byId.get(id);
  }

  /** vkFreeMemory (after the driver let go): to the pool when never exported, else closed */
  release(id: number): void {
    const m = this.#byId.get(id);
    if (!m) return;
    this.#byId.delete(id);
    if (
      !m.exported && this.#poolEntries < POOL_MAX_ENTRIES &&
      this.pooledBytes + m.size <= POOL_MAX_BYTES
    ) {
      let list = this.#pool.get(m.fileSize);
      if (!list) this.#pool.set(m.fileSize, list = []);
      list.push(m);
      this.#poolEntries++;
      this.pooledBytes += m.size;
      return;
    }
    this.discard(m);
  }

  /** Closes a memfd from {@link create} (one never bound when the driver refused it). */
  discard(m: HostMemory): void {
    this.bytes -= m.size;
    m.release();
  }

  /** Closes every pooled memfd. */
  drainPool(): void {
    for (const list of this.#pool.values()) for (const m of list) this.discard(m);
    this.#pool.clear();
    this.#poolEntries = 0;
    this.pooledBytes = 0;
  }

  releaseAll(): void {
    for (const id of [...this.#byId.keys()]) this.release(id);
    this.drainPool();
  }

  /**
   * CREATE_RESOURCE with blob_id = a memory id: a duplicate of its memfd as
   * an SHM blob (once per memory, as vkr), or null with a log line.
   */
  exportBlob(memoryId: number, size: bigint, flags: number, who: string): ExportedBlob | null {
    const m = this.#byId.get(memoryId);
    if (!m) {
      this.log.warn(`${who}: blob ${memoryId}: not host-visible memory of this context`);
      return null;
    }
    if (m.exported) {
      this.log.warn(`${who}: blob ${memoryId}: memory already exported`);
      return null;
    }
    if (size !== BigInt(m.fileSize)) {
      if (size < BigInt(m.fileSize) || size > BigInt(m.size)) {
        this.log.warn(
          `${who}: blob ${memoryId}: blob size ${size} does not fit memory of ${m.size} bytes`,
        );
        return null;
      }
      // a blob rounded up to the page: grow the file within the mapping
      ftruncate(m.fd.fd, size);
      m.fileSize = Number(size);
    }
    m.exported = true;
    const coherentCached = MEMORY_PROPERTY_HOST_COHERENT | MEMORY_PROPERTY_HOST_CACHED;
    const mapInfo = (flags & BLOB_FLAG_USE_MAPPABLE) === 0
      ? 0
      : (m.typeFlags & coherentCached) === coherentCached
      ? MAP_CACHE_CACHED
      : MAP_CACHE_WC;
    return { fdType: FD_TYPE_SHM, mapInfo, fd: dupCloexec(m.fd.fd) };
  }
}
