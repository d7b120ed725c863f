/**
 * The worker side: one context per worker, in its own process (default) or
 * its own thread. Both forms run exactly this function on the context socket
 * fd they were handed.
 */
import { getppid, setParentDeathSignal, SIGKILL } from "../../ffi/libc.ts";
import { SeqpacketSocket } from "../../ffi/socket.ts";
import { type Level, Logger } from "../log.ts";
import { type BackendHost, type ContextBackend, NullBackend } from "./backend.ts";
import { RenderContext } from "./context.ts";

export type BackendKind = "null";

export interface WorkerParams {
  /** the context socket (owned by the worker from now on) */
  ctxFd: number;
  ctxId: number;
  name: string;
  logLevel: Level;
  backend?: BackendKind;
}

export function makeBackend(kind: BackendKind | undefined, host: BackendHost): ContextBackend {
  switch (kind ?? "null") {
    default:
      return new NullBackend(host);
  }
}

/** Serves one context until its socket closes or it turns fatal. */
export function runWorker(
  p: WorkerParams,
  log = new Logger(`worker ${p.ctxId}`, p.logLevel),
): "eof" | "fatal" {
  let socket: SeqpacketSocket;
  try {
    socket = SeqpacketSocket.adopt(p.ctxFd);
  } catch (e) {
    log.error(`context socket: ${(e as Error).message}`);
    return "fatal";
  }
  log.debug(`ctx ${p.ctxId} "${p.name}": serving`);
  const ctx = new RenderContext(socket, {
    ctxId: p.ctxId,
    name: p.name,
    log,
    backend: (host) => makeBackend(p.backend, host),
  });
  const how = ctx.run();
  log.debug(`ctx ${p.ctxId}: done (${how}); ${JSON.stringify(ctx.stats)}`);
  return how;
}

/**
 * Process-mode worker entry: dies with the server (PR_SET_PDEATHSIG, then a
 * check that the server did not exit before the signal was armed), names the
 * driver configuration after the guest application as the reference does,
 * serves, exits.
 */
export function workerProcessMain(p: WorkerParams & { serverPid: number }): number {
  const log = new Logger(`worker ${p.ctxId}`, p.logLevel);
  setParentDeathSignal(SIGKILL);
  if (getppid() !== p.serverPid) {
    log.error(`server ${p.serverPid} is gone; not starting`);
    return 1;
  }
  if (p.name && Deno.env.get("MESA_DRICONF_EXECUTABLE_OVERRIDE") === undefined) {
    Deno.env.set("MESA_DRICONF_EXECUTABLE_OVERRIDE", p.name);
  }
  return runWorker(p, log) === "eof" ? 0 : 1;
}
