/**
 * Tiered FFI bindings. A `Deno.dlopen` function gets V8's fast calls, but
 * Deno compiles a trampoline for it when its table is opened: 150–400 µs a
 * symbol here, paid by every process and thread at start for every symbol
 * of its tables. A `Deno.UnsafeFnPointer` over the same address costs a few
 * µs to make and about 1 µs more per call (close(-1): 1.2 against 0.25 µs).
 * Most of the C functions Vesper binds are called a few times per process or
 * context, a few on every message or ring wake-up: so a binding starts as a
 * pointer and becomes a fast-call symbol once it has been called
 * {@link TIER_UP_AFTER_CALLS} times.
 */

/** Calls through the pointer before a binding is replaced by its fast-call symbol. */
export const TIER_UP_AFTER_CALLS = 64;

// deno-lint-ignore no-explicit-any
export type AnyFn = (...args: any[]) => any;

/**
 * `slow`, counting calls: at the {@link TIER_UP_AFTER_CALLS}th it passes
 * `install` the fast binding from `upgrade()` (or `slow` itself when there is
 * none), for the caller's table, whose next lookup then finds that instead.
 */
export function tiered<F extends AnyFn>(
  slow: F,
  upgrade: () => F | null,
  install: (f: F) => void,
): F {
  let calls = 0;
  return ((...args: Parameters<F>) => {
    if (++calls === TIER_UP_AFTER_CALLS) install(upgrade() ?? slow);
    return slow(...args);
  }) as F;
}
