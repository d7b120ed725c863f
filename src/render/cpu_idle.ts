/**
 * How idle the CPUs this process may run on have been: the server asks
 * before it starts a spare worker beside running contexts (server.ts).
 *
 * A spare costs about 60 ms of CPU (a Deno runtime and the worker's code).
 * On a host whose CPUs the guest keeps busy, that CPU is taken from the
 * guest's contexts: on one CPU, a spare that loaded in the middle of a
 * dispatch loop made a run of iterations take 3-7 ms each. So the server
 * starts such a spare only once the CPUs it (and so the spare, which inherits
 * its affinity) may use have had some idle time.
 *
 * The source is /proc/stat, read through libc (Deno wants --allow-all for
 * /proc): per-CPU idle and iowait time in USER_HZ ticks (100 per second on
 * every architecture Linux runs Vesper on), restricted to the CPUs in this
 * process's affinity (`Cpus_allowed_list` of /proc/self/status). Where /proc
 * cannot be read (a sandbox), every CPU counts as idle: the check must never
 * keep spares away for good.
 */
import { readProcFile } from "../../ffi/libc.ts";

/** USER_HZ: the unit of /proc/stat's times. */
export const USER_HZ = 100;

/** The CPUs of a `Cpus_allowed_list` line ("0-3,8,10-11") in /proc/PID/status text; null if absent. */
export function allowedCpus(status: string): Set<number> | null {
  const m = /^Cpus_allowed_list:\s*(\S+)\s*$/m.exec(status);
  if (!m) return null;
  const cpus = new Set<number>();
  for (const part of m[1].split(",")) {
    const r = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!r) return null;
    const lo = Number(r[1]), hi = r[2] === undefined ? lo : Number(r[2]);
    if (hi < lo || hi - lo > 65536) return null;
    for (let c = lo; c <= hi; c++) cpus.add(c);
  }
  return cpus;
}

/**
 * The idle + iowait ticks of the `cpuN` lines of /proc/stat text whose N is
 * in `cpus` (all of them when null); null if there is no such line.
 */
export function idleTicks(stat: string, cpus: Set<number> | null): number | null {
  let sum = 0, seen = false;
  for (const m of stat.matchAll(/^cpu(\d+)\s+(.*)$/gm)) {
    if (cpus && !cpus.has(Number(m[1]))) continue;
    // user nice system idle iowait irq softirq steal ...
    const f = m[2].trim().split(/\s+/).map(Number);
    if (f.length < 5 || !Number.isFinite(f[3]) || !Number.isFinite(f[4])) return null;
    sum += f[3] + f[4];
    seen = true;
  }
  return seen ? sum : null;
}

/**
 * Idle time of this process's CPUs between two moments: `mark()` starts a
 * window, `idleCpus()` says how many CPUs' worth were idle in it (1.0: one
 * CPU idle all along).
 */
export class IdleMeter {
  #cpus: Set<number> | null;
  #markTicks: number | null = null;
  #markAt = 0;

  constructor(
    readonly read: (path: string) => string | null = readProcFile,
    readonly now: () => number = () => performance.now(),
  ) {
    const status = read("/proc/self/status");
    this.#cpus = status === null ? null : allowedCpus(status);
  }

  /** Starts a window now. */
  mark(): void {
    const stat = this.read("/proc/stat");
    this.#markTicks = stat === null ? null : idleTicks(stat, this.#cpus);
    this.#markAt = this.now();
  }

  /**
   * CPUs' worth of idle time since {@link mark} (Infinity when it cannot be
   * told: no mark, /proc unreadable, or a window shorter than one tick).
   */
  idleCpus(): number {
    const before = this.#markTicks;
    const stat = this.read("/proc/stat");
    const after = stat === null ? null : idleTicks(stat, this.#cpus);
    const ms = this.now() - this.#markAt;
    if (before === null || after === null || ms < 1000 / USER_HZ) return Infinity;
    return Math.max(0, after - before) / USER_HZ / (ms / 1000);
  }
}
