/**
 * Entry point of the `vesper` executable (compiled with `deno task compile`,
 * or run through `bin/vesper`).
 */
import { parseArgs } from "node:util";
import { parseFd, parseLevel, parseServerArgs, USAGE, UsageError, usageError } from "./src/cli.ts";
import { Logger } from "./src/log.ts";
import { SeqpacketSocket } from "./ffi/socket.ts";
import { RenderServer } from "./src/render/server.ts";
import { type BackendKind, workerProcessMain } from "./src/render/worker_main.ts";
import { VERSION } from "./src/version.ts";

async function serve(args: string[]): Promise<number> {
  const a = parseServerArgs(args);
  if (a === "help") {
    console.log(USAGE);
    return 0;
  }
  if (a === "version") {
    console.log(`vesper ${VERSION}`);
    return 0;
  }
  const log = new Logger("server", a.logLevel);
  const server = new RenderServer(SeqpacketSocket.adopt(a.socketFd), {
    workerMode: a.workerMode,
    logLevel: a.logLevel,
    log,
  });
  // SIGTERM/SIGINT: tear the workers down before leaving (SIGKILL needs no
  // help: process workers die with the server through PR_SET_PDEATHSIG).
  for (const sig of ["SIGTERM", "SIGINT"] as const) {
    Deno.addSignalListener(sig, () => {
      log.info(`${sig}: shutting down`);
      server.shutdown().finally(() => Deno.exit(0));
    });
  }
  await server.run();
  log.info(`done: ${server.contextsCreated} contexts served`);
  return 0;
}

function worker(args: string[]): number {
  const { values: v } = parseArgs({
    args,
    strict: true,
    options: {
      "ctx-fd": { type: "string" },
      "log-level": { type: "string" },
      "server-pid": { type: "string" },
      backend: { type: "string" },
    },
  });
  return workerProcessMain({
    ctxFd: parseFd(v["ctx-fd"], "--ctx-fd"),
    logLevel: parseLevel(v["log-level"]),
    serverPid: parseFd(v["server-pid"], "--server-pid"),
    backend: v.backend as BackendKind | undefined,
  });
}

async function main(args: string[]): Promise<number> {
  try {
    switch (args[0]) {
      case "worker":
        return worker(args.slice(1));
      case "demo": {
        const { demoMain } = await import("./src/demo/demo.ts");
        return await demoMain(args.slice(1));
      }
      default:
        return await serve(args);
    }
  } catch (e) {
    if (e instanceof UsageError) return usageError(e);
    throw e;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
