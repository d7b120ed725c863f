/**
 * The vhost-user-gpu back-end: serves the vhost-user socket of one
 * front-end (QEMU), runs the control and cursor virtqueues against the
 * virtio-gpu 2D device, and talks to QEMU's display over the GPU socket.
 *
 * Event loop: one blocking poll(2) over the vhost-user socket, the GPU
 * socket and the kick eventfds, in the back-end's own process. This process
 * has nothing else to do, so blocking is free, and a kick is handled on the
 * very thread that wakes up: no hop through a helper thread and the JS
 * event loop as `pollAsync` would add to every kick→UPDATE. Everything runs
 * synchronously from there (FFI calls are synchronous), and replies QEMU
 * must give over the GPU socket are awaited by pausing the control queue,
 * never by blocking, because QEMU may at that moment be blocked waiting for
 * a vhost-user reply from us. Tests drive the same loop step by step with
 * `pollOnce(0)`.
 */
import type { OwnedFd } from "../../ffi/fd.ts";
import { eventfdRead, eventfdWrite, poll, type PollFd, POLLIN, POLLOUT } from "../../ffi/libc.ts";
import type { StreamSocket } from "../../ffi/unix_socket.ts";
import type { Logger } from "../log.ts";
import { DEFAULT_LIMITS, type DeviceLimits, Gpu2D } from "./device.ts";
import { GuestMemory, type RegionDesc } from "./guest_memory.ts";
import { GpuSocket } from "./gpu_socket.ts";
import * as G from "./virtio_gpu.ts";
import {
  type Chain,
  ChainError,
  gather,
  MAX_QUEUE_SIZE,
  RingError,
  scatter,
  SplitQueue,
} from "./virtqueue.ts";
import * as V from "./vhost_user.ts";

export const CTRL_QUEUE = 0;
export const CURSOR_QUEUE = 1;
const NUM_QUEUES = 2;
/** Largest request read from a chain: ATTACH_BACKING with the most entries allowed. */
const MAX_REQUEST = 32 + 16384 * G.MEM_ENTRY_SIZE;

export interface BackendOptions {
  numScanouts?: number;
  limits?: DeviceLimits;
  /** offer CONFIGURE_MEM_SLOTS (ADD/REM_MEM_REG) besides SET_MEM_TABLE (default true) */
  memSlots?: boolean;
}

class QueueState {
  kick: OwnedFd | null = null;
  call: OwnedFd | null = null;
  err: OwnedFd | null = null;
  enabled = false;
  constructor(readonly vq: SplitQueue) {}
}

const bit = (n: number) => 1n << BigInt(n);

export class VhostUserGpuBackend {
  readonly mem = new GuestMemory();
  readonly device: Gpu2D;
  readonly queues: QueueState[] = [];
  readonly offeredFeatures = bit(G.VIRTIO_GPU_F_EDID) | bit(G.VIRTIO_F_VERSION_1) |
    bit(V.F_PROTOCOL_FEATURES) | bit(G.VIRTIO_RING_F_INDIRECT_DESC) |
    bit(G.VIRTIO_RING_F_EVENT_IDX);
  readonly offeredProtocol: bigint;
  features = 0n;
  protocolFeatures = 0n;
  gpu: GpuSocket | null = null;
  /** a control command waiting for QEMU's answer */
  #inflight: Chain | null = null;
  #closed = false;
  #req = new Uint8Array(new ArrayBuffer(MAX_REQUEST));
  #cursorReq = new Uint8Array(new ArrayBuffer(G.HDR_SIZE + 32));

  constructor(readonly sock: StreamSocket, readonly log: Logger, opts: BackendOptions = {}) {
    this.device = new Gpu2D(this.mem, log, opts.numScanouts ?? 1, opts.limits ?? DEFAULT_LIMITS);
    for (let i = 0; i < NUM_QUEUES; i++) {
      this.queues.push(new QueueState(new SplitQueue(i, this.mem)));
    }
    this.offeredProtocol = bit(V.PROTOCOL_F_REPLY_ACK) | bit(V.PROTOCOL_F_CONFIG) |
      bit(V.PROTOCOL_F_RESET_DEVICE) |
      ((opts.memSlots ?? true) ? bit(V.PROTOCOL_F_CONFIGURE_MEM_SLOTS) : 0n);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Serves until the front-end disconnects. */
  run(): void {
    while (this.pollOnce(-1));
  }

  /** Waits up to `timeoutMs` (-1: forever) and handles what is ready; false once closed. */
  pollOnce(timeoutMs: number): boolean {
    if (this.#closed) return false;
    const fds: PollFd[] = [{ fd: this.sock.fd, events: POLLIN }];
    const gpu = this.gpu && !this.gpu.closed ? this.gpu : null;
    if (gpu) fds.push({ fd: gpu.fd, events: POLLIN | (gpu.backlog > 0 ? POLLOUT : 0) });
    const kicks: number[] = [];
    for (let i = 0; i < NUM_QUEUES; i++) {
      const q = this.queues[i];
      if (q.kick && this.#runnable(i) && !this.#paused(i)) {
        fds.push({ fd: q.kick.fd, events: POLLIN });
        kicks.push(i);
      }
    }
    const n = poll(fds, timeoutMs);
    if (n === 0) return true;
    this.device.kickTime = performance.now();
    let k = gpu ? 2 : 1;
    for (const qi of kicks) {
      const p = fds[k++];
      if (p.revents) {
        const q = this.queues[qi];
        if (q.kick) eventfdRead(q.kick.fd);
        this.#process(qi);
      }
    }
    if (gpu && fds[1].revents) {
      if (fds[1].revents & POLLOUT) gpu.onWritable();
      if (fds[1].revents & ~POLLOUT) gpu.onReadable();
      if (!gpu.backlogged) this.#process(CURSOR_QUEUE);
      if (gpu.closed) this.log.debug("gpu socket closed");
      this.#process(CTRL_QUEUE); // a reply or the end of the handshake may unpause it
    }
    if (fds[0].revents) this.#onVhostReadable();
    return !this.#closed;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.gpu?.close();
    for (const q of this.queues) {
      q.kick?.close();
      q.call?.close();
      q.err?.close();
      q.kick = q.call = q.err = null;
    }
    this.mem.clear();
    this.sock.close();
  }

  // ---- virtqueues ---------------------------------------------------------------

  #runnable(qi: number): boolean {
    const q = this.queues[qi];
    const needEnable = (this.features & bit(V.F_PROTOCOL_FEATURES)) !== 0n;
    return q.kick !== null && (q.enabled || !needEnable) && q.vq.ready;
  }

  /** The queue waits: for QEMU's answer (control queue) or for the display backlog to drain. */
  #paused(qi: number): boolean {
    const g = this.gpu !== null && !this.gpu.closed ? this.gpu : null;
    if (g?.backlogged) return true;
    return qi === CTRL_QUEUE && (this.#inflight !== null || (g !== null && g.busy));
  }

  #notify(qi: number): void {
    const q = this.queues[qi];
    if (q.call && q.vq.needsNotify()) eventfdWrite(q.call.fd);
  }

  #process(qi: number): void {
    if (this.#closed || !this.#runnable(qi)) return;
    const q = this.queues[qi];
    let used = false;
    try {
      for (;;) {
        if (this.#paused(qi)) break;
        let chain: Chain | null;
        try {
          chain = q.vq.pop();
        } catch (e) {
          if (!(e instanceof ChainError)) throw e;
          this.log.warn(`queue ${qi}: bad descriptor chain (head ${e.head}): ${e.message}`);
          q.vq.push(e.head, 0);
          used = true;
          continue;
        }
        if (chain === null) {
          if (q.vq.enableNotifications()) continue;
          break;
        }
        used = true;
        if (qi === CURSOR_QUEUE) {
          const n = gather(chain.readable, this.#cursorReq);
          this.device.executeCursor(this.#cursorReq.subarray(0, n));
          q.vq.push(chain.head, 0);
        } else {
          this.#executeCtrl(chain);
        }
      }
    } catch (e) {
      if (!(e instanceof RingError)) throw e;
      this.log.error(`${e.message}; queue stopped until it is set up again`);
    }
    if (used) this.#notify(qi);
  }

  #executeCtrl(chain: Chain): void {
    const n = gather(chain.readable, this.#req);
    if (chain.readableLen > n) {
      this.log.warn(`ctrl: request of ${chain.readableLen} bytes cut to ${n}`);
    }
    let sync = true;
    this.device.execute(this.#req.subarray(0, n), (resp) => {
      const w = scatter(resp, chain.writable);
      if (w < resp.byteLength) {
        this.log.warn(
          `ctrl: response of ${resp.byteLength} bytes cut to ${w} (writable buffers too small)`,
        );
      }
      const q = this.queues[CTRL_QUEUE];
      q.vq.push(chain.head, w);
      if (!sync) {
        // Completed later (QEMU answered): release the queue and carry on.
        this.#inflight = null;
        this.#notify(CTRL_QUEUE);
      }
    });
    sync = false;
    // Still unanswered: hold the queue until the reply arrives.
    if (this.#inflight === null && this.gpu?.busy) this.#inflight = chain;
  }

  // ---- vhost-user messages ---------------------------------------------------------

  #onVhostReadable(): void {
    let msg: V.Message | null;
    try {
      msg = V.readMessage(this.sock);
    } catch (e) {
      this.log.error(`vhost-user: ${(e as Error).message}; disconnecting`);
      return this.close();
    }
    if (!msg) {
      this.log.info("vhost-user: front-end disconnected");
      return this.close();
    }
    const ackWanted = (msg.flags & V.FLAG_NEED_REPLY) !== 0 &&
      (this.protocolFeatures & bit(V.PROTOCOL_F_REPLY_ACK)) !== 0n;
    let ok = true;
    let replied = false;
    try {
      replied = this.#handle(msg);
    } catch (e) {
      ok = false;
      this.log.error(`vhost-user: ${V.requestName(msg.request)}: ${(e as Error).message}`);
    } finally {
      msg.fds.forEach((f) => f.close()); // every fd a handler kept was taken out of the list
    }
    if (ackWanted && !replied) V.sendReply(this.sock, msg.request, V.u64Payload(ok ? 0n : 1n));
  }

  #reply(req: number, payload: Uint8Array): true {
    V.sendReply(this.sock, req, payload);
    return true;
  }

  #need(msg: V.Message, size: number): void {
    if (msg.payload.byteLength < size) {
      throw new Error(`payload of ${msg.payload.byteLength} bytes, needs ${size}`);
    }
  }

  #queue(index: number): QueueState {
    if (index >= NUM_QUEUES) throw new Error(`queue ${index} does not exist`);
    return this.queues[index];
  }

  /** One fd for a vring from the u64 payload (index, no-fd bit). */
  #vringFd(msg: V.Message): [QueueState, OwnedFd | null] {
    this.#need(msg, 8);
    const v = Number(msg.view.getBigUint64(0, true) & 0x1ffn);
    const q = this.#queue(v & V.VRING_IDX_MASK);
    if (v & V.VRING_NOFD_MASK) return [q, null];
    const fd = msg.fds.shift();
    if (!fd) throw new Error("no fd attached");
    return [q, fd];
  }

  #region(dv: DataView, off: number): RegionDesc {
    const f = (o: number) => {
      const v = dv.getBigUint64(off + o, true);
      if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
        throw new Error(`region field 0x${v.toString(16)} too large`);
      }
      return Number(v);
    };
    return { gpa: f(0), size: f(8), uva: f(16), mmapOffset: f(24) };
  }

  /** Handles one message; true when it sent its own reply. */
  #handle(msg: V.Message): boolean {
    const dv = msg.view;
    const R = V.REQ;
    this.log.debug(
      `vhost-user: ${
        V.requestName(msg.request)
      } (${msg.payload.byteLength} bytes, ${msg.fds.length} fds)`,
    );
    switch (msg.request) {
      case R.GET_FEATURES:
        return this.#reply(msg.request, V.u64Payload(this.offeredFeatures));
      case R.SET_FEATURES: {
        this.#need(msg, 8);
        this.features = dv.getBigUint64(0, true);
        const extra = this.features & ~this.offeredFeatures;
        if (extra) {
          this.log.debug(`vhost-user: front-end set unoffered features 0x${extra.toString(16)}`);
        }
        for (const q of this.queues) {
          q.vq.eventIdx = (this.features & bit(G.VIRTIO_RING_F_EVENT_IDX)) !== 0n;
          q.vq.indirect = (this.features & bit(G.VIRTIO_RING_F_INDIRECT_DESC)) !== 0n;
        }
        return false;
      }
      case R.GET_PROTOCOL_FEATURES:
        return this.#reply(msg.request, V.u64Payload(this.offeredProtocol));
      case R.SET_PROTOCOL_FEATURES:
        this.#need(msg, 8);
        this.protocolFeatures = dv.getBigUint64(0, true) & this.offeredProtocol;
        return false;
      case R.SET_OWNER:
        return false;
      case R.RESET_OWNER:
      case R.RESET_DEVICE:
        this.#reset();
        return false;
      case R.GET_QUEUE_NUM:
        return this.#reply(msg.request, V.u64Payload(BigInt(NUM_QUEUES)));
      case R.GET_MAX_MEM_SLOTS:
        return this.#reply(msg.request, V.u64Payload(BigInt(this.mem.maxRegions)));
      case R.SET_MEM_TABLE: {
        this.#need(msg, 8);
        const n = dv.getUint32(0, true);
        if (n === 0 || n > V.MAX_TABLE_REGIONS) throw new Error(`${n} regions`);
        this.#need(msg, 8 + 32 * n);
        if (msg.fds.length !== n) throw new Error(`${n} regions but ${msg.fds.length} fds`);
        this.mem.clear();
        for (let i = 0; i < n; i++) this.mem.add(this.#region(dv, 8 + 32 * i), msg.fds.shift()!);
        this.log.debug(`vhost-user: memory table of ${n} regions`);
        return false;
      }
      case R.ADD_MEM_REG: {
        this.#need(msg, 40);
        const fd = msg.fds.shift();
        if (!fd) throw new Error("no fd attached");
        this.mem.add(this.#region(dv, 8), fd);
        return false;
      }
      case R.REM_MEM_REG: {
        this.#need(msg, 40);
        const d = this.#region(dv, 8);
        if (!this.mem.remove(d)) {
          throw new Error(`no region at gpa 0x${d.gpa.toString(16)} size ${d.size}`);
        }
        return false;
      }
      case R.SET_VRING_NUM: {
        this.#need(msg, 8);
        const q = this.#queue(dv.getUint32(0, true));
        const num = dv.getUint32(4, true);
        if (num === 0 || num > MAX_QUEUE_SIZE) throw new Error(`queue size ${num}`);
        q.vq.num = num;
        return false;
      }
      case R.SET_VRING_BASE: {
        this.#need(msg, 8);
        const q = this.#queue(dv.getUint32(0, true));
        q.vq.lastAvail = dv.getUint32(4, true) & 0xffff;
        return false;
      }
      case R.SET_VRING_ADDR: {
        this.#need(msg, 40);
        const q = this.#queue(dv.getUint32(0, true));
        const f = (o: number) => Number(dv.getBigUint64(o, true) & 0x1fffffffffffffn);
        const ok = q.vq.setAddrs({ desc: f(8), used: f(16), avail: f(24) });
        if (!ok) {
          throw new Error(
            `ring addresses of queue ${q.vq.index} are outside guest memory or misaligned`,
          );
        }
        if (
          q.vq.index === CTRL_QUEUE && q.vq.lastAvail === 0 && q.vq.usedIdx === 0 &&
          this.device.resources.size > 0
        ) {
          // A control ring starting from scratch is a new driver (guest reboot or
          // reset), not a resumed one: its resource ids start over, so ours go.
          this.log.info(
            `vhost-user: fresh control ring: dropping ${this.device.resources.size} resources of the previous driver`,
          );
          this.device.reset();
        }
        return false;
      }
      case R.GET_VRING_BASE: {
        this.#need(msg, 8);
        const qi = dv.getUint32(0, true);
        const q = this.#queue(qi);
        if (qi === CTRL_QUEUE && this.#inflight) {
          // Stopping while QEMU owes us an answer: finish the command without it.
          this.gpu?.close();
        }
        q.kick?.close();
        q.kick = null;
        q.enabled = false;
        const p = new Uint8Array(new ArrayBuffer(8));
        const pv = new DataView(p.buffer);
        pv.setUint32(0, qi, true);
        pv.setUint32(4, q.vq.lastAvail, true);
        return this.#reply(msg.request, p);
      }
      case R.SET_VRING_KICK: {
        const [q, fd] = this.#vringFd(msg);
        q.kick?.close();
        q.kick = fd;
        if (!fd) this.log.warn(`queue ${q.vq.index}: polling mode (no kick fd) is not supported`);
        this.#process(q.vq.index);
        return false;
      }
      case R.SET_VRING_CALL: {
        const [q, fd] = this.#vringFd(msg);
        q.call?.close();
        q.call = fd;
        return false;
      }
      case R.SET_VRING_ERR: {
        const [q, fd] = this.#vringFd(msg);
        q.err?.close();
        q.err = fd;
        return false;
      }
      case R.SET_VRING_ENABLE: {
        this.#need(msg, 8);
        const q = this.#queue(dv.getUint32(0, true));
        q.enabled = dv.getUint32(4, true) !== 0;
        if (q.enabled) this.#process(q.vq.index);
        return false;
      }
      case R.GET_CONFIG: {
        this.#need(msg, 12);
        const off = dv.getUint32(0, true);
        const size = dv.getUint32(4, true);
        if (msg.payload.byteLength < 12 + size) {
          throw new Error(`config payload shorter than ${size}`);
        }
        const cfg = new Uint8Array(new ArrayBuffer(G.CONFIG_SIZE));
        new DataView(cfg.buffer).setUint32(8, this.device.numScanouts, true); // num_scanouts
        const out = msg.payload.slice(0, 12 + size);
        out.fill(0, 12);
        if (off < G.CONFIG_SIZE) {
          out.set(cfg.subarray(off, Math.min(G.CONFIG_SIZE, off + size)), 12);
        }
        return this.#reply(msg.request, out);
      }
      case R.SET_CONFIG:
        return false; // events_clear is QEMU's business; nothing here is writable
      case R.GPU_SET_SOCKET: {
        const fd = msg.fds.shift();
        if (!fd) throw new Error("no fd attached");
        this.gpu?.close();
        this.#inflight = null;
        const g = new GpuSocket(fd, this.log);
        g.observer = (request, payload, pixelBytes) => {
          const obs = this.device.observer;
          if (!obs) return;
          const dv = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
          const words: number[] = [];
          for (let o = 0; o + 4 <= Math.min(20, payload.byteLength); o += 4) {
            words.push(dv.getUint32(o, true));
          }
          obs({ kind: "sent", request, words, pixelBytes });
        };
        this.gpu = g;
        this.device.display = g;
        for (const s of this.device.scanouts) s.shownW = s.shownH = 0; // a new display has no surface
        g.start();
        return false;
      }
      case R.SET_BACKEND_REQ_FD:
      case R.SET_LOG_FD:
        return false; // fds are closed by the caller: we use neither
      default:
        throw new Error("unsupported request");
    }
  }

  #reset(): void {
    this.gpu?.close();
    this.gpu = null;
    this.device.display = null;
    this.#inflight = null;
    for (const q of this.queues) {
      q.kick?.close();
      q.kick = null;
      q.enabled = false;
      q.vq.lastAvail = 0;
      q.vq.addrs = null;
    }
    this.device.reset();
  }
}
