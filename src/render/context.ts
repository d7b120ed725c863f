/**
 * One guest context inside a worker: serves the context socket, and runs the
 * backend's own work (rings, queue fences) between messages through
 * ContextBackend.tick — see {@link RenderContext.run} for the scheduler.
 *
 * Every request is checked before use: exact size per op, fd count per op,
 * fd kinds, ids and sizes. A violation is logged once, naming the op and the
 * reason, and ends this context (the worker exits); other contexts and the
 * server are unaffected. Resource-creation failures are answered with
 * fd_type -1 and the context goes on, as in the reference server.
 */
import { OwnedFd } from "../../ffi/fd.ts";
import {
  F_ADD_SEALS,
  F_GET_SEALS,
  F_SEAL_GROW,
  F_SEAL_SHRINK,
  F_SEAL_WRITE,
  fcntl,
  fdKind,
  FdWait,
  fileSize,
  ftruncate,
  isEventfd,
  isMemfd,
  memfdCreate,
  MFD_ALLOW_SEALING,
  MFD_CLOEXEC,
  POLLERR,
  POLLHUP,
  POLLIN,
  POLLNVAL,
  schedYield,
  setTimerSlack,
} from "../../ffi/libc.ts";
import { Mapping } from "../../ffi/mmap.ts";
import { MAX_FDS_PER_MESSAGE, type Received, type SeqpacketSocket } from "../../ffi/socket.ts";
import type { Logger } from "../log.ts";
import type { BackendHost, ContextBackend } from "./backend.ts";
import {
  BLOB_FLAG_USE_MAPPABLE,
  CONTEXT_FLAG_CAPSET_ID_MASK,
  CONTEXT_MAX_REQUEST,
  CONTEXT_OP_FDS,
  CONTEXT_OP_NAMES,
  CONTEXT_OP_SIZES,
  ContextOp,
  decodeContextInit,
  decodeCreateResource,
  decodeImportResource,
  decodeSubmitFence,
  encodeCreateResourceReply,
  MAP_CACHE_CACHED,
  SUBMIT_CMD_INLINE,
  VIRGL_RENDERER_CAPSET_VENUS,
} from "./protocol.ts";
import {
  DEFAULT_RESOURCE_LIMITS,
  FD_TYPE_DMABUF,
  FD_TYPE_INVALID,
  FD_TYPE_OPAQUE,
  FD_TYPE_SHM,
  type ResourceLimits,
  ResourceTable,
} from "./resources.ts";
import { Timelines } from "./timelines.ts";

/** Largest shmem (fence timelines) accepted at INIT: 1024 timelines. */
export const MAX_SHMEM_SIZE = 4096;
/** Largest SUBMIT_CMD stream accepted (the second message must fit a socket buffer anyway). */
export const MAX_SUBMIT_CMD_SIZE = 4 * 1024 * 1024;

export interface ContextOptions {
  ctxId: number;
  name: string;
  log: Logger;
  limits?: ResourceLimits;
  /** builds the backend once INIT arrived */
  backend: (host: BackendHost) => ContextBackend;
}

/** Counters of one context, for logs and stats. */
export interface ContextStats {
  requests: number;
  submits: number;
  submitBytes: number;
  fences: number;
}

/** Makes sure a memfd cannot shrink under a mapping (a SIGBUS waiting to happen). */
function sealAgainstShrink(fd: number): string | null {
  if (!isMemfd(fd)) return "not a sealable memfd";
  const seals = fcntl(fd, F_GET_SEALS);
  if (seals & F_SEAL_SHRINK) return null;
  try {
    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK);
    return null;
  } catch (e) {
    return `cannot seal it against shrinking (${(e as Error).message})`;
  }
}

export class RenderContext {
  readonly ctxId: number;
  readonly name: string;
  readonly log: Logger;
  readonly resources: ResourceTable;
  readonly stats: ContextStats = { requests: 0, submits: 0, submitBytes: 0, fences: 0 };
  #timelines: Timelines | null = null;
  #backend: ContextBackend | null = null;
  #makeBackend: (host: BackendHost) => ContextBackend;
  #buf = new Uint8Array(new ArrayBuffer(CONTEXT_MAX_REQUEST));
  #view = new DataView(this.#buf.buffer);
  #overflow = new Uint8Array(new ArrayBuffer(4096));
  #destroyed = false;

  constructor(readonly socket: SeqpacketSocket, opts: ContextOptions) {
    this.ctxId = opts.ctxId;
    this.name = opts.name;
    this.log = opts.log;
    this.resources = new ResourceTable(opts.limits ?? DEFAULT_RESOURCE_LIMITS);
    this.#makeBackend = opts.backend;
  }

  get timelines(): Timelines | null {
    return this.#timelines;
  }

  get backend(): ContextBackend | null {
    return this.#backend;
  }

  /**
   * Serves requests until EOF or a fatal error, then frees everything.
   *
   * Scheduler: one thread per context, no ring threads. vkr gives every ring
   * a thread plus a monitor thread, and they share the context's object
   * table, reply streams and fatal flag under locks; here all of that is
   * plain single-threaded data, a ring step costs no thread wake-up or lock,
   * and the order between the context stream and the rings is the program
   * order of this loop. What the threads gave vkr for free — rings drained
   * while the socket is quiet, ALIVE while the socket is busy — the loop gets
   * by calling the backend's tick() before every wait for a message and
   * waiting for the socket only as long as tick() asks (ppoll with a
   * sub-millisecond timeout; no timeout when it has nothing pending, so an
   * idle context sleeps in the kernel like the reference worker). Fairness:
   * a tick is bounded (the backend's time slice, cut at command boundaries),
   * and after each tick at most one message is handled before the next tick,
   * so neither a flooding ring nor a flooding socket starves the other. The
   * price is that one long Vulkan call stalls everything of this context
   * (not other contexts: each has its own worker); blocking waits are
   * therefore made non-blocking in the backend (rings yield and are retried,
   * pollers watch fences).
   *
   * Hot path: a message already queued is read without a poll (one
   * recvmsg with MSG_DONTWAIT); with no backend work the read simply blocks.
   */
  run(): "eof" | "fatal" {
    let how: "eof" | "fatal" = "eof";
    try {
      setTimerSlack(1000); // ring back-off sleeps of 10 µs should not become 60 µs
    } catch { /* best effort */ }
    const waiter = new FdWait(this.socket.fd, POLLIN);
    let spins = 0;
    try {
      for (;;) {
        let delay = -1;
        if (this.#backend) {
          const d = this.#backend.tick(performance.now());
          if (d === false) {
            // the backend logged the error; this is the consequence
            this.log.debug(`ctx ${this.ctxId}: backend became fatal; ending context`);
            how = "fatal";
            break;
          }
          delay = d;
          // busy-polling a ring: yield, and look at the socket only every 4th poll
          if (d === 0 && this.#backend.spinning && (++spins & 3) !== 0) {
            schedYield();
            continue;
          }
        }
        let m: Received | null;
        if (delay < 0) {
          m = this.socket.recv(this.#buf, MAX_FDS_PER_MESSAGE);
        } else {
          const r = this.socket.tryRecv(this.#buf, MAX_FDS_PER_MESSAGE);
          if (r === "empty") {
            if (delay > 0) waiter.wait(delay);
            else schedYield(); // due at once: let a thread that is about to publish run first
            continue; // tick again (it is due, or a message is there)
          }
          m = r;
        }
        if (!m) {
          this.log.debug(`ctx ${this.ctxId}: context socket closed`);
          break;
        }
        if (!this.handle(m)) {
          how = "fatal";
          break;
        }
      }
    } catch (e) {
      this.log.error(`ctx ${this.ctxId}: ${e instanceof Error ? e.message : e}; ending context`);
      how = "fatal";
    }
    this.destroy();
    return how;
  }

  #fatal(op: string, why: string, fds: OwnedFd[] = []): false {
    for (const f of fds) f.close();
    this.log.error(`ctx ${this.ctxId}: ${op}: ${why}; ending context`);
    return false;
  }

  /** Handles one received message; false when the context must end. */
  handle(m: Received): boolean {
    this.stats.requests++;
    if (m.size < 4) return this.#fatal("request", `message of ${m.size} bytes`, m.fds);
    const op = this.#view.getUint32(0, true);
    const name = CONTEXT_OP_NAMES[op];
    if (name === undefined) return this.#fatal(`op ${op}`, "unknown op", m.fds);
    if (m.fdsTruncated) return this.#fatal(name, "more fds than a message may carry", m.fds);
    if (m.truncated || m.size !== CONTEXT_OP_SIZES[op]) {
      return this.#fatal(name, `size ${m.size}, expected ${CONTEXT_OP_SIZES[op]}`, m.fds);
    }
    const [minFds, maxFds] = CONTEXT_OP_FDS[op];
    if (m.fds.length < minFds || m.fds.length > maxFds) {
      return this.#fatal(name, `${m.fds.length} fds, expected ${minFds}..${maxFds}`, m.fds);
    }
    if (op === ContextOp.NOP) return true;
    if (op === ContextOp.INIT) return this.#init(m.fds);
    if (!this.#timelines) return this.#fatal(name, "context not initialized", m.fds);
    switch (op) {
      case ContextOp.CREATE_RESOURCE:
        return this.#createResource();
      case ContextOp.IMPORT_RESOURCE:
        return this.#importResource(m.fds[0]);
      case ContextOp.DESTROY_RESOURCE:
        return this.#destroyResource();
      case ContextOp.SUBMIT_CMD:
        return this.#submitCmd();
      default:
        return this.#submitFence();
    }
  }

  #init(fds: OwnedFd[]): boolean {
    if (this.#timelines) return this.#fatal("INIT", "second INIT", fds);
    const req = decodeContextInit(this.#view);
    if (
      (req.flags & ~CONTEXT_FLAG_CAPSET_ID_MASK) !== 0 || req.flags !== VIRGL_RENDERER_CAPSET_VENUS
    ) {
      return this.#fatal("INIT", `flags 0x${req.flags.toString(16)} are not the Venus capset`, fds);
    }
    const size = req.shmemSize;
    if (size < 4n || size > BigInt(MAX_SHMEM_SIZE) || size % 4n !== 0n) {
      return this.#fatal("INIT", `shmem size ${size} (want 4..${MAX_SHMEM_SIZE}, 4-aligned)`, fds);
    }
    const [shmemFd, eventFd] = fds;
    const sealErr = sealAgainstShrink(shmemFd.fd);
    if (sealErr) return this.#fatal("INIT", `shmem fd: ${sealErr}`, fds);
    if (fileSize(shmemFd.fd) < size) {
      return this.#fatal("INIT", `shmem fd is smaller than ${size} bytes`, fds);
    }
    if (eventFd && !isEventfd(eventFd.fd)) {
      return this.#fatal("INIT", `second fd is not an eventfd (${fdKind(eventFd.fd)})`, fds);
    }
    let mapping: Mapping;
    try {
      mapping = Mapping.map(shmemFd.fd, Number(size));
    } catch (e) {
      return this.#fatal("INIT", `cannot map shmem: ${(e as Error).message}`, fds);
    }
    this.#timelines = new Timelines(shmemFd, mapping, eventFd ?? null);
    this.#backend = this.#makeBackend({
      ctxId: this.ctxId,
      name: this.name,
      log: this.log,
      resources: this.resources,
      retire: (ring, seqno) => this.#timelines!.retire(ring, seqno),
      wait: (ms) => this.#waitHangup(ms),
    });
    this.log.debug(
      `ctx ${this.ctxId}: INIT, ${this.#timelines.count} timelines, eventfd ${
        eventFd ? "yes" : "no"
      }`,
    );
    return true;
  }

  #hangupWait: FdWait | null = null;

  /** Sleeps up to `ms` unless the socket hangs up meanwhile (BackendHost.wait); false on hang-up. */
  #waitHangup(ms: number): boolean {
    this.#hangupWait ??= new FdWait(this.socket.fd, 0); // only POLLHUP/POLLERR wake it
    return (this.#hangupWait.wait(ms) & (POLLHUP | POLLERR | POLLNVAL)) === 0;
  }

  #replyResource(fdType: number, mapInfo: number, fd?: number, vulkanInfo?: Uint8Array): boolean {
    const reply = encodeCreateResourceReply(fdType, mapInfo, vulkanInfo);
    if (!this.socket.send(reply, fd === undefined ? [] : [fd])) {
      this.log.debug(`ctx ${this.ctxId}: peer gone while replying to CREATE_RESOURCE`);
      return false;
    }
    return true;
  }

  #createResource(): boolean {
    const req = decodeCreateResource(this.#view);
    const fail = (why: string) => {
      this.log.warn(`ctx ${this.ctxId}: CREATE_RESOURCE res ${req.resId}: ${why}`);
      return this.#replyResource(FD_TYPE_INVALID, 0);
    };
    if (req.resId === 0) return fail("res_id 0 is invalid");
    if (req.blobSize === 0n) return fail("blob size 0");
    if (req.blobId !== 0n) {
      const dup = this.resources.refusal(req.resId);
      if (dup) return fail(dup);
      const blob = this.#backend!.exportBlob(req.resId, req.blobId, req.blobSize, req.blobFlags);
      if (!blob) return this.#replyResource(FD_TYPE_INVALID, 0);
      const fd = new OwnedFd(blob.fd);
      let mapping: Mapping | null = null;
      if (blob.fdType === FD_TYPE_SHM) {
        try {
          mapping = Mapping.map(fd.fd, Number(req.blobSize));
        } catch (e) {
          fd.close();
          return fail(`cannot map exported blob: ${(e as Error).message}`);
        }
      }
      this.resources.add({
        resId: req.resId,
        fdType: blob.fdType,
        size: Number(req.blobSize),
        fd,
        mapping,
      });
      return this.#replyResource(blob.fdType, blob.mapInfo, fd.fd, blob.vulkanInfo);
    }
    if (req.blobFlags !== BLOB_FLAG_USE_MAPPABLE) {
      return fail(`shm blob needs flags USE_MAPPABLE only, got 0x${req.blobFlags.toString(16)}`);
    }
    if (req.blobSize > BigInt(this.resources.limits.maxShmBytes)) {
      return fail(
        `blob size ${req.blobSize} exceeds the ${this.resources.limits.maxShmBytes}-byte limit`,
      );
    }
    const size = Number(req.blobSize);
    const refusal = this.resources.refusal(req.resId, size);
    if (refusal) return fail(refusal);
    let fd: OwnedFd | null = null;
    try {
      fd = new OwnedFd(memfdCreate("vesper-shmem", MFD_CLOEXEC | MFD_ALLOW_SEALING));
      ftruncate(fd.fd, size);
      fcntl(fd.fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW);
      const mapping = Mapping.map(fd.fd, size);
      this.resources.add({ resId: req.resId, fdType: FD_TYPE_SHM, size, fd, mapping });
    } catch (e) {
      fd?.close();
      return fail(`cannot create shm blob of ${size} bytes: ${(e as Error).message}`);
    }
    this.log.debug(
      `ctx ${this.ctxId}: CREATE_RESOURCE res ${req.resId}: shm blob of ${size} bytes`,
    );
    return this.#replyResource(FD_TYPE_SHM, MAP_CACHE_CACHED, fd.fd);
  }

  #importResource(fd: OwnedFd): boolean {
    const req = decodeImportResource(this.#view);
    const op = `IMPORT_RESOURCE res ${req.resId}`;
    if (req.resId === 0) return this.#fatal(op, "res_id 0 is invalid", [fd]);
    if (
      req.fdType !== FD_TYPE_SHM && req.fdType !== FD_TYPE_DMABUF && req.fdType !== FD_TYPE_OPAQUE
    ) {
      return this.#fatal(op, `fd type ${req.fdType} unknown`, [fd]);
    }
    if (req.size === 0n || req.size > BigInt(Number.MAX_SAFE_INTEGER)) {
      return this.#fatal(op, `size ${req.size}`, [fd]);
    }
    const size = Number(req.size);
    if (req.fdType !== FD_TYPE_SHM) {
      const refusal = this.resources.refusal(req.resId);
      if (refusal) return this.#fatal(op, refusal, [fd]);
      this.resources.add({ resId: req.resId, fdType: req.fdType, size, fd, mapping: null });
      return true;
    }
    const refusal = this.resources.refusal(req.resId, size);
    if (refusal) return this.#fatal(op, refusal, [fd]);
    const sealErr = sealAgainstShrink(fd.fd);
    if (sealErr) return this.#fatal(op, `shm fd: ${sealErr}`, [fd]);
    if (fcntl(fd.fd, F_GET_SEALS) & F_SEAL_WRITE) {
      return this.#fatal(op, "shm fd is write-sealed", [fd]);
    }
    if (fileSize(fd.fd) < req.size) {
      return this.#fatal(op, `shm fd is smaller than ${size} bytes`, [fd]);
    }
    let mapping: Mapping;
    try {
      mapping = Mapping.map(fd.fd, size);
    } catch (e) {
      return this.#fatal(op, `cannot map: ${(e as Error).message}`, [fd]);
    }
    this.resources.add({ resId: req.resId, fdType: FD_TYPE_SHM, size, fd, mapping });
    return true;
  }

  #destroyResource(): boolean {
    const resId = this.#view.getUint32(4, true);
    if (!this.resources.has(resId)) {
      this.log.warn(`ctx ${this.ctxId}: DESTROY_RESOURCE: unknown res ${resId}, ignored`);
      return true;
    }
    this.#backend!.resourceDestroyed(resId);
    this.resources.remove(resId);
    return true;
  }

  #submitCmd(): boolean {
    const size = this.#view.getUint32(4, true);
    if (size === 0) return true;
    let stream: Uint8Array;
    if (size <= SUBMIT_CMD_INLINE) {
      stream = this.#buf.subarray(8, 8 + size);
    } else {
      if (size > MAX_SUBMIT_CMD_SIZE) {
        return this.#fatal("SUBMIT_CMD", `size ${size} exceeds ${MAX_SUBMIT_CMD_SIZE}`);
      }
      if (this.#overflow.byteLength < size) {
        this.#overflow = new Uint8Array(
          new ArrayBuffer(Math.max(size, this.#overflow.byteLength * 2)),
        );
      }
      const whole = this.#overflow;
      whole.set(this.#buf.subarray(8, 8 + SUBMIT_CMD_INLINE));
      const rest = whole.subarray(SUBMIT_CMD_INLINE, size);
      const m = this.socket.recv(rest, MAX_FDS_PER_MESSAGE);
      if (!m) return this.#fatal("SUBMIT_CMD", "socket closed before the overflow message");
      if (m.fds.length > 0 || m.fdsTruncated) {
        return this.#fatal("SUBMIT_CMD", "fds attached to the overflow message", m.fds);
      }
      if (m.truncated || m.size !== size - SUBMIT_CMD_INLINE) {
        return this.#fatal(
          "SUBMIT_CMD",
          `overflow message of ${m.size} bytes, header promised ${size - SUBMIT_CMD_INLINE}`,
        );
      }
      stream = whole.subarray(0, size);
    }
    this.stats.submits++;
    this.stats.submitBytes += size;
    this.log.debug(`ctx ${this.ctxId}: SUBMIT_CMD of ${size} bytes`);
    if (!this.#backend!.submitCmd(stream)) {
      // the backend logged the error (command type and offset); this is the consequence
      this.log.debug(`ctx ${this.ctxId}: SUBMIT_CMD failed; ending context`);
      return false;
    }
    return true;
  }

  #submitFence(): boolean {
    const req = decodeSubmitFence(this.#view);
    const tl = this.#timelines!;
    if (req.ringIndex >= tl.count) {
      return this.#fatal("SUBMIT_FENCE", `ring index ${req.ringIndex} >= ${tl.count}`);
    }
    this.stats.fences++;
    if (req.ringIndex === 0) {
      tl.retire(0, req.seqno);
      return true;
    }
    if (!this.#backend!.submitFence(req.ringIndex, req.seqno, req.flags)) {
      return this.#fatal("SUBMIT_FENCE", `ring ${req.ringIndex} is not bound to a queue`);
    }
    return true;
  }

  /** Frees the backend, the resources, the timelines and the socket. Idempotent. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    try {
      // One line per context for the demo's stats (key=value; backend counters after "backend:").
      const kv = (o: Record<string, number>) =>
        Object.entries(o).map(([k, v]) => `${k}=${v}`).join(" ");
      this.log.info(
        `ctx ${this.ctxId} "${this.name}": ended: ${kv({ ...this.stats })}; backend: ${
          this.#backend ? kv(this.#backend.stats()) : "none"
        }`,
      );
    } catch { /* stats are best effort */ }
    try {
      this.#backend?.destroy();
    } catch (e) {
      this.log.error(`ctx ${this.ctxId}: backend teardown: ${(e as Error).message}`);
    }
    this.resources.clear();
    this.#timelines?.close();
    this.socket.close();
  }
}
