/** A typed owner around a file descriptor. */
import { close, dupCloexec } from "./libc.ts";

/**
 * Owns one fd: closes it exactly once. `take()` hands the raw fd to a new
 * owner (e.g. a sendmsg that passes it on, or a child process) and leaves
 * this one empty.
 */
export class OwnedFd implements Disposable {
  #fd: number;

  constructor(fd: number) {
    if (!Number.isInteger(fd) || fd < 0) throw new RangeError(`not an fd: ${fd}`);
    this.#fd = fd;
  }

  /** The raw fd; throws when already closed or taken. */
  get fd(): number {
    if (this.#fd < 0) throw new Error("fd already closed");
    return this.#fd;
  }

  get closed(): boolean {
    return this.#fd < 0;
  }

  /** Releases ownership without closing. */
  take(): number {
    const fd = this.fd;
    this.#fd = -1;
    return fd;
  }

  /** A new owner of a CLOEXEC duplicate. */
  dup(minFd = 0): OwnedFd {
    return new OwnedFd(dupCloexec(this.fd, minFd));
  }

  close(): void {
    if (this.#fd >= 0) {
      const fd = this.#fd;
      this.#fd = -1;
      close(fd);
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** Closes every fd of a list, ignoring already-closed ones. */
export function closeAll(fds: Iterable<OwnedFd>): void {
  for (const f of fds) f.close();
}
