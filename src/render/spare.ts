/**
 * When the render server starts its spare worker (a worker process or
 * thread started ahead of the next context, already loaded when it comes):
 * the delays and the idle-CPU gate. A module of its own so that the command
 * line (src/cli.ts: `--spare-delay` and its help) does not load the server.
 */

/** Longest a new spare waits for the worker started before it to load (ms). */
export const SPARE_WAIT_MS = 2000;
/** How often it looks (ms). */
export const SPARE_POLL_MS = 2;
/**
 * After a context was created, how long the next spare waits (ms) by
 * default (`--spare-delay`). A spare is speculative: about 60 ms of CPU to
 * start a Deno process and load the worker's code. A new context is busiest
 * in its first second or so — instance and device creation, pipelines, and
 * the worker's own JIT warm-up, which takes a few thousand commands — and a
 * spare loading then takes that CPU from it on a small VM: with 200 ms here,
 * the replacement spare landed in the middle of a cold dispatch run
 * (bench/vulkan_workloads.ts, one CPU) slow enough to last that long, and
 * made 14 consecutive iterations take 3-7 ms each. vtest starts one server
 * per client, so there the spare is never used; in a VMM a guest starting
 * apps more than a few seconds apart still finds one loaded, and one that
 * ends an app and starts the next finds the spare started when the first
 * one's context ended ({@link SPARE_AFTER_DESTROY_MS}). A context that stays
 * busy longer is covered by the idle check ({@link SPARE_MIN_IDLE_CPUS}).
 */
export const SPARE_AFTER_CONTEXT_MS = 3000;
/**
 * After a context was destroyed, how long the next spare waits (ms): the
 * context's CPU is free then, but vtest closes the server right after its
 * only context ends, and a spare started in that gap would be killed
 * half-loaded.
 */
export const SPARE_AFTER_DESTROY_MS = 100;
/**
 * A spare due beside running contexts starts only when the CPUs it may run
 * on had at least this much idle time (CPUs' worth) since it was scheduled,
 * or in the last {@link SPARE_IDLE_WINDOW_MS} once it has been put off
 * (cpu_idle.ts says why).
 */
export const SPARE_MIN_IDLE_CPUS = 0.5;
/** How often a spare put off by busy CPUs looks again (ms). */
export const SPARE_IDLE_WINDOW_MS = 100;
/**
 * Longest a spare is put off by busy CPUs (ms): then it loads anyway, once
 * (about 60 ms of CPU), so that a host busy for good still gets one.
 */
export const SPARE_BUSY_MAX_MS = 10_000;
/** Longest `--spare-delay` (ms). */
export const MAX_SPARE_DELAY_MS = 3_600_000;
