/**
 * Per-context Vulkan state of the Venus backend: the host instance, the
 * physical devices (and their filtered extension lists), devices, queue
 * timelines (SUBMIT_FENCE → host fence → retirement), and teardown.
 *
 * Ownership: every host object lives in the context's ObjectTable under the
 * guest's id — dispatchable ones as a {@link NativeDispatchable} (handle +
 * entry-point table), the others as their raw 64-bit handle — with the id of
 * the object it was created from as parent. {@link VulkanContext.destroyAll}
 * destroys them in reverse creation order with the matching vkDestroy* or
 * vkFree* of their device, so a context that goes away frees everything it
 * owned on the host (vkr leaves that to process exit).
 */
import type { Logger } from "../../log.ts";
import type { ProcTable } from "../../../ffi/vulkan.ts";
import { physicalMemoryBytes } from "../../../ffi/libc.ts";
import { COMMAND_TYPE } from "../generated/types.ts";
import { type Dispatchable, FFI } from "../generated/vulkan.ts";
import type { ObjectTable } from "../object_table.ts";
import { Arena, B } from "./arena.ts";
import { HostMemoryTable } from "./host_memory.ts";
import { FeedbackGuard } from "./feedback_guard.ts";
import type { ExportedBlob } from "../../render/backend.ts";

export const OT = {
  INSTANCE: 1,
  PHYSICAL_DEVICE: 2,
  DEVICE: 3,
  QUEUE: 4,
  SEMAPHORE: 5,
  COMMAND_BUFFER: 6,
  FENCE: 7,
  DEVICE_MEMORY: 8,
  BUFFER: 9,
  IMAGE: 10,
  EVENT: 11,
  QUERY_POOL: 12,
  DESCRIPTOR_POOL: 22,
  DESCRIPTOR_SET: 23,
  COMMAND_POOL: 25,
} as const;

export const VK = {
  SUCCESS: 0,
  NOT_READY: 1,
  TIMEOUT: 2,
  INCOMPLETE: 5,
  ERROR_OUT_OF_HOST_MEMORY: -1,
  ERROR_OUT_OF_DEVICE_MEMORY: -2,
  ERROR_INITIALIZATION_FAILED: -3,
  ERROR_DEVICE_LOST: -4,
  ERROR_LAYER_NOT_PRESENT: -6,
  ERROR_EXTENSION_NOT_PRESENT: -7,
  ERROR_FEATURE_NOT_PRESENT: -8,
  ERROR_UNKNOWN: -13,
  ERROR_INVALID_EXTERNAL_HANDLE: -1000072003,
} as const;

/** The host side of a dispatchable object: its handle and the entry points to call it with. */
export class NativeDispatchable implements Dispatchable {
  readonly hb: bigint;
  constructor(
    readonly type: number,
    readonly h: number | bigint,
    readonly t: ProcTable,
  ) {
    this.hb = BigInt(h);
  }
}

export type CommandName = keyof typeof COMMAND_TYPE;

/** command type of a command name */
export function cmdId(name: CommandName): number {
  return COMMAND_TYPE[name];
}

/** object type → its vkDestroy* or vkFree*(device, handle, pAllocator) */
const DESTROYERS: Record<number, CommandName> = {
  5: "vkDestroySemaphore",
  7: "vkDestroyFence",
  8: "vkFreeMemory",
  9: "vkDestroyBuffer",
  10: "vkDestroyImage",
  11: "vkDestroyEvent",
  12: "vkDestroyQueryPool",
  13: "vkDestroyBufferView",
  14: "vkDestroyImageView",
  15: "vkDestroyShaderModule",
  16: "vkDestroyPipelineCache",
  17: "vkDestroyPipelineLayout",
  18: "vkDestroyRenderPass",
  19: "vkDestroyPipeline",
  20: "vkDestroyDescriptorSetLayout",
  21: "vkDestroySampler",
  22: "vkDestroyDescriptorPool",
  24: "vkDestroyFramebuffer",
  25: "vkDestroyCommandPool",
  1000156000: "vkDestroySamplerYcbcrConversion",
  1000085000: "vkDestroyDescriptorUpdateTemplate",
};

/** One SUBMIT_FENCE waiting for its queue. */
interface PendingFence {
  fence: number | bigint;
  seqno: number;
}

/** A queue bound to a virtio-gpu ring index (VkDeviceQueueTimelineInfoMESA). */
export class QueueTimeline {
  readonly pending: PendingFence[] = [];
  readonly free: (number | bigint)[] = [];

  constructor(
    readonly ringIdx: number,
    readonly queue: NativeDispatchable,
    readonly device: NativeDispatchable,
    readonly deviceId: number,
  ) {}
}

export class VulkanContext {
  /** the guest's VkInstance id, 0 before vkCreateInstance */
  instanceId = 0;
  /** host physical device handle (as string) → guest id */
  readonly pdIds = new Map<string, number>();
  /** per physical device id: the device extensions the guest sees */
  readonly deviceExtensions = new Map<number, { extensionName: string; specVersion: number }[]>();
  /** per device id: the host queue family count, and enabled extensions */
  readonly devices = new Map<number, { extensions: Set<string> }>();
  readonly timelines = new Map<number, QueueTimeline>();
  /** per physical device id: property flags of its memory types */
  readonly memoryTypes = new Map<number, number[]>();
  /** memfd-backed host-visible memory by memory id */
  readonly hostMemory: HostMemoryTable;
  /** timeline-semaphore feedback slots (Mesa's signal/slot-write race) */
  readonly feedback: FeedbackGuard;
  /** marshalling memory for the context's own calls (fences, teardown) */
  readonly arena = new Arena(4096);
  /** false: no host Vulkan (protocol tests): commands take the no-op path */
  native = true;
  /** retires fence `seqno` of queue timeline `ring` (the backend sets it) */
  retire: (ring: number, seqno: number) => void = () => {};

  constructor(readonly objects: ObjectTable, readonly log: Logger, readonly name: string) {
    this.hostMemory = new HostMemoryTable(log, contextMemoryLimit());
    this.feedback = new FeedbackGuard(this.hostMemory, log, name);
  }

  /** CREATE_RESOURCE with a VkDeviceMemory id as blob id. */
  exportBlob(resId: number, blobId: bigint, size: bigint, flags: number): ExportedBlob | null {
    const id = Number(blobId);
    const e = this.objects.get(id);
    if (!e || e.type !== OT.DEVICE_MEMORY) {
      this.log.warn(
        `${this.name}: CREATE_RESOURCE res ${resId}: blob id ${blobId} is no memory of this context`,
      );
      return null;
    }
    return this.hostMemory.exportBlob(
      id,
      size,
      flags,
      `${this.name}: CREATE_RESOURCE res ${resId}`,
    );
  }

  disp(id: number): NativeDispatchable {
    return this.objects.host(id) as NativeDispatchable;
  }

  /** host handle → guest id, for output handles inside structs (physical device groups) */
  idOfHost(h: number | bigint): number {
    return this.pdIds.get(String(h)) ?? 0;
  }

  /**
   * Calls a device-level entry point by name with marshalled arguments
   * (internal use); 64-bit arguments become BigInts (Deno's fast FFI path).
   */
  call(d: NativeDispatchable, name: CommandName, ...args: (number | bigint)[]): number {
    const id = cmdId(name);
    const f = d.t.fns[id] ?? d.t.resolve(id);
    if (!f) throw new Error(`host lacks ${name}`);
    const params = FFI[id]?.parameters ?? [];
    for (let i = 0; i < args.length; i++) {
      const p = params[i];
      if (p === "u64" || p === "usize" || p === "i64") args[i] = B(args[i]);
    }
    return f(...args) as number;
  }

  // ------------------------------------------------------------ timelines

  bindTimeline(ringIdx: number, queueId: number, deviceId: number): void {
    const q = this.disp(queueId), d = this.disp(deviceId);
    this.timelines.set(ringIdx, new QueueTimeline(ringIdx, q, d, deviceId));
  }

  /**
   * SUBMIT_FENCE on a bound queue ring: an empty vkQueueSubmit with a fence,
   * retired in order once the fence signals ({@link pollTimelines}).
   */
  submitFence(ringIdx: number, seqno: number): boolean {
    if (!this.native) return false;
    const tl = this.timelines.get(ringIdx);
    if (!tl) return false;
    const a = this.arena;
    a.reset();
    let fence = tl.free.pop();
    if (fence === undefined) {
      const ci = a.alloc(24);
      a.dv.setInt32(ci, 8, true); // VK_STRUCTURE_TYPE_FENCE_CREATE_INFO
      const out = a.alloc(8);
      const r = this.call(tl.device, "vkCreateFence", tl.device.h, a.addr(ci), 0, a.addr(out));
      if (r !== 0) {
        this.log.warn(
          `${this.name}: vkCreateFence for ring ${ringIdx} failed (${r}); retiring now`,
        );
        this.retire(ringIdx, seqno);
        return true;
      }
      fence = a.r64(out);
    }
    const r = this.call(tl.queue, "vkQueueSubmit", tl.queue.h, 0, 0, fence);
    if (r !== 0) {
      // device lost or out of memory: nothing will run on this queue any more
      tl.free.push(fence);
      this.retire(ringIdx, seqno);
      return true;
    }
    tl.pending.push({ fence, seqno });
    return true;
  }

  /** Retires signalled queue fences in order; returns true while some are still pending. */
  pollTimelines(): boolean {
    let busy = false;
    const a = this.arena;
    for (const tl of this.timelines.values()) {
      while (tl.pending.length) {
        const p = tl.pending[0];
        const r = this.call(tl.device, "vkGetFenceStatus", tl.device.h, p.fence);
        if (r === VK.NOT_READY) {
          busy = true;
          break;
        }
        tl.pending.shift();
        a.reset();
        const arr = a.alloc(8);
        a.w64(arr, p.fence);
        this.call(tl.device, "vkResetFences", tl.device.h, 1, a.addr(arr));
        tl.free.push(p.fence);
        this.retire(tl.ringIdx, p.seqno);
      }
    }
    return busy;
  }

  #releaseTimelines(deviceId: number): void {
    for (const [k, tl] of this.timelines) {
      if (deviceId && tl.deviceId !== deviceId) continue;
      for (const p of tl.pending) this.retire(tl.ringIdx, p.seqno);
      for (const f of [...tl.free, ...tl.pending.map((p) => p.fence)]) {
        this.call(tl.device, "vkDestroyFence", tl.device.h, f, 0);
      }
      this.timelines.delete(k);
    }
  }

  /** Before vkDestroyDevice: wait for the device, free its timeline fences. */
  deviceGoing(deviceId: number): void {
    const d = this.disp(deviceId);
    if (!d) return;
    d.t.named("vkDeviceWaitIdle", ["u64"], "i32")?.(d.h);
    this.#releaseTimelines(deviceId);
    this.devices.delete(deviceId);
  }

  // ------------------------------------------------------------ teardown

  /** Forgets `id`'s children (recursively): the host freed them with their parent. */
  dropChildren(id: number): void {
    for (const c of this.objects.children(id)) {
      this.dropChildren(c);
      const e = this.objects.get(c);
      if (e) this.objects.destroy(e.type, c);
    }
  }

  /** Destroys every host object of the context, newest first. */
  destroyAll(): void {
    if (!this.native) return this.objects.clear();
    const entries = [...this.objects.entries()].reverse();
    // devices first wait for their queues
    for (const [id, e] of entries) if (e.type === OT.DEVICE) this.deviceGoing(id);
    for (const [id, e] of entries) {
      try {
        if (e.type === OT.DEVICE) {
          const d = e.host as NativeDispatchable;
          this.call(d, "vkDestroyDevice", d.h, 0);
        } else if (e.type === OT.INSTANCE) {
          const d = e.host as NativeDispatchable;
          this.call(d, "vkDestroyInstance", d.h, 0);
        } else if (DESTROYERS[e.type]) {
          if (this.objects.get(e.parent)?.type !== OT.DEVICE) continue; // pool children
          const dev = this.disp(e.parent);
          const fid = cmdId(DESTROYERS[e.type]);
          const f = dev.t.fns[fid] ?? dev.t.resolve(fid);
          f?.(dev.h, e.host as number | bigint, 0);
        }
      } catch (err) {
        this.log.warn(`${this.name}: teardown of object ${id}: ${err}`);
      }
    }
    this.objects.clear();
    this.timelines.clear();
    this.hostMemory.releaseAll();
  }
}

/**
 * Bytes of host-visible memory one context may hold: VESPER_MAX_CONTEXT_MEMORY
 * (bytes), else three quarters of the machine's memory — a guest asking for
 * more gets VK_ERROR_OUT_OF_HOST_MEMORY instead of an OOM kill later.
 */
export function contextMemoryLimit(): number {
  const env = Number(Deno.env.get("VESPER_MAX_CONTEXT_MEMORY") ?? "");
  if (Number.isSafeInteger(env) && env > 0) return env;
  // not /proc/meminfo: under Vesper's own permissions Deno refuses /proc (NotCapable)
  const total = physicalMemoryBytes();
  return total ? Math.floor(total * 0.75) : 4 * 2 ** 30;
}
