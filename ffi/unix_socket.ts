/**
 * AF_UNIX SOCK_STREAM sockets with fd passing, for byte-stream protocols
 * that frame their own messages (vhost-user, vhost-user-gpu).
 *
 * `send` is gather I/O: several buffers go out in one sendmsg (a header and
 * a pixel payload need no concatenation), and a short write on a stream is
 * continued until every byte is out. `recvExact` fills a buffer completely,
 * collecting the fds that arrive with any part of it. Both are blocking
 * calls on a blocking socket: callers decide when to call them (after poll).
 */
import {
  accept4,
  AF_UNIX,
  bindUnix,
  connectUnix,
  EAGAIN,
  EINTR,
  errno,
  libc,
  LibcError,
  listen,
  MSG_CMSG_CLOEXEC,
  MSG_DONTWAIT,
  MSG_NOSIGNAL,
  SCM_RIGHTS,
  shutdown,
  SOCK_CLOEXEC,
  SOCK_STREAM,
  socket,
  socketpair,
  SOL_SOCKET,
} from "./libc.ts";
import { OwnedFd } from "./fd.ts";

const CMSG_HDR = 16; // struct cmsghdr { size_t cmsg_len; int cmsg_level; int cmsg_type; }
const MAX_FDS = 16;
/** Buffers one send may gather (the kernel allows 1024). */
export const MAX_IOV = 256;
const cmsgSpace = (n: number) => CMSG_HDR + ((n * 4 + 7) & ~7);

function addr(buf: Uint8Array): bigint {
  return BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(buf as Uint8Array<ArrayBuffer>)));
}

/** The peer closed the stream in the middle of a message. */
export class ShortReadError extends Error {
  constructor(readonly got: number, readonly wanted: number) {
    super(`stream closed after ${got} of ${wanted} bytes`);
    this.name = "ShortReadError";
  }
}

/** One connected AF_UNIX stream socket. */
export class StreamSocket implements Disposable {
  readonly handle: OwnedFd;
  // struct msghdr, iovec[MAX_IOV] and the control buffer live off the V8 heap.
  #msg = new DataView(new ArrayBuffer(56));
  #iov = new DataView(new ArrayBuffer(16 * MAX_IOV));
  #ctl = new DataView(new ArrayBuffer(cmsgSpace(MAX_FDS)));

  constructor(fd: OwnedFd | number) {
    this.handle = typeof fd === "number" ? new OwnedFd(fd) : fd;
    this.#msg.setBigUint64(16, addr(new Uint8Array(this.#iov.buffer)), true); // msg_iov
  }

  /** A connected pair, both ends CLOEXEC. */
  static pair(): [StreamSocket, StreamSocket] {
    const [a, b] = socketpair(SOCK_STREAM | SOCK_CLOEXEC);
    return [new StreamSocket(a), new StreamSocket(b)];
  }

  /** Connects to a listening socket at `path`. */
  static connect(path: string): StreamSocket {
    const fd = new OwnedFd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC));
    try {
      connectUnix(fd.fd, path);
    } catch (e) {
      fd.close();
      throw e;
    }
    return new StreamSocket(fd);
  }

  get fd(): number {
    return this.handle.fd;
  }

  /**
   * Sends the concatenation of `parts` with `fds` attached to the first
   * byte (the caller keeps ownership of the fds), blocking until all is
   * out. Returns false when the peer is gone (EPIPE/ECONNRESET).
   */
  send(parts: readonly Uint8Array[], fds: readonly number[] = []): boolean {
    let total = 0;
    for (const p of parts) total += p.byteLength;
    let sent = 0;
    let first = true;
    do {
      const n = this.#sendFrom(parts, sent, first ? fds : [], 0);
      if (n < 0) return false;
      first = false;
      sent += n;
    } while (sent < total);
    return true;
  }

  /**
   * One non-blocking sendmsg of the concatenation of `parts` from byte
   * `skip` on: returns the bytes the kernel took (0 when the socket buffer
   * is full), or -1 when the peer is gone.
   */
  sendSome(parts: readonly Uint8Array[], skip = 0, fds: readonly number[] = []): number {
    return this.#sendFrom(parts, skip, fds, MSG_DONTWAIT);
  }

  #sendFrom(
    parts: readonly Uint8Array[],
    skip: number,
    fds: readonly number[],
    flags: number,
  ): number {
    if (fds.length > MAX_FDS) throw new RangeError("too many fds for one message");
    let n = 0;
    for (const p of parts) {
      if (skip >= p.byteLength) {
        skip -= p.byteLength;
        continue;
      }
      if (n === MAX_IOV) throw new RangeError("too many buffers for one message");
      this.#iov.setBigUint64(n * 16, addr(p) + BigInt(skip), true);
      this.#iov.setBigUint64(n * 16 + 8, BigInt(p.byteLength - skip), true);
      skip = 0;
      n++;
    }
    if (n === 0 && fds.length === 0) return 0;
    this.#msg.setBigUint64(24, BigInt(n), true); // msg_iovlen
    if (fds.length > 0) {
      this.#ctl.setBigUint64(0, BigInt(CMSG_HDR + fds.length * 4), true);
      this.#ctl.setInt32(8, SOL_SOCKET, true);
      this.#ctl.setInt32(12, SCM_RIGHTS, true);
      fds.forEach((fd, i) => this.#ctl.setInt32(CMSG_HDR + i * 4, fd, true));
      this.#msg.setBigUint64(32, addr(new Uint8Array(this.#ctl.buffer)), true);
      this.#msg.setBigUint64(40, BigInt(cmsgSpace(fds.length)), true);
    } else {
      this.#msg.setBigUint64(32, 0n, true);
      this.#msg.setBigUint64(40, 0n, true);
    }
    for (;;) {
      const r = libc().sendmsg(this.fd, new Uint8Array(this.#msg.buffer), MSG_NOSIGNAL | flags);
      if (r >= 0n) return Number(r);
      const e = errno();
      if (e === EINTR) continue;
      if (e === EAGAIN) {
        if (flags & MSG_DONTWAIT) return 0;
        continue; // a blocking socket set O_NONBLOCK by someone else: keep trying
      }
      if (e === 32 /* EPIPE */ || e === 104 /* ECONNRESET */) return -1;
      throw new LibcError("sendmsg", e);
    }
  }

  /**
   * One non-blocking recvmsg into `buf`: returns the bytes read, 0 on EOF,
   * or -1 when nothing is queued. Fds that arrive are appended to `fds`
   * (closed when no array is given).
   */
  recvSome(buf: Uint8Array, fds?: OwnedFd[]): number {
    this.#iov.setBigUint64(0, addr(buf), true);
    this.#iov.setBigUint64(8, BigInt(buf.byteLength), true);
    this.#msg.setBigUint64(24, 1n, true);
    this.#msg.setBigUint64(32, addr(new Uint8Array(this.#ctl.buffer)), true);
    this.#msg.setBigUint64(40, BigInt(this.#ctl.byteLength), true);
    this.#msg.setInt32(48, 0, true);
    for (;;) {
      const r = libc().recvmsg(
        this.fd,
        new Uint8Array(this.#msg.buffer),
        MSG_CMSG_CLOEXEC | MSG_DONTWAIT,
      );
      if (r >= 0n) {
        this.#collectFds(fds);
        return Number(r);
      }
      const e = errno();
      if (e === EINTR) continue;
      if (e === EAGAIN) return -1;
      if (e === 104 /* ECONNRESET */) return 0;
      throw new LibcError("recvmsg", e);
    }
  }

  /**
   * Fills `buf` completely. Fds that arrive are appended to `fds` (owned by
   * the caller; with no `fds` array they are closed). Returns false on EOF
   * before the first byte; throws ShortReadError on EOF in the middle.
   */
  recvExact(buf: Uint8Array, fds?: OwnedFd[]): boolean {
    let got = 0;
    while (got < buf.byteLength) {
      this.#iov.setBigUint64(0, addr(buf) + BigInt(got), true);
      this.#iov.setBigUint64(8, BigInt(buf.byteLength - got), true);
      this.#msg.setBigUint64(24, 1n, true);
      this.#msg.setBigUint64(32, addr(new Uint8Array(this.#ctl.buffer)), true);
      this.#msg.setBigUint64(40, BigInt(this.#ctl.byteLength), true);
      this.#msg.setInt32(48, 0, true);
      const r = libc().recvmsg(this.fd, new Uint8Array(this.#msg.buffer), MSG_CMSG_CLOEXEC);
      if (r < 0n) {
        const e = errno();
        if (e === EINTR || e === EAGAIN) continue;
        if (e === 104 /* ECONNRESET */) {
          if (got === 0) return false;
          throw new ShortReadError(got, buf.byteLength);
        }
        throw new LibcError("recvmsg", e);
      }
      this.#collectFds(fds);
      if (r === 0n) {
        if (got === 0) return false;
        throw new ShortReadError(got, buf.byteLength);
      }
      got += Number(r);
    }
    return true;
  }

  #collectFds(out?: OwnedFd[]): void {
    const controllen = Number(this.#msg.getBigUint64(40, true));
    let off = 0;
    while (off + CMSG_HDR <= controllen) {
      const len = Number(this.#ctl.getBigUint64(off, true));
      if (len < CMSG_HDR || off + len > controllen) break;
      if (this.#ctl.getInt32(off + 8, true) === SOL_SOCKET) {
        if (this.#ctl.getInt32(off + 12, true) === SCM_RIGHTS) {
          for (let p = off + CMSG_HDR; p + 4 <= off + len; p += 4) {
            const fd = new OwnedFd(this.#ctl.getInt32(p, true));
            if (out) out.push(fd);
            else fd.close();
          }
        }
      }
      off += (len + 7) & ~7;
    }
  }

  /** Wakes a blocked peer with EOF. */
  shutdown(): void {
    try {
      shutdown(this.fd);
    } catch { /* already disconnected */ }
  }

  close(): void {
    this.handle.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** A listening AF_UNIX stream socket bound to a path. */
export class UnixListener implements Disposable {
  readonly handle: OwnedFd;

  private constructor(fd: OwnedFd, readonly path: string) {
    this.handle = fd;
  }

  /** Binds `path` (replacing a stale socket file there) and listens. */
  static listen(path: string, backlog = 1): UnixListener {
    try {
      if (Deno.lstatSync(path).isSocket) Deno.removeSync(path);
    } catch { /* nothing there */ }
    const fd = new OwnedFd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC));
    try {
      bindUnix(fd.fd, path);
      listen(fd.fd, backlog);
    } catch (e) {
      fd.close();
      throw e;
    }
    return new UnixListener(fd, path);
  }

  get fd(): number {
    return this.handle.fd;
  }

  /** Blocks until one peer connects. */
  accept(): StreamSocket {
    return new StreamSocket(accept4(this.fd, SOCK_CLOEXEC));
  }

  /** Closes the socket and removes its path. */
  close(): void {
    if (!this.handle.closed) {
      this.handle.close();
      try {
        Deno.removeSync(this.path);
      } catch { /* already gone */ }
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
