/**
 * The worker side: one context per worker, in its own process (default) or
 * its own thread. Both forms run exactly this code on the context socket fd
 * they were handed.
 *
 * Workers are started ahead of need (a spare waits while the server is idle),
 * so a worker first waits for the server's ASSIGN message on its context
 * socket naming the context it serves; then the proxy's requests follow on
 * the same socket.
 */
import { eventfdSignalAndClose, getppid, setParentDeathSignal, SIGKILL } from "../../ffi/libc.ts";
import { SeqpacketSocket } from "../../ffi/socket.ts";
import { type Level, Logger } from "../log.ts";
import { type BackendHost, type ContextBackend, NullBackend } from "./backend.ts";
import { RenderContext } from "./context.ts";
import { ASSIGN_MAGIC, ASSIGN_SIZE, decodeCtxName } from "./protocol.ts";
import { VenusContextBackend } from "../venus/backend.ts";
import { type BackendKind, DEFAULT_BACKEND } from "./backend_kind.ts";
import { CaptureWriter } from "../venus/capture.ts";
import type { WorkerArgs } from "./worker_args.ts";

/**
 * Which context backend workers run: "venus" decodes the Venus protocol and
 * runs it on the host's Vulkan, "null" accepts streams undecoded. Chosen
 * with VESPER_BACKEND (default: DEFAULT_BACKEND); VESPER_CAPTURE=DIR makes Venus workers record their
 * streams to DIR/ctx<id>-<pid>.vcap (`vesper replay FILE` decodes one).
 */
export { type BackendKind, DEFAULT_BACKEND, isBackendKind } from "./backend_kind.ts";

export interface WorkerParams {
  /** the context socket (owned by the worker from now on) */
  ctxFd: number;
  logLevel: Level;
  backend?: BackendKind;
  /**
   * an eventfd (owned by the worker) signalled once the worker has loaded and
   * waits for its context: the server starts the next spare only then, so
   * two workers never load at the same time (on a small VM they would slow
   * down each other and the context waiting for the first)
   */
  readyFd?: number;
}

export function makeBackend(kind: BackendKind | undefined, host: BackendHost): ContextBackend {
  if ((kind ?? DEFAULT_BACKEND) === "null") return new NullBackend(host);
  const venus = new VenusContextBackend(host);
  const dir = Deno.env.get("VESPER_CAPTURE");
  if (dir) {
    const path = `${dir}/ctx${host.ctxId}-${Deno.pid}.vcap`;
    try {
      venus.capture = CaptureWriter.open(path);
      host.log.info(`ctx ${host.ctxId}: capturing Venus streams to ${path}`);
    } catch (e) {
      host.log.warn(`ctx ${host.ctxId}: cannot capture to ${path}: ${(e as Error).message}`);
    }
  }
  return venus;
}

/** Waits for the server's ASSIGN message; null when the socket closed or the message is wrong. */
function awaitAssign(socket: SeqpacketSocket, log: Logger): { ctxId: number; name: string } | null {
  const buf = new Uint8Array(new ArrayBuffer(64));
  const m = socket.recv(buf, 0);
  if (!m) return null; // server gone or spare retired before use
  const v = new DataView(buf.buffer);
  if (
    m.size !== ASSIGN_SIZE || m.truncated || m.fds.length || v.getUint32(0, true) !== ASSIGN_MAGIC
  ) {
    m.fds.forEach((f) => f.close());
    log.error("context socket: the first message is not the server's ASSIGN");
    return null;
  }
  return { ctxId: v.getUint32(4, true), name: decodeCtxName(buf.subarray(8, 40)) };
}

/**
 * Serves one context until its socket closes or it turns fatal. `onAssign`
 * runs once the context is known (process workers name themselves there).
 */
export function runWorker(
  p: WorkerParams,
  onAssign?: (ctxId: number, name: string) => void,
): "eof" | "fatal" | "unused" {
  let log = new Logger("worker (spare)", p.logLevel);
  let socket: SeqpacketSocket;
  try {
    socket = SeqpacketSocket.adopt(p.ctxFd);
  } catch (e) {
    log.error(`context socket: ${(e as Error).message}`);
    return "fatal";
  }
  log.debug("ready; waiting for a context");
  // a server that is gone shows in awaitAssign
  if (p.readyFd !== undefined) eventfdSignalAndClose(p.readyFd);
  const who = awaitAssign(socket, log);
  if (!who) {
    socket.close();
    return "unused";
  }
  log = new Logger(`worker ${who.ctxId}`, p.logLevel);
  onAssign?.(who.ctxId, who.name);
  log.debug(`ctx ${who.ctxId} "${who.name}": serving`);
  const ctx = new RenderContext(socket, {
    ctxId: who.ctxId,
    name: who.name,
    log,
    backend: (host) => makeBackend(p.backend, host),
  });
  const how = ctx.run();
  log.debug(`ctx ${who.ctxId}: done (${how}); ${JSON.stringify(ctx.stats)}`);
  return how;
}

/**
 * Process-mode worker entry: dies with the server (PR_SET_PDEATHSIG, then a
 * check that the server did not exit before the signal was armed), names the
 * driver configuration after the guest application as the reference does,
 * serves, exits.
 */
export function workerProcessMain(p: WorkerArgs): number {
  setParentDeathSignal(SIGKILL);
  if (getppid() !== p.serverPid) {
    // the server ended (killed with its client) while this worker was still
    // loading: normal for a spare, which has no context yet
    new Logger("worker", p.logLevel).debug(`server ${p.serverPid} is gone; not starting`);
    return 1;
  }
  const how = runWorker(p, (_id, name) => {
    if (name && Deno.env.get("MESA_DRICONF_EXECUTABLE_OVERRIDE") === undefined) {
      Deno.env.set("MESA_DRICONF_EXECUTABLE_OVERRIDE", name);
    }
  });
  return how === "fatal" ? 1 : 0;
}
