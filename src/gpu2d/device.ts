/**
 * The virtio-gpu 2D device: resources with a host copy of their pixels,
 * guest backing, scanouts, and the commands of the control and cursor
 * queues. Damage goes out as VHOST_USER_GPU_UPDATE messages of exactly the
 * flushed rectangle, clipped to each scanout that shows the resource.
 *
 * Every guest value is checked before use; a bad command gets the proper
 * virtio-gpu error response and one log line. The host copy of a resource
 * is kept in x8r8g8b8 byte order (converted when the guest transfers
 * pixels in), so a flush is a copy of rows, or no copy at all when the rect
 * spans whole rows.
 */
import { Strided } from "../../ffi/unix_socket.ts";
import type { Logger } from "../log.ts";
import { BYTES_PER_PIXEL, convertInPlace, FORMATS, type Swizzle } from "./formats.ts";
import type { GuestMemory } from "./guest_memory.ts";
import { GPU_GET_DISPLAY_INFO, GPU_GET_EDID, type GpuSocket } from "./gpu_socket.ts";
import { LatencyStats, Scanout } from "./scanout.ts";
import * as G from "./virtio_gpu.ts";

export interface DeviceLimits {
  /** most resources at once (RESOURCE_CREATE_2D beyond: ERR_OUT_OF_MEMORY) */
  maxResources: number;
  /** most bytes of host pixel copies at once */
  maxHostMem: number;
  /** largest width or height */
  maxDimension: number;
  /** most entries in one ATTACH_BACKING */
  maxBackingEntries: number;
  /** largest UPDATE message; bigger rects go out in row bands (0: one message per rect) */
  maxUpdateBytes?: number;
}

export const DEFAULT_LIMITS: DeviceLimits = {
  maxResources: 16384,
  maxHostMem: 256 * 1024 * 1024,
  maxDimension: 16384,
  maxBackingEntries: 16384,
};

/**
 * Largest UPDATE message, header included. QEMU reads a display message's
 * payload with qemu_chr_fe_read_all(), which gives up after 11 partial
 * reads and then loses the message (and its place in the stream). A reader
 * racing our sendmsg can get as little as one socket buffer (~36 KiB on
 * Linux AF_UNIX streams) per read, so a damage rect bigger than this goes
 * out as several UPDATEs of whole-row bands that tile it exactly; the
 * cost is 32 header bytes per extra band (480 bytes on a 4 MB 1280x800
 * frame). The reference back-end sends one message and can lose frames.
 */
export const MAX_UPDATE_BYTES = 256 * 1024;

/** Display size reported when QEMU cannot be asked. */
export const FALLBACK_DISPLAY = { w: 1280, h: 800 };

/** What the device did, for traces and tests. */
export type DeviceEvent =
  | { kind: "command"; cmd: string; resource?: number; rect?: G.Rect; result: string }
  | { kind: "scanout"; scanout: number; w: number; h: number }
  | { kind: "update"; scanout: number; rect: G.Rect; bytes: number }
  /** a message on the display socket: request number, its first payload words */
  | { kind: "sent"; request: number; words: number[]; pixelBytes: number };

/** Guest backing: the mem entries, translated for one memory-table generation. */
class Backing {
  views: Uint8Array[] = [];
  starts: number[] = [];
  gen = -1;

  constructor(readonly entries: { gpa: bigint; len: number }[], readonly total: number) {}

  /** Translates the entries for the current memory table; false when one left guest memory. */
  ensure(mem: GuestMemory): boolean {
    if (this.gen === mem.generation) return true;
    const views: Uint8Array[] = [];
    const starts: number[] = [];
    let pos = 0;
    for (const e of this.entries) {
      if (e.len === 0) continue;
      const v = mem.gpaBig(e.gpa, e.len);
      if (!v) return false;
      const last = views[views.length - 1];
      if (last && last.buffer === v.buffer && last.byteOffset + last.byteLength === v.byteOffset) {
        views[views.length - 1] = new Uint8Array(
          v.buffer,
          last.byteOffset,
          last.byteLength + v.byteLength,
        );
      } else {
        views.push(v);
        starts.push(pos);
      }
      pos += e.len;
    }
    this.views = views;
    this.starts = starts;
    this.gen = mem.generation;
    return true;
  }

  /** Copies backing bytes [off, off+len) into dst at dstOff. The caller checked the range. */
  copyOut(off: number, dst: Uint8Array, dstOff: number, len: number): void {
    const starts = this.starts;
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid] <= off) lo = mid;
      else hi = mid - 1;
    }
    let i = lo;
    while (len > 0) {
      const v = this.views[i];
      const inner = off - starts[i];
      const n = Math.min(len, v.byteLength - inner);
      dst.set(inner === 0 && n === v.byteLength ? v : v.subarray(inner, inner + n), dstOff);
      off += n;
      dstOff += n;
      len -= n;
      i++;
    }
  }
}

class Resource {
  backing: Backing | null = null;
  readonly bytes: Uint8Array<ArrayBuffer>;
  readonly px: Uint32Array<ArrayBuffer>;
  readonly stride: number;

  constructor(
    readonly id: number,
    readonly format: number,
    readonly swizzle: Swizzle,
    readonly width: number,
    readonly height: number,
  ) {
    this.stride = width * BYTES_PER_PIXEL;
    this.bytes = new Uint8Array(new ArrayBuffer(this.stride * height));
    this.px = new Uint32Array(this.bytes.buffer);
  }

  get size(): number {
    return this.bytes.byteLength;
  }
}

/** A command's response: `bytes` is written to the chain's writable buffers. */
export type Reply = (bytes: Uint8Array) => void;

class CommandError extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

export class Gpu2D {
  readonly resources = new Map<number, Resource>();
  readonly scanouts: Scanout[] = [];
  readonly latency = new LatencyStats();
  display: GpuSocket | null = null;
  observer: ((e: DeviceEvent) => void) | null = null;
  /** performance.now() of the kick whose commands are being executed */
  kickTime = 0;
  hostMem = 0;
  #resp = new Uint8Array(new ArrayBuffer(G.EDID_RESP_SIZE));
  #respView = new DataView(this.#resp.buffer);
  #cursorImg = new Uint8Array(new ArrayBuffer(G.CURSOR_DIM * G.CURSOR_DIM * 4));

  constructor(
    readonly mem: GuestMemory,
    readonly log: Logger,
    readonly numScanouts = 1,
    readonly limits: DeviceLimits = DEFAULT_LIMITS,
  ) {
    for (let i = 0; i < numScanouts; i++) this.scanouts.push(new Scanout(i));
  }

  /** Drops all resources and scanout state (device reset). */
  reset(): void {
    this.resources.clear();
    this.hostMem = 0;
    for (const s of this.scanouts) {
      s.resourceId = 0;
      s.shownW = s.shownH = 0;
      s.needsFull = false;
    }
  }

  /** Per-scanout counters and latency, as JSON-able data. */
  stats(): Record<string, unknown> {
    return {
      scanouts: this.scanouts.map((s) => ({ id: s.id, ...s.counters })),
      kickToUpdate: this.latency.toJSON(),
      resources: this.resources.size,
      hostMem: this.hostMem,
    };
  }

  // ---- response helpers ------------------------------------------------------

  /** Starts a response of `size` bytes with `type`, echoing the fence fields of `req`. */
  #header(req: DataView, type: number, size: number): Uint8Array {
    const r = this.#resp.subarray(0, size);
    r.fill(0);
    const dv = this.#respView;
    dv.setUint32(0, type, true);
    const flags = req.getUint32(4, true) & (G.FLAG_FENCE | G.FLAG_INFO_RING_IDX);
    dv.setUint32(4, flags, true);
    if (flags & G.FLAG_FENCE) {
      dv.setBigUint64(8, req.getBigUint64(8, true), true);
      dv.setUint32(16, req.getUint32(16, true), true);
      if (flags & G.FLAG_INFO_RING_IDX) dv.setUint8(20, req.getUint8(20));
    }
    return r;
  }

  #emit(e: DeviceEvent): void {
    this.observer?.(e);
  }

  // ---- control queue ---------------------------------------------------------

  /**
   * Executes one control-queue request. `reply` is called exactly once,
   * synchronously, or later for the requests QEMU must answer (display
   * info, EDID) — the caller holds the queue until then.
   */
  execute(req: Uint8Array, reply: Reply): void {
    if (req.byteLength < G.HDR_SIZE) {
      this.log.warn(`ctrl: request of ${req.byteLength} bytes is shorter than a header`);
      const empty = new DataView(new ArrayBuffer(G.HDR_SIZE));
      return reply(this.#header(empty, G.RESP_ERR_UNSPEC, G.HDR_SIZE));
    }
    const dv = new DataView(req.buffer, req.byteOffset, req.byteLength);
    const type = dv.getUint32(0, true);
    const name = G.commandName(type);
    const need = G.REQUEST_SIZE[type];
    try {
      if (need === undefined || type === G.CMD_UPDATE_CURSOR || type === G.CMD_MOVE_CURSOR) {
        throw new CommandError(G.RESP_ERR_UNSPEC, "unknown or unsupported command");
      }
      if (req.byteLength < need) {
        throw new CommandError(
          G.RESP_ERR_UNSPEC,
          `request of ${req.byteLength} bytes, needs ${need}`,
        );
      }
      switch (type) {
        case G.CMD_GET_DISPLAY_INFO:
          return this.#getDisplayInfo(dv, reply);
        case G.CMD_GET_EDID:
          return this.#getEdid(dv, reply);
        case G.CMD_RESOURCE_CREATE_2D:
          this.#create2d(dv);
          break;
        case G.CMD_RESOURCE_UNREF:
          this.#unref(dv);
          break;
        case G.CMD_SET_SCANOUT:
          this.#setScanout(dv);
          break;
        case G.CMD_RESOURCE_FLUSH:
          this.#flush(dv);
          break;
        case G.CMD_TRANSFER_TO_HOST_2D:
          this.#transfer(dv);
          break;
        case G.CMD_RESOURCE_ATTACH_BACKING:
          this.#attachBacking(dv);
          break;
        case G.CMD_RESOURCE_DETACH_BACKING:
          this.#detachBacking(dv);
          break;
        default:
          throw new CommandError(G.RESP_ERR_UNSPEC, "unsupported command");
      }
    } catch (e) {
      if (!(e instanceof CommandError)) throw e;
      this.log.warn(`ctrl: ${name}: ${e.message} -> ${G.commandName(e.code)}`);
      this.#emit({ kind: "command", cmd: name, result: G.commandName(e.code) });
      return reply(this.#header(dv, e.code, G.HDR_SIZE));
    }
    reply(this.#header(dv, G.RESP_OK_NODATA, G.HDR_SIZE));
  }

  #resource(id: number): Resource {
    const r = this.resources.get(id);
    if (!r) throw new CommandError(G.RESP_ERR_INVALID_RESOURCE_ID, `no resource ${id}`);
    return r;
  }

  #getDisplayInfo(req: DataView, reply: Reply): void {
    const fill = (payload: Uint8Array | null) => {
      const r = this.#header(req, G.RESP_OK_DISPLAY_INFO, G.DISPLAY_INFO_SIZE);
      if (payload && payload.byteLength >= G.DISPLAY_INFO_SIZE) {
        r.set(payload.subarray(G.HDR_SIZE, G.DISPLAY_INFO_SIZE), G.HDR_SIZE);
      } else {
        const dv = this.#respView;
        dv.setUint32(G.HDR_SIZE + 8, FALLBACK_DISPLAY.w, true);
        dv.setUint32(G.HDR_SIZE + 12, FALLBACK_DISPLAY.h, true);
        dv.setUint32(G.HDR_SIZE + 16, 1, true);
      }
      this.#emit({ kind: "command", cmd: "GET_DISPLAY_INFO", result: "OK_DISPLAY_INFO" });
      reply(r);
    };
    const d = this.display;
    if (d && !d.closed && d.handshakeDone) {
      d.request(GPU_GET_DISPLAY_INFO, new Uint8Array(0), fill);
    } else {
      fill(null);
    }
  }

  #getEdid(req: DataView, reply: Reply): void {
    const scanout = req.getUint32(G.HDR_SIZE, true);
    if (scanout >= this.numScanouts) {
      throw new CommandError(G.RESP_ERR_INVALID_SCANOUT_ID, `scanout ${scanout} does not exist`);
    }
    const d = this.display;
    if (!d || d.closed || !d.hasEdid) {
      throw new CommandError(G.RESP_ERR_UNSPEC, "no EDID available from the display");
    }
    const p = new Uint8Array(new ArrayBuffer(4));
    new DataView(p.buffer).setUint32(0, scanout, true);
    d.request(GPU_GET_EDID, p, (payload) => {
      if (!payload || payload.byteLength < G.EDID_RESP_SIZE) {
        this.log.warn("ctrl: GET_EDID: the display gave no EDID -> ERR_UNSPEC");
        return reply(this.#header(req, G.RESP_ERR_UNSPEC, G.HDR_SIZE));
      }
      const r = this.#header(req, G.RESP_OK_EDID, G.EDID_RESP_SIZE);
      r.set(payload.subarray(G.HDR_SIZE, G.EDID_RESP_SIZE), G.HDR_SIZE);
      this.#emit({ kind: "command", cmd: "GET_EDID", result: "OK_EDID" });
      reply(r);
    });
  }

  #create2d(dv: DataView): void {
    const id = dv.getUint32(24, true);
    const format = dv.getUint32(28, true);
    const width = dv.getUint32(32, true);
    const height = dv.getUint32(36, true);
    const L = this.limits;
    if (id === 0) throw new CommandError(G.RESP_ERR_INVALID_RESOURCE_ID, "resource id 0");
    if (this.resources.has(id)) {
      throw new CommandError(G.RESP_ERR_INVALID_RESOURCE_ID, `resource ${id} already exists`);
    }
    const f = FORMATS.get(format);
    if (!f) throw new CommandError(G.RESP_ERR_INVALID_PARAMETER, `unknown format ${format}`);
    if (width === 0 || height === 0 || width > L.maxDimension || height > L.maxDimension) {
      throw new CommandError(G.RESP_ERR_INVALID_PARAMETER, `bad size ${width}x${height}`);
    }
    const size = width * BYTES_PER_PIXEL * height; // exact in JS numbers: no 32-bit wrap
    if (this.resources.size >= L.maxResources) {
      throw new CommandError(G.RESP_ERR_OUT_OF_MEMORY, `resource limit ${L.maxResources} reached`);
    }
    if (this.hostMem + size > L.maxHostMem) {
      throw new CommandError(
        G.RESP_ERR_OUT_OF_MEMORY,
        `${size} bytes would exceed the host memory limit (${this.hostMem} of ${L.maxHostMem} used)`,
      );
    }
    this.resources.set(id, new Resource(id, format, f.swizzle, width, height));
    this.hostMem += size;
    this.#emit({
      kind: "command",
      cmd: "RESOURCE_CREATE_2D",
      resource: id,
      rect: { x: 0, y: 0, w: width, h: height },
      result: "OK_NODATA",
    });
  }

  #unref(dv: DataView): void {
    const id = dv.getUint32(24, true);
    const res = this.#resource(id);
    for (const s of this.scanouts) {
      if (s.resourceId === id) this.#disableScanout(s);
    }
    this.resources.delete(id);
    this.hostMem -= res.size;
    this.#emit({ kind: "command", cmd: "RESOURCE_UNREF", resource: id, result: "OK_NODATA" });
  }

  #disableScanout(s: Scanout): void {
    s.resourceId = 0;
    if (s.shownW !== 0 || s.shownH !== 0) {
      s.shownW = s.shownH = 0;
      s.needsFull = false;
      this.display?.scanout(s.id, 0, 0);
      s.counters.scanouts++;
      this.#emit({ kind: "scanout", scanout: s.id, w: 0, h: 0 });
    }
  }

  #setScanout(dv: DataView): void {
    const r = G.readRect(dv, 24);
    const sid = dv.getUint32(40, true);
    const rid = dv.getUint32(44, true);
    if (sid >= this.numScanouts) {
      throw new CommandError(G.RESP_ERR_INVALID_SCANOUT_ID, `scanout ${sid} does not exist`);
    }
    const s = this.scanouts[sid];
    if (rid === 0) {
      this.#disableScanout(s);
      this.#emit({
        kind: "command",
        cmd: "SET_SCANOUT",
        resource: 0,
        rect: r,
        result: "OK_NODATA",
      });
      return;
    }
    const res = this.#resource(rid);
    if (r.w === 0 || r.h === 0 || !G.rectInside(r, res.width, res.height)) {
      throw new CommandError(
        G.RESP_ERR_INVALID_PARAMETER,
        `scanout rect ${G.rectString(r)} outside resource ${rid} (${res.width}x${res.height})`,
      );
    }
    s.resourceId = rid;
    s.rect = r;
    // QEMU makes a new, blank surface for every SCANOUT message: only send
    // one when the size changes, and repaint it fully on the next flush.
    this.#ensureSurface(s);
    this.#emit({
      kind: "command",
      cmd: "SET_SCANOUT",
      resource: rid,
      rect: r,
      result: "OK_NODATA",
    });
  }

  /**
   * Sends SCANOUT for `s`'s current rect unless the display already shows that
   * size; the next flush then repaints it fully.
   */
  #ensureSurface(s: Scanout): void {
    if (s.shownW === s.rect.w && s.shownH === s.rect.h) return;
    const disp = this.display;
    if (!disp || disp.closed) return;
    s.shownW = s.rect.w;
    s.shownH = s.rect.h;
    s.needsFull = true;
    disp.scanout(s.id, s.rect.w, s.rect.h);
    s.counters.scanouts++;
    this.#emit({ kind: "scanout", scanout: s.id, w: s.rect.w, h: s.rect.h });
  }

  #transfer(dv: DataView): void {
    const r = G.readRect(dv, 24);
    const offsetBig = dv.getBigUint64(40, true);
    const id = dv.getUint32(48, true);
    const res = this.#resource(id);
    if (!G.rectInside(r, res.width, res.height)) {
      throw new CommandError(
        G.RESP_ERR_INVALID_PARAMETER,
        `transfer rect ${G.rectString(r)} outside resource ${id} (${res.width}x${res.height})`,
      );
    }
    const b = res.backing;
    if (!b) throw new CommandError(G.RESP_ERR_UNSPEC, `resource ${id} has no backing`);
    if (!b.ensure(this.mem)) {
      throw new CommandError(
        G.RESP_ERR_UNSPEC,
        `resource ${id} backing is no longer in guest memory`,
      );
    }
    this.#emit({
      kind: "command",
      cmd: "TRANSFER_TO_HOST_2D",
      resource: id,
      rect: r,
      result: "OK_NODATA",
    });
    if (r.w === 0 || r.h === 0) return;
    const stride = res.stride;
    const rowBytes = r.w * BYTES_PER_PIXEL;
    const offset = Number(offsetBig);
    const end = offset + (r.h - 1) * stride + rowBytes; // exact: offset < 2^64 fits a double's range
    if (offsetBig > BigInt(Number.MAX_SAFE_INTEGER) || end > b.total) {
      throw new CommandError(
        G.RESP_ERR_INVALID_PARAMETER,
        `transfer of ${
          G.rectString(r)
        } at offset ${offsetBig} reads past the backing (${b.total} bytes)`,
      );
    }
    const dstStart = r.y * stride + r.x * BYTES_PER_PIXEL;
    if (r.x === 0 && r.w === res.width) {
      b.copyOut(offset, res.bytes, dstStart, r.h * stride);
      convertInPlace(res.px, dstStart / 4, r.w * r.h, res.swizzle);
    } else {
      for (let row = 0; row < r.h; row++) {
        const dst = dstStart + row * stride;
        b.copyOut(offset + row * stride, res.bytes, dst, rowBytes);
        convertInPlace(res.px, dst / 4, r.w, res.swizzle);
      }
    }
  }

  #flush(dv: DataView): void {
    const r = G.readRect(dv, 24);
    const id = dv.getUint32(40, true);
    const res = this.#resource(id);
    if (!G.rectInside(r, res.width, res.height)) {
      throw new CommandError(
        G.RESP_ERR_INVALID_PARAMETER,
        `flush rect ${G.rectString(r)} outside resource ${id} (${res.width}x${res.height})`,
      );
    }
    this.#emit({
      kind: "command",
      cmd: "RESOURCE_FLUSH",
      resource: id,
      rect: r,
      result: "OK_NODATA",
    });
    for (const s of this.scanouts) {
      if (s.resourceId !== id) continue;
      // A display connection QEMU handed over anew has no surface for the
      // scanout yet: make one, and paint all of it.
      this.#ensureSurface(s);
      let d = G.intersect(r, s.rect);
      if (s.needsFull) d = s.rect;
      if (!d) continue;
      s.counters.flushes++;
      s.needsFull = false;
      this.#sendUpdate(s, res, d);
    }
  }

  /** Sends resource rect `d` (resource coordinates, inside s.rect) to scanout `s`. */
  #sendUpdate(s: Scanout, res: Resource, d: G.Rect): void {
    const disp = this.display;
    if (!disp || disp.closed) return;
    const stride = res.stride;
    const rowBytes = d.w * BYTES_PER_PIXEL;
    const n = rowBytes * d.h;
    // The rect's rows where they lie in the host copy: sent without copying
    // (one iovec per row, or one for all when they span whole rows).
    const pixels = new Strided(
      res.bytes,
      d.y * stride + d.x * BYTES_PER_PIXEL,
      rowBytes,
      stride,
      d.h,
    );
    const ux = d.x - s.rect.x;
    const uy = d.y - s.rect.y;
    const kick = this.kickTime;
    const sent = () => this.latency.add(performance.now() - kick);
    // Bands of whole rows, each one UPDATE message small enough for QEMU to
    // read in one go (see MAX_UPDATE_BYTES).
    const limit = this.limits.maxUpdateBytes ?? MAX_UPDATE_BYTES;
    const bandRows = limit > 0 ? Math.max(1, Math.floor((limit - 32) / rowBytes)) : d.h;
    const msgs = disp.update(s.id, ux, uy, d.w, d.h, pixels, bandRows, sent);
    if (msgs < 0) return;
    s.counters.messages += msgs;
    s.counters.bytes += n + 32 * msgs;
    s.counters.rects++;
    s.counters.pixelBytes += n;
    this.#emit({ kind: "update", scanout: s.id, rect: { x: ux, y: uy, w: d.w, h: d.h }, bytes: n });
  }

  #attachBacking(dv: DataView): void {
    const id = dv.getUint32(24, true);
    const nr = dv.getUint32(28, true);
    const res = this.#resource(id);
    if (nr === 0 || nr > this.limits.maxBackingEntries) {
      throw new CommandError(
        G.RESP_ERR_UNSPEC,
        `${nr} backing entries (1..${this.limits.maxBackingEntries})`,
      );
    }
    if (dv.byteLength < 32 + nr * G.MEM_ENTRY_SIZE) {
      throw new CommandError(G.RESP_ERR_UNSPEC, `request too short for ${nr} backing entries`);
    }
    if (res.backing) {
      throw new CommandError(G.RESP_ERR_UNSPEC, `resource ${id} already has backing`);
    }
    const entries: { gpa: bigint; len: number }[] = [];
    let total = 0;
    for (let i = 0; i < nr; i++) {
      const o = 32 + i * G.MEM_ENTRY_SIZE;
      const gpa = dv.getBigUint64(o, true);
      const len = dv.getUint32(o + 8, true);
      if (len > 0 && !this.mem.gpaBig(gpa, len)) {
        throw new CommandError(
          G.RESP_ERR_UNSPEC,
          `backing entry ${i} (0x${gpa.toString(16)}+${len}) is outside guest memory`,
        );
      }
      entries.push({ gpa, len });
      total += len;
    }
    if (total < res.size) {
      throw new CommandError(
        G.RESP_ERR_INVALID_PARAMETER,
        `backing of ${total} bytes does not cover resource ${id} (${res.size} bytes)`,
      );
    }
    const b = new Backing(entries, total);
    if (!b.ensure(this.mem)) {
      throw new CommandError(G.RESP_ERR_UNSPEC, "backing outside guest memory");
    }
    res.backing = b;
    this.#emit({
      kind: "command",
      cmd: "RESOURCE_ATTACH_BACKING",
      resource: id,
      result: "OK_NODATA",
    });
  }

  #detachBacking(dv: DataView): void {
    const id = dv.getUint32(24, true);
    const res = this.#resource(id);
    if (!res.backing) throw new CommandError(G.RESP_ERR_UNSPEC, `resource ${id} has no backing`);
    res.backing = null;
    this.#emit({
      kind: "command",
      cmd: "RESOURCE_DETACH_BACKING",
      resource: id,
      result: "OK_NODATA",
    });
  }

  // ---- cursor queue ------------------------------------------------------------

  /** Executes one cursor-queue request (these have no response). */
  executeCursor(req: Uint8Array): void {
    if (req.byteLength < G.HDR_SIZE + 32) {
      this.log.warn(`cursor: request of ${req.byteLength} bytes is too short`);
      return;
    }
    const dv = new DataView(req.buffer, req.byteOffset, req.byteLength);
    const type = dv.getUint32(0, true);
    const sid = dv.getUint32(24, true);
    const x = dv.getUint32(28, true);
    const y = dv.getUint32(32, true);
    const rid = dv.getUint32(40, true);
    const hotX = dv.getUint32(44, true);
    const hotY = dv.getUint32(48, true);
    if (type !== G.CMD_UPDATE_CURSOR && type !== G.CMD_MOVE_CURSOR) {
      this.log.warn(`cursor: unknown command ${G.commandName(type)}`);
      return;
    }
    if (sid >= this.numScanouts) {
      this.log.warn(`cursor: ${G.commandName(type)} for scanout ${sid} that does not exist`);
      return;
    }
    const disp = this.display;
    this.#emit({
      kind: "command",
      cmd: G.commandName(type),
      resource: rid,
      rect: { x, y, w: 0, h: 0 },
      result: "",
    });
    if (!disp || disp.closed) return;
    if (type === G.CMD_MOVE_CURSOR) return disp.cursorPos(sid, x, y, true);
    if (rid === 0) return disp.cursorPos(sid, x, y, false);
    const res = this.resources.get(rid);
    if (!res) {
      this.log.warn(`cursor: UPDATE_CURSOR with resource ${rid} that does not exist`);
      return;
    }
    const D = G.CURSOR_DIM;
    let img: Uint8Array;
    if (res.width === D && res.height === D) {
      img = res.bytes;
    } else {
      this.log.warn(
        `cursor: resource ${rid} is ${res.width}x${res.height}, not ${D}x${D}; clipping`,
      );
      img = this.#cursorImg;
      img.fill(0);
      const w = Math.min(D, res.width) * 4;
      for (let row = 0; row < Math.min(D, res.height); row++) {
        img.set(res.bytes.subarray(row * res.stride, row * res.stride + w), row * D * 4);
      }
    }
    disp.cursorUpdate(sid, x, y, hotX, hotY, img);
  }
}
