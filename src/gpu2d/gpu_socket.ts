/**
 * The vhost-user-gpu channel from the back-end to QEMU's display
 * (the socket QEMU hands over with VHOST_USER_GPU_SET_SOCKET).
 *
 * Messages: `u32 request, u32 flags, u32 size` then `size` payload bytes.
 * SCANOUT, UPDATE and the cursor messages need no answer; GET_PROTOCOL_
 * FEATURES, GET_DISPLAY_INFO and GET_EDID are answered with a message
 * carrying the reply flag. Replies are read when poll says the socket is
 * readable, never by blocking for them: QEMU may be busy waiting on the
 * vhost-user socket for us at that moment.
 *
 * For the same reason sends never block for long: a message goes out with
 * non-blocking sendmsg calls straight from where the pixels are (no copy),
 * waiting for the socket to turn writable for at most `SEND_WAIT_MS` in
 * all (QEMU normally drains a frame in a few milliseconds). Only if QEMU
 * does not read in that time is the rest copied into a backlog, which the
 * back-end's poll loop drains when the socket turns writable; while the
 * backlog is over `MAX_BACKLOG` the back-end stops taking new commands
 * (back-pressure to the guest instead of unbounded memory).
 */
import type { OwnedFd } from "../../ffi/fd.ts";
import {
  getSockOptInt,
  poll,
  POLLOUT,
  setSockOptInt,
  SO_SNDBUF,
  SO_SNDBUFFORCE,
  SOL_SOCKET,
} from "../../ffi/libc.ts";
import { type Part, StreamSocket, Strided } from "../../ffi/unix_socket.ts";
import type { Logger } from "../log.ts";

export const GPU_GET_PROTOCOL_FEATURES = 1;
export const GPU_SET_PROTOCOL_FEATURES = 2;
export const GPU_GET_DISPLAY_INFO = 3;
export const GPU_CURSOR_POS = 4;
export const GPU_CURSOR_POS_HIDE = 5;
export const GPU_CURSOR_UPDATE = 6;
export const GPU_SCANOUT = 7;
export const GPU_UPDATE = 8;
export const GPU_DMABUF_SCANOUT = 9;
export const GPU_DMABUF_UPDATE = 10;
export const GPU_GET_EDID = 11;
export const GPU_DMABUF_SCANOUT2 = 12;

export const GPU_FLAG_REPLY = 0x4;
export const GPU_PROTOCOL_F_EDID = 0;
export const GPU_HDR_SIZE = 12;
/** UPDATE payload before the pixels: scanout_id, x, y, width, height. */
export const GPU_UPDATE_HDR = 20;
/** CURSOR_UPDATE payload: pos (12) + hot_x + hot_y + 64×64 ARGB. */
export const GPU_CURSOR_UPDATE_SIZE = 12 + 8 + 64 * 64 * 4;
/** Largest reply we accept from QEMU (an EDID reply is 1056 bytes). */
const MAX_REPLY = 4096;
/** Backlog size above which the back-end holds its queues. */
export const MAX_BACKLOG = 32 * 1024 * 1024;
/** Socket send buffer asked for (the kernel doubles it for its bookkeeping). */
const SEND_BUFFER = 16 * 1024 * 1024;
/** How long one message may wait for QEMU to read before it goes to the backlog. */
export const SEND_WAIT_MS = 50;

/** What the back-end asked QEMU and waits for. */
type ReplyHandler = (payload: Uint8Array<ArrayBuffer> | null) => void;

/** Observer of every message sent (tests and traces). */
export type SentObserver = (request: number, payload: Uint8Array, pixelBytes: number) => void;

export class GpuSocket {
  readonly sock: StreamSocket;
  #hdr = new DataView(new ArrayBuffer(GPU_HDR_SIZE));
  #hdrBytes = new Uint8Array(this.#hdr.buffer);
  /**
   * The UPDATE headers of one damage rect, reused (grown when needed): a new
   * buffer per rect would also miss the socket's cached buffer addresses.
   * #write copies what it cannot send at once, so reuse is safe.
   */
  #updateHdrs = new Uint8Array(new ArrayBuffer((GPU_HDR_SIZE + GPU_UPDATE_HDR) * 16));
  #updateDv = new DataView(this.#updateHdrs.buffer);
  #pending: { request: number; handler: ReplyHandler } | null = null;
  #closed = false;
  #backlog: { bytes: Uint8Array; done?: () => void }[] = [];
  #backlogBytes = 0;
  #backlogSkip = 0;
  /** features both sides support, once the handshake is done */
  protocolFeatures: bigint | null = null;
  observer: SentObserver | null = null;

  constructor(fd: OwnedFd, readonly log: Logger) {
    this.sock = new StreamSocket(fd);
    // Room for whole frames in the socket: one sendmsg queues a full-frame
    // UPDATE, instead of ~40 rounds of "send 200 KiB, wait for QEMU to read".
    // SO_SNDBUFFORCE needs CAP_NET_ADMIN; otherwise SO_SNDBUF, capped by
    // net.core.wmem_max.
    try {
      setSockOptInt(fd.fd, SOL_SOCKET, SO_SNDBUFFORCE, SEND_BUFFER);
    } catch {
      try {
        setSockOptInt(fd.fd, SOL_SOCKET, SO_SNDBUF, SEND_BUFFER);
      } catch { /* keep the default */ }
    }
    log.debug(`gpu socket: send buffer ${getSockOptInt(fd.fd, SOL_SOCKET, SO_SNDBUF)} bytes`);
  }

  get fd(): number {
    return this.sock.fd;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** True while a request waits for its reply. */
  get busy(): boolean {
    return this.#pending !== null;
  }

  get handshakeDone(): boolean {
    return this.protocolFeatures !== null;
  }

  get hasEdid(): boolean {
    return ((this.protocolFeatures ?? 0n) & (1n << BigInt(GPU_PROTOCOL_F_EDID))) !== 0n;
  }

  /** Starts the protocol-feature handshake. */
  start(): void {
    this.request(GPU_GET_PROTOCOL_FEATURES, new Uint8Array(0), (p) => {
      const theirs = p && p.length >= 8
        ? new DataView(p.buffer, p.byteOffset).getBigUint64(0, true)
        : 0n;
      const ours = 1n << BigInt(GPU_PROTOCOL_F_EDID);
      const common = theirs & ours;
      const payload = new Uint8Array(new ArrayBuffer(8));
      new DataView(payload.buffer).setBigUint64(0, common, true);
      this.#send(GPU_SET_PROTOCOL_FEATURES, [payload]);
      this.protocolFeatures = common;
      this.log.debug(
        `gpu socket: QEMU protocol features 0x${theirs.toString(16)}, using 0x${
          common.toString(16)
        }`,
      );
    });
  }

  /** Unsent bytes waiting for the socket to turn writable. */
  get backlog(): number {
    return this.#backlogBytes;
  }

  get backlogged(): boolean {
    return this.#backlogBytes > MAX_BACKLOG;
  }

  /**
   * Sends header + parts; what QEMU does not take within SEND_WAIT_MS is
   * queued (copied). `done` runs once the last byte is in the socket.
   */
  #write(parts: Part[], done?: () => void): boolean {
    if (this.#closed) return false;
    let total = 0;
    for (const p of parts) total += p.byteLength;
    let sent = 0;
    if (this.#backlogBytes === 0) {
      const deadline = performance.now() + SEND_WAIT_MS;
      for (;;) {
        const n = this.sock.sendSome(parts, sent);
        if (n < 0) {
          this.log.warn("gpu socket: QEMU closed the display channel");
          this.close();
          return false;
        }
        sent += n;
        if (sent === total) break;
        const left = Math.ceil(deadline - performance.now());
        if (left <= 0 || poll([{ fd: this.sock.fd, events: POLLOUT }], left) === 0) break;
      }
    }
    if (sent < total) {
      // Keep the rest: the caller's buffers may change once we return.
      const rest = new Uint8Array(new ArrayBuffer(total - sent));
      let off = 0;
      let skip = sent;
      for (const p of parts) {
        if (skip >= p.byteLength) {
          skip -= p.byteLength;
          continue;
        }
        if (p instanceof Strided) p.copyTo(rest, off, skip);
        else rest.set(skip ? p.subarray(skip) : p, off);
        off += p.byteLength - skip;
        skip = 0;
      }
      this.#backlog.push({ bytes: rest, done });
      this.#backlogBytes += rest.byteLength;
      this.log.debug(`gpu socket: QEMU is slow to read; ${this.#backlogBytes} bytes queued`);
    } else {
      done?.();
    }
    return true;
  }

  /** Drains the backlog (call when poll reports the socket writable). */
  onWritable(): void {
    while (this.#backlog.length > 0 && !this.#closed) {
      const head = this.#backlog[0];
      const n = this.sock.sendSome([head.bytes], this.#backlogSkip);
      if (n < 0) {
        this.log.warn("gpu socket: QEMU closed the display channel");
        return this.close();
      }
      if (n === 0) return;
      this.#backlogSkip += n;
      this.#backlogBytes -= n;
      if (this.#backlogSkip === head.bytes.byteLength) {
        this.#backlog.shift();
        this.#backlogSkip = 0;
        head.done?.();
      }
    }
  }

  #send(request: number, parts: Uint8Array[], flags = 0): boolean {
    let size = 0;
    for (const p of parts) size += p.byteLength;
    this.#hdr.setUint32(0, request, true);
    this.#hdr.setUint32(4, flags, true);
    this.#hdr.setUint32(8, size, true);
    return this.#write([this.#hdrBytes.subarray(0, GPU_HDR_SIZE), ...parts]);
  }

  /** Sends a request whose reply `handler` gets (null when the channel closes first). */
  request(request: number, payload: Uint8Array, handler: ReplyHandler): void {
    if (this.#pending) throw new Error("gpu socket: a request is already pending");
    this.#pending = { request, handler };
    if (!this.#send(request, [payload])) return; // close() ran the handler with null
  }

  /** Reads one message from QEMU (call when poll reports the socket readable). */
  onReadable(): void {
    const hdr = new Uint8Array(new ArrayBuffer(GPU_HDR_SIZE));
    let payload: Uint8Array<ArrayBuffer>;
    let request: number;
    let flags: number;
    try {
      if (!this.sock.recvExact(hdr)) return this.close();
      const dv = new DataView(hdr.buffer);
      request = dv.getUint32(0, true);
      flags = dv.getUint32(4, true);
      const size = dv.getUint32(8, true);
      if (size > MAX_REPLY) {
        this.log.error(`gpu socket: message ${request} of ${size} bytes is too large; closing`);
        return this.close();
      }
      payload = new Uint8Array(new ArrayBuffer(size));
      if (size > 0 && !this.sock.recvExact(payload)) return this.close();
    } catch (e) {
      this.log.error(`gpu socket: ${(e as Error).message}; closing`);
      return this.close();
    }
    const p = this.#pending;
    if (p && (flags & GPU_FLAG_REPLY) && request === p.request) {
      this.#pending = null;
      p.handler(payload);
    } else {
      this.log.debug(`gpu socket: ignoring message ${request} flags 0x${flags.toString(16)}`);
    }
  }

  scanout(scanoutId: number, width: number, height: number): void {
    const p = new Uint8Array(new ArrayBuffer(12));
    const dv = new DataView(p.buffer);
    dv.setUint32(0, scanoutId, true);
    dv.setUint32(4, width, true);
    dv.setUint32(8, height, true);
    if (this.#send(GPU_SCANOUT, [p])) this.observer?.(GPU_SCANOUT, p, 0);
  }

  /**
   * One dirty rect as UPDATE messages of at most `bandRows` whole rows each
   * (see MAX_UPDATE_BYTES in device.ts). `pixels` are the rect's h rows of
   * w×4 x8r8g8b8 bytes where they lie in the host copy of the resource;
   * they go out from there (no copy), all bands in one sendmsg (one per
   * 120 bands), so the reader is woken once, not per band.
   * `done` runs once the last byte is in the socket. Returns the number of
   * messages, or -1 when the display is gone.
   */
  update(
    scanoutId: number,
    x: number,
    y: number,
    w: number,
    h: number,
    pixels: Strided,
    bandRows: number,
    done?: () => void,
  ): number {
    if (this.#closed) return -1;
    const rowBytes = w * 4;
    const bands = Math.ceil(h / bandRows);
    const need = (GPU_HDR_SIZE + GPU_UPDATE_HDR) * bands;
    if (this.#updateHdrs.byteLength < need) {
      const size = Math.max(need, this.#updateHdrs.byteLength * 2);
      this.#updateHdrs = new Uint8Array(new ArrayBuffer(size));
      this.#updateDv = new DataView(this.#updateHdrs.buffer);
    }
    const hdrs = this.#updateHdrs;
    const dv = this.#updateDv;
    const parts: Part[] = [];
    for (let b = 0; b < bands; b++) {
      const by = b * bandRows;
      const bh = Math.min(bandRows, h - by);
      const o = (GPU_HDR_SIZE + GPU_UPDATE_HDR) * b;
      dv.setUint32(o, GPU_UPDATE, true);
      dv.setUint32(o + 4, 0, true); // flags: 0 (the reference leaves this uninitialised)
      dv.setUint32(o + 8, GPU_UPDATE_HDR + bh * rowBytes, true);
      dv.setUint32(o + 12, scanoutId, true);
      dv.setUint32(o + 16, x, true);
      dv.setUint32(o + 20, y + by, true);
      dv.setUint32(o + 24, w, true);
      dv.setUint32(o + 28, bh, true);
      parts.push(
        hdrs.subarray(o, o + GPU_HDR_SIZE + GPU_UPDATE_HDR),
        pixels.slice(by, bh),
      );
      const last = b === bands - 1;
      if (parts.length >= 240 || last) {
        if (!this.#write(parts, last ? done : undefined)) return -1;
        parts.length = 0;
      }
    }
    if (this.observer) {
      for (let b = 0; b < bands; b++) {
        const o = (GPU_HDR_SIZE + GPU_UPDATE_HDR) * b;
        const bh = dv.getUint32(o + 28, true);
        this.observer(
          GPU_UPDATE,
          hdrs.slice(o + GPU_HDR_SIZE, o + GPU_HDR_SIZE + GPU_UPDATE_HDR),
          w * bh * 4,
        );
      }
    }
    return bands;
  }

  cursorPos(scanoutId: number, x: number, y: number, visible: boolean): void {
    const p = new Uint8Array(new ArrayBuffer(12));
    const dv = new DataView(p.buffer);
    dv.setUint32(0, scanoutId, true);
    dv.setUint32(4, x, true);
    dv.setUint32(8, y, true);
    const req = visible ? GPU_CURSOR_POS : GPU_CURSOR_POS_HIDE;
    if (this.#send(req, [p])) this.observer?.(req, p, 0);
  }

  /** `image` is 64×64 a8r8g8b8 (16384 bytes). */
  cursorUpdate(
    scanoutId: number,
    x: number,
    y: number,
    hotX: number,
    hotY: number,
    image: Uint8Array,
  ): void {
    const p = new Uint8Array(new ArrayBuffer(20));
    const dv = new DataView(p.buffer);
    dv.setUint32(0, scanoutId, true);
    dv.setUint32(4, x, true);
    dv.setUint32(8, y, true);
    dv.setUint32(12, hotX, true);
    dv.setUint32(16, hotY, true);
    if (this.#send(GPU_CURSOR_UPDATE, [p, image])) {
      this.observer?.(GPU_CURSOR_UPDATE, p, image.length);
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#backlog = [];
    this.#backlogBytes = 0;
    this.sock.close();
    const p = this.#pending;
    this.#pending = null;
    p?.handler(null);
  }
}
