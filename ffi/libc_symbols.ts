/**
 * The libc symbols Vesper calls, as three tables: the core one, opened by
 * every process and thread that calls libc, and two that only some open
 * (`libcSpawn()`, `libcNet()` in ffi/libc.ts).
 *
 * How a table is opened (`openLibc` in ffi/libc.ts) is about start-up time,
 * which every render server and worker pays. For each function of a
 * `Deno.dlopen` table Deno compiles a fast-call trampoline when the table is
 * opened, about 300 µs each here: the core table with eight of them took
 * 2.6 ms to open. So only the calls in {@link LIBC_FAST}, made per message,
 * per ring wake-up or per fd, are bound that way, each when first used; the
 * others are `Deno.UnsafeFnPointer`s over their addresses, a few µs to make
 * and about 1 µs more per call (close(-1): 1.2 against 0.25 µs).
 *
 * Each parameter is annotated with its C type (x86_64 Linux, glibc ≥ 2.34).
 * Nothing here is called directly by the rest of the code base: the typed
 * wrappers in `ffi/libc.ts` and the owners in `ffi/fd.ts`, `ffi/mmap.ts`,
 * `ffi/socket.ts`, `ffi/spawn.ts` are the API.
 */
export const LIBC_SYMBOLS = {
  __errno_location: { parameters: [], result: "pointer" }, // int *(void)
  close: { parameters: ["i32" /* int fd */], result: "i32" },
  open: {
    parameters: [
      "buffer", /* const char *pathname */
      "i32", /* int flags */
      "u32", /* mode_t mode */
    ],
    result: "i32",
  },
  read: {
    parameters: ["i32", /* int fd */ "buffer", /* void *buf */ "usize" /* size_t count */],
    result: "isize",
  },
  write: {
    parameters: ["i32", /* int fd */ "buffer", /* const void *buf */ "usize" /* size_t count */],
    result: "isize",
  },
  readlink: {
    parameters: [
      "buffer", /* const char *pathname */
      "buffer", /* char *buf */
      "usize", /* size_t bufsiz */
    ],
    result: "isize",
  },
  fcntl: {
    // int fcntl(int fd, int cmd, ... /* int arg */): the int vararg is ABI-compatible here.
    parameters: ["i32", /* int fd */ "i32", /* int cmd */ "i32" /* int arg */],
    result: "i32",
  },
  lseek: {
    parameters: ["i32", /* int fd */ "i64", /* off_t offset */ "i32" /* int whence */],
    result: "i64",
  },
  ftruncate: { parameters: ["i32", /* int fd */ "i64" /* off_t length */], result: "i32" },
  memfd_create: {
    parameters: ["buffer", /* const char *name */ "u32" /* unsigned int flags */],
    result: "i32",
  },
  mmap: {
    parameters: [
      "pointer", /* void *addr */
      "usize", /* size_t length */
      "i32", /* int prot */
      "i32", /* int flags */
      "i32", /* int fd */
      "i64", /* off_t offset */
    ],
    result: "pointer",
  },
  munmap: { parameters: ["pointer", /* void *addr */ "usize" /* size_t length */], result: "i32" },
  eventfd: { parameters: ["u32", /* unsigned int initval */ "i32" /* int flags */], result: "i32" },
  socketpair: {
    parameters: [
      "i32", /* int domain */
      "i32", /* int type */
      "i32", /* int protocol */
      "buffer", /* int sv[2] */
    ],
    result: "i32",
  },
  sendmsg: {
    parameters: [
      "i32", /* int sockfd */
      "buffer", /* const struct msghdr *msg */
      "i32", /* int flags */
    ],
    result: "isize",
  },
  recvmsg: {
    parameters: ["i32", /* int sockfd */ "buffer", /* struct msghdr *msg */ "i32" /* int flags */],
    result: "isize",
  },
  getsockopt: {
    parameters: [
      "i32", /* int sockfd */
      "i32", /* int level */
      "i32", /* int optname */
      "buffer", /* void *optval */
      "buffer", /* socklen_t *optlen */
    ],
    result: "i32",
  },
  shutdown: { parameters: ["i32", /* int sockfd */ "i32" /* int how */], result: "i32" },
  poll: {
    parameters: [
      "buffer", /* struct pollfd *fds */
      "u64", /* nfds_t nfds */
      "i32", /* int timeout */
    ],
    result: "i32",
  },
  ppoll: {
    parameters: [
      "buffer", /* struct pollfd *fds */
      "u64", /* nfds_t nfds */
      "buffer", /* const struct timespec *tmo_p (NULL: wait forever) */
      "pointer", /* const sigset_t *sigmask (NULL: keep the mask) */
    ],
    result: "i32",
  },
  /** The same poll(2), run on a helper thread so the event loop keeps turning. */
  poll_async: {
    name: "poll",
    parameters: [
      "buffer", /* struct pollfd *fds */
      "u64", /* nfds_t nfds */
      "i32", /* int timeout */
    ],
    result: "i32",
    nonblocking: true,
  },
  sched_yield: { parameters: [], result: "i32" }, // int sched_yield(void)
  getpid: { parameters: [], result: "i32" }, // pid_t getpid(void)
  getppid: { parameters: [], result: "i32" }, // pid_t getppid(void)
  sysconf: { parameters: ["i32" /* int name */], result: "i64" }, // long sysconf(int name)
  kill: { parameters: ["i32", /* pid_t pid */ "i32" /* int sig */], result: "i32" },
  // sighandler_t signal(int signum, sighandler_t handler)
  signal: {
    parameters: ["i32", /* int signum */ "pointer" /* sighandler_t handler */],
    result: "pointer",
  },
  waitpid: {
    parameters: ["i32", /* pid_t pid */ "buffer", /* int *wstatus */ "i32" /* int options */],
    result: "i32",
  },
  pidfd_open: {
    parameters: ["i32", /* pid_t pid */ "u32" /* unsigned int flags */],
    result: "i32",
  },
  prctl: {
    // int prctl(int option, unsigned long arg2, ...)
    parameters: ["i32", /* int option */ "u64" /* unsigned long arg2 */],
    result: "i32",
  },
} as const satisfies Deno.ForeignLibraryInterface;

/** posix_spawn and what sets up its file actions, attributes and signal sets (ffi/spawn.ts) */
export const LIBC_SPAWN_SYMBOLS = {
  posix_spawn: {
    parameters: [
      "buffer", /* pid_t *pid */
      "buffer", /* const char *path */
      "buffer", /* const posix_spawn_file_actions_t *file_actions */
      "buffer", /* const posix_spawnattr_t *attrp */
      "buffer", /* char *const argv[] */
      "buffer", /* char *const envp[] */
    ],
    result: "i32",
  },
  posix_spawn_file_actions_init: {
    parameters: ["buffer" /* posix_spawn_file_actions_t *file_actions */],
    result: "i32",
  },
  posix_spawn_file_actions_destroy: {
    parameters: ["buffer" /* posix_spawn_file_actions_t *file_actions */],
    result: "i32",
  },
  posix_spawn_file_actions_adddup2: {
    parameters: [
      "buffer", /* posix_spawn_file_actions_t *file_actions */
      "i32", /* int fildes */
      "i32", /* int newfildes */
    ],
    result: "i32",
  },
  posix_spawn_file_actions_addclosefrom_np: {
    parameters: ["buffer", /* posix_spawn_file_actions_t *file_actions */ "i32" /* int from */],
    result: "i32",
  },
  posix_spawnattr_init: { parameters: ["buffer" /* posix_spawnattr_t *attr */], result: "i32" },
  posix_spawnattr_destroy: { parameters: ["buffer" /* posix_spawnattr_t *attr */], result: "i32" },
  posix_spawnattr_setflags: {
    parameters: ["buffer", /* posix_spawnattr_t *attr */ "i16" /* short flags */],
    result: "i32",
  },
  posix_spawnattr_setsigmask: {
    parameters: ["buffer", /* posix_spawnattr_t *attr */ "buffer" /* const sigset_t *sigmask */],
    result: "i32",
  },
  posix_spawnattr_setsigdefault: {
    parameters: ["buffer", /* posix_spawnattr_t *attr */ "buffer" /* const sigset_t *sigdefault */],
    result: "i32",
  },
  sigemptyset: { parameters: ["buffer" /* sigset_t *set */], result: "i32" },
  sigfillset: { parameters: ["buffer" /* sigset_t *set */], result: "i32" },
  sigdelset: { parameters: ["buffer", /* sigset_t *set */ "i32" /* int signum */], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

/**
 * The core table's calls made on hot paths (a worker's ring and socket loop,
 * the server's client loop, fds received with every message): fast calls.
 */
export const LIBC_FAST = [
  "close",
  "read",
  "write",
  "poll",
  "ppoll",
  "sched_yield",
  "sendmsg",
  "recvmsg",
] as const satisfies readonly (keyof typeof LIBC_SYMBOLS)[];

/** sockets that are created, bound, listened on or connected here (not handed over) */
export const LIBC_NET_SYMBOLS = {
  socket: {
    parameters: ["i32", /* int domain */ "i32", /* int type */ "i32" /* int protocol */],
    result: "i32",
  },
  bind: {
    parameters: [
      "i32", /* int sockfd */
      "buffer", /* const struct sockaddr *addr */
      "u32", /* socklen_t addrlen */
    ],
    result: "i32",
  },
  listen: { parameters: ["i32", /* int sockfd */ "i32" /* int backlog */], result: "i32" },
  accept4: {
    parameters: [
      "i32", /* int sockfd */
      "buffer", /* struct sockaddr *addr (may be NULL) */
      "buffer", /* socklen_t *addrlen (may be NULL) */
      "i32", /* int flags */
    ],
    result: "i32",
  },
  connect: {
    parameters: [
      "i32", /* int sockfd */
      "buffer", /* const struct sockaddr *addr */
      "u32", /* socklen_t addrlen */
    ],
    result: "i32",
  },
  setsockopt: {
    parameters: [
      "i32", /* int sockfd */
      "i32", /* int level */
      "i32", /* int optname */
      "buffer", /* const void *optval */
      "u32", /* socklen_t optlen */
    ],
    result: "i32",
  },
} as const satisfies Deno.ForeignLibraryInterface;
