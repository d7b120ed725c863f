/**
 * SCM_RIGHTS control messages (x86_64 `struct cmsghdr`: size_t len; int
 * level; int type; then the fds), shared by every socket that passes fds.
 */
import { SCM_RIGHTS, SOL_SOCKET } from "./libc.ts";

export const CMSG_HDR = 16;

/**
 * x86_64 `struct msghdr`: its size and the byte offsets of the fields the
 * sockets fill in (msg_name/msg_namelen at 0/8 stay zero: connected sockets).
 */
export const MSGHDR = {
  SIZE: 56,
  /** struct iovec *msg_iov */
  IOV: 16,
  /** size_t msg_iovlen */
  IOVLEN: 24,
  /** void *msg_control */
  CONTROL: 32,
  /** size_t msg_controllen */
  CONTROLLEN: 40,
  /** int msg_flags */
  FLAGS: 48,
} as const;

/** CMSG_SPACE for `n` fds: the control-buffer bytes they take. */
export const cmsgSpace = (n: number): number => CMSG_HDR + ((n * 4 + 7) & ~7);

/** Writes one SCM_RIGHTS header and `fds` at the start of `ctl`; returns msg_controllen. */
export function writeRights(ctl: DataView, fds: readonly number[]): number {
  ctl.setBigUint64(0, BigInt(CMSG_HDR + fds.length * 4), true);
  ctl.setInt32(8, SOL_SOCKET, true);
  ctl.setInt32(12, SCM_RIGHTS, true);
  fds.forEach((fd, i) => ctl.setInt32(CMSG_HDR + i * 4, fd, true));
  return cmsgSpace(fds.length);
}

/** Calls `each` for every fd in the SCM_RIGHTS headers the kernel filled into `ctl[0, controllen)`. */
export function readRights(ctl: DataView, controllen: number, each: (fd: number) => void): void {
  let off = 0;
  while (off + CMSG_HDR <= controllen) {
    const len = Number(ctl.getBigUint64(off, true));
    if (len < CMSG_HDR || off + len > controllen) break;
    if (ctl.getInt32(off + 8, true) === SOL_SOCKET && ctl.getInt32(off + 12, true) === SCM_RIGHTS) {
      for (let p = off + CMSG_HDR; p + 4 <= off + len; p += 4) each(ctl.getInt32(p, true));
    }
    off += (len + 7) & ~7;
  }
}
