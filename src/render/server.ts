/**
 * The server: serves the client socket handed over by the VMM (one client
 * per server), starts one worker per guest context, and tears everything
 * down when the client goes away.
 *
 * The loop waits with poll(2) on a helper thread (the event loop stays free
 * for thread-mode workers) on the client socket and on the pidfd of every
 * worker process, so a worker that dies is reaped at once. Client ops are
 * rare and small; nothing here is on a hot path.
 *
 * Malformed client messages: the reference server exits on any of them. The
 * client socket belongs to the VMM, not to a guest, but a server that dies
 * takes every context with it, so Vesper logs and drops a malformed message
 * instead (a CREATE_CONTEXT of the wrong size is still answered `ok=0` so the
 * client never waits forever) and keeps serving.
 */
import { pollAsync, POLLERR, type PollFd, POLLHUP, POLLIN, setCloexec } from "../../ffi/libc.ts";
import type { Received, SeqpacketSocket } from "../../ffi/socket.ts";
import type { Level, Logger } from "../log.ts";
import {
  CLIENT_MAX_REQUEST,
  CLIENT_OP_NAMES,
  CLIENT_OP_SIZES,
  ClientOp,
  decodeCreateContext,
  MAX_WORKERS,
  VIRGL_RENDERER_NO_VIRGL,
  VIRGL_RENDERER_VENUS,
} from "./protocol.ts";
import { startWorker, type WorkerHandle, type WorkerMode } from "./worker.ts";
import { IdleMeter } from "./cpu_idle.ts";
import type { BackendKind } from "./worker_main.ts";
import {
  SPARE_AFTER_DESTROY_MS,
  SPARE_BUSY_MAX_MS,
  SPARE_IDLE_WINDOW_MS,
  SPARE_MIN_IDLE_CPUS,
  SPARE_POLL_MS,
  SPARE_WAIT_MS,
} from "./spare.ts";

export interface ServerOptions {
  workerMode: WorkerMode;
  logLevel: Level;
  log: Logger;
  backend?: BackendKind;
  /** after a context is created, how long the next spare waits (ms; `--spare-delay`) */
  spareDelayMs: number;
}

export class RenderServer {
  readonly socket: SeqpacketSocket;
  readonly workers: WorkerHandle[] = [];
  #opts: ServerOptions;
  #log: Logger;
  #initFlags: number | null = null;
  #buf = new Uint8Array(new ArrayBuffer(CLIENT_MAX_REQUEST));
  #view = new DataView(this.#buf.buffer);
  #contextsCreated = 0;
  /** a started, unassigned worker: CREATE_CONTEXT takes it and starts the next */
  #spare: WorkerHandle | null = null;
  /**
   * When the next spare is due (performance.now() ms), or null. The run loop
   * polls with a timeout up to it instead of a timer: Deno's setTimeout loads
   * its Node-compatible timers module on first use (about 8 ms of CPU here),
   * which every render server paid at start-up.
   */
  #spareDueAt: number | null = null;
  /** the spare due waits for idle CPUs (all but the one planned at start-up) */
  #spareGated = false;
  /** when the spare due was first put off by busy CPUs (performance.now() ms) */
  #putOffSince: number | null = null;
  #idle: IdleMeter | null = null;
  /** the worker started last (the next spare waits until it has loaded) */
  #lastStarted: WorkerHandle | null = null;
  #lastStartedAt = 0;
  #closing = false;

  constructor(socket: SeqpacketSocket, opts: ServerOptions) {
    this.socket = socket;
    this.#opts = opts;
    this.#log = opts.log;
    // The VMM passes the socket without CLOEXEC; nothing we start may inherit it.
    setCloexec(socket.fd, true);
  }

  get contextsCreated(): number {
    return this.#contextsCreated;
  }

  /** Serves until the client closes its socket; then destroys every worker. */
  async run(): Promise<void> {
    this.#log.info(`serving client socket fd ${this.socket.fd} (${this.#opts.workerMode} workers)`);
    // the first spare is not checked for idle CPUs: there is no context yet,
    // and under vtest the client's first context follows at once
    this.#scheduleSpare(0, false);
    try {
      for (;;) {
        const fds: PollFd[] = [{ fd: this.socket.fd, events: POLLIN }];
        const watched: WorkerHandle[] = [];
        for (const w of this.#spare ? [...this.workers, this.#spare] : this.workers) {
          if (w.exitFd !== null) {
            fds.push({ fd: w.exitFd, events: POLLIN });
            watched.push(w);
          }
        }
        const due = this.#spareDueAt;
        const timeout = due === null ? -1 : Math.max(0, Math.ceil(due - performance.now()));
        if ((await pollAsync(fds, timeout)) > 0) {
          watched.forEach((w, i) => {
            if (fds[i + 1].revents) w.reap();
          });
          if (fds[0].revents! & (POLLIN | POLLHUP | POLLERR)) {
            if (!(await this.#serveOne())) break;
          }
        }
        if (this.#spareDueAt !== null && performance.now() >= this.#spareDueAt) this.#spareDue();
      }
    } finally {
      await this.shutdown();
    }
  }

  /** Reads and handles one client message; false at EOF. */
  async #serveOne(): Promise<boolean> {
    const m = this.socket.tryRecv(this.#buf, 0);
    if (m === "empty") return true;
    if (m === null) {
      this.#log.info("client closed the socket; shutting down");
      return false;
    }
    return await this.#handle(m);
  }

  async #handle(m: Received): Promise<boolean> {
    for (const f of m.fds) f.close();
    if (m.size < 4) {
      this.#log.error(`client message of ${m.size} bytes dropped`);
      return true;
    }
    const op = this.#view.getUint32(0, true);
    const name = CLIENT_OP_NAMES[op];
    if (name === undefined) {
      this.#log.error(`client op ${op} unknown; message dropped`);
      return true;
    }
    const bad = m.fdsTruncated
      ? "carries fds"
      : m.truncated || m.size !== CLIENT_OP_SIZES[op]
      ? `has ${m.size} bytes, expected ${CLIENT_OP_SIZES[op]}`
      : null;
    if (bad) {
      this.#log.error(`client ${name} ${bad}; dropped`);
      if (op === ClientOp.CREATE_CONTEXT) this.#reply(false);
      return true;
    }
    switch (op) {
      case ClientOp.NOP:
        this.#log.debug("NOP");
        break;
      case ClientOp.INIT:
        this.#initFlags = this.#view.getUint32(4, true);
        this.#log.debug(`INIT flags 0x${this.#initFlags.toString(16)}`);
        break;
      case ClientOp.RESET:
        this.#log.debug("RESET");
        await this.destroyAll();
        break;
      case ClientOp.CREATE_CONTEXT:
        this.#createContext();
        break;
      case ClientOp.DESTROY_CONTEXT:
        await this.#destroyContext(this.#view.getUint32(4, true));
        break;
    }
    return true;
  }

  #reply(ok: boolean, fd?: number): void {
    const b = new Uint8Array([ok ? 1 : 0]);
    if (!this.socket.send(b, fd === undefined ? [] : [fd])) {
      this.#log.warn("client gone while replying to CREATE_CONTEXT");
    }
  }

  #createContext(): void {
    const req = decodeCreateContext(this.#view);
    const refuse = (why: string) => {
      this.#log.error(`CREATE_CONTEXT ctx ${req.ctxId} "${req.name}": ${why}`);
      this.#reply(false);
    };
    const need = VIRGL_RENDERER_VENUS | VIRGL_RENDERER_NO_VIRGL;
    if (this.#initFlags === null) return refuse("client INIT not received");
    if ((this.#initFlags & need) !== need) {
      return refuse(`init flags 0x${this.#initFlags.toString(16)} lack VENUS|NO_VIRGL`);
    }
    if (req.ctxId === 0) return refuse("ctx_id 0 is invalid");
    if (this.workers.some((w) => w.ctxId === req.ctxId)) return refuse("ctx_id already in use");
    if (this.workers.length >= MAX_WORKERS) return refuse(`worker limit (${MAX_WORKERS}) reached`);
    let clientEnd: SeqpacketSocket;
    let w: WorkerHandle;
    try {
      w = this.#takeSpare();
      clientEnd = w.assign(req.ctxId, req.name);
    } catch (e) {
      return refuse(`cannot start worker: ${(e as Error).message}`);
    }
    this.workers.push(w);
    this.#contextsCreated++;
    this.#log.debug(`CREATE_CONTEXT ctx ${req.ctxId} "${req.name}": worker started`);
    this.#reply(true, clientEnd.fd);
    clientEnd.close();
    this.#scheduleSpare(this.#opts.spareDelayMs);
  }

  #startWorker(): WorkerHandle {
    const w = startWorker(this.#opts.workerMode, {
      logLevel: this.#opts.logLevel,
      backend: this.#opts.backend,
      log: this.#log,
    });
    this.#lastStarted = w;
    this.#lastStartedAt = performance.now();
    return w;
  }

  /** The spare if it is still alive, else a worker started now. */
  #takeSpare(): WorkerHandle {
    const spare = this.#spare;
    this.#spare = null;
    spare?.reap();
    if (spare && !spare.exited) return spare;
    if (spare) void spare.destroy();
    return this.#startWorker();
  }

  /**
   * Starts the next spare after `delayMs` (the current request is answered
   * first) and once the worker started before it has loaded
   * (WorkerHandle.ready, at most SPARE_WAIT_MS): a spare loading while a new
   * context starts up would take CPU time from it.
   */
  #scheduleSpare(delayMs: number, gated = true): void {
    if (this.#spare || this.#closing) return;
    // a later request wins: the spare planned at start-up must not load beside
    // the context that came first
    this.#spareDueAt = performance.now() + delayMs;
    this.#spareGated = gated;
    this.#putOffSince = null;
    if (gated) (this.#idle ??= new IdleMeter()).mark();
  }

  /**
   * Whether the spare due is put off because its CPUs were busy since it was
   * scheduled (or since it was last put off); if so, it looks again in
   * {@link SPARE_IDLE_WINDOW_MS}.
   */
  #putOff(): boolean {
    if (!this.#spareGated || !this.#idle) return false;
    const now = performance.now();
    const idle = this.#idle.idleCpus();
    if (idle >= SPARE_MIN_IDLE_CPUS) return false;
    if (this.#putOffSince === null) {
      this.#putOffSince = now;
      this.#log.debug(
        `spare worker put off: its CPUs were ${idle.toFixed(2)} idle, busy with running contexts`,
      );
    } else if (now - this.#putOffSince >= SPARE_BUSY_MAX_MS) {
      this.#log.debug(`spare worker: CPUs busy for ${SPARE_BUSY_MAX_MS} ms; starting it anyway`);
      return false;
    }
    this.#idle.mark();
    this.#spareDueAt = now + SPARE_IDLE_WINDOW_MS;
    return true;
  }

  /** The run loop's part of {@link #scheduleSpare}: starts the spare once it is due. */
  #spareDue(): void {
    this.#spareDueAt = null;
    if (this.#spare || this.#closing) return;
    const prev = this.#lastStarted;
    if (prev && !prev.ready && performance.now() - this.#lastStartedAt < SPARE_WAIT_MS) {
      this.#spareDueAt = performance.now() + SPARE_POLL_MS;
      return;
    }
    if (this.#putOff()) return;
    try {
      this.#spare = this.#startWorker();
    } catch (e) {
      this.#log.warn(`cannot start a spare worker: ${(e as Error).message}`);
    }
  }

  async #destroyContext(ctxId: number): Promise<void> {
    const i = this.workers.findIndex((w) => w.ctxId === ctxId);
    if (i < 0) {
      this.#log.warn(`DESTROY_CONTEXT: unknown ctx ${ctxId}, ignored`);
      return;
    }
    const [w] = this.workers.splice(i, 1);
    this.#log.debug(`DESTROY_CONTEXT ctx ${ctxId}`);
    this.#scheduleSpare(SPARE_AFTER_DESTROY_MS);
    await w.destroy();
  }

  /** Ends every worker. */
  async destroyAll(): Promise<void> {
    const all = this.workers.splice(0);
    await Promise.all(all.map((w) => w.destroy()));
  }

  async shutdown(): Promise<void> {
    this.#closing = true;
    this.#spareDueAt = null;
    const spare = this.#spare;
    this.#spare = null;
    await Promise.all([this.destroyAll(), spare?.destroy()]);
    this.socket.close();
  }
}
