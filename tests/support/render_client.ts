/**
 * A protocol-level render client: plays the role of libvirglrenderer's proxy
 * against any render server binary (Vesper through bin/vesper, or the C
 * reference server in the trixie chroot), over a real SOCK_SEQPACKET socket
 * with real memfds and eventfds.
 */
import { OwnedFd } from "../../ffi/fd.ts";
import * as L from "../../ffi/libc.ts";
import { Mapping } from "../../ffi/mmap.ts";
import { type Received, SeqpacketSocket } from "../../ffi/socket.ts";
import { spawnWithFd } from "../../ffi/spawn.ts";
import * as P from "../../src/render/protocol.ts";

import { REPO } from "../../src/harness/chroot.ts";
export { REPO };
import { sleep } from "../../src/harness/vtest.ts";
export { sleep, waitFor } from "../../src/harness/vtest.ts";
export const VESPER = `${REPO}/bin/vesper`;

/** vkEnumerateInstanceVersion without a reply: a harmless 16-byte Venus command. */
export const HARMLESS_CMD = new Uint8Array([
  0x89,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  1,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
]);

export function harmlessStream(count: number): Uint8Array {
  const s = new Uint8Array(HARMLESS_CMD.byteLength * count);
  for (let i = 0; i < count; i++) s.set(HARMLESS_CMD, i * HARMLESS_CMD.byteLength);
  return s;
}

export interface ServerSpec {
  name: string;
  /** argv up to (not including) `--socket-fd N` */
  argv: string[];
  env?: Record<string, string>;
  /** child processes the server keeps besides one per context (Vesper's spare worker) */
  spares?: number;
}

/**
 * The tests' `--spare-delay` (ms): shorter than the default so that a test
 * that waits for the spare after a context (settled) does not wait seconds.
 */
export const TEST_SPARE_DELAY_MS = 200;

/** A Vesper server; `spareDelay` null: the default `--spare-delay`. */
export function vesperSpec(
  mode: "process" | "thread",
  logLevel = "debug",
  spareDelay: number | null = TEST_SPARE_DELAY_MS,
): ServerSpec {
  return {
    name: `vesper-${mode}`,
    argv: [
      VESPER,
      `--worker=${mode}`,
      `--log-level=${logLevel}`,
      ...(spareDelay === null ? [] : [`--spare-delay=${spareDelay}`]),
    ],
    spares: mode === "process" ? 1 : 0,
  };
}

/** Direct children of `pid` (from /proc). */
export function childPids(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const t of Deno.readDirSync(`/proc/${pid}/task`)) {
      const c = Deno.readTextFileSync(`/proc/${pid}/task/${t.name}/children`).trim();
      if (c) out.push(...c.split(/\s+/).map(Number));
    }
  } catch { /* process gone */ }
  return out;
}

export function fdCount(pid: number): number {
  try {
    return [...Deno.readDirSync(`/proc/${pid}/fd`)].length;
  } catch {
    return -1;
  }
}

/**
 * Waits until a Vesper server has settled after a context was created: the
 * spare it starts TEST_SPARE_DELAY_MS later has loaded (slower with a cold
 * code cache, as in a fresh CI clone), i.e. the server's fd count and its
 * number of worker processes held still for 300 ms (at most 5 s more).
 */
export async function settled(c: RenderClient): Promise<void> {
  await sleep(TEST_SPARE_DELAY_MS + 100);
  const end = Date.now() + 5000;
  let last = "", same = 0;
  while (Date.now() < end && same < 3) {
    const now = `${fdCount(c.pid)}/${c.workers().length}`;
    same = now === last ? same + 1 : 0;
    last = now;
    await sleep(100);
  }
}

/** What the open fds of `pid` point to ("socket:[123]", "/memfd:vesper-memory (deleted)", …). */
export function fdTargets(pid: number): string[] {
  const out: string[] = [];
  try {
    for (const e of Deno.readDirSync(`/proc/${pid}/fd`)) {
      try {
        out.push(Deno.readLinkSync(`/proc/${pid}/fd/${e.name}`));
      } catch { /* closed meanwhile */ }
    }
  } catch { /* gone */ }
  return out;
}

/** Shared-memory mappings of a process (memfd-backed). */
export function memfdMappings(pid: number): number {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/maps`).split("\n").filter((l) =>
      l.includes("/memfd:")
    )
      .length;
  } catch {
    return -1;
  }
}

export function isAlive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return !/^\d+ \(.*\) [ZX]/.test(stat);
  } catch {
    return false;
  }
}

export class RenderClient {
  readonly socket: SeqpacketSocket;
  readonly pid: number;
  readonly logPath: string;
  #pidfd: OwnedFd;
  #status: L.ExitStatus | null = null;
  #buf = new Uint8Array(new ArrayBuffer(64));

  private constructor(socket: SeqpacketSocket, pid: number, logPath: string) {
    this.socket = socket;
    this.pid = pid;
    this.logPath = logPath;
    this.#pidfd = new OwnedFd(L.pidfdOpen(pid));
  }

  /** Starts a server on a fresh socketpair; its stdout/stderr go to a log file. */
  static start(spec: ServerSpec): RenderClient {
    const [mine, theirs] = L.socketpair(L.SOCK_SEQPACKET | L.SOCK_CLOEXEC);
    const logPath = Deno.makeTempFileSync({ prefix: `${spec.name}-`, suffix: ".log" });
    const opened = L.open(logPath, L.O_WRONLY | L.O_TRUNC | L.O_CLOEXEC);
    const logFd = L.dupCloexec(opened, 100); // well above the fd numbers spawn dup2s onto
    L.close(opened);
    try {
      const env = { ...Deno.env.toObject(), ...(spec.env ?? {}) };
      const pid = spawnWithFd([...spec.argv, "--socket-fd", "3"], {
        fd: theirs,
        targetFd: 3,
        output: logFd,
        env,
      });
      return new RenderClient(new SeqpacketSocket(mine), pid, logPath);
    } finally {
      L.close(theirs);
      L.close(logFd);
    }
  }

  #finalLog: string | null = null;

  /** The server's log (kept in memory once {@link kill} removed its file). */
  log(): string {
    return this.#finalLog ?? Deno.readTextFileSync(this.logPath);
  }

  send(msg: Uint8Array, fds: number[] = []): boolean {
    return this.socket.send(msg, fds);
  }

  nop(): void {
    this.send(P.encodeClientNop());
  }

  init(flags = P.VIRGL_RENDERER_VENUS | P.VIRGL_RENDERER_NO_VIRGL | 0x200): void {
    this.send(P.encodeClientInit(flags));
  }

  reset(): void {
    this.send(P.encodeClientReset());
  }

  /** Reads the 1-byte CREATE_CONTEXT reply (blocking). */
  readCreateReply(): { ok: boolean; fds: OwnedFd[]; size: number } {
    const r = this.socket.recv(this.#buf, 8);
    if (!r) throw new Error("server closed the client socket");
    return { ok: this.#buf[0] === 1, fds: r.fds, size: r.size };
  }

  /** CREATE_CONTEXT; the context client, or null when the server said ok=0. */
  createContext(ctxId: number, name = `ctx${ctxId}`): ContextClient | null {
    this.send(P.encodeCreateContext(ctxId, name));
    const r = this.readCreateReply();
    if (r.size !== 1) throw new Error(`CREATE_CONTEXT reply of ${r.size} bytes`);
    if (!r.ok) {
      if (r.fds.length) throw new Error("ok=0 with an fd");
      return null;
    }
    if (r.fds.length !== 1) throw new Error(`ok=1 with ${r.fds.length} fds`);
    return new ContextClient(new SeqpacketSocket(r.fds[0]), ctxId);
  }

  destroyContext(ctxId: number): void {
    this.send(P.encodeDestroyContext(ctxId));
  }

  /** Worker processes of this server. */
  workers(): number[] {
    return childPids(this.pid);
  }

  get exited(): boolean {
    return this.#status !== null;
  }

  /** Waits for the server to exit (after `close`); null on timeout. */
  async waitExit(timeoutMs = 10000): Promise<L.ExitStatus | null> {
    if (this.#status) return this.#status;
    const fds: L.PollFd[] = [{ fd: this.#pidfd.fd, events: L.POLLIN }];
    if (await L.pollAsync(fds, timeoutMs) === 0) return null;
    this.#status = L.waitpid(this.pid);
    this.#pidfd.close();
    return this.#status;
  }

  /** Closes the client socket (the hypervisor goes away) and waits for the exit. */
  async close(timeoutMs = 10000): Promise<L.ExitStatus | null> {
    this.socket.close();
    return await this.waitExit(timeoutMs);
  }

  /**
   * Ends the server and its workers if still there (the last resort for a
   * test that failed midway; every test calls it last) and removes the log
   * file.
   */
  async kill(): Promise<void> {
    if (!this.#status) {
      const workers = this.workers();
      L.kill(this.pid, L.SIGKILL);
      for (const w of workers) L.kill(w, L.SIGKILL);
      await this.waitExit(5000);
      if (!this.socket.handle.closed) this.socket.close();
    }
    if (this.#finalLog === null) {
      this.#finalLog = this.log();
      Deno.removeSync(this.logPath);
    }
  }
}

export interface ShmemOptions {
  size?: number;
  eventfd?: boolean;
  seal?: boolean;
}

/** The proxy side of one context: its socket, shmem timelines and eventfd. */
export class ContextClient {
  shmemFd: OwnedFd | null = null;
  shmem: Mapping | null = null;
  eventFd: OwnedFd | null = null;
  #buf = new Uint8Array(new ArrayBuffer(128));

  constructor(readonly socket: SeqpacketSocket, readonly ctxId: number) {}

  get fd(): number {
    return this.socket.fd;
  }

  send(msg: Uint8Array, fds: number[] = []): boolean {
    return this.socket.send(msg, fds);
  }

  /** Context INIT with a sealed memfd shmem and (by default) an eventfd, like the proxy. */
  init(opts: ShmemOptions = {}): void {
    const size = opts.size ?? 256;
    this.shmemFd = new OwnedFd(L.memfdCreate("proxy-ctx", L.MFD_CLOEXEC | L.MFD_ALLOW_SEALING));
    L.ftruncate(this.shmemFd.fd, size);
    if (opts.seal ?? true) {
      L.fcntl(this.shmemFd.fd, L.F_ADD_SEALS, L.F_SEAL_SEAL | L.F_SEAL_SHRINK | L.F_SEAL_GROW);
    }
    this.shmem = Mapping.map(this.shmemFd.fd, size);
    const fds = [this.shmemFd.fd];
    if (opts.eventfd ?? true) {
      this.eventFd = new OwnedFd(L.eventfd(0, L.EFD_CLOEXEC | L.EFD_NONBLOCK));
      fds.push(this.eventFd.fd);
    }
    this.send(P.encodeContextInit(P.VIRGL_RENDERER_CAPSET_VENUS, size), fds);
  }

  createResource(
    req: P.CreateResourceRequest,
  ): { fdType: number; mapInfo: number; fd: OwnedFd | null; size: number } {
    this.send(P.encodeCreateResource(req));
    const r = this.socket.recv(this.#buf, 8);
    if (!r) throw new Error("context socket closed");
    const { fdType, mapInfo } = P.decodeCreateResourceReply(this.#buf.subarray(0, r.size));
    if (r.fds.length > 1) throw new Error("more than one fd in the reply");
    return { fdType, mapInfo, fd: r.fds[0] ?? null, size: r.size };
  }

  importResource(resId: number, fdType: number, size: bigint, fd: number): void {
    this.send(P.encodeImportResource({ resId, fdType, size }), [fd]);
  }

  destroyResource(resId: number): void {
    this.send(P.encodeDestroyResource(resId));
  }

  submitCmd(stream: Uint8Array): boolean {
    return P.encodeSubmitCmd(stream).every((m) => this.send(m));
  }

  submitFence(ringIndex: number, seqno: number, flags = 0): boolean {
    return this.send(P.encodeSubmitFence({ flags, ringIndex, seqno }));
  }

  seqno(ring: number): number {
    // whole-word load: Vesper stores it while we read (a DataView may read bytewise)
    return Atomics.load(new Uint32Array(this.shmem!.buffer, ring * 4, 1), 0);
  }

  /** Waits for timeline `ring` to reach `seqno` (eventfd + shmem); false on timeout. */
  async waitSeqno(ring: number, seqno: number, timeoutMs = 5000): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    while (((this.seqno(ring) - seqno) | 0) < 0) {
      const left = end - Date.now();
      if (left <= 0) return false;
      if (this.eventFd) {
        await L.pollAsync([{ fd: this.eventFd.fd, events: L.POLLIN }], Math.min(left, 100));
        L.eventfdRead(this.eventFd.fd);
      } else {
        await sleep(1);
      }
    }
    return true;
  }

  /** Fence round trip on the CPU timeline: proves the worker processed everything before it. */
  async roundTrip(seqno: number, timeoutMs = 10000): Promise<boolean> {
    if (!this.submitFence(0, seqno)) return false;
    return await this.waitSeqno(0, seqno, timeoutMs);
  }

  /** True once the worker closed its end (EOF or error on our socket). */
  async waitClosed(timeoutMs = 5000): Promise<boolean> {
    const fds: L.PollFd[] = [{ fd: this.fd, events: L.POLLIN }];
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      if (await L.pollAsync(fds, Math.max(1, end - Date.now())) > 0) {
        if (fds[0].revents! & (L.POLLHUP | L.POLLERR)) return true;
        // drain unexpected data
        const r: Received | null | "empty" = this.socket.tryRecv(this.#buf);
        if (r === null) return true;
        if (r !== "empty") r.fds.forEach((f) => f.close());
      }
    }
    return false;
  }

  close(): void {
    this.socket.close();
    this.shmem?.unmap();
    this.shmemFd?.close();
    this.eventFd?.close();
  }
}
