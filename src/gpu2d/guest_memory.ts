/**
 * The guest's RAM as the front-end shares it: regions of memfd, each mapped
 * once, with bounds-checked translation of guest-physical addresses (used
 * by descriptors and backing entries) and of front-end virtual addresses
 * (used by SET_VRING_ADDR).
 *
 * Every translation checks the whole range [addr, addr+len) against one
 * region; nothing outside a region is ever viewed. Views are only valid for
 * the current `generation`: any table change bumps it, and holders of views
 * (rings, resource backing) translate again before their next access, so a
 * removed region's memory is never touched after it is unmapped.
 */
import type { OwnedFd } from "../../ffi/fd.ts";
import { Mapping } from "../../ffi/mmap.ts";

/** One region as a vhost-user message describes it. */
export interface RegionDesc {
  gpa: number;
  size: number;
  uva: number;
  mmapOffset: number;
}

export class Region {
  constructor(
    readonly desc: RegionDesc,
    readonly mapping: Mapping,
    /** the region's bytes: mapping[mmapOffset, mmapOffset+size) */
    readonly bytes: Uint8Array<ArrayBuffer>,
  ) {}

  get gpa(): number {
    return this.desc.gpa;
  }
  get size(): number {
    return this.desc.size;
  }
  get uva(): number {
    return this.desc.uva;
  }
}

/** A translated range: `bytes` is exactly the requested range. */
export type GuestView = Uint8Array<ArrayBuffer>;

export class GuestMemory {
  #regions: Region[] = [];
  #generation = 0;
  /** Most regions at once (VHOST_USER_GET_MAX_MEM_SLOTS). */
  readonly maxRegions: number;

  constructor(maxRegions = 32) {
    this.maxRegions = maxRegions;
  }

  get generation(): number {
    return this.#generation;
  }

  get regions(): readonly Region[] {
    return this.#regions;
  }

  /**
   * Maps `fd` for one region and adds it. Throws (and maps nothing) when the
   * description is not sane: zero or unsafe sizes, overlap with another
   * region in guest-physical or virtual space, or too many regions.
   */
  add(desc: RegionDesc, fd: OwnedFd): void {
    const { gpa, size, uva, mmapOffset } = desc;
    for (const v of [gpa, size, uva, mmapOffset]) {
      if (!Number.isSafeInteger(v) || v < 0) {
        throw new RangeError(`region field out of range: ${v}`);
      }
    }
    if (size === 0) throw new RangeError("empty region");
    if (!Number.isSafeInteger(gpa + size) || !Number.isSafeInteger(uva + size)) {
      throw new RangeError("region wraps");
    }
    if (this.#regions.length >= this.maxRegions) throw new RangeError("too many memory regions");
    for (const r of this.#regions) {
      if (gpa < r.gpa + r.size && r.gpa < gpa + size) {
        throw new RangeError(`region gpa 0x${gpa.toString(16)} overlaps another`);
      }
      if (uva < r.uva + r.size && r.uva < uva + size) {
        throw new RangeError(`region uva 0x${uva.toString(16)} overlaps another`);
      }
    }
    const mapping = Mapping.map(fd.fd, mmapOffset + size);
    fd.close(); // the mapping keeps the memory alive
    const bytes = mapping.bytes.subarray(mmapOffset, mmapOffset + size);
    this.#regions.push(new Region({ ...desc }, mapping, bytes));
    this.#regions.sort((a, b) => a.gpa - b.gpa);
    this.#generation++;
  }

  /** Removes the region matching gpa and size (REM_MEM_REG); false when none does. */
  remove(desc: Pick<RegionDesc, "gpa" | "size">): boolean {
    const i = this.#regions.findIndex((r) => r.gpa === desc.gpa && r.size === desc.size);
    if (i < 0) return false;
    const [r] = this.#regions.splice(i, 1);
    this.#generation++;
    r.mapping.unmap();
    return true;
  }

  /** Drops every region (SET_MEM_TABLE replaces the whole table; reset). */
  clear(): void {
    const old = this.#regions;
    this.#regions = [];
    this.#generation++;
    for (const r of old) r.mapping.unmap();
  }

  /** The region holding [gpa, gpa+len) entirely, or null. */
  regionForGpa(gpa: number, len: number): Region | null {
    if (!Number.isSafeInteger(gpa) || gpa < 0 || len < 0) return null;
    for (const r of this.#regions) {
      if (gpa >= r.gpa && gpa - r.gpa + len <= r.size) return r;
    }
    return null;
  }

  /** A view of guest-physical [gpa, gpa+len), or null when any byte is outside guest memory. */
  gpa(gpa: number, len: number): GuestView | null {
    const r = this.regionForGpa(gpa, len);
    if (!r) return null;
    const off = gpa - r.gpa;
    return r.bytes.subarray(off, off + len);
  }

  /** Like `gpa` but for a 64-bit address as read from guest memory. */
  gpaBig(gpa: bigint, len: number): GuestView | null {
    if (gpa > BigInt(Number.MAX_SAFE_INTEGER)) return null;
    return this.gpa(Number(gpa), len);
  }

  /** A view of front-end virtual [uva, uva+len), or null when outside every region. */
  uva(uva: number, len: number): GuestView | null {
    if (!Number.isSafeInteger(uva) || uva < 0 || len < 0) return null;
    for (const r of this.#regions) {
      if (uva >= r.uva && uva - r.uva + len <= r.size) {
        const off = uva - r.uva;
        return r.bytes.subarray(off, off + len);
      }
    }
    return null;
  }
}
