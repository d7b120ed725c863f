/**
 * The render server's job: `vesper --socket-fd N …` (and --help, --version).
 * main.ts dispatches here; the launcher (bin/vesper) runs it through
 * src/server_entry.ts when the arguments are options only, because
 * Deno reads and parses every module a file imports — dynamic imports with a
 * literal specifier included — before it runs it: main.ts's imports of the
 * demo, gpu2d, replay and worker code (1.4 MB bundled) cost every server
 * about 6 ms of start-up.
 */
import { parseServerArgs, USAGE, UsageError } from "./cli.ts";
import { Logger } from "./log.ts";
import { SeqpacketSocket } from "../ffi/socket.ts";
import { unignoreChildSignal } from "../ffi/libc.ts";
import { RenderServer } from "./render/server.ts";
import { isBackendKind } from "./render/backend_kind.ts";
import { VERSION } from "./version.ts";

/** Serves one client socket until it closes; the process's exit status. */
export async function serve(args: string[]): Promise<number> {
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
  if (unignoreChildSignal()) {
    log.debug("SIGCHLD came in ignored (vtest's forking server does that); set to default");
  }
  const backend = Deno.env.get("VESPER_BACKEND");
  if (backend !== undefined && !isBackendKind(backend)) {
    throw new UsageError(`bad VESPER_BACKEND "${backend}" (venus or null)`);
  }
  const server = new RenderServer(SeqpacketSocket.adopt(a.socketFd), {
    workerMode: a.workerMode,
    logLevel: a.logLevel,
    log,
    backend,
    spareDelayMs: a.spareDelayMs,
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
