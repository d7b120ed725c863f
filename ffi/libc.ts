/**
 * Typed libc bindings with errno.
 *
 * Every wrapper either returns its result or throws a {@link LibcError}
 * carrying the call name and errno; EINTR is retried where the call is
 * restartable. Raw integers stay raw here: ownership of fds and mappings is
 * the job of `ffi/fd.ts` and `ffi/mmap.ts`.
 */
import { LIBC_FAST, LIBC_NET_SYMBOLS, LIBC_SPAWN_SYMBOLS, LIBC_SYMBOLS } from "./libc_symbols.ts";

// deno-lint-ignore no-explicit-any
type AnyFn = (...args: any[]) => any;

type Symbols<S extends Deno.ForeignLibraryInterface> = Deno.DynamicLibrary<S>["symbols"];

/**
 * Opens a table of libc functions (libc_symbols.ts says why this way). Each
 * is a `Deno.UnsafeFnPointer` over its address, which a `Deno.dlopen` of
 * statics gives without compiling anything, except those named in `fast`:
 * each of these becomes a fast-call `Deno.dlopen` symbol of its own when it
 * is first looked up, and stays the same function from its first call on (a
 * call site that saw another function first would stay megamorphic, and V8
 * makes fast calls only from monomorphic ones). The result has the shape a
 * plain `Deno.dlopen(…).symbols` has.
 */
function openLibc<S extends Deno.ForeignLibraryInterface>(
  table: S,
  fast: readonly string[] = [],
): Symbols<S> {
  const addrs: Record<string, Deno.ForeignStatic> = {};
  for (const [key, def] of Object.entries(table) as [string, Deno.ForeignFunction][]) {
    if (!fast.includes(key)) addrs[key] = { name: def.name ?? key, type: "pointer" };
  }
  const found = Deno.dlopen("libc.so.6", addrs).symbols as Record<string, Deno.PointerValue>;
  const out: Record<string, AnyFn> = {};
  for (const key of Object.keys(addrs)) {
    const { parameters, result, nonblocking } = table[key] as Deno.ForeignFunction;
    const def: Deno.UnsafeCallbackDefinition & { nonblocking?: boolean } = {
      parameters,
      result,
      nonblocking,
    };
    const fp = new Deno.UnsafeFnPointer(found[key] as Deno.PointerObject<typeof def>, def);
    out[key] = fp.call.bind(fp);
  }
  for (const key of fast) {
    Object.defineProperty(out, key, {
      configurable: true,
      enumerable: true,
      get() {
        const def = table[key] as Deno.ForeignFunction;
        const f = (Deno.dlopen("libc.so.6", { [key]: def }).symbols as Record<string, AnyFn>)[key];
        Object.defineProperty(out, key, { value: f, enumerable: true });
        return f;
      },
    });
  }
  return out as Symbols<S>;
}

let lib: Symbols<typeof LIBC_SYMBOLS> | undefined;
/**
 * This thread's errno, found when libc is opened: an isolate (the main one,
 * each Worker) runs on one thread, whose errno never moves. {@link errno} is
 * then one load, with nothing between a failed call and it that could fail a
 * call of its own and overwrite errno. Before, a second FFI call and two
 * allocations (where V8 may collect garbage) sat in between, and once a
 * worker's recvmsg reported ENOENT, which recvmsg cannot fail with.
 */
let errnoCell: Int32Array | undefined;

/** The loaded libc (opened once per isolate; workers in thread mode open their own). */
export function libc(): Symbols<typeof LIBC_SYMBOLS> {
  if (!lib) {
    lib = openLibc(LIBC_SYMBOLS, LIBC_FAST);
    const p = lib.__errno_location()!;
    errnoCell = new Int32Array(Deno.UnsafePointerView.getArrayBuffer(p, 4));
  }
  return lib;
}

/**
 * One of libc's other tables, opened on first use (libc_symbols.ts says why).
 * The core table is opened first: its errno cell must be known before a call
 * from here can fail, or the first errno() would open it in between.
 */
function libcTable<S extends Deno.ForeignLibraryInterface>(table: S): () => Symbols<S> {
  let opened: Symbols<S> | undefined;
  return () => {
    if (!opened) {
      libc();
      opened = openLibc(table);
    }
    return opened;
  };
}

/** posix_spawn and its helpers */
export const libcSpawn = libcTable(LIBC_SPAWN_SYMBOLS);
/** socket/bind/listen/accept4/connect/setsockopt */
export const libcNet = libcTable(LIBC_NET_SYMBOLS);

// ---- constants (x86_64 Linux) ----------------------------------------------
export const AF_UNIX = 1;
export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;
export const SOCK_SEQPACKET = 5;
export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;
export const SOL_SOCKET = 1;
export const SO_TYPE = 3;
export const SCM_RIGHTS = 1;
export const MSG_PEEK = 0x2;
export const MSG_CTRUNC = 0x8;
export const MSG_TRUNC = 0x20;
export const MSG_DONTWAIT = 0x40;
export const MSG_NOSIGNAL = 0x4000;
export const MSG_CMSG_CLOEXEC = 0x40000000;
export const SHUT_RDWR = 2;

export const F_GETFD = 1;
export const F_SETFD = 2;
export const F_GETFL = 3;
export const F_SETFL = 4;
export const FD_CLOEXEC = 1;
export const O_NONBLOCK = 0o4000;
export const F_DUPFD_CLOEXEC = 1030;
export const F_ADD_SEALS = 1033;
export const F_GET_SEALS = 1034;
export const F_SEAL_SEAL = 1;
export const F_SEAL_SHRINK = 2;
export const F_SEAL_GROW = 4;
export const F_SEAL_WRITE = 8;

export const MFD_CLOEXEC = 1;
export const MFD_ALLOW_SEALING = 2;

export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const MAP_SHARED = 1;

export const EFD_NONBLOCK = 0o4000;
export const EFD_CLOEXEC = 0o2000000;

export const SEEK_END = 2;

export const POLLIN = 0x1;
export const POLLOUT = 0x4;
export const POLLERR = 0x8;
export const POLLHUP = 0x10;
export const POLLNVAL = 0x20;

export const WNOHANG = 1;
export const SIGKILL = 9;
export const SIGCHLD = 17;
export const SIGTERM = 15;
export const PR_SET_PDEATHSIG = 1;
export const PR_SET_TIMERSLACK = 29;

export const POSIX_SPAWN_SETSIGDEF = 0x04;
export const POSIX_SPAWN_SETSIGMASK = 0x08;

// errno values we name in logs or branch on.
export const EPERM = 1;
export const ENOENT = 2;
export const ESRCH = 3;
export const EINTR = 4;
export const EBADF = 9;
export const ECHILD = 10;
export const EAGAIN = 11;
export const ENOMEM = 12;
export const EINVAL = 22;
export const EMFILE = 24;
export const ENOTSOCK = 88;
export const EMSGSIZE = 90;
export const EPIPE = 32;
export const ECONNRESET = 104;

const ERRNO_NAMES: Record<number, string> = {
  1: "EPERM",
  2: "ENOENT",
  3: "ESRCH",
  4: "EINTR",
  9: "EBADF",
  10: "ECHILD",
  11: "EAGAIN",
  12: "ENOMEM",
  13: "EACCES",
  14: "EFAULT",
  17: "EEXIST",
  22: "EINVAL",
  23: "ENFILE",
  24: "EMFILE",
  27: "EFBIG",
  28: "ENOSPC",
  32: "EPIPE",
  88: "ENOTSOCK",
  90: "EMSGSIZE",
  95: "EOPNOTSUPP",
  104: "ECONNRESET",
  107: "ENOTCONN",
  111: "ECONNREFUSED",
};

export function errnoName(errno: number): string {
  return ERRNO_NAMES[errno] ?? `errno ${errno}`;
}

/** A failed libc call. */
export class LibcError extends Error {
  constructor(readonly call: string, readonly errno: number) {
    super(`${call}: ${errnoName(errno)}`);
    this.name = "LibcError";
  }
}

/** errno of the calling thread; valid right after a synchronous failed call. */
export function errno(): number {
  if (!errnoCell) libc();
  return errnoCell![0];
}

/** Runs a call returning a number; retries on EINTR, throws LibcError on -1. */
export function check<T extends number | bigint>(call: string, f: () => T): T {
  for (;;) {
    const r = f();
    if (Number(r) !== -1) return r;
    const e = errno();
    if (e !== EINTR) throw new LibcError(call, e);
  }
}

/** NUL-terminated C string. */
export function cstr(s: string): Uint8Array<ArrayBuffer> {
  const enc = new TextEncoder().encode(s);
  const out = new Uint8Array(enc.length + 1);
  out.set(enc);
  return out;
}

// ---- thin wrappers ----------------------------------------------------------

export function close(fd: number): void {
  // close(2) must not be retried on EINTR on Linux: the fd is gone either way.
  if (libc().close(fd) === -1) {
    const e = errno();
    if (e !== EINTR) throw new LibcError("close", e);
  }
}

export const O_WRONLY = 0o1;
export const O_CREAT = 0o100;
export const O_TRUNC = 0o1000;
export const O_APPEND = 0o2000;
export const O_CLOEXEC = 0o2000000;

/** open(2); returns the new fd. */
export function open(path: string, flags: number, mode = 0o644): number {
  return check("open", () => libc().open(cstr(path), flags, mode));
}

export function fcntl(fd: number, cmd: number, arg = 0): number {
  return check("fcntl", () => libc().fcntl(fd, cmd, arg));
}

/** dup(2) with FD_CLOEXEC set on the copy, at or above `minFd`. */
export function dupCloexec(fd: number, minFd = 0): number {
  return fcntl(fd, F_DUPFD_CLOEXEC, minFd);
}

export function setCloexec(fd: number, on: boolean): void {
  const flags = fcntl(fd, F_GETFD);
  fcntl(fd, F_SETFD, on ? flags | FD_CLOEXEC : flags & ~FD_CLOEXEC);
}

export function setNonblocking(fd: number, on: boolean): void {
  const flags = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK);
}

/** Size of the file behind `fd` (lseek to the end). */
export function fileSize(fd: number): bigint {
  return check("lseek", () => libc().lseek(fd, 0n, SEEK_END));
}

export function memfdCreate(name: string, flags: number): number {
  return check("memfd_create", () => libc().memfd_create(cstr(name), flags));
}

export function ftruncate(fd: number, size: bigint | number): void {
  check("ftruncate", () => libc().ftruncate(fd, BigInt(size)));
}

export function eventfd(initval: number, flags: number): number {
  return check("eventfd", () => libc().eventfd(initval, flags));
}

/** Adds `value` to an eventfd counter (an 8-byte little-endian write). */
export function eventfdWrite(fd: number, value: bigint = 1n): void {
  const buf = new Uint8Array(8);
  new DataView(buf.buffer).setBigUint64(0, value, true);
  const n = check("eventfd write", () => libc().write(fd, buf, 8n));
  if (n !== 8n) throw new LibcError("eventfd write", EINVAL);
}

/**
 * A one-shot signal handed over as an eventfd (a worker telling its server
 * it is ready, or done): adds `value` (1), then closes this copy. A failed
 * write is ignored: the receiver also watches the sender's socket or exit.
 */
export function eventfdSignalAndClose(fd: number, value: bigint = 1n): void {
  try {
    eventfdWrite(fd, value);
  } catch { /* the receiver notices otherwise */ }
  close(fd);
}

/** Reads and resets an eventfd counter; null when it is 0 and the fd is non-blocking. */
export function eventfdRead(fd: number): bigint | null {
  const buf = new Uint8Array(8);
  for (;;) {
    const n = libc().read(fd, buf, 8n);
    if (n === 8n) return new DataView(buf.buffer).getBigUint64(0, true);
    const e = errno();
    if (e === EINTR) continue;
    if (e === EAGAIN) return null;
    throw new LibcError("eventfd read", e);
  }
}

export function socketpair(type: number): [number, number] {
  const sv = new Int32Array(2);
  check("socketpair", () => libc().socketpair(AF_UNIX, type, 0, new Uint8Array(sv.buffer)));
  return [sv[0], sv[1]];
}

/** SO_TYPE of a socket, or null when `fd` is not a socket (or not an open fd). */
export function socketType(fd: number): number | null {
  try {
    return getSockOptInt(fd, SOL_SOCKET, SO_TYPE);
  } catch {
    return null;
  }
}

export function shutdown(fd: number, how = SHUT_RDWR): void {
  check("shutdown", () => libc().shutdown(fd, how));
}

/** One pollfd entry. */
export interface PollFd {
  fd: number;
  events: number;
  revents?: number;
}

function pollBuffer(fds: PollFd[]): Uint8Array<ArrayBuffer> {
  const buf = new Uint8Array(8 * Math.max(1, fds.length));
  const dv = new DataView(buf.buffer);
  fds.forEach((p, i) => {
    dv.setInt32(i * 8, p.fd, true);
    dv.setInt16(i * 8 + 4, p.events, true);
  });
  return buf;
}

function pollResults(buf: Uint8Array<ArrayBuffer>, fds: PollFd[]): void {
  const dv = new DataView(buf.buffer);
  fds.forEach((p, i) => p.revents = dv.getUint16(i * 8 + 6, true));
}

/** poll(2) on this thread. Fills `revents`; returns the number of ready fds (0 on timeout). */
export function poll(fds: PollFd[], timeoutMs: number): number {
  const buf = pollBuffer(fds);
  const n = check("poll", () => libc().poll(buf, BigInt(fds.length), timeoutMs));
  pollResults(buf, fds);
  return n;
}

/** Fills a struct timespec (16 bytes) from a non-negative timeout in (fractional) milliseconds. */
function setTimespec(dv: DataView, timeoutMs: number): void {
  const ns = Math.round(timeoutMs * 1e6);
  const sec = Math.floor(ns / 1e9);
  dv.setBigInt64(0, BigInt(sec), true);
  dv.setBigInt64(8, BigInt(ns - sec * 1e9), true);
}

/**
 * ppoll(2) with a fractional-millisecond timeout (< 0: wait forever, 0: just
 * look). Fills `revents`; returns the number of ready fds, 0 on timeout or
 * when a signal interrupted the wait (callers re-check and wait again).
 */
export function ppoll(fds: PollFd[], timeoutMs: number): number {
  const buf = pollBuffer(fds);
  const ts = new Uint8Array(16);
  if (timeoutMs >= 0) setTimespec(new DataView(ts.buffer), timeoutMs);
  const n = libc().ppoll(buf, BigInt(fds.length), timeoutMs >= 0 ? ts : null, null);
  if (n === -1) {
    const e = errno();
    if (e === EINTR) return 0;
    throw new LibcError("ppoll", e);
  }
  pollResults(buf, fds);
  return n;
}

/**
 * One fd waited on again and again with ppoll(2) (a context loop's socket):
 * the pollfd and timespec live in buffers allocated once, so a wait makes no
 * garbage.
 */
export class FdWait {
  #pfd = new Uint8Array(new ArrayBuffer(8));
  #pfdView = new DataView(this.#pfd.buffer);
  #ts = new Uint8Array(new ArrayBuffer(16));
  #tsView = new DataView(this.#ts.buffer);

  constructor(readonly fd: number, readonly events: number) {
    this.#pfdView.setInt32(0, fd, true);
    this.#pfdView.setInt16(4, events, true);
  }

  /**
   * Waits up to `timeoutMs` (fractional; < 0: forever; 0: just look) for the
   * events (POLLHUP/POLLERR/POLLNVAL are always reported). Returns revents,
   * 0 on timeout or when a signal interrupted the wait.
   */
  wait(timeoutMs: number): number {
    this.#pfdView.setInt16(6, 0, true);
    if (timeoutMs >= 0) setTimespec(this.#tsView, timeoutMs);
    const n = libc().ppoll(this.#pfd, 1n, timeoutMs >= 0 ? this.#ts : null, null);
    if (n === -1) {
      const e = errno();
      if (e === EINTR) return 0;
      throw new LibcError("ppoll", e);
    }
    return n === 0 ? 0 : this.#pfdView.getUint16(6, true);
  }
}

/**
 * sched_yield(2): lets another runnable thread of this CPU run first (the
 * busy phase of a ring poll: on a shared CPU the guest thread that is about
 * to publish gets the CPU at once, without a timer wake-up).
 */
export function schedYield(): void {
  libc().sched_yield();
}

/** Sleeps `ms` (fractional) on this thread (ppoll without fds; a signal may end it early). */
export function sleepMs(ms: number): void {
  if (ms > 0) ppoll([], ms);
}

/**
 * PR_SET_TIMERSLACK for the calling thread: how late (ns) the kernel may
 * wake its timed sleeps (default 50 µs). A ring poller sleeping 10 µs wants
 * a few µs.
 */
export function setTimerSlack(ns: number): void {
  check("prctl(PR_SET_TIMERSLACK)", () => libc().prctl(PR_SET_TIMERSLACK, BigInt(ns)));
}

/**
 * poll(2) on a helper thread: the event loop keeps running while it waits.
 * errno is not available from the helper thread; a failure reports EINTR-like
 * "no fds ready" after a retry, other failures throw with errno unknown (-1).
 */
export async function pollAsync(fds: PollFd[], timeoutMs: number): Promise<number> {
  const buf = pollBuffer(fds);
  const n = await libc().poll_async(buf, BigInt(fds.length), timeoutMs);
  if (n === -1) return 0; // EINTR (the only plausible failure with valid fds): caller re-polls.
  pollResults(buf, fds);
  return n;
}

export function getpid(): number {
  return libc().getpid();
}

export function getppid(): number {
  return libc().getppid();
}

const SC_PAGESIZE = 30;
const SC_PHYS_PAGES = 85;

/**
 * Bytes of physical memory (sysconf), or null when unknown. Unlike
 * /proc/meminfo this needs no read permission (Deno wants --allow-all for /proc).
 */
export function physicalMemoryBytes(): number | null {
  const pages = Number(libc().sysconf(SC_PHYS_PAGES));
  const size = Number(libc().sysconf(SC_PAGESIZE));
  return pages > 0 && size > 0 ? pages * size : null;
}

/** Largest file {@link readProcFile} reads. */
const PROC_FILE_MAX = 1 << 20;

/**
 * The text of a small file of /proc (or /sys) through open(2)/read(2): Deno
 * wants --allow-all for any path under /proc, which the render server does
 * not have. null when it cannot be opened or read, or is larger than 1 MiB.
 */
export function readProcFile(path: string): string | null {
  let fd: number;
  try {
    fd = open(path, O_CLOEXEC);
  } catch {
    return null;
  }
  try {
    let buf = new Uint8Array(16384);
    let len = 0;
    for (;;) {
      if (len === buf.length) {
        if (buf.length >= PROC_FILE_MAX) return null;
        const bigger = new Uint8Array(buf.length * 2);
        bigger.set(buf);
        buf = bigger;
      }
      const view = buf.subarray(len);
      const n = Number(check("read", () => libc().read(fd, view, BigInt(view.length))));
      if (n === 0) return new TextDecoder().decode(buf.subarray(0, len));
      len += n;
    }
  } catch (e) {
    if (e instanceof LibcError) return null;
    throw e;
  } finally {
    close(fd);
  }
}

/** kill(2); false when the process no longer exists. */
export function kill(pid: number, sig: number): boolean {
  if (libc().kill(pid, sig) === 0) return true;
  const e = errno();
  if (e === ESRCH) return false;
  throw new LibcError("kill", e);
}

/**
 * Makes SIGCHLD's disposition the default again when it came in ignored: a
 * parent that ignores SIGCHLD (vtest's forking server does, and exec keeps an
 * ignored disposition) gets its children reaped by the kernel, so waitpid()
 * for a worker fails with ECHILD and its exit status is lost. True when the
 * disposition was SIG_IGN and is now SIG_DFL; a handler someone installed is
 * put back untouched.
 */
export function unignoreChildSignal(): boolean {
  const prev = libc().signal(SIGCHLD, null); // SIG_DFL is the null handler
  const v = prev === null ? 0n : Deno.UnsafePointer.value(prev);
  if (v === 1n /* SIG_IGN */) return true;
  const SIG_ERR = 0xffff_ffff_ffff_ffffn; // nothing changed
  if (v !== 0n /* SIG_DFL */ && v !== SIG_ERR) libc().signal(SIGCHLD, prev); // a handler
  return false;
}

/** Result of waitpid: how a child ended. */
export interface ExitStatus {
  pid: number;
  /** exit code when the child exited, else null */
  code: number | null;
  /** terminating signal when the child was killed, else null */
  signal: number | null;
}

/** waitpid(2); null when WNOHANG and the child is still running. */
export function waitpid(pid: number, options = 0): ExitStatus | null {
  const st = new Int32Array(1);
  const r = check("waitpid", () => libc().waitpid(pid, new Uint8Array(st.buffer), options));
  if (r === 0) return null;
  const s = st[0];
  const sig = s & 0x7f;
  return sig === 0
    ? { pid: r, code: (s >> 8) & 0xff, signal: null }
    : { pid: r, code: null, signal: sig };
}

export function pidfdOpen(pid: number): number {
  return check("pidfd_open", () => libc().pidfd_open(pid, 0));
}

/** Asks the kernel to send `sig` to this process when its parent exits. */
export function setParentDeathSignal(sig: number): void {
  check("prctl(PR_SET_PDEATHSIG)", () => libc().prctl(PR_SET_PDEATHSIG, BigInt(sig)));
}

/** readlink(2); null when the link cannot be read. */
export function readlink(path: string): string | null {
  const buf = new Uint8Array(4096);
  const n = libc().readlink(cstr(path), buf, BigInt(buf.byteLength));
  if (n < 0n) return null;
  return new TextDecoder().decode(buf.subarray(0, Number(n)));
}

/**
 * Kind of object an fd refers to, from /proc/self/fd (e.g. "socket:[123]",
 * "anon_inode:[eventfd]"); null when `fd` is not open. Read through libc:
 * Deno's own file APIs demand --allow-all for /proc/self.
 */
export function fdKind(fd: number): string | null {
  return readlink(`/proc/self/fd/${fd}`);
}

export function isEventfd(fd: number): boolean {
  return fdKind(fd) === "anon_inode:[eventfd]";
}

/** True when `fd` is a memfd (the only kind of file that answers F_GET_SEALS). */
export function isMemfd(fd: number): boolean {
  return libc().fcntl(fd, F_GET_SEALS, 0) !== -1;
}

/** The open fds of this process (needs --allow-all: Deno guards /proc/self). */
export function openFds(): number[] {
  const out: number[] = [];
  for (const e of Deno.readDirSync("/proc/self/fd")) out.push(Number(e.name));
  return out.sort((a, b) => a - b);
}

// ---- AF_UNIX listening/connecting sockets (appended for src/gpu2d) ----------

/** Longest path a sockaddr_un holds (108 bytes including the NUL). */
export const UNIX_PATH_MAX = 108;

/** A struct sockaddr_un for `path` and its length. */
function sockaddrUn(path: string): [Uint8Array<ArrayBuffer>, number] {
  const p = new TextEncoder().encode(path);
  if (p.length === 0 || p.length >= UNIX_PATH_MAX) {
    throw new RangeError(`unix socket path must be 1..${UNIX_PATH_MAX - 1} bytes: ${path}`);
  }
  const sa = new Uint8Array(2 + UNIX_PATH_MAX);
  new DataView(sa.buffer).setUint16(0, AF_UNIX, true); // sa_family_t sun_family
  sa.set(p, 2);
  return [sa, 2 + p.length + 1];
}

export function socket(domain: number, type: number, protocol = 0): number {
  return check("socket", () => libcNet().socket(domain, type, protocol));
}

/** bind(2) to a filesystem AF_UNIX address. */
export function bindUnix(fd: number, path: string): void {
  const [sa, len] = sockaddrUn(path);
  check("bind", () => libcNet().bind(fd, sa, len));
}

export function listen(fd: number, backlog: number): void {
  check("listen", () => libcNet().listen(fd, backlog));
}

/** accept4(2) without the peer address; `flags` e.g. SOCK_CLOEXEC. */
export function accept4(fd: number, flags: number): number {
  return check("accept4", () => libcNet().accept4(fd, null, null, flags));
}

/** connect(2) to a filesystem AF_UNIX address. */
export function connectUnix(fd: number, path: string): void {
  const [sa, len] = sockaddrUn(path);
  check("connect", () => libcNet().connect(fd, sa, len));
}

// ---- socket options (appended for src/gpu2d) ---------------------------------

export const SO_SNDBUF = 7;
export const SO_RCVBUF = 8;
export const SO_SNDBUFFORCE = 32;

/** setsockopt(2) with an int value. */
export function setSockOptInt(fd: number, level: number, optname: number, value: number): void {
  const v = new Int32Array([value]);
  check("setsockopt", () => libcNet().setsockopt(fd, level, optname, new Uint8Array(v.buffer), 4));
}

/** getsockopt(2) of an int value. */
export function getSockOptInt(fd: number, level: number, optname: number): number {
  const v = new Int32Array(1);
  const len = new Uint32Array([4]);
  check(
    "getsockopt",
    () =>
      libc().getsockopt(fd, level, optname, new Uint8Array(v.buffer), new Uint8Array(len.buffer)),
  );
  return v[0];
}
