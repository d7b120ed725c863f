/**
 * A front-end double: plays QEMU (and the guest driver behind it) towards a
 * vhost-user-gpu back-end, over real sockets, eventfds and memfd guest RAM.
 *
 * It owns the guest memory (one memfd region, mapped here too), writes
 * descriptor chains into the split rings, kicks, collects used entries and
 * serves the GPU socket the way QEMU does (protocol features, display info,
 * EDID; SCANOUT/UPDATE/cursor messages are recorded and UPDATEs composited
 * into a surface per scanout, so tests can compare "what QEMU shows").
 *
 * The back-end either runs in this process (then `pump` steps it with
 * `pollOnce(0)`), or in another process (then waits use poll with timeouts).
 */
import { OwnedFd } from "../../../ffi/fd.ts";
import * as L from "../../../ffi/libc.ts";
import { Mapping } from "../../../ffi/mmap.ts";
import { StreamSocket } from "../../../ffi/unix_socket.ts";
import * as G from "../../../src/gpu2d/virtio_gpu.ts";
import * as V from "../../../src/gpu2d/vhost_user.ts";

export const GPU_MSG = {
  GET_PROTOCOL_FEATURES: 1,
  SET_PROTOCOL_FEATURES: 2,
  GET_DISPLAY_INFO: 3,
  CURSOR_POS: 4,
  CURSOR_POS_HIDE: 5,
  CURSOR_UPDATE: 6,
  SCANOUT: 7,
  UPDATE: 8,
  GET_EDID: 11,
} as const;

export interface GpuMessage {
  request: number;
  /** first bytes of the payload (UPDATE: the 20-byte rect header; cursor: 20 bytes) */
  head: Uint8Array;
  size: number;
  /** for UPDATE: the rect */
  rect?: G.Rect;
  scanout?: number;
  recvTime: number;
}

export interface FrontendOptions {
  memSize?: number;
  /** memory by ADD_MEM_REG (true) or SET_MEM_TABLE (false) */
  memSlots?: boolean;
  eventIdx?: boolean;
  indirect?: boolean;
  ctrlSize?: number;
  cursorSize?: number;
  display?: { w: number; h: number };
  /** steps an in-process back-end */
  pump?: () => void;
}

const PAGE = 4096;
const bit = (n: number) => 1n << BigInt(n);

class DriverQueue {
  freeHead: number[] = [];
  chains = new Map<number, number[]>();
  availIdx = 0;
  lastUsed = 0;
  readonly kick: OwnedFd;
  readonly call: OwnedFd;
  indirectBase: number;

  constructor(
    readonly index: number,
    readonly num: number,
    readonly desc: number,
    readonly avail: number,
    readonly used: number,
    indirectBase: number,
  ) {
    for (let i = 0; i < num; i++) this.freeHead.push(i);
    this.kick = new OwnedFd(L.eventfd(0, L.EFD_CLOEXEC | L.EFD_NONBLOCK));
    this.call = new OwnedFd(L.eventfd(0, L.EFD_CLOEXEC | L.EFD_NONBLOCK));
    this.indirectBase = indirectBase;
  }
}

export interface Used {
  id: number;
  len: number;
  /** the response bytes (first `len` bytes of the writable buffer) */
  resp: Uint8Array;
}

export class FrontendDouble implements Disposable {
  readonly mem: Mapping;
  readonly memFd: OwnedFd;
  readonly size: number;
  readonly uvaBase = 0x7f3a_0000_0000;
  readonly vhost: StreamSocket;
  /** the back-end's end of the vhost-user socket (for an in-process back-end) */
  backendEnd: StreamSocket | null = null;
  gpu: StreamSocket | null = null;
  readonly queues: DriverQueue[] = [];
  readonly gpuLog: GpuMessage[] = [];
  /** composited surfaces per scanout (x8r8g8b8 u32), as QEMU keeps them */
  readonly surfaces = new Map<number, { w: number; h: number; px: Uint32Array }>();
  readonly opts: Required<Omit<FrontendOptions, "pump">> & { pump?: () => void };
  features = 0n;
  protocolFeatures = 0n;
  #bump: number;
  #bounce: number;
  #bounceSize = 8 * 1024 * 1024;
  #bouncePos = 0;
  #resp = new Map<number, { gpa: number; len: number }>();
  #gpuBuf = new Uint8Array(new ArrayBuffer(64 * 1024 * 1024));

  constructor(opts: FrontendOptions = {}, connectTo?: StreamSocket) {
    this.opts = {
      memSize: 64 * 1024 * 1024,
      memSlots: true,
      eventIdx: true,
      indirect: false,
      ctrlSize: 64,
      cursorSize: 16,
      display: { w: 1280, h: 800 },
      ...opts,
    };
    this.size = this.opts.memSize;
    this.memFd = new OwnedFd(L.memfdCreate("guest-ram", L.MFD_CLOEXEC));
    L.ftruncate(this.memFd.fd, this.size);
    this.mem = Mapping.map(this.memFd.fd, this.size);
    if (connectTo) {
      this.vhost = connectTo;
    } else {
      const [a, b] = StreamSocket.pair();
      this.vhost = a;
      this.backendEnd = b;
    }
    this.#bump = PAGE; // keep gpa 0 unused
    this.#bounce = this.alloc(this.#bounceSize);
  }

  /** Allocates guest memory (page aligned); returns the gpa. */
  alloc(len: number, align = PAGE): number {
    const p = Math.ceil(this.#bump / align) * align;
    if (p + len > this.size) throw new Error("guest memory exhausted");
    this.#bump = p + len;
    return p;
  }

  bytes(gpa: number, len: number): Uint8Array {
    return this.mem.bytes.subarray(gpa, gpa + len);
  }

  view(): DataView {
    return this.mem.view;
  }

  pump(): void {
    this.opts.pump?.();
  }

  // ---- vhost-user -----------------------------------------------------------------

  /** Sends a message; with `reply`, waits for and returns the reply payload. */
  send(
    request: number,
    payload: Uint8Array = new Uint8Array(0),
    fds: number[] = [],
    flags = 0,
  ): void {
    const hdr = new Uint8Array(new ArrayBuffer(12));
    const dv = new DataView(hdr.buffer);
    dv.setUint32(0, request, true);
    dv.setUint32(4, V.VERSION | flags, true);
    dv.setUint32(8, payload.byteLength, true);
    if (!this.vhost.send([hdr, payload], fds)) throw new Error("back-end gone");
  }

  /** Waits for one reply on the vhost-user socket. */
  readReply(request: number, timeoutMs = 5000): DataView {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      this.pump();
      this.serviceGpu(0);
      if (L.poll([{ fd: this.vhost.fd, events: L.POLLIN }], this.opts.pump ? 0 : 5) > 0) break;
      if (performance.now() > deadline) throw new Error(`no reply to ${V.requestName(request)}`);
    }
    const hdr = new Uint8Array(new ArrayBuffer(12));
    if (!this.vhost.recvExact(hdr)) throw new Error("back-end closed the socket");
    const dv = new DataView(hdr.buffer);
    const req = dv.getUint32(0, true);
    const flags = dv.getUint32(4, true);
    const size = dv.getUint32(8, true);
    const p = new Uint8Array(new ArrayBuffer(size));
    if (size) this.vhost.recvExact(p);
    if (req !== request || !(flags & V.FLAG_REPLY)) {
      throw new Error(`expected reply to ${request}, got ${req} flags ${flags}`);
    }
    return new DataView(p.buffer);
  }

  call(request: number, payload: Uint8Array = new Uint8Array(0), fds: number[] = []): DataView {
    this.send(request, payload, fds);
    return this.readReply(request);
  }

  /** Sends with NEED_REPLY and returns the ack status (0 = ok). */
  ack(request: number, payload: Uint8Array = new Uint8Array(0), fds: number[] = []): bigint {
    this.send(request, payload, fds, V.FLAG_NEED_REPLY);
    return this.readReply(request).getBigUint64(0, true);
  }

  static u64(v: bigint | number): Uint8Array {
    return V.u64Payload(BigInt(v));
  }

  static state(index: number, num: number): Uint8Array {
    const p = new Uint8Array(new ArrayBuffer(8));
    const dv = new DataView(p.buffer);
    dv.setUint32(0, index, true);
    dv.setUint32(4, num, true);
    return p;
  }

  regionPayload(
    gpa: number,
    size: number,
    uva: number,
    offset: number,
    forTable = false,
  ): Uint8Array {
    const p = new Uint8Array(new ArrayBuffer(forTable ? 8 + 32 : 40));
    const dv = new DataView(p.buffer);
    if (forTable) dv.setUint32(0, 1, true);
    dv.setBigUint64(8, BigInt(gpa), true);
    dv.setBigUint64(16, BigInt(size), true);
    dv.setBigUint64(24, BigInt(uva), true);
    dv.setBigUint64(32, BigInt(offset), true);
    return p;
  }

  /** The start-up sequence QEMU runs, up to running queues. */
  handshake(): void {
    const f = this.call(V.REQ.GET_FEATURES).getBigUint64(0, true);
    const pf = this.call(V.REQ.GET_PROTOCOL_FEATURES).getBigUint64(0, true);
    if (!(pf & bit(V.PROTOCOL_F_CONFIG))) throw new Error("back-end lacks PROTOCOL_F_CONFIG");
    let want = bit(V.PROTOCOL_F_CONFIG) | bit(V.PROTOCOL_F_REPLY_ACK);
    if (this.opts.memSlots) want |= bit(V.PROTOCOL_F_CONFIGURE_MEM_SLOTS);
    this.protocolFeatures = pf & want;
    this.send(V.REQ.SET_PROTOCOL_FEATURES, FrontendDouble.u64(this.protocolFeatures));
    this.send(V.REQ.SET_OWNER);
    for (let i = 0; i < 2; i++) this.#mkQueue(i);
    for (const q of this.queues) {
      this.send(V.REQ.SET_VRING_CALL, FrontendDouble.u64(q.index), [q.call.fd]);
    }
    const [mine, theirs] = StreamSocket.pair();
    this.send(V.REQ.GPU_SET_SOCKET, new Uint8Array(0), [theirs.fd]);
    theirs.close();
    this.gpu = mine;
    // QEMU passes the guest's ring features whatever the back-end offered.
    this.features =
      (f & (bit(G.VIRTIO_GPU_F_EDID) | bit(G.VIRTIO_F_VERSION_1) | bit(V.F_PROTOCOL_FEATURES))) |
      (this.opts.eventIdx ? bit(G.VIRTIO_RING_F_EVENT_IDX) : 0n) |
      (this.opts.indirect ? bit(G.VIRTIO_RING_F_INDIRECT_DESC) : 0n);
    this.send(V.REQ.SET_FEATURES, FrontendDouble.u64(this.features));
    const status = this.opts.memSlots
      ? this.ack(V.REQ.ADD_MEM_REG, this.regionPayload(0, this.size, this.uvaBase, 0), [
        this.memFd.fd,
      ])
      : this.ack(V.REQ.SET_MEM_TABLE, this.regionPayload(0, this.size, this.uvaBase, 0, true), [
        this.memFd.fd,
      ]);
    if (status !== 0n) throw new Error("memory setup refused");
    for (const q of this.queues) this.startQueue(q);
  }

  #mkQueue(i: number): void {
    const num = i === 0 ? this.opts.ctrlSize : this.opts.cursorSize;
    const desc = this.alloc(16 * num);
    const avail = this.alloc(6 + 2 * num);
    const used = this.alloc(6 + 8 * num);
    const ind = this.alloc(num * 16 * 8);
    this.queues.push(new DriverQueue(i, num, desc, avail, used, ind));
  }

  startQueue(q: DriverQueue): void {
    this.send(V.REQ.SET_VRING_NUM, FrontendDouble.state(q.index, q.num));
    this.send(V.REQ.SET_VRING_BASE, FrontendDouble.state(q.index, q.availIdx));
    const a = new Uint8Array(new ArrayBuffer(40));
    const dv = new DataView(a.buffer);
    dv.setUint32(0, q.index, true);
    dv.setBigUint64(8, BigInt(this.uvaBase + q.desc), true);
    dv.setBigUint64(16, BigInt(this.uvaBase + q.used), true);
    dv.setBigUint64(24, BigInt(this.uvaBase + q.avail), true);
    if (this.ack(V.REQ.SET_VRING_ADDR, a) !== 0n) throw new Error("SET_VRING_ADDR refused");
    this.send(V.REQ.SET_VRING_KICK, FrontendDouble.u64(q.index), [q.kick.fd]);
    this.send(V.REQ.SET_VRING_ENABLE, FrontendDouble.state(q.index, 1));
  }

  // ---- the driver side of the rings ----------------------------------------------------

  /** Copies `data` into the bounce area; returns its gpa. */
  put(data: Uint8Array): number {
    const len = Math.max(16, (data.byteLength + 63) & ~63);
    if (this.#bouncePos + len > this.#bounceSize) this.#bouncePos = 0;
    const gpa = this.#bounce + this.#bouncePos;
    this.#bouncePos += len;
    this.bytes(gpa, data.byteLength).set(data);
    return gpa;
  }

  /**
   * Writes raw descriptors into the queue's table (for hostile tests) and
   * publishes `head`. Each entry: [gpa, len, flags, next].
   */
  rawSubmit(
    qi: number,
    head: number,
    descs: [number | bigint, number, number, number][],
    at = 0,
  ): void {
    const q = this.queues[qi];
    const dv = this.view();
    descs.forEach(([gpa, len, flags, next], i) => {
      const o = q.desc + 16 * (at + i);
      dv.setBigUint64(o, BigInt(gpa), true);
      dv.setUint32(o + 8, len, true);
      dv.setUint16(o + 12, flags, true);
      dv.setUint16(o + 14, next, true);
    });
    this.publish(q, head);
  }

  publish(q: DriverQueue, head: number): void {
    const dv = this.view();
    dv.setUint16(q.avail + 4 + 2 * (q.availIdx % q.num), head, true);
    q.availIdx = (q.availIdx + 1) & 0xffff;
    dv.setUint16(q.avail + 2, q.availIdx, true);
    // used_event: interrupt me for the next used entry.
    dv.setUint16(q.avail + 4 + 2 * q.num, q.lastUsed, true);
  }

  kick(qi: number): void {
    L.eventfdWrite(this.queues[qi].kick.fd, 1n);
  }

  /**
   * Queues one request: `parts` device-readable (one descriptor each) and one
   * device-writable buffer of `respLen` bytes. Returns the head.
   */
  submit(qi: number, parts: Uint8Array[], respLen: number, kick = true): number {
    const q = this.queues[qi];
    const n = parts.length + (respLen > 0 ? 1 : 0);
    const bufs: [number, number, number][] = parts.map((p) => [this.put(p), p.byteLength, 0]);
    let resp = 0;
    if (respLen > 0) {
      resp = this.put(new Uint8Array(respLen));
      bufs.push([resp, respLen, 2]);
    }
    const dv = this.view();
    let head: number;
    if (this.opts.indirect) {
      head = q.freeHead.shift()!;
      if (head === undefined) throw new Error("queue full");
      const table = q.indirectBase + head * 16 * 8;
      bufs.forEach(([gpa, len, flags], i) => {
        const o = table + 16 * i;
        dv.setBigUint64(o, BigInt(gpa), true);
        dv.setUint32(o + 8, len, true);
        dv.setUint16(o + 12, flags | (i < n - 1 ? 1 : 0), true);
        dv.setUint16(o + 14, i + 1, true);
      });
      const o = q.desc + 16 * head;
      dv.setBigUint64(o, BigInt(table), true);
      dv.setUint32(o + 8, 16 * n, true);
      dv.setUint16(o + 12, 4, true);
      dv.setUint16(o + 14, 0, true);
      q.chains.set(head, [head]);
    } else {
      if (q.freeHead.length < n) throw new Error("queue full");
      const ids = q.freeHead.splice(0, n);
      head = ids[0];
      bufs.forEach(([gpa, len, flags], i) => {
        const o = q.desc + 16 * ids[i];
        dv.setBigUint64(o, BigInt(gpa), true);
        dv.setUint32(o + 8, len, true);
        dv.setUint16(o + 12, flags | (i < n - 1 ? 1 : 0), true);
        dv.setUint16(o + 14, i < n - 1 ? ids[i + 1] : 0, true);
      });
      q.chains.set(head, ids);
    }
    this.#resp.set(qi * 65536 + head, { gpa: resp, len: respLen });
    this.publish(q, head);
    if (kick) this.kick(qi);
    return head;
  }

  /** Used entries the back-end returned since the last call (no waiting). */
  takeUsed(qi: number): Used[] {
    const q = this.queues[qi];
    const dv = this.view();
    const out: Used[] = [];
    const idx = dv.getUint16(q.used + 2, true);
    while (q.lastUsed !== idx) {
      const slot = q.used + 4 + 8 * (q.lastUsed % q.num);
      const id = dv.getUint32(slot, true);
      const len = dv.getUint32(slot + 4, true);
      q.lastUsed = (q.lastUsed + 1) & 0xffff;
      const r = this.#resp.get(qi * 65536 + id);
      this.#resp.delete(qi * 65536 + id);
      const ids = q.chains.get(id) ?? [];
      q.chains.delete(id);
      q.freeHead.push(...ids);
      out.push({
        id,
        len,
        resp: r ? this.bytes(r.gpa, Math.min(len, r.len)).slice() : new Uint8Array(0),
      });
    }
    dv.setUint16(q.avail + 4 + 2 * q.num, q.lastUsed, true);
    return out;
  }

  /** Waits until `count` used entries arrived on queue `qi`. */
  waitUsed(qi: number, count = 1, timeoutMs = 5000): Used[] {
    const out: Used[] = [];
    const deadline = performance.now() + timeoutMs;
    while (out.length < count) {
      this.pump();
      this.serviceGpu(0);
      out.push(...this.takeUsed(qi));
      if (out.length >= count) break;
      if (performance.now() > deadline) {
        throw new Error(`timeout waiting for ${count} used on queue ${qi}`);
      }
      if (!this.opts.pump) {
        L.poll([{ fd: this.queues[qi].call.fd, events: L.POLLIN }, {
          fd: this.gpu!.fd,
          events: L.POLLIN,
        }], 5);
      }
      L.eventfdRead(this.queues[qi].call.fd);
    }
    return out;
  }

  /** Sends one control command and returns its response. */
  command(parts: Uint8Array[], respLen = 24): Used {
    this.submit(0, parts, respLen);
    return this.waitUsed(0, 1)[0];
  }

  // ---- the QEMU display side ------------------------------------------------------------

  #gpuHave = 0;

  /**
   * Reads what the GPU socket has (waiting up to `timeoutMs` for the first
   * bytes) and handles every complete message. Returns how many.
   */
  serviceGpu(timeoutMs: number): number {
    let n = 0;
    let wait = timeoutMs;
    while (this.gpu) {
      if (wait !== 0 && L.poll([{ fd: this.gpu.fd, events: L.POLLIN }], wait) === 0) break;
      wait = 0;
      if (this.#gpuHave === this.#gpuBuf.byteLength) throw new Error("GPU message too large");
      const got = this.gpu.recvSome(this.#gpuBuf.subarray(this.#gpuHave));
      if (got === 0) {
        this.gpu.close();
        this.gpu = null;
        break;
      }
      if (got < 0) break;
      this.#gpuHave += got;
      for (;;) {
        if (this.#gpuHave < 12) break;
        const size = new DataView(this.#gpuBuf.buffer).getUint32(8, true);
        if (this.#gpuHave < 12 + size) break;
        this.#gpuMessage();
        n++;
        this.#gpuBuf.copyWithin(0, 12 + size, this.#gpuHave);
        this.#gpuHave -= 12 + size;
      }
    }
    return n;
  }

  #gpuMessage(): void {
    const gpu = this.gpu!;
    const dv = new DataView(this.#gpuBuf.buffer);
    const request = dv.getUint32(0, true);
    const size = dv.getUint32(8, true);
    const p = this.#gpuBuf.subarray(12, 12 + size);
    const recvTime = performance.now();
    const pv = new DataView(p.buffer, 12, size);
    const msg: GpuMessage = { request, head: p.slice(0, Math.min(size, 20)), size, recvTime };
    const reply = (payload: Uint8Array) => {
      const h = new Uint8Array(new ArrayBuffer(12));
      const hv = new DataView(h.buffer);
      hv.setUint32(0, request, true);
      hv.setUint32(4, 0x4, true);
      hv.setUint32(8, payload.byteLength, true);
      gpu.send([h, payload]);
    };
    switch (request) {
      case GPU_MSG.GET_PROTOCOL_FEATURES:
        reply(V.u64Payload(3n));
        break;
      case GPU_MSG.GET_DISPLAY_INFO: {
        const r = new Uint8Array(new ArrayBuffer(G.DISPLAY_INFO_SIZE));
        const rv = new DataView(r.buffer);
        rv.setUint32(0, G.RESP_OK_DISPLAY_INFO, true);
        rv.setUint32(G.HDR_SIZE + 8, this.opts.display.w, true);
        rv.setUint32(G.HDR_SIZE + 12, this.opts.display.h, true);
        rv.setUint32(G.HDR_SIZE + 16, 1, true);
        reply(r);
        break;
      }
      case GPU_MSG.GET_EDID: {
        const r = new Uint8Array(new ArrayBuffer(G.EDID_RESP_SIZE));
        const rv = new DataView(r.buffer);
        rv.setUint32(0, G.RESP_OK_EDID, true);
        rv.setUint32(G.HDR_SIZE, 128, true);
        r.set([0, 255, 255, 255, 255, 255, 255, 0], G.HDR_SIZE + 8);
        reply(r);
        break;
      }
      case GPU_MSG.SCANOUT: {
        const id = pv.getUint32(0, true);
        const w = pv.getUint32(4, true);
        const h = pv.getUint32(8, true);
        msg.scanout = id;
        msg.rect = { x: 0, y: 0, w, h };
        if (w === 0) this.surfaces.delete(id);
        else this.surfaces.set(id, { w, h, px: new Uint32Array(w * h) });
        break;
      }
      case GPU_MSG.UPDATE: {
        const id = pv.getUint32(0, true);
        const r = {
          x: pv.getUint32(4, true),
          y: pv.getUint32(8, true),
          w: pv.getUint32(12, true),
          h: pv.getUint32(16, true),
        };
        msg.scanout = id;
        msg.rect = r;
        const s = this.surfaces.get(id);
        if (!s) throw new Error("UPDATE before SCANOUT (QEMU would crash)");
        if (size !== 20 + r.w * r.h * 4) throw new Error(`UPDATE size ${size} for ${r.w}x${r.h}`);
        if (r.x + r.w > s.w || r.y + r.h > s.h) throw new Error("UPDATE outside the surface");
        const src = new Uint32Array(p.buffer, 32, r.w * r.h);
        for (let row = 0; row < r.h; row++) {
          s.px.set(src.subarray(row * r.w, (row + 1) * r.w), (r.y + row) * s.w + r.x);
        }
        break;
      }
      default:
        break;
    }
    this.gpuLog.push(msg);
  }

  close(): void {
    this.vhost.close();
    this.backendEnd?.close();
    this.gpu?.close();
    for (const q of this.queues) {
      q.kick.close();
      q.call.close();
    }
    this.mem.unmap();
    this.memFd.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

// ---- virtio-gpu request builders ------------------------------------------------------------

export function hdr(
  type: number,
  size: number,
  flags = 0,
  fence = 0n,
  ctx = 0,
): [Uint8Array, DataView] {
  const b = new Uint8Array(new ArrayBuffer(size));
  const dv = new DataView(b.buffer);
  dv.setUint32(0, type, true);
  dv.setUint32(4, flags, true);
  dv.setBigUint64(8, fence, true);
  dv.setUint32(16, ctx, true);
  return [b, dv];
}

export function create2d(id: number, format: number, w: number, h: number): Uint8Array {
  const [b, dv] = hdr(G.CMD_RESOURCE_CREATE_2D, 40);
  dv.setUint32(24, id, true);
  dv.setUint32(28, format, true);
  dv.setUint32(32, w, true);
  dv.setUint32(36, h, true);
  return b;
}

export function attachBacking(id: number, entries: [number | bigint, number][]): Uint8Array {
  const [b, dv] = hdr(G.CMD_RESOURCE_ATTACH_BACKING, 32 + 16 * entries.length);
  dv.setUint32(24, id, true);
  dv.setUint32(28, entries.length, true);
  entries.forEach(([gpa, len], i) => {
    dv.setBigUint64(32 + 16 * i, BigInt(gpa), true);
    dv.setUint32(40 + 16 * i, len, true);
  });
  return b;
}

function rectAt(dv: DataView, off: number, r: G.Rect): void {
  dv.setUint32(off, r.x, true);
  dv.setUint32(off + 4, r.y, true);
  dv.setUint32(off + 8, r.w, true);
  dv.setUint32(off + 12, r.h, true);
}

export function setScanout(sid: number, rid: number, r: G.Rect): Uint8Array {
  const [b, dv] = hdr(G.CMD_SET_SCANOUT, 48);
  rectAt(dv, 24, r);
  dv.setUint32(40, sid, true);
  dv.setUint32(44, rid, true);
  return b;
}

export function transfer(
  rid: number,
  r: G.Rect,
  offset: number | bigint,
  flags = 0,
  fence = 0n,
): Uint8Array {
  const [b, dv] = hdr(G.CMD_TRANSFER_TO_HOST_2D, 56, flags, fence);
  rectAt(dv, 24, r);
  dv.setBigUint64(40, BigInt(offset), true);
  dv.setUint32(48, rid, true);
  return b;
}

export function flush(rid: number, r: G.Rect, flags = 0, fence = 0n): Uint8Array {
  const [b, dv] = hdr(G.CMD_RESOURCE_FLUSH, 48, flags, fence);
  rectAt(dv, 24, r);
  dv.setUint32(40, rid, true);
  return b;
}

export function simple(type: number, rid: number): Uint8Array {
  const [b, dv] = hdr(type, 32);
  dv.setUint32(24, rid, true);
  return b;
}

export function cursor(
  type: number,
  sid: number,
  x: number,
  y: number,
  rid = 0,
  hotX = 0,
  hotY = 0,
): Uint8Array {
  const [b, dv] = hdr(type, 56);
  dv.setUint32(24, sid, true);
  dv.setUint32(28, x, true);
  dv.setUint32(32, y, true);
  dv.setUint32(40, rid, true);
  dv.setUint32(44, hotX, true);
  dv.setUint32(48, hotY, true);
  return b;
}

export function respType(u: Used): number {
  return u.resp.byteLength >= 4
    ? new DataView(u.resp.buffer, u.resp.byteOffset).getUint32(0, true)
    : -1;
}
