/**
 * Entry point of the `vesper` executable (compiled with `deno task compile`,
 * or run through `bin/vesper`).
 */
import { parseLevel, UsageError, usageError } from "./src/cli.ts";
import { Logger } from "./src/log.ts";
import { serve } from "./src/server_main.ts";

async function worker(args: string[]): Promise<number> {
  // loaded here only: the server process never needs the backends
  const { workerProcessMain } = await import("./src/render/worker_main.ts");
  const { parseWorkerArgs } = await import("./src/render/worker_args.ts");
  const { afterCodeCacheStored } = await import("./src/code_cache.ts");
  await afterCodeCacheStored();
  let a;
  try {
    a = parseWorkerArgs(args);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  return workerProcessMain(a);
}

/** `vesper replay FILE`: decodes a capture offline into the no-op Venus backend. */
async function replay(args: string[]): Promise<number> {
  // node:util only here: the server's start-up does without it (src/cli.ts)
  const { parseArgs } = await import("node:util");
  const { values: v, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: { "log-level": { type: "string" } },
  });
  if (positionals.length !== 1) throw new UsageError("replay needs exactly one capture FILE");
  const log = new Logger("replay", parseLevel(v["log-level"]));
  const { replayCapture } = await import("./src/venus/replay.ts");
  const r = await replayCapture(positionals[0], log);
  console.log(
    `${positionals[0]}: ${r.commands} commands, ${r.bytes} bytes${r.fatal ? ", FATAL" : ""}`,
  );
  return r.fatal ? 1 : 0;
}

async function main(args: string[]): Promise<number> {
  try {
    switch (args[0]) {
      case "worker":
        return await worker(args.slice(1));
      case "replay":
        return await replay(args.slice(1));
      case "gpu2d": {
        const { gpu2dMain } = await import("./src/gpu2d/main.ts");
        return await gpu2dMain(args.slice(1), new Logger("gpu2d", parseLevel(undefined)));
      }
      case "demo": {
        const { demoMain } = await import("./src/demo/demo.ts");
        return await demoMain(args.slice(1));
      }
      default:
        return await serve(args);
    }
  } catch (e) {
    if (e instanceof UsageError) return usageError(e);
    if (
      (e as Error)?.name === "TypeError" &&
      /ERR_PARSE_ARGS/.test(String((e as { code?: string }).code))
    ) {
      return usageError(new UsageError((e as Error).message));
    }
    throw e;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
