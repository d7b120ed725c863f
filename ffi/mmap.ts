/** A typed owner around a shared memory mapping. */
import { check, errno, libc, LibcError, MAP_SHARED, PROT_READ, PROT_WRITE } from "./libc.ts";

const MAP_FAILED = 0xffffffffffffffffn;

/**
 * One `mmap(MAP_SHARED)` region. `bytes` and `view` are zero-copy views over
 * the mapped memory. Once `unmap()` ran, the views point at unmapped memory:
 * owners must drop them first (the worker only unmaps a resource after
 * detaching it from everything that reads it, on the same thread).
 */
export class Mapping implements Disposable {
  #ptr: Deno.PointerObject | null;
  readonly size: number;
  readonly buffer: ArrayBuffer;
  readonly bytes: Uint8Array<ArrayBuffer>;
  readonly view: DataView<ArrayBuffer>;

  private constructor(ptr: Deno.PointerObject, size: number) {
    this.#ptr = ptr;
    this.size = size;
    this.buffer = Deno.UnsafePointerView.getArrayBuffer(ptr, size);
    this.bytes = new Uint8Array(this.buffer);
    this.view = new DataView(this.buffer);
  }

  /** Maps `size` bytes of `fd` shared, read-write unless `readOnly`. */
  static map(fd: number, size: number, readOnly = false): Mapping {
    if (!Number.isSafeInteger(size) || size <= 0) throw new RangeError(`bad mapping size ${size}`);
    const prot = readOnly ? PROT_READ : PROT_READ | PROT_WRITE;
    const p = libc().mmap(null, BigInt(size), prot, MAP_SHARED, fd, 0n);
    if (p === null || Deno.UnsafePointer.value(p) === MAP_FAILED) {
      throw new LibcError("mmap", errno());
    }
    return new Mapping(p, size);
  }

  get mapped(): boolean {
    return this.#ptr !== null;
  }

  get pointer(): Deno.PointerObject {
    if (!this.#ptr) throw new Error("mapping already unmapped");
    return this.#ptr;
  }

  unmap(): void {
    if (this.#ptr) {
      const p = this.#ptr;
      this.#ptr = null;
      check("munmap", () => libc().munmap(p, BigInt(this.size)));
    }
  }

  [Symbol.dispose](): void {
    this.unmap();
  }
}
