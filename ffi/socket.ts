/**
 * AF_UNIX SOCK_SEQPACKET sockets with fd passing (SCM_RIGHTS).
 *
 * One `send` is one message; `recv` returns one whole message, the fds that
 * came with it (received with MSG_CMSG_CLOEXEC, already owned) and the
 * MSG_TRUNC/MSG_CTRUNC verdicts. The msghdr, iovec and control buffers are
 * allocated once per socket: the hot path makes no garbage beyond the result.
 */
import {
  EAGAIN,
  EINTR,
  errno,
  libc,
  LibcError,
  MSG_CMSG_CLOEXEC,
  MSG_CTRUNC,
  MSG_DONTWAIT,
  MSG_NOSIGNAL,
  MSG_TRUNC,
  shutdown,
  SOCK_CLOEXEC,
  SOCK_SEQPACKET,
  socketpair,
  socketType,
} from "./libc.ts";
import { OwnedFd } from "./fd.ts";
import { cmsgSpace, MSGHDR, readRights, writeRights } from "./cmsg.ts";

/** Most fds one message may carry (RENDER_SOCKET_MAX_FD_COUNT). */
export const MAX_FDS_PER_MESSAGE = 8;
/** Most fds `send` attaches (more than receivers accept, so tests can overfill). */
export const MAX_FDS_TO_SEND = 32;

/** What one recvmsg delivered. */
export interface Received {
  /** payload bytes (for MSG_TRUNC: the real length of the message) */
  size: number;
  /** the fds that arrived, owned by the caller */
  fds: OwnedFd[];
  /** the message was longer than the buffer */
  truncated: boolean;
  /** more fds arrived than fit (the ones that did arrive are in `fds`) */
  fdsTruncated: boolean;
}

function ptrValue(buf: ArrayBufferView): bigint {
  return BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(buf as Uint8Array<ArrayBuffer>)));
}

export class SeqpacketSocket implements Disposable {
  readonly handle: OwnedFd;
  // Off-heap buffers (new ArrayBuffer never lives on the V8 heap, so pointers stay valid).
  #msg = new Uint8Array(new ArrayBuffer(MSGHDR.SIZE)); // struct msghdr
  #msgView = new DataView(this.#msg.buffer);
  #iov = new Uint8Array(new ArrayBuffer(16)); // struct iovec
  #iovView = new DataView(this.#iov.buffer);
  #ctl = new Uint8Array(new ArrayBuffer(cmsgSpace(MAX_FDS_TO_SEND)));
  #ctlView = new DataView(this.#ctl.buffer);
  #ctlPtr = ptrValue(this.#ctl);
  // what the iovec points at now: a context polls its socket between ring
  // polls, always into the same buffer, so the pointer is looked up once
  #iovData: Uint8Array | null = null;
  #iovLen = -1;

  constructor(fd: OwnedFd | number) {
    this.handle = typeof fd === "number" ? new OwnedFd(fd) : fd;
    this.#msgView.setBigUint64(MSGHDR.IOV, ptrValue(this.#iov), true);
    this.#msgView.setBigUint64(MSGHDR.IOVLEN, 1n, true);
  }

  /** A connected pair, both ends CLOEXEC. */
  static pair(): [SeqpacketSocket, SeqpacketSocket] {
    const [a, b] = socketpair(SOCK_SEQPACKET | SOCK_CLOEXEC);
    return [new SeqpacketSocket(a), new SeqpacketSocket(b)];
  }

  /** Adopts `fd` after checking it is a SOCK_SEQPACKET socket. */
  static adopt(fd: number): SeqpacketSocket {
    const t = socketType(fd);
    if (t !== SOCK_SEQPACKET) {
      throw new Error(
        t === null ? `fd ${fd} is not a socket` : `fd ${fd} is not SOCK_SEQPACKET (type ${t})`,
      );
    }
    return new SeqpacketSocket(fd);
  }

  get fd(): number {
    return this.handle.fd;
  }

  #setIov(data: Uint8Array, len: number): void {
    // same view, same length: the iovec already says so (a view never moves;
    // a detached buffer has byteLength 0 and does not match)
    if (data === this.#iovData && len === this.#iovLen) return;
    this.#iovView.setBigUint64(0, len > 0 ? ptrValue(data) : 0n, true);
    this.#iovView.setBigUint64(8, BigInt(len), true);
    this.#iovData = len > 0 ? data : null;
    this.#iovLen = len;
  }

  /**
   * Sends one message with `fds` attached (the caller keeps ownership of
   * them). Returns false when the peer is gone (EPIPE/ECONNRESET).
   */
  send(data: Uint8Array, fds: readonly number[] = []): boolean {
    if (fds.length > MAX_FDS_TO_SEND) throw new RangeError("too many fds for one message");
    this.#setIov(data, data.byteLength);
    if (fds.length > 0) {
      const controllen = writeRights(this.#ctlView, fds);
      this.#msgView.setBigUint64(MSGHDR.CONTROL, this.#ctlPtr, true);
      this.#msgView.setBigUint64(MSGHDR.CONTROLLEN, BigInt(controllen), true);
    } else {
      this.#msgView.setBigUint64(MSGHDR.CONTROL, 0n, true);
      this.#msgView.setBigUint64(MSGHDR.CONTROLLEN, 0n, true);
    }
    for (;;) {
      const n = libc().sendmsg(this.fd, this.#msg, MSG_NOSIGNAL);
      if (n >= 0n) {
        if (Number(n) !== data.byteLength) throw new LibcError("sendmsg (short)", 0);
        return true;
      }
      const e = errno();
      if (e === EINTR || e === EAGAIN) continue;
      if (e === 32 /* EPIPE */ || e === 104 /* ECONNRESET */) return false;
      throw new LibcError("sendmsg", e);
    }
  }

  /**
   * Receives one message into `buf` with room for `maxFds` fds.
   * Returns null on EOF (peer closed). Blocks until a message arrives.
   */
  recv(buf: Uint8Array, maxFds = MAX_FDS_PER_MESSAGE): Received | null {
    return this.#recv(buf, maxFds, false) as Received | null;
  }

  /** Like `recv`, but returns "empty" at once when no message is queued. */
  tryRecv(buf: Uint8Array, maxFds = MAX_FDS_PER_MESSAGE): Received | null | "empty" {
    return this.#recv(buf, maxFds, true);
  }

  #recv(buf: Uint8Array, maxFds: number, nonblocking: boolean): Received | null | "empty" {
    this.#setIov(buf, buf.byteLength);
    const ctlLen = maxFds > 0 ? cmsgSpace(Math.min(maxFds, MAX_FDS_PER_MESSAGE)) : 0;
    this.#msgView.setBigUint64(MSGHDR.CONTROL, ctlLen > 0 ? this.#ctlPtr : 0n, true);
    // msg_controllen (size_t; recvmsg overwrites it), msg_flags
    this.#msgView.setUint32(MSGHDR.CONTROLLEN, ctlLen, true);
    this.#msgView.setUint32(MSGHDR.CONTROLLEN + 4, 0, true);
    this.#msgView.setInt32(MSGHDR.FLAGS, 0, true);
    const flags = MSG_CMSG_CLOEXEC | MSG_TRUNC | (nonblocking ? MSG_DONTWAIT : 0);
    let n: bigint;
    for (;;) {
      n = libc().recvmsg(this.fd, this.#msg, flags);
      if (n >= 0n) break;
      const e = errno();
      if (e === EINTR) continue;
      if (e === EAGAIN && nonblocking) return "empty";
      if (e === 104 /* ECONNRESET */) return null;
      throw new LibcError("recvmsg", e);
    }
    const msgFlags = this.#msgView.getInt32(MSGHDR.FLAGS, true);
    const fds: OwnedFd[] = [];
    const controllen = Number(this.#msgView.getBigUint64(MSGHDR.CONTROLLEN, true));
    readRights(this.#ctlView, controllen, (fd) => fds.push(new OwnedFd(fd)));
    if (n === 0n && fds.length === 0 && (msgFlags & MSG_TRUNC) === 0) {
      // SOCK_SEQPACKET: a zero-length read with nothing attached is EOF.
      return null;
    }
    return {
      size: Number(n),
      fds,
      truncated: (msgFlags & MSG_TRUNC) !== 0,
      fdsTruncated: (msgFlags & MSG_CTRUNC) !== 0,
    };
  }

  /** Wakes any blocked reader of either end with EOF. */
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
