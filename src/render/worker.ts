/**
 * The server's handle on one worker: start it, assign it a context, notice
 * when it exits, tear it down.
 *
 * Workers are started before they are needed: the server keeps one spare
 * that has already paid for its start-up (process exec, runtime, modules)
 * and waits on its context socket. CREATE_CONTEXT writes an ASSIGN message
 * (ctx id and name) into the proxy's end of that socket and hands the end to
 * the proxy; the worker reads ASSIGN first, then serves the proxy's requests.
 *
 * Process mode: posix_spawn of this same program in `worker` mode; the child
 * inherits exactly its context socket (as fd 3) besides stdio. Its exit is
 * watched through a pidfd in the server's poll set; destroy = SIGKILL + reap,
 * as the reference server does.
 *
 * Thread mode: a Deno Worker in this process that owns the context socket.
 * The server keeps a duplicate of that socket so that destroy can shut it
 * down, which ends the worker's blocking read with EOF; the worker then
 * frees its context (including backend objects), signals an eventfd and
 * reports back.
 */
import { OwnedFd } from "../../ffi/fd.ts";
import {
  dupCloexec,
  ECHILD,
  EFD_CLOEXEC,
  EFD_NONBLOCK,
  eventfd,
  eventfdRead,
  eventfdWrite,
  type ExitStatus,
  kill,
  LibcError,
  pidfdOpen,
  pollAsync,
  POLLIN,
  SIGKILL,
  waitpid,
  WNOHANG,
} from "../../ffi/libc.ts";
import { SeqpacketSocket } from "../../ffi/socket.ts";
import { spawnWithFd } from "../../ffi/spawn.ts";
import type { Level, Logger } from "../log.ts";
import { workerCommand, workerEntry } from "../permissions.ts";
import { workerArgv } from "./worker_args.ts";
import type { BackendKind, WorkerParams } from "./worker_main.ts";
import { encodeAssign } from "./protocol.ts";
import { THREAD_WAKE, threadDoneHow } from "./thread_done.ts";

export type WorkerMode = "process" | "thread";

export interface WorkerStart {
  logLevel: Level;
  backend?: BackendKind;
  log: Logger;
}

export interface WorkerHandle {
  /** the context it serves; null while it is a spare */
  readonly ctxId: number | null;
  readonly mode: WorkerMode;
  /** the worker process, or null for a thread */
  readonly pid: number | null;
  /** an fd that becomes readable when the worker exits (process mode), else null */
  readonly exitFd: number | null;
  /** true once the worker has ended and been reaped/joined */
  readonly exited: boolean;
  /** true once the worker has loaded and waits for its context (or has ended) */
  readonly ready: boolean;
  /** Reaps the worker after `exitFd` became readable. */
  reap(): void;
  /**
   * Makes this spare serve context `ctxId`: returns the proxy's end of its
   * context socket with ASSIGN already queued (the caller sends it on and closes it).
   */
  assign(ctxId: number, name: string): SeqpacketSocket;
  /** Ends the worker (if still running) and frees the handle. */
  destroy(): Promise<void>;
}

/** Starts a spare worker on a fresh context socketpair. */
export function startWorker(mode: WorkerMode, s: WorkerStart): WorkerHandle {
  const [clientEnd, workerEnd] = SeqpacketSocket.pair();
  try {
    return mode === "process"
      ? new ProcessWorker(clientEnd, workerEnd, s)
      : new ThreadWorker(clientEnd, workerEnd, s);
  } catch (e) {
    clientEnd.close();
    workerEnd.close();
    throw e;
  }
}

/**
 * The part every worker handle shares: the proxy's end until assigned, and
 * the eventfd the worker signals once it has loaded (WorkerParams.readyFd).
 */
abstract class Assignable {
  ctxId: number | null = null;
  #clientEnd: SeqpacketSocket | null;
  #readyFd: OwnedFd | null = new OwnedFd(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));

  constructor(clientEnd: SeqpacketSocket) {
    this.#clientEnd = clientEnd;
  }

  abstract readonly exited: boolean;

  /** the fd for the worker to signal (the caller hands over or closes its copy) */
  protected readyFdForWorker(): number {
    return this.#readyFd!.fd;
  }

  get ready(): boolean {
    const fd = this.#readyFd;
    if (fd === null) return true;
    if (!this.exited && eventfdRead(fd.fd) === null) return false;
    this.closeReadyFd();
    return true;
  }

  protected closeReadyFd(): void {
    this.#readyFd?.close();
    this.#readyFd = null;
  }

  assign(ctxId: number, name: string): SeqpacketSocket {
    const end = this.#clientEnd;
    if (!end || this.ctxId !== null) throw new Error("worker already assigned");
    if (!end.send(encodeAssign(ctxId, name))) throw new Error("worker gone before ASSIGN");
    this.ctxId = ctxId;
    this.#clientEnd = null;
    return end;
  }

  protected dropClientEnd(): void {
    this.#clientEnd?.close();
    this.#clientEnd = null;
  }
}

/**
 * glibc malloc tuning for worker processes: the host driver allocates one
 * small block per recorded command and frees them all at the next reset
 * (lavapipe's command queue: hundreds of thousands per command buffer).
 * glibc's per-thread cache keeps only 7 blocks per size by default, so the
 * rest goes through the arena's free lists; with the cache raised to its
 * maximum a 200k-command stream replays in 33 ms instead of 49 ms. The
 * blocks kept are at most what the driver itself used at its peak. A
 * setting the VMM already gave for glibc.malloc.tcache_count wins.
 */
export const WORKER_MALLOC_TUNABLES = "glibc.malloc.tcache_count=65535";

/** The environment of a worker process: ours plus {@link WORKER_MALLOC_TUNABLES}. */
export function workerEnv(
  env: Record<string, string> = Deno.env.toObject(),
): Record<string, string> {
  const t = env.GLIBC_TUNABLES;
  if (t?.includes("glibc.malloc.tcache_count=")) return env;
  return { ...env, GLIBC_TUNABLES: t ? `${t}:${WORKER_MALLOC_TUNABLES}` : WORKER_MALLOC_TUNABLES };
}

class ProcessWorker extends Assignable implements WorkerHandle {
  readonly mode = "process";
  readonly pid: number;
  #pidfd: OwnedFd;
  #exited = false;
  #log: Logger;

  constructor(clientEnd: SeqpacketSocket, ctxEnd: SeqpacketSocket, s: WorkerStart) {
    super(clientEnd);
    this.#log = s.log;
    const argv = workerCommand(workerArgv({
      ctxFd: 3,
      readyFd: 4,
      logLevel: s.logLevel,
      serverPid: Deno.pid,
      backend: s.backend,
    }));
    try {
      this.pid = spawnWithFd(argv, {
        fd: ctxEnd.fd,
        targetFd: 3,
        env: workerEnv(),
        extraFds: [[this.readyFdForWorker(), 4]],
      });
    } catch (e) {
      this.closeReadyFd();
      throw e;
    } finally {
      ctxEnd.close(); // the child has its copy (or there is no child)
    }
    this.#pidfd = new OwnedFd(pidfdOpen(this.pid));
  }

  get exitFd(): number | null {
    return this.#exited ? null : this.#pidfd.fd;
  }

  get exited(): boolean {
    return this.#exited;
  }

  /**
   * waitpid for this worker; "gone" when it is no longer our child to wait
   * for (ECHILD: reaped by the kernel because SIGCHLD is ignored, which the
   * server undoes at start, or by someone else) — it has ended either way.
   */
  #wait(options: number): ExitStatus | null | "gone" {
    try {
      return waitpid(this.pid, options);
    } catch (e) {
      if (e instanceof LibcError && e.errno === ECHILD) return "gone";
      throw e;
    }
  }

  #ended(): void {
    this.#exited = true;
    this.#pidfd.close();
    this.closeReadyFd();
    this.dropClientEnd();
  }

  /** how logs name this worker */
  get #who(): string {
    return `worker ${this.pid} (ctx ${this.ctxId ?? "spare"})`;
  }

  reap(): void {
    if (this.#exited) return;
    const st = this.#wait(WNOHANG);
    if (!st) return;
    this.#ended();
    const who = this.#who;
    if (st === "gone") {
      this.#log.warn(`${who} ended; its exit status was not ours to read (ECHILD)`);
      return;
    }
    const how = st.signal !== null ? `killed by signal ${st.signal}` : `exited with ${st.code}`;
    this.#log[st.code === 0 ? "debug" : "warn"](`${who} ${how}`);
  }

  destroy(): Promise<void> {
    this.dropClientEnd();
    if (!this.#exited) {
      kill(this.pid, SIGKILL);
      this.#wait(0);
      this.#ended();
      this.#log.debug(`${this.#who} killed`);
    }
    return Promise.resolve();
  }
}

/** How long a thread worker gets to finish after its socket was shut down. */
const THREAD_JOIN_TIMEOUT_MS = 5000;

/** What a thread worker's first message carries: its parameters and where to say it is done. */
export interface ThreadWorkerParams extends WorkerParams {
  /**
   * an eventfd the thread signals (and closes) when it has freed its context,
   * adding `THREAD_DONE[how it ended]` (thread_done.ts)
   */
  doneFd: number;
}

class ThreadWorker extends Assignable implements WorkerHandle {
  readonly mode = "thread";
  readonly pid = null;
  readonly exitFd = null;
  #worker: Worker;
  #control: SeqpacketSocket;
  /**
   * Signalled by the thread once it has freed its context, and by #finish.
   * destroy() waits on it with a poll on Deno's helper thread rather than a
   * timer: Deno's first setTimeout loads its timers module, 6–8 ms of CPU
   * that every server paid at its first context's end.
   */
  #doneFd: OwnedFd | null = new OwnedFd(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  /** a destroy() is polling #doneFd: it closes the fd, not #finish */
  #joining = false;
  #exited = false;
  #log: Logger;

  constructor(clientEnd: SeqpacketSocket, ctxEnd: SeqpacketSocket, s: WorkerStart) {
    super(clientEnd);
    this.#log = s.log;
    this.#control = new SeqpacketSocket(ctxEnd.handle.dup());
    const params: ThreadWorkerParams = {
      ctxFd: ctxEnd.handle.take(), // ownership passes to the thread
      logLevel: s.logLevel,
      backend: s.backend,
      readyFd: dupCloexec(this.readyFdForWorker()), // the thread closes it
      doneFd: dupCloexec(this.#doneFd!.fd), // this one too
    };
    this.#worker = new Worker(workerEntry("worker_thread"), {
      type: "module",
      name: "vesper-ctx",
    });
    // the thread's last message says only that it is over: how, it added to #doneFd
    this.#worker.onmessage = () => {
      this.#sayHowEnded();
      this.#finish();
    };
    this.#worker.onerror = (e) => {
      e.preventDefault();
      this.#log.error(`${this.#who} failed: ${e.message}`);
      this.#finish();
    };
    this.#worker.postMessage(params);
  }

  #finish(): void {
    if (this.#exited) return;
    this.#exited = true;
    this.closeReadyFd();
    this.dropClientEnd();
    this.#control.close();
    this.#worker.terminate();
    if (this.#joining) eventfdWrite(this.#doneFd!.fd, THREAD_WAKE); // wakes destroy's poll
    else this.#closeDoneFd();
  }

  /** how logs name this worker */
  get #who(): string {
    return `thread worker (ctx ${this.ctxId ?? "spare"})`;
  }

  /** Logs how the thread ended, from what it added to #doneFd (thread_done.ts). */
  #sayHowEnded(): void {
    const how = this.#doneFd && threadDoneHow(eventfdRead(this.#doneFd.fd) ?? 0n);
    if (how) this.#log.debug(`${this.#who} ended: ${how}`);
  }

  #closeDoneFd(): void {
    this.#doneFd?.close();
    this.#doneFd = null;
  }

  get exited(): boolean {
    return this.#exited;
  }

  reap(): void {}

  async destroy(): Promise<void> {
    if (this.#exited || this.#joining) return;
    this.dropClientEnd();
    this.#control.shutdown();
    this.#joining = true;
    const deadline = performance.now() + THREAD_JOIN_TIMEOUT_MS;
    let left = THREAD_JOIN_TIMEOUT_MS;
    try {
      // 0 is a timeout or EINTR: poll again for what is left
      while (
        left > 0 && (await pollAsync([{ fd: this.#doneFd!.fd, events: POLLIN }], left)) === 0
      ) {
        left = Math.ceil(deadline - performance.now());
      }
    } finally {
      this.#joining = false;
    }
    // the thread's last message usually loses the race with the terminate below
    if (!this.#exited) this.#sayHowEnded();
    if (left <= 0 && !this.#exited) this.#log.warn(`${this.#who} did not end in time; terminating`);
    this.#finish();
    this.#closeDoneFd();
  }
}
