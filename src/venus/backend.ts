/**
 * The Venus context backend: implements the render layer's ContextBackend
 * for capset 4 on top of the decoder, with the VK_MESA_venus_protocol
 * runtime (reply streams, indirect streams, rings, cross-stream seqnos) and
 * no-op Vulkan handlers (NoopHandlers) for now.
 *
 *   const backend = new VenusContextBackend(host);
 *   backend.submitCmd(bytes)   // false → the context is fatal (already logged)
 *
 * Rings run on the context's own thread: the context loop calls
 * {@link VenusContextBackend.tick} between socket messages, which does what
 * vkr's ring threads and ring monitor do (drain active rings, IDLE after the
 * idle timeout, ALIVE every half monitor period, retries of yielded rings,
 * per-tick pollers; see ring.ts), time-sliced so that the socket is served
 * promptly. vkNotifyRingMESA / vkSubmitVirtqueueSeqnoMESA wake a ring and
 * drain it at once; vkWaitRingSeqnoMESA blocks the context stream (as in
 * vkr) while serving everything else. Queue timelines bound through
 * VkDeviceQueueTimelineInfoMESA retire their fences immediately (no GPU work
 * is done by the no-op handlers).
 */
import type { Logger } from "../log.ts";
import type { BackendHost, ContextBackend, ExportedBlob } from "../render/backend.ts";
import { FD_TYPE_DMABUF, FD_TYPE_SHM } from "../render/resources.ts";
import type { CaptureWriter } from "./capture.ts";
import { FatalState, VenusDecoder } from "./decoder.ts";
import { VulkanHandlers } from "./vulkan/handlers.ts";
import { VulkanContext } from "./vulkan/context.ts";
import type {
  VkBaseStruct,
  VkCommandStreamDependencyMESA,
  VkCommandStreamDescriptionMESA,
  VkDeviceQueueInfo2,
  VkExtensionProperties,
  VkMemoryResourcePropertiesMESA,
  VkRingCreateInfoMESA,
} from "./generated/types.ts";
import { STRUCTURE_TYPE } from "./generated/types.ts";
import { ObjectTable } from "./object_table.ts";
import type { Ref, U64 } from "./reader.ts";
import type { ShmLookup } from "./reply_stream.ts";
import type { Span } from "./span.ts";
import { schedYield, sleepMs } from "../../ffi/libc.ts";
import {
  RING_CHUNK_BYTES,
  RING_STATUS_ALIVE,
  RING_STATUS_FATAL,
  ringBackoffMs,
  ringLayout,
  VenusRing,
} from "./ring.ts";

/**
 * Longest a tick spends on rings before the context loop looks at its socket
 * again (a batch is cut into RING_CHUNK_BYTES steps; a single command is not
 * interrupted).
 */
export const RING_SLICE_MS = 2;

const VK_ERROR_INVALID_EXTERNAL_HANDLE = -1000072003;
const VK_ERROR_LAYER_NOT_PRESENT = -6;
const VK_INCOMPLETE = 5;
/** what vkr reports: the host loader version with the minor capped at 1.3 */
const VK_API_VERSION_1_3_269 = (1 << 22) | (3 << 12) | 269;
const INSTANCE_EXTENSIONS = [
  { extensionName: "VK_EXT_command_serialization", specVersion: 1 },
  { extensionName: "VK_MESA_venus_protocol", specVersion: 2 },
];

/** What the stream-level handlers need from the context. */
export interface VenusContextServices {
  readonly objects: ObjectTable;
  readonly fatal: FatalState;
  readonly shm: ShmLookup;
  readonly log: Logger;
  readonly name: string;
  readonly rings: Map<string, VenusRing>;
  /** after a ring was added to or removed from {@link rings} */
  ringsChanged(): void;
  /** the context's Vulkan state (instance, devices, queue timelines) */
  readonly vk: VulkanContext;
  /** resource kind by res_id (render-protocol fd type), or undefined */
  resourceType(resId: number): number | undefined;
  resourceSize(resId: number): number;
  /** binds virtio-gpu ring `ringIdx` to a queue of `device`; an error when taken or invalid */
  bindQueueTimeline(ringIdx: number, device: number): string | null;
  /** vkDestroyDevice: the rings bound to the device's queues become free again (as in vkr) */
  unbindQueueTimelines(device: number): void;
  /** when set, every stream is recorded (see capture.ts) */
  readonly capture: CaptureWriter | null;
  /** creates the decoder + handlers of a new stream (a ring, an executed stream) */
  newStream(kind: StreamKind, name: string, reply?: VenusDecoder["reply"]): VenusDecoder;
  /** one step of ring/poller/ALIVE service (see VenusContextBackend.tick) */
  tick(nowMs: number): number | false;
  /** blocks until `ring` reaches `seqno`, serving everything else; an error or null */
  waitRingSeqno(ring: VenusRing, seqno: number): string | null;
}

export type StreamKind = "context" | "ring" | "executed";

/** Handlers of one stream: the MESA runtime commands plus the Vulkan handlers. */
export class StreamHandlers extends VulkanHandlers {
  /** the decoder this handler object is installed in */
  decoder!: VenusDecoder;
  #nested: VenusDecoder | null = null;
  ring: VenusRing | null = null;

  constructor(readonly ctx: VenusContextServices, readonly kind: StreamKind) {
    super(ctx.objects, (m) => this.decoder.fail(m), ctx.vk);
  }

  protected canYield(): boolean {
    return this.kind === "ring";
  }

  protected yieldStream(): void {
    this.decoder.yieldRequested = true;
  }

  protected serveOthers(): void {
    // a wait on the context stream or in an executed stream: keep the rings and queues moving
    for (const r of this.ctx.rings.values()) if (r.decoder !== this.decoder) r.drain();
    this.ctx.vk.pollTimelines();
  }

  #contextOnly(what: string): boolean {
    if (this.kind === "context") return true;
    this.decoder.fail(`${what} is only legal on the context stream`);
    return false;
  }

  #ring(id: U64, what: string): VenusRing | null {
    const r = this.ctx.rings.get(String(id));
    if (!r) this.decoder.fail(`${what}: unknown ring ${id}`);
    return r ?? null;
  }

  override vkSetReplyCommandStreamMESA(pStream: VkCommandStreamDescriptionMESA | null): void {
    const err = this.decoder.reply.set(pStream, this.ctx.shm);
    if (err) this.decoder.fail(err);
  }

  override vkSeekReplyCommandStreamMESA(position: U64): void {
    const err = this.decoder.reply.seek(position);
    if (err) this.decoder.fail(err);
  }

  override vkExecuteCommandStreamsMESA(
    streamCount: number,
    pStreams: Span<VkCommandStreamDescriptionMESA> | null,
    pReplyPositions: Span<U64> | null,
    _dependencyCount: number,
    _pDependencies: Span<VkCommandStreamDependencyMESA> | null,
    _flags: number,
  ): void {
    if (this.kind === "executed") return this.decoder.fail("nested vkExecuteCommandStreamsMESA");
    if (streamCount === 0 || !pStreams) {
      return this.decoder.fail("vkExecuteCommandStreamsMESA without streams");
    }
    const nested = this.#nested ??= this.ctx.newStream(
      "executed",
      `${this.decoder.name} exec`,
      this.decoder.reply,
    );
    // copy the descriptions first: the spans alias the calling stream
    const streams = pStreams.toArray();
    const positions = pReplyPositions?.toArray() ?? null;
    for (let i = 0; i < streams.length; i++) {
      const s = streams[i];
      if (positions) {
        const err = this.decoder.reply.seek(positions[i]);
        if (err) return this.decoder.fail(err);
      }
      if (s.size === 0) continue;
      const u8 = this.ctx.shm(s.resourceId);
      if (!u8) return this.decoder.fail(`executed stream resource ${s.resourceId} is not SHM`);
      if (
        typeof s.offset !== "number" || typeof s.size !== "number" ||
        s.offset + s.size > u8.byteLength
      ) {
        return this.decoder.fail(
          `executed stream [${s.offset}, +${s.size}) outside resource ${s.resourceId}`,
        );
      }
      if (this.ctx.capture) {
        const bytes = u8.slice(s.offset, s.offset + s.size);
        if (this.ring) this.ctx.capture.record("ring", bytes, this.ring.id);
        else this.ctx.capture.record("submit", bytes);
      }
      if (!nested.decodeRange(u8, s.offset, s.offset + s.size)) {
        return this.decoder.fail(`executed stream ${i} failed`);
      }
    }
  }

  override vkCreateRingMESA(ring: U64, pCreateInfo: VkRingCreateInfoMESA | null): void {
    if (!this.#contextOnly("vkCreateRingMESA") || !pCreateInfo) return;
    const resId = pCreateInfo.resourceId;
    const u8 = this.ctx.shm(resId);
    if (!u8) return this.decoder.fail(`ring resource ${resId} is not an SHM resource`);
    const layout = ringLayout(pCreateInfo, u8.byteLength);
    if (typeof layout === "string") return this.decoder.fail(layout);
    // an SHM resource is a whole mapping: page-aligned, so its words are too
    if (u8.byteOffset % 4 !== 0) return this.decoder.fail("ring resource not 4-byte aligned");
    const words = new Uint32Array(u8.buffer, u8.byteOffset, u8.byteLength >> 2);
    if (
      Atomics.load(words, layout.head >> 2) !== 0 || Atomics.load(words, layout.status >> 2) !== 0
    ) {
      return this.decoder.fail("ring head/status not zero at creation");
    }
    let period = 0;
    for (let p: VkBaseStruct | null = pCreateInfo.pNext; p; p = p.pNext) {
      if (p.sType === STRUCTURE_TYPE.VkRingMonitorInfoMESA) {
        period = (p as unknown as { maxReportingPeriodMicroseconds: number })
          .maxReportingPeriodMicroseconds;
        if (period === 0) return this.decoder.fail("ring monitor period 0");
      }
    }
    const dec = this.ctx.newStream("ring", `${this.ctx.name} ring ${ring.toString(16)}`);
    const r = new VenusRing(ring, resId, u8, layout, dec);
    (dec.h as StreamHandlers).ring = r;
    const cap = this.ctx.capture;
    if (cap) r.onBatch = (bytes) => cap.record("ring", bytes, ring);
    r.monitorPeriodUs = period;
    r.idleTimeoutMs = Number(pCreateInfo.idleTimeout) / 1e6;
    // like vkr's ring thread: active from the start, IDLE once idleTimeout passes without data
    r.wake(performance.now());
    if (period) r.setStatusBits(RING_STATUS_ALIVE); // the monitor reports at once
    this.ctx.rings.set(String(ring), r);
    this.ctx.ringsChanged();
  }

  override vkDestroyRingMESA(ring: U64): void {
    if (!this.#contextOnly("vkDestroyRingMESA")) return;
    const r = this.#ring(ring, "vkDestroyRingMESA");
    if (!r) return;
    this.ctx.log.debug(
      `${r.decoder.name}: destroyed after ${r.decoder.commands} commands, ${r.polls} polls, ` +
        `${r.sleeps} sleeps, ${r.straddles} straddling commands`,
    );
    this.ctx.rings.delete(String(ring));
    this.ctx.ringsChanged();
  }

  override vkNotifyRingMESA(ring: U64, _seqno: number, _flags: number): void {
    if (!this.#contextOnly("vkNotifyRingMESA")) return;
    const r = this.#ring(ring, "vkNotifyRingMESA");
    if (r) this.#wake(r);
  }

  override vkWriteRingExtraMESA(ring: U64, offset: U64, value: number): void {
    if (!this.#contextOnly("vkWriteRingExtraMESA")) return;
    const r = this.#ring(ring, "vkWriteRingExtraMESA");
    if (r && !r.writeExtra(offset, value)) {
      this.decoder.fail(`ring extra offset ${offset} out of range`);
    }
  }

  override vkSubmitVirtqueueSeqnoMESA(ring: U64, seqno: U64): void {
    if (!this.#contextOnly("vkSubmitVirtqueueSeqnoMESA")) return;
    const r = this.#ring(ring, "vkSubmitVirtqueueSeqnoMESA");
    if (!r) return;
    r.virtqueueSeqno = seqno;
    this.#wake(r);
  }

  /** Wakes a ring and serves it once right away; the ticks go on from there. */
  #wake(r: VenusRing): void {
    const now = performance.now();
    r.wake(now);
    if (r.service(now, RING_CHUNK_BYTES) === false) {
      this.decoder.fail(`ring ${r.id.toString(16)} is fatal`);
    }
  }

  override vkWaitVirtqueueSeqnoMESA(seqno: U64): void {
    if (this.kind !== "ring" || !this.ring) {
      return this.decoder.fail("vkWaitVirtqueueSeqnoMESA off a ring");
    }
    // not reached yet: stop the ring before this command; the ring is parked (not
    // polled) until vkSubmitVirtqueueSeqnoMESA wakes it and retries the command
    if (BigInt(this.ring.virtqueueSeqno) < BigInt(seqno)) {
      this.ring.awaitedVirtqueueSeqno = seqno;
      this.decoder.yieldRequested = true;
    }
  }

  override vkWaitRingSeqnoMESA(ring: U64, seqno: U64): void {
    if (!this.#contextOnly("vkWaitRingSeqnoMESA")) return;
    const r = this.#ring(ring, "vkWaitRingSeqnoMESA");
    if (!r) return;
    const err = this.ctx.waitRingSeqno(r, Number(BigInt.asUintN(32, BigInt(seqno))));
    if (err) {
      this.decoder.fail(`vkWaitRingSeqnoMESA: ring ${ring.toString(16)} ${err}`);
    }
  }

  // Instance-level answers that do not depend on a Vulkan backend (venus-runtime.md §9):
  // the protocol's version and its two instance extensions. Without a Vulkan
  // backend there are no physical devices (the no-op default: count 0).

  override vkEnumerateInstanceVersion(pApiVersion: Ref<number> | null): number {
    if (pApiVersion) pApiVersion.value = VK_API_VERSION_1_3_269;
    return 0;
  }

  override vkEnumerateInstanceExtensionProperties(
    pLayerName: string | null,
    pPropertyCount: Ref<number> | null,
    pProperties: VkExtensionProperties[] | null,
  ): number {
    if (!pPropertyCount) return 0;
    if (pLayerName !== null) {
      pPropertyCount.value = 0;
      return VK_ERROR_LAYER_NOT_PRESENT;
    }
    if (!pProperties) {
      pPropertyCount.value = INSTANCE_EXTENSIONS.length;
      return 0;
    }
    const n = Math.min(pProperties.length, INSTANCE_EXTENSIONS.length);
    for (let i = 0; i < n; i++) Object.assign(pProperties[i], INSTANCE_EXTENSIONS[i]);
    pPropertyCount.value = n;
    return n < INSTANCE_EXTENSIONS.length ? VK_INCOMPLETE : 0;
  }

  override vkGetMemoryResourcePropertiesMESA(
    _device: number,
    resourceId: number,
    pMemoryResourceProperties: VkMemoryResourcePropertiesMESA | null,
  ): number {
    const t = this.ctx.resourceType(resourceId);
    if (t === undefined) {
      this.decoder.fail(`vkGetMemoryResourcePropertiesMESA: unknown resource ${resourceId}`);
      return 0;
    }
    if (t !== FD_TYPE_DMABUF) return VK_ERROR_INVALID_EXTERNAL_HANDLE;
    for (let p: VkBaseStruct | null = pMemoryResourceProperties?.pNext ?? null; p; p = p.pNext) {
      if (p.sType === STRUCTURE_TYPE.VkMemoryResourceAllocationSizePropertiesMESA) {
        (p as unknown as { allocationSize: number }).allocationSize = this.ctx.resourceSize(
          resourceId,
        );
      }
    }
    return 0;
  }

  override vkGetDeviceQueue2(
    device: number,
    pQueueInfo: VkDeviceQueueInfo2 | null,
    pQueue: number | null,
  ): void {
    let ringIdx = -1;
    for (let p: VkBaseStruct | null = pQueueInfo?.pNext ?? null; p; p = p.pNext) {
      if (p.sType === STRUCTURE_TYPE.VkDeviceQueueTimelineInfoMESA) {
        ringIdx = (p as unknown as { ringIdx: number }).ringIdx;
      }
    }
    if (ringIdx < 0) {
      return this.decoder.fail("vkGetDeviceQueue2 without VkDeviceQueueTimelineInfoMESA");
    }
    const err = this.ctx.bindQueueTimeline(ringIdx, device);
    if (err) return this.decoder.fail(err);
    super.vkGetDeviceQueue2(device, pQueueInfo, pQueue);
    if (pQueue !== null && this.objects.has(pQueue, 4)) {
      this.ctx.vk.bindTimeline(ringIdx, pQueue, device);
    }
  }

  override vkDestroyDevice(device: number, pAllocator: null): void {
    super.vkDestroyDevice(device, pAllocator);
    // Mesa binds ring_idx 1.. again for the next device of the context
    if (device) this.ctx.unbindQueueTimelines(device);
  }
}

export class VenusContextBackend implements ContextBackend, VenusContextServices {
  readonly objects = new ObjectTable();
  readonly fatal = new FatalState();
  readonly rings = new Map<string, VenusRing>();
  readonly vk: VulkanContext;
  readonly decoder: VenusDecoder;
  readonly log: Logger;
  readonly name: string;
  /** bound queue ring_idx → the device id of its queue */
  readonly #timelines = new Map<number, number>();
  #submits = 0;
  /**
   * Capture hook: when set (e.g. from VESPER_CAPTURE), SUBMIT_CMD payloads,
   * ring batches and executed streams are recorded; see capture.ts/replay.ts.
   * Set it before the first submitCmd.
   */
  capture: CaptureWriter | null = null;

  /** `vulkan: false` runs the protocol runtime over no-op Vulkan handlers (protocol tests) */
  constructor(readonly host: BackendHost, opts: { vulkan?: boolean } = {}) {
    this.log = host.log;
    this.name = `ctx ${host.ctxId}`;
    this.vk = new VulkanContext(this.objects, this.log, this.name);
    this.vk.retire = (ring, seqno) => host.retire(ring, seqno);
    this.vk.native = opts.vulkan ?? true;
    this.decoder = this.newStream("context", this.name);
  }

  readonly shm: ShmLookup = (resId) => {
    const r = this.host.resources.get(resId);
    return r && r.fdType === FD_TYPE_SHM && r.mapping ? r.mapping.bytes : null;
  };

  resourceType(resId: number): number | undefined {
    return this.host.resources.get(resId)?.fdType;
  }

  resourceSize(resId: number): number {
    return this.host.resources.get(resId)?.size ?? 0;
  }

  bindQueueTimeline(ringIdx: number, device: number): string | null {
    if (ringIdx < 1 || ringIdx >= 64) return `queue ring_idx ${ringIdx} out of range`;
    if (this.#timelines.has(ringIdx)) return `queue ring_idx ${ringIdx} already bound`;
    this.#timelines.set(ringIdx, device);
    return null;
  }

  unbindQueueTimelines(device: number): void {
    for (const [ringIdx, d] of this.#timelines) if (d === device) this.#timelines.delete(ringIdx);
  }

  newStream(kind: StreamKind, name: string, reply?: VenusDecoder["reply"]): VenusDecoder {
    const h = new StreamHandlers(this, kind);
    const dec = new VenusDecoder({
      objects: this.objects,
      handlers: h,
      log: this.log,
      name,
      fatal: this.fatal,
      reply,
    });
    h.decoder = dec;
    return dec;
  }

  submitCmd(stream: Uint8Array): boolean {
    this.#submits++;
    this.capture?.record("submit", stream);
    return this.decoder.decodeRange(stream);
  }

  /**
   * Per-tick pollers: work that must be looked at while it is pending
   * (e.g. queue fences of SUBMIT_FENCE, the fence a yielded ring command
   * waits for). Every {@link tick} calls each one; it returns how many ms
   * (fractional allowed) until it wants to be called again: 0 = as soon as
   * possible, Infinity = keep me but I have no deadline, negative = no work
   * left, unregister me. A poller that finished what a yielded ring waits for
   * may call `ring.wake(performance.now())` so the ring retries at once
   * (otherwise it retries within its back-off, at most 1 ms). Register with
   * {@link addPoller}; pollers run on the context thread and must not block.
   */
  readonly pollers: (() => number)[] = [];
  #timelinePoller: (() => number) | null = null;
  /** see ContextBackend.spinning */
  spinning = false;
  /** time (performance.now() ms) of the last ALIVE refresh */
  #aliveAt = -Infinity;

  /** Registers a per-tick poller (see {@link pollers}); returns its unregister function. */
  addPoller(poll: () => number): () => void {
    this.pollers.push(poll);
    return () => {
      const i = this.pollers.indexOf(poll);
      if (i >= 0) this.pollers.splice(i, 1);
    };
  }

  /**
   * One step of the context's single-threaded scheduler (ContextBackend.tick):
   * runs the pollers, refreshes ALIVE every half monitor period, and serves
   * the rings that are due (VenusRing.service: drain, back-off, IDLE) within
   * a time slice of {@link RING_SLICE_MS}; a ring that used up the slice
   * goes to the back of the round robin. Returns the ms until the next tick
   * is wanted (0: at once, -1: only when a message arrives) or false when
   * the context became fatal (already logged).
   */
  tick(nowMs: number = performance.now()): number | false {
    this.spinning = false;
    if (this.fatal.fatal) return false;
    let next = Infinity;
    const ps = this.pollers;
    for (let i = 0; i < ps.length; i++) {
      const p = ps[i];
      let d: number;
      try {
        d = p();
      } catch (e) {
        this.fatal.set(`poller: ${e instanceof Error ? e.message : String(e)}`);
        this.log.error(`${this.name}: fatal: ${this.fatal.reason}`);
        return false;
      }
      if (d >= 0) next = Math.min(next, nowMs + d);
      else if (d < 0) {
        const j = ps.indexOf(p); // by identity: a nested tick may have moved it
        if (j >= 0) ps.splice(j, 1);
        if (j >= 0 && j <= i) i--;
      }
    }
    if (this.fatal.fatal) return false;
    if (this.rings.size === 0) return next === Infinity ? -1 : Math.max(0, next - nowMs);
    const period = this.monitorPeriodMs;
    if (period > 0) {
      // the guest gives up after one period without ALIVE: refresh twice per period
      if (nowMs - this.#aliveAt >= period / 2) {
        this.refreshAlive();
        this.#aliveAt = nowMs;
      }
      next = Math.min(next, this.#aliveAt + period / 2);
    }
    let t = nowMs;
    const sliceEnd = nowMs + RING_SLICE_MS;
    let hog: VenusRing | null = null;
    for (const r of this.rings.values()) {
      for (;;) {
        if (t >= sliceEnd) {
          hog ??= r;
          next = t;
          break;
        }
        const at = r.service(t, RING_CHUNK_BYTES);
        if (at === false) return false;
        if (at > t || r.busyPolling) {
          if (at < next) next = at;
          break;
        }
        t = performance.now();
      }
    }
    // due at once without a ring that ran out of its slice: only busy polls
    this.spinning = hog === null && next <= t;
    if (hog && this.rings.size > 1) {
      const k = String(hog.id);
      if (this.rings.get(k) === hog) {
        this.rings.delete(k);
        this.rings.set(k, hog);
      }
    }
    return next === Infinity ? -1 : Math.max(0, next - t);
  }

  /**
   * vkWaitRingSeqnoMESA: blocks the context stream (as vkr blocks its
   * context thread) until `r`'s head reaches `seqno`, while the ticks keep
   * the other rings, the pollers and ALIVE going. Fails at once where
   * nothing could ever get there: the ring is fatal, the seqno lies beyond
   * what the guest published, or the ring waits for a virtqueue seqno that
   * only this (blocked) context stream could submit. Ends early when the
   * context socket hangs up (BackendHost.wait).
   */
  waitRingSeqno(r: VenusRing, seqno: number): string | null {
    let now = performance.now();
    r.wake(now);
    let empty = 0;
    for (;;) {
      const before = r.cur;
      if (!r.drain()) return "is fatal";
      if (r.reached(seqno)) return null;
      if (r.parked) {
        return `waits for virtqueue seqno ${r.awaitedVirtqueueSeqno} that only the context stream can submit`;
      }
      if (!r.yielded && r.pending === 0) {
        return `cannot reach seqno ${seqno} (head ${r.cur}, nothing more published)`;
      }
      // the ring waits on something else (e.g. a fence a poller watches): serve and retry
      const d = this.tick(now);
      if (d === false) return "(the context became fatal while waiting)";
      // vkr's schedule: a busy phase of yields, then sleeps doubling from 10 µs to 1 ms
      empty = r.cur !== before ? 0 : empty + 1;
      const backoff = ringBackoffMs(empty);
      const ms = d < 0 ? backoff : Math.min(d, backoff);
      if (ms > 0) {
        if (this.host.wait) {
          if (!this.host.wait(ms)) return "(context socket closed while waiting)";
        } else sleepMs(ms);
      } else schedYield();
      now = performance.now();
    }
  }

  /** Drains every ring once (for a worker loop without ring threads); false when fatal. */
  pollRings(): boolean {
    for (const r of this.rings.values()) if (!r.drain()) return false;
    return !this.fatal.fatal;
  }

  /**
   * The shortest VkRingMonitorInfoMESA period of the monitored rings, in
   * milliseconds (0 = none): call {@link refreshAlive} at least that often,
   * or Mesa aborts long waits ("expired ring alive status"). Kept up to date
   * by {@link ringsChanged}, not worked out on every tick.
   */
  monitorPeriodMs = 0;

  ringsChanged(): void {
    let us = 0;
    for (const r of this.rings.values()) {
      if (r.monitorPeriodUs && (us === 0 || r.monitorPeriodUs < us)) us = r.monitorPeriodUs;
    }
    this.monitorPeriodMs = us / 1000;
  }

  /** Sets the ALIVE bit of every monitored ring (the ring monitor's job). */
  refreshAlive(): void {
    for (const r of this.rings.values()) if (r.monitorPeriodUs) r.setStatusBits(RING_STATUS_ALIVE);
  }

  exportBlob(resId: number, blobId: bigint, size: bigint, flags: number): ExportedBlob | null {
    if (this.vk.native) return this.vk.exportBlob(resId, blobId, size, flags);
    this.log.warn(
      `${this.name}: CREATE_RESOURCE res ${resId}: no exportable object ${blobId} (no-op backend)`,
    );
    return null;
  }

  submitFence(ring: number, seqno: number, _flags = 0): boolean {
    // unbound: the context logs the fatal error (ContextBackend.submitFence)
    if (!this.#timelines.has(ring)) return false;
    // a queue the host knows: retire once the work queued before the fence is done
    if (this.vk.submitFence(ring, seqno)) {
      if (!this.#timelinePoller) {
        // poll the queue fences while some are pending: 50 µs doubling to 1 ms, then unregister
        let delay = 0.05;
        this.#timelinePoller = () => {
          if (this.vk.pollTimelines()) return delay = Math.min(1, delay * 2);
          this.#timelinePoller = null;
          delay = 0.05;
          return -1;
        };
        this.addPoller(this.#timelinePoller);
      }
      return true;
    }
    this.host.retire(ring, seqno);
    return true;
  }

  resourceDestroyed(resId: number): void {
    this.decoder.reply.resourceDestroyed(resId);
    for (const [id, r] of this.rings) {
      if (r.resId === resId) {
        this.fatal.set(`SHM resource ${resId} of ring ${id} destroyed`);
        this.log.error(`${this.name}: fatal: ${this.fatal.reason}`);
        r.setStatusBits(RING_STATUS_FATAL);
        this.rings.delete(id);
      }
      r.decoder.reply.resourceDestroyed(resId);
    }
    this.ringsChanged();
  }

  stats(): Record<string, number> {
    let commands = this.decoder.commands, bytes = this.decoder.bytes;
    let ringPolls = 0, ringSleeps = 0;
    for (const r of this.rings.values()) {
      commands += r.decoder.commands;
      bytes += r.decoder.bytes;
      ringPolls += r.polls;
      ringSleeps += r.sleeps;
    }
    return {
      streams: this.#submits,
      venusCommands: commands,
      venusBytes: bytes,
      rings: this.rings.size,
      ringPolls,
      ringSleeps,
      objects: this.objects.size,
      fatal: this.fatal.fatal ? 1 : 0,
    };
  }

  destroy(): void {
    this.capture?.close();
    this.capture = null;
    this.rings.clear();
    this.ringsChanged();
    try {
      this.vk.destroyAll();
    } catch (e) {
      this.log.warn(`${this.name}: Vulkan teardown: ${e}`);
    }
    this.objects.clear();
  }
}
