/**
 * Entry of a worker process started through `deno run` (bin/vesper and its
 * bundle): the server starts `deno run <permissions> worker_process.{ts,js}
 * <worker args>` instead of the whole of main.ts, so a new worker loads only
 * the worker's code (not the server's, nor node:util for main's command
 * line). The compiled binary has one entry and re-executes itself as
 * `vesper worker <worker args>`, which main.ts hands to the same parser.
 */
import { workerProcessMain } from "./worker_main.ts";
import { parseWorkerArgs } from "./worker_args.ts";
import { afterCodeCacheStored } from "../code_cache.ts";

if (import.meta.main) {
  await afterCodeCacheStored();
  let code: number;
  try {
    code = workerProcessMain(parseWorkerArgs(Deno.args));
  } catch (e) {
    console.error(`vesper worker: ${(e as Error).message}`);
    code = 2;
  }
  Deno.exit(code);
}
