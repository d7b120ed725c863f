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
  shutdown,
  SOCK_CLOEXEC,
  SOCK_STREAM,
  socket,
  socketpair,
} from "./libc.ts";
import { OwnedFd } from "./fd.ts";
import { cmsgSpace, MSGHDR, readRights, writeRights } from "./cmsg.ts";

const MAX_FDS = 16;
/** Buffers one sendmsg may gather (the kernel's UIO_MAXIOV). */
export const MAX_IOV = 1024;

/**
 * Base addresses of the ArrayBuffers we have handed to the kernel. Backing
 * stores never move (asking for `.buffer` takes a small typed array off the
 * V8 heap first), and UnsafePointer.of + BigInt costs ~1 µs per call, which
 * is a lot on a path that sends one message per damage rect.
 */
const bases = new WeakMap<ArrayBufferLike, number>();

/** The address of `view`'s first byte, as a (safe-integer) number. */
function addr(view: Uint8Array): number {
  const buf = view.buffer;
  let base = bases.get(buf);
  if (base === undefined) {
    base = Number(
      Deno.UnsafePointer.value(Deno.UnsafePointer.of(new Uint8Array(buf as ArrayBuffer))),
    );
    bases.set(buf, base);
  }
  return base + view.byteOffset;
}

/** Stores a 64-bit little-endian value given as a safe-integer number. */
function put64(dv: DataView, off: number, v: number): void {
  dv.setUint32(off, v >>> 0, true);
  dv.setUint32(off + 4, Math.floor(v / 0x100000000), true);
}

/**
 * `rows` rows of `rowBytes` bytes each, `stride` bytes apart, from
 * `base[offset]` on: a rectangle of a larger image, sent row by row
 * straight from where it is (one iovec per row, or one for all when the
 * rows are contiguous) without copying it together first.
 */
export class Strided {
  constructor(
    readonly base: Uint8Array,
    readonly offset: number,
    readonly rowBytes: number,
    readonly stride: number,
    readonly rows: number,
  ) {
    if (
      rowBytes > stride || offset < 0 || offset + (rows - 1) * stride + rowBytes > base.byteLength
    ) {
      throw new RangeError("strided rows outside their buffer");
    }
  }

  get byteLength(): number {
    return this.rowBytes * this.rows;
  }

  get contiguous(): boolean {
    return this.stride === this.rowBytes;
  }

  /** Rows [from, from+count) of this one. */
  slice(from: number, count: number): Strided {
    return new Strided(
      this.base,
      this.offset + from * this.stride,
      this.rowBytes,
      this.stride,
      count,
    );
  }

  /** Copies the bytes from `skip` on into `dst` at `at`. */
  copyTo(dst: Uint8Array, at: number, skip = 0): void {
    if (this.contiguous) {
      dst.set(this.base.subarray(this.offset + skip, this.offset + this.byteLength), at);
      return;
    }
    let row = Math.floor(skip / this.rowBytes);
    let inner = skip % this.rowBytes;
    for (; row < this.rows; row++, inner = 0) {
      const o = this.offset + row * this.stride;
      dst.set(this.base.subarray(o + inner, o + this.rowBytes), at);
      at += this.rowBytes - inner;
    }
  }
}

/** What a send gathers: plain buffers and strided rectangles. */
export type Part = Uint8Array | Strided;

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
  #msg = new DataView(new ArrayBuffer(MSGHDR.SIZE));
  #iov = new DataView(new ArrayBuffer(16 * MAX_IOV));
  #ctl = new DataView(new ArrayBuffer(cmsgSpace(MAX_FDS)));
  #ctlAddr: number;
  #msgBytes: Uint8Array<ArrayBuffer>;

  constructor(fd: OwnedFd | number) {
    this.handle = typeof fd === "number" ? new OwnedFd(fd) : fd;
    this.#msgBytes = new Uint8Array(this.#msg.buffer);
    put64(this.#msg, MSGHDR.IOV, addr(new Uint8Array(this.#iov.buffer)));
    this.#ctlAddr = addr(new Uint8Array(this.#ctl.buffer));
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
  send(parts: readonly Part[], fds: readonly number[] = []): boolean {
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
   * is full; less than all when it filled up or the parts needed more than
   * MAX_IOV iovecs), or -1 when the peer is gone.
   */
  sendSome(parts: readonly Part[], skip = 0, fds: readonly number[] = []): number {
    return this.#sendFrom(parts, skip, fds, MSG_DONTWAIT);
  }

  #sendFrom(
    parts: readonly Part[],
    skip: number,
    fds: readonly number[],
    flags: number,
  ): number {
    if (fds.length > MAX_FDS) throw new RangeError("too many fds for one message");
    let n = 0;
    const iov = this.#iov;
    fill: for (const p of parts) {
      if (skip >= p.byteLength) {
        skip -= p.byteLength;
        continue;
      }
      if (p instanceof Uint8Array || p.contiguous) {
        if (n === MAX_IOV) break;
        const a = p instanceof Uint8Array ? addr(p) : addr(p.base) + p.offset;
        put64(iov, n * 16, a + skip);
        put64(iov, n * 16 + 8, p.byteLength - skip);
        n++;
      } else {
        const base = addr(p.base) + p.offset;
        let row = Math.floor(skip / p.rowBytes);
        let inner = skip % p.rowBytes;
        for (; row < p.rows; row++, inner = 0) {
          if (n === MAX_IOV) break fill;
          put64(iov, n * 16, base + row * p.stride + inner);
          put64(iov, n * 16 + 8, p.rowBytes - inner);
          n++;
        }
      }
      skip = 0;
    }
    if (n === 0 && fds.length === 0) return 0;
    put64(this.#msg, MSGHDR.IOVLEN, n);
    if (fds.length > 0) {
      const controllen = writeRights(this.#ctl, fds);
      put64(this.#msg, MSGHDR.CONTROL, this.#ctlAddr);
      put64(this.#msg, MSGHDR.CONTROLLEN, controllen);
    } else {
      put64(this.#msg, MSGHDR.CONTROL, 0);
      put64(this.#msg, MSGHDR.CONTROLLEN, 0);
    }
    for (;;) {
      const r = libc().sendmsg(this.fd, this.#msgBytes, MSG_NOSIGNAL | flags);
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
    put64(this.#iov, 0, addr(buf));
    put64(this.#iov, 8, buf.byteLength);
    put64(this.#msg, MSGHDR.IOVLEN, 1);
    put64(this.#msg, MSGHDR.CONTROL, this.#ctlAddr);
    put64(this.#msg, MSGHDR.CONTROLLEN, this.#ctl.byteLength);
    this.#msg.setInt32(MSGHDR.FLAGS, 0, true);
    for (;;) {
      const r = libc().recvmsg(
        this.fd,
        this.#msgBytes,
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
      put64(this.#iov, 0, addr(buf) + got);
      put64(this.#iov, 8, buf.byteLength - got);
      put64(this.#msg, MSGHDR.IOVLEN, 1);
      put64(this.#msg, MSGHDR.CONTROL, this.#ctlAddr);
      put64(this.#msg, MSGHDR.CONTROLLEN, this.#ctl.byteLength);
      this.#msg.setInt32(MSGHDR.FLAGS, 0, true);
      const r = libc().recvmsg(this.fd, this.#msgBytes, MSG_CMSG_CLOEXEC);
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
    const controllen = this.#msg.getUint32(MSGHDR.CONTROLLEN, true); // small: the low half
    readRights(this.#ctl, controllen, (raw) => {
      const fd = new OwnedFd(raw);
      if (out) out.push(fd);
      else fd.close();
    });
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
