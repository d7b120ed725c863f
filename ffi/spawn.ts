/**
 * Starting a child process that inherits exactly one chosen fd.
 *
 * posix_spawn with file actions: the chosen fd is dup2'ed onto `targetFd`
 * (3 by default), every fd above it is closed (closefrom), stdin/stdout/stderr
 * are kept. The signal mask is emptied and all signals are reset to their
 * default disposition, so the child starts clean whatever the parent's
 * runtime installed.
 */
import {
  cstr,
  LibcError,
  libcSpawn,
  POSIX_SPAWN_SETSIGDEF,
  POSIX_SPAWN_SETSIGMASK,
  SIGKILL,
} from "./libc.ts";

const FILE_ACTIONS_SIZE = 256; // glibc: 80 bytes; generous
const SPAWNATTR_SIZE = 512; // glibc: 336 bytes; generous
const SIGSET_SIZE = 128;

function cstrArray(items: string[]): { array: Uint8Array<ArrayBuffer>; keep: Uint8Array[] } {
  const keep = items.map(cstr);
  const array = new Uint8Array(new ArrayBuffer(8 * (keep.length + 1)));
  const dv = new DataView(array.buffer);
  keep.forEach((s, i) => {
    dv.setBigUint64(i * 8, BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(s))), true);
  });
  return { array, keep };
}

export interface SpawnOptions {
  /** the fd of this process to hand to the child */
  fd: number;
  /** where the child finds it (default 3) */
  targetFd?: number;
  /** more fds to hand over: [fd here, fd in the child] (targets above targetFd) */
  extraFds?: [number, number][];
  /** environment, default: this process's */
  env?: Record<string, string>;
  /** an fd to become the child's stdout and stderr (default: inherit ours) */
  output?: number;
}

/** Starts `argv[0]` (an absolute path) with `argv`; returns the child's pid. */
export function spawnWithFd(argv: string[], opts: SpawnOptions): number {
  const target = opts.targetFd ?? 3;
  if (opts.fd === target) throw new RangeError("source fd must differ from the target fd");
  const L = libcSpawn();
  const fa = new Uint8Array(new ArrayBuffer(FILE_ACTIONS_SIZE));
  const attr = new Uint8Array(new ArrayBuffer(SPAWNATTR_SIZE));
  const sigset = new Uint8Array(new ArrayBuffer(SIGSET_SIZE));
  let r = L.posix_spawn_file_actions_init(fa);
  if (r !== 0) throw new LibcError("posix_spawn_file_actions_init", r);
  try {
    r = L.posix_spawnattr_init(attr);
    if (r !== 0) throw new LibcError("posix_spawnattr_init", r);
    try {
      const extra = opts.extraFds ?? [];
      for (const [, to] of extra) {
        if (to <= target) throw new RangeError("extra fds go above the target fd");
      }
      const maps = [[opts.fd, target], ...extra, [opts.output, 1], [opts.output, 2]];
      for (const [from, to] of maps) {
        if (from === undefined) continue;
        r = L.posix_spawn_file_actions_adddup2(fa, from, to!);
        if (r !== 0) throw new LibcError("posix_spawn_file_actions_adddup2", r);
      }
      r = L.posix_spawn_file_actions_addclosefrom_np(
        fa,
        Math.max(target, ...extra.map(([, to]) => to)) + 1,
      );
      if (r !== 0) throw new LibcError("posix_spawn_file_actions_addclosefrom_np", r);
      L.sigemptyset(sigset);
      r = L.posix_spawnattr_setsigmask(attr, sigset);
      if (r !== 0) throw new LibcError("posix_spawnattr_setsigmask", r);
      L.sigfillset(sigset);
      L.sigdelset(sigset, SIGKILL);
      L.sigdelset(sigset, 19 /* SIGSTOP */);
      r = L.posix_spawnattr_setsigdefault(attr, sigset);
      if (r !== 0) throw new LibcError("posix_spawnattr_setsigdefault", r);
      r = L.posix_spawnattr_setflags(attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
      if (r !== 0) throw new LibcError("posix_spawnattr_setflags", r);
      const args = cstrArray(argv);
      const env = cstrArray(
        Object.entries(opts.env ?? Deno.env.toObject()).map(([k, v]) => `${k}=${v}`),
      );
      const path = cstr(argv[0]);
      const pid = new Int32Array(new ArrayBuffer(4));
      r = L.posix_spawn(new Uint8Array(pid.buffer), path, fa, attr, args.array, env.array);
      // keep the C strings alive until posix_spawn returned
      void args.keep;
      void env.keep;
      if (r !== 0) throw new LibcError("posix_spawn", r);
      return pid[0];
    } finally {
      L.posix_spawnattr_destroy(attr);
    }
  } finally {
    L.posix_spawn_file_actions_destroy(fa);
  }
}
