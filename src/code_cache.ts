/**
 * Deno keeps a V8 code cache of every module it compiles (in DENO_DIR), and a
 * later process that loads the same file deserializes it instead of parsing
 * and compiling the source again. It stores that cache only after the
 * evaluation that loaded the modules has finished and its event loop has
 * turned once (a resolved promise is not enough). A worker process used to
 * run its whole life inside its entry's evaluation and leave with
 * Deno.exit(): none of the ~1.4 MB it loads was ever cached, and every worker
 * compiled it from source again — 43 ms of CPU to load against about 32 ms
 * with the cache, on each context of each client. (Thread workers and the server were
 * not affected: their work starts from a message or an await.)
 *
 * The turn comes from an async op, a 1 ms poll of no fds on Deno's helper
 * thread, not from setTimeout: Deno 2.9's setTimeout loads its
 * Node-compatible timers module (async_hooks, errors, inspect…) on first use,
 * about 8 ms of CPU in every worker. The op must still be pending when the
 * loop turns: with a zero timeout it often completed before the first turn,
 * the worker went on and exited, and 3 starts in 15 stored nothing
 * (tests/cli_test.ts caught it); with 1 ms, 35 in 35 stored the cache.
 */
import { pollAsync } from "../ffi/libc.ts";

export async function afterCodeCacheStored(): Promise<void> {
  await pollAsync([], 1);
}
