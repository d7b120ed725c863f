/**
 * The Vulkan handlers of one stream: the generated passthrough
 * (VulkanCommands) plus what vkr does beyond passing calls through
 * (venus-runtime.md §9): instance creation rules, physical device
 * enumeration with guest ids, extension filtering, the API version cap,
 * device creation with the external-memory extensions the backend relies
 * on, pools freeing their children, and waits that never block the worker.
 *
 * Waits (vkWaitForFences, vkWaitSemaphores, vkGetQueryPoolResults with
 * WAIT): the host call is made with a zero timeout (or without WAIT). When
 * the answer is "not yet" and the guest's timeout has not run out, a ring
 * stream yields — the decoder stops before the command and the ring
 * service retries it on a later tick — so the context socket and the other
 * rings go on; the context stream and executed streams (which cannot be
 * suspended) wait in short slices instead, serving the rings in between.
 */
import { FFI, type NativeFn, VulkanCommands } from "../generated/vulkan.ts";
import * as N from "../generated/native.ts";
import { PROTOCOL_EXTENSION_SPECS, STRUCTURE_TYPE } from "../generated/types.ts";
import type {
  Ref,
  U64,
  VkBaseStruct,
  VkBindBufferMemoryInfo,
  VkBufferCopy,
  VkCommandBufferBeginInfo,
  VkDeviceCreateInfo,
  VkExtensionProperties,
  VkInstanceCreateInfo,
  VkMemoryAllocateInfo,
  VkPhysicalDeviceMemoryProperties,
  VkPhysicalDeviceProperties,
  VkSemaphoreSignalInfo,
  VkSemaphoreWaitInfo,
  VkSubmitInfo,
  VkSubmitInfo2,
  VkTimelineSemaphoreSubmitInfo,
} from "../generated/types.ts";
import type { ObjectTable } from "../object_table.ts";
import type { Span } from "../span.ts";
import { Arena, ARENA_FULL } from "./arena.ts";
import { cmdId, NativeDispatchable, OT, VK, type VulkanContext } from "./context.ts";
import { ProcTable } from "../../../ffi/vulkan.ts";

const HIDDEN_DEVICE_EXTENSIONS = new Set([
  "VK_EXT_tooling_info",
  "VK_EXT_command_serialization",
  "VK_MESA_venus_protocol",
]);
/** extensions vkr enables on every device when the host has them (§7.1), plus host-pointer import */
const BACKEND_DEVICE_EXTENSIONS = [
  "VK_KHR_external_memory_fd",
  "VK_EXT_external_memory_dma_buf",
  "VK_KHR_external_fence_fd",
  "VK_EXT_external_memory_host",
];
const VK_API_VERSION_1_1 = (1 << 22) | (1 << 12);
const QUERY_RESULT_WAIT_BIT = 0x2;
const WAIT_SLICE_NS = 1_000_000;

const MEMORY_PROPERTY_HOST_VISIBLE = 0x2;
const IMPORT_MEMORY_HOST_POINTER_INFO = 1000178000;
const EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION = 0x80;

const L = (name: string) => N.LAYOUTS[name];

export abstract class VulkanHandlers extends VulkanCommands {
  readonly arena = new Arena();
  get native(): boolean {
    return this.vk.native;
  }
  #waitStart = -1;

  constructor(objects: ObjectTable, fail: (msg: string) => void, readonly vk: VulkanContext) {
    super(objects, fail);
    this.arena.h = (id) => this.hh(id);
    this.arena.rid = (h) => vk.idOfHost(h);
  }

  /** true: this stream can be suspended (a ring); false: it must wait in place */
  protected abstract canYield(): boolean;
  /** suspends the stream before the current command (rings only) */
  protected abstract yieldStream(): void;
  /** serves the other streams while this one waits in place */
  protected abstract serveOthers(): void;

  // ------------------------------------------------------------ VulkanCommands plumbing

  disp(id: number): NativeDispatchable {
    return this.objects.host(id) as NativeDispatchable;
  }

  hh(id: number): number | bigint {
    if (id === 0) return 0;
    const h = this.objects.host(id);
    return h instanceof NativeDispatchable ? h.h : h as number | bigint;
  }

  hb(id: number): bigint {
    if (id === 0) return 0n;
    const e = this.objects.get(id);
    if (e === undefined) return 0n;
    const h = e.host;
    if (h instanceof NativeDispatchable) return h.hb;
    return e.big ??= BigInt(h as number | bigint);
  }

  bind(
    type: number,
    id: number,
    host: number | bigint,
    parent: number,
    d: NativeDispatchable,
  ): void {
    const obj = type === OT.QUEUE || type === OT.COMMAND_BUFFER
      ? new NativeDispatchable(type, host, d.t)
      : host;
    const err = this.objects.create(type, id, obj, parent);
    if (err) this.fail(err);
  }

  missing(id: number): number {
    this.fail(`the host driver has no ${FFI[id]?.names[0] ?? id}`);
    return VK.ERROR_FEATURE_NOT_PRESENT;
  }

  dropChildren(id: number): void {
    this.vk.dropChildren(id);
  }

  /** Marshals with retry on a full arena; `fn` must not have side effects before its native call. */
  protected marshal<T>(fn: (a: Arena) => T): T {
    const a = this.arena;
    for (;;) {
      a.reset();
      try {
        return fn(a);
      } catch (e) {
        if (e !== ARENA_FULL || !a.grow()) throw e;
      }
    }
  }

  protected fn(d: NativeDispatchable, id: number): NativeFn | null {
    return d.t.fns[id] ?? d.t.resolve(id);
  }

  // ------------------------------------------------------------ instance

  override vkCreateInstance(
    pCreateInfo: VkInstanceCreateInfo | null,
    _pAllocator: null,
    pInstance: number | null,
  ): number {
    if (!this.native) return super.vkCreateInstance(pCreateInfo, _pAllocator, pInstance);
    if (!pCreateInfo || pInstance === null) {
      this.fail("vkCreateInstance without create info or instance");
      return VK.ERROR_INITIALIZATION_FAILED;
    }
    if (this.vk.instanceId !== 0) {
      this.fail("a second vkCreateInstance in one context");
      return VK.ERROR_INITIALIZATION_FAILED;
    }
    if (pCreateInfo.enabledLayerCount) return VK.ERROR_LAYER_NOT_PRESENT;
    if (pCreateInfo.enabledExtensionCount) return VK.ERROR_EXTENSION_NOT_PRESENT;
    const app = { ...(pCreateInfo.pApplicationInfo ?? { sType: 0, pNext: null }) } as Record<
      string,
      unknown
    >;
    app.sType = 0; // VK_STRUCTURE_TYPE_APPLICATION_INFO
    if (((app.apiVersion as number) ?? 0) < VK_API_VERSION_1_1) app.apiVersion = VK_API_VERSION_1_1;
    const info = { ...pCreateInfo, pApplicationInfo: app };
    const global = new ProcTable("instance", 0, FFI);
    const create = global.named("vkCreateInstance", ["usize", "usize", "usize"], "i32");
    if (!create) {
      this.vk.log.error(`${this.vk.name}: libvulkan has no vkCreateInstance`);
      return VK.ERROR_INITIALIZATION_FAILED;
    }
    const [r, h] = this.marshal((a) => {
      const [sz, al] = L("VkInstanceCreateInfo");
      const ci = a.struct(info, sz, al, N.nw_VkInstanceCreateInfo);
      const out = a.alloc(8);
      const r = create(ci, 0, a.addr(out)) as number;
      return [r, a.r64(out)] as const;
    });
    if (r !== VK.SUCCESS) return r;
    const inst = new NativeDispatchable(OT.INSTANCE, h, new ProcTable("instance", h, FFI));
    const err = this.objects.create(OT.INSTANCE, pInstance, inst);
    if (err) {
      this.vk.call(inst, "vkDestroyInstance", h, 0);
      this.fail(err);
      return VK.ERROR_INITIALIZATION_FAILED;
    }
    this.vk.instanceId = pInstance;
    return VK.SUCCESS;
  }

  override vkDestroyInstance(instance: number, pAllocator: null): void {
    if (!this.native) return super.vkDestroyInstance(instance, pAllocator);
    if (instance === 0) return;
    super.vkDestroyInstance(instance, pAllocator);
    // the generated passthrough only unbinds non-dispatchable handles
    this.destroyed(OT.INSTANCE, instance);
    this.vk.dropChildren(instance);
    if (this.vk.instanceId === instance) this.vk.instanceId = 0;
    this.vk.pdIds.clear();
  }

  override vkEnumeratePhysicalDevices(
    instance: number,
    pPhysicalDeviceCount: Ref<number> | null,
    pPhysicalDevices: number[] | null,
  ): number {
    if (!this.native) {
      return super.vkEnumeratePhysicalDevices(instance, pPhysicalDeviceCount, pPhysicalDevices);
    }
    if (!pPhysicalDeviceCount) return VK.SUCCESS;
    const inst = this.disp(instance);
    const f = this.fn(inst, cmdId("vkEnumeratePhysicalDevices"));
    if (!f) return this.missing(cmdId("vkEnumeratePhysicalDevices"));
    const host = this.marshal((a) => {
      const cnt = a.alloc(8);
      let r = f(inst.h, a.addr(cnt), 0) as number;
      if (r < 0) return r;
      const n = a.dv.getUint32(cnt, true);
      const arr = a.alloc(n * 8);
      r = f(inst.h, a.addr(cnt), a.addr(arr)) as number;
      if (r < 0) return r;
      const out: (number | bigint)[] = [];
      for (let i = 0; i < a.dv.getUint32(cnt, true); i++) out.push(a.r64(arr + i * 8));
      return out;
    });
    if (typeof host === "number") return host;
    if (!pPhysicalDevices) {
      pPhysicalDeviceCount.value = host.length;
      return VK.SUCCESS;
    }
    const n = Math.min(pPhysicalDevices.length, host.length);
    for (let i = 0; i < n; i++) {
      const id = pPhysicalDevices[i];
      const e = this.objects.get(id);
      if (e) {
        if (e.type !== OT.PHYSICAL_DEVICE || (e.host as NativeDispatchable).h !== host[i]) {
          this.fail(`physical device id ${id} does not match the host's device ${i}`);
          return VK.ERROR_INITIALIZATION_FAILED;
        }
        continue;
      }
      const err = this.objects.create(
        OT.PHYSICAL_DEVICE,
        id,
        new NativeDispatchable(OT.PHYSICAL_DEVICE, host[i], inst.t),
        instance,
      );
      if (err) {
        this.fail(err);
        return VK.ERROR_INITIALIZATION_FAILED;
      }
      this.vk.pdIds.set(String(host[i]), id);
    }
    pPhysicalDeviceCount.value = n;
    return n < host.length ? VK.INCOMPLETE : VK.SUCCESS;
  }

  // ------------------------------------------------------------ physical devices

  /** host device extensions ∩ the protocol's, spec versions clamped (cached per physical device) */
  deviceExtensions(physicalDevice: number): { extensionName: string; specVersion: number }[] {
    let list = this.vk.deviceExtensions.get(physicalDevice);
    if (list) return list;
    list = [];
    for (const e of this.#hostExtensions(physicalDevice)) {
      const spec = PROTOCOL_EXTENSION_SPECS[e.extensionName];
      if (spec === undefined || HIDDEN_DEVICE_EXTENSIONS.has(e.extensionName)) continue;
      list.push({ extensionName: e.extensionName, specVersion: Math.min(e.specVersion, spec) });
    }
    this.vk.deviceExtensions.set(physicalDevice, list);
    return list;
  }

  override vkEnumerateDeviceExtensionProperties(
    physicalDevice: number,
    pLayerName: string | null,
    pPropertyCount: Ref<number> | null,
    pProperties: VkExtensionProperties[] | null,
  ): number {
    if (!this.native) {
      return super.vkEnumerateDeviceExtensionProperties(
        physicalDevice,
        pLayerName,
        pPropertyCount,
        pProperties,
      );
    }
    if (!pPropertyCount) return VK.SUCCESS;
    if (pLayerName !== null) {
      pPropertyCount.value = 0;
      return VK.ERROR_LAYER_NOT_PRESENT;
    }
    const list = this.deviceExtensions(physicalDevice);
    if (!pProperties) {
      pPropertyCount.value = list.length;
      return VK.SUCCESS;
    }
    const n = Math.min(pProperties.length, list.length);
    for (let i = 0; i < n; i++) Object.assign(pProperties[i], list[i]);
    pPropertyCount.value = n;
    return n < list.length ? VK.INCOMPLETE : VK.SUCCESS;
  }

  override vkGetPhysicalDeviceProperties(
    physicalDevice: number,
    pProperties: VkPhysicalDeviceProperties | null,
  ): void {
    super.vkGetPhysicalDeviceProperties(physicalDevice, pProperties);
    if (pProperties) pProperties.apiVersion = capMinor13(pProperties.apiVersion);
  }

  // ------------------------------------------------------------ devices

  override vkCreateDevice(
    physicalDevice: number,
    pCreateInfo: VkDeviceCreateInfo | null,
    _pAllocator: null,
    pDevice: number | null,
  ): number {
    if (!this.native) {
      return super.vkCreateDevice(physicalDevice, pCreateInfo, _pAllocator, pDevice);
    }
    if (!pCreateInfo || pDevice === null) {
      this.fail("vkCreateDevice without create info or device");
      return VK.ERROR_INITIALIZATION_FAILED;
    }
    // queue families and counts against the host (vkr: VK_ERROR_UNKNOWN)
    const qn = { value: 0 };
    this.vkGetPhysicalDeviceQueueFamilyProperties(physicalDevice, qn, null);
    const fams = Array.from({ length: qn.value }, () => ({}) as { queueCount?: number });
    // deno-lint-ignore no-explicit-any
    this.vkGetPhysicalDeviceQueueFamilyProperties(physicalDevice, qn, fams as any);
    for (const q of pCreateInfo.pQueueCreateInfos ?? []) {
      if (
        q.queueFamilyIndex >= fams.length ||
        q.queueCount > (fams[q.queueFamilyIndex].queueCount ?? 0)
      ) {
        return VK.ERROR_UNKNOWN;
      }
    }
    const available = new Set(this.#hostExtensions(physicalDevice).map((e) => e.extensionName));
    const exts = new Set(pCreateInfo.ppEnabledExtensionNames ?? []);
    for (const e of exts) if (!available.has(e)) return VK.ERROR_EXTENSION_NOT_PRESENT;
    for (const e of BACKEND_DEVICE_EXTENSIONS) if (available.has(e)) exts.add(e);
    const info = {
      ...pCreateInfo,
      enabledLayerCount: 0,
      ppEnabledLayerNames: null,
      enabledExtensionCount: exts.size,
      ppEnabledExtensionNames: [...exts],
    };
    const pd = this.disp(physicalDevice);
    const id = cmdId("vkCreateDevice");
    const f = this.fn(pd, id);
    if (!f) return this.missing(id);
    const [r, h] = this.marshal((a) => {
      const [sz, al] = L("VkDeviceCreateInfo");
      const ci = a.struct(info, sz, al, N.nw_VkDeviceCreateInfo);
      const out = a.alloc(8);
      const r = f(pd.h, ci, 0, a.addr(out)) as number;
      return [r, a.r64(out)] as const;
    });
    if (r !== VK.SUCCESS) return r;
    const dev = new NativeDispatchable(OT.DEVICE, h, new ProcTable("device", h, FFI));
    const err = this.objects.create(OT.DEVICE, pDevice, dev, physicalDevice);
    if (err) {
      this.vk.call(dev, "vkDestroyDevice", h, 0);
      this.fail(err);
      return VK.ERROR_INITIALIZATION_FAILED;
    }
    this.vk.devices.set(pDevice, { extensions: exts });
    return VK.SUCCESS;
  }

  /** the host driver's device extensions, unfiltered (count query, then the list) */
  #hostExtensions(physicalDevice: number): VkExtensionProperties[] {
    const count = { value: 0 };
    super.vkEnumerateDeviceExtensionProperties(physicalDevice, null, count, null);
    const host: VkExtensionProperties[] = Array.from(
      { length: count.value },
      () => ({}) as VkExtensionProperties,
    );
    super.vkEnumerateDeviceExtensionProperties(physicalDevice, null, count, host);
    return host.slice(0, count.value);
  }

  override vkDestroyDevice(device: number, pAllocator: null): void {
    if (!this.native) return super.vkDestroyDevice(device, pAllocator);
    if (device === 0) return;
    this.vk.deviceGoing(device);
    super.vkDestroyDevice(device, pAllocator);
    this.destroyed(OT.DEVICE, device);
    this.vk.dropChildren(device);
  }

  override vkDestroyCommandPool(device: number, commandPool: number, pAllocator: null): void {
    super.vkDestroyCommandPool(device, commandPool, pAllocator);
    if (commandPool) this.vk.dropChildren(commandPool);
  }

  override vkDestroyDescriptorPool(device: number, descriptorPool: number, pAllocator: null): void {
    super.vkDestroyDescriptorPool(device, descriptorPool, pAllocator);
    if (descriptorPool) this.vk.dropChildren(descriptorPool);
  }

  // ------------------------------------------------------------ memory

  /** property flags of the host memory types of a physical device (cached) */
  memoryTypeFlags(physicalDevice: number): number[] {
    let flags = this.vk.memoryTypes.get(physicalDevice);
    if (flags) return flags;
    const props = {} as VkPhysicalDeviceMemoryProperties;
    this.vkGetPhysicalDeviceMemoryProperties(physicalDevice, props);
    flags = [];
    for (let i = 0; i < (props.memoryTypeCount ?? 0); i++) {
      flags.push(props.memoryTypes?.[i]?.propertyFlags ?? 0);
    }
    this.vk.memoryTypes.set(physicalDevice, flags);
    return flags;
  }

  /**
   * Host-visible memory is what the guest maps: it is backed by a sealable
   * memfd mapped here and imported into the driver as host memory
   * (VK_EXT_external_memory_host), so CREATE_RESOURCE can hand the same
   * pages to the VMM as an SHM blob. Other memory passes through.
   */
  override vkAllocateMemory(
    device: number,
    pAllocateInfo: VkMemoryAllocateInfo | null,
    pAllocator: null,
    pMemory: number | null,
  ): number {
    if (!this.native || !pAllocateInfo || pMemory === null) {
      return super.vkAllocateMemory(device, pAllocateInfo, pAllocator, pMemory);
    }
    const pd = this.objects.get(device)?.parent ?? 0;
    const types = this.memoryTypeFlags(pd);
    const typeFlags = types[pAllocateInfo.memoryTypeIndex];
    if (typeFlags === undefined) return VK.ERROR_UNKNOWN;
    for (let p: VkBaseStruct | null = pAllocateInfo.pNext; p; p = p.pNext) {
      if (p.sType === STRUCTURE_TYPE.VkImportMemoryResourceInfoMESA) {
        // dma-buf resources do not exist on this host; SHM resources are not importable (as vkr)
        return VK.ERROR_INVALID_EXTERNAL_HANDLE;
      }
    }
    const hostVisible = (typeFlags & MEMORY_PROPERTY_HOST_VISIBLE) !== 0;
    if (
      !hostVisible || !this.vk.devices.get(device)?.extensions.has("VK_EXT_external_memory_host")
    ) {
      return super.vkAllocateMemory(device, pAllocateInfo, pAllocator, pMemory);
    }
    const size = Number(pAllocateInfo.allocationSize);
    if (!Number.isSafeInteger(size) || size <= 0) return VK.ERROR_OUT_OF_DEVICE_MEMORY;
    const mem = this.vk.hostMemory.create(size, typeFlags, this.vk.name);
    if (!mem) return VK.ERROR_OUT_OF_HOST_MEMORY;
    // the import replaces export/dedicated requests (not allowed with host pointers)
    const chain: VkBaseStruct[] = [];
    for (let p: VkBaseStruct | null = pAllocateInfo.pNext; p; p = p.pNext) {
      if (
        p.sType !== STRUCTURE_TYPE.VkExportMemoryAllocateInfo &&
        p.sType !== STRUCTURE_TYPE.VkMemoryDedicatedAllocateInfo
      ) chain.push({ ...p });
    }
    for (let i = 0; i < chain.length; i++) chain[i].pNext = chain[i + 1] ?? null;
    const info = { ...pAllocateInfo, allocationSize: mem.size, pNext: chain[0] ?? null };
    const d = this.disp(device);
    const id = cmdId("vkAllocateMemory");
    const f = this.fn(d, id);
    if (!f) {
      this.vk.hostMemory.discard(mem);
      return this.missing(id);
    }
    const [r, h] = this.marshal((a) => {
      const [sz, al] = L("VkMemoryAllocateInfo");
      const ci = a.struct(info, sz, al, N.nw_VkMemoryAllocateInfo);
      const o = a.off(ci);
      const imp = a.alloc(32);
      a.dv.setInt32(imp, IMPORT_MEMORY_HOST_POINTER_INFO, true);
      a.wp(imp + 8, a.rp(o + 8));
      a.dv.setUint32(imp + 16, EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION, true);
      a.wp(imp + 24, mem.address);
      a.wp(o + 8, a.addr(imp));
      const out = a.alloc(8);
      const r = f(d.hb, a.P(ci), 0n, a.P(a.addr(out))) as number;
      return [r, a.r64(out)] as const;
    });
    if (r !== VK.SUCCESS) {
      this.vk.hostMemory.discard(mem);
      return r;
    }
    const err = this.objects.create(OT.DEVICE_MEMORY, pMemory, h, device);
    if (err) {
      this.vk.call(d, "vkFreeMemory", d.h, h, 0);
      this.vk.hostMemory.discard(mem);
      this.fail(err);
      return VK.ERROR_OUT_OF_DEVICE_MEMORY;
    }
    this.vk.hostMemory.bind(pMemory, mem);
    return VK.SUCCESS;
  }

  override vkFreeMemory(device: number, memory: number, pAllocator: null): void {
    super.vkFreeMemory(device, memory, pAllocator);
    if (this.native && memory) this.vk.hostMemory.release(memory);
  }

  // ------------------------------------- timeline feedback (feedback_guard.ts)

  override vkBindBufferMemory(device: number, buffer: number, memory: number, offset: U64): number {
    const r = super.vkBindBufferMemory(device, buffer, memory, offset);
    if (this.native && r === VK.SUCCESS) this.vk.feedback.bindBuffer(buffer, memory, offset);
    return r;
  }

  override vkBindBufferMemory2(
    device: number,
    bindInfoCount: number,
    pBindInfos: VkBindBufferMemoryInfo[] | null,
  ): number {
    const r = super.vkBindBufferMemory2(device, bindInfoCount, pBindInfos);
    if (this.native && r === VK.SUCCESS) {
      for (const b of pBindInfos ?? []) {
        this.vk.feedback.bindBuffer(b.buffer, b.memory, b.memoryOffset);
      }
    }
    return r;
  }

  override vkDestroyBuffer(device: number, buffer: number, pAllocator: null): void {
    super.vkDestroyBuffer(device, buffer, pAllocator);
    this.vk.feedback.destroyBuffer(buffer);
  }

  override vkBeginCommandBuffer(
    commandBuffer: number,
    pBeginInfo: VkCommandBufferBeginInfo | null,
  ): number {
    this.vk.feedback.resetCommandBuffer(commandBuffer);
    return super.vkBeginCommandBuffer(commandBuffer, pBeginInfo);
  }

  override vkCmdCopyBuffer(
    commandBuffer: number,
    srcBuffer: number,
    dstBuffer: number,
    regionCount: number,
    pRegions: Span<VkBufferCopy> | null,
  ): void {
    this.vk.feedback.copyBuffer(commandBuffer, srcBuffer, dstBuffer, pRegions);
    super.vkCmdCopyBuffer(commandBuffer, srcBuffer, dstBuffer, regionCount, pRegions);
  }

  override vkQueueSubmit(
    queue: number,
    submitCount: number,
    pSubmits: VkSubmitInfo[] | null,
    fence: number,
  ): number {
    for (const b of this.vk.feedback.tracking ? pSubmits ?? [] : []) {
      const sems = b.pSignalSemaphores ?? [];
      if (sems.length === 0 || !b.pCommandBuffers) continue;
      let tl: VkTimelineSemaphoreSubmitInfo | null = null;
      for (let p = b.pNext; p; p = p.pNext) {
        if (p.sType === STRUCTURE_TYPE.VkTimelineSemaphoreSubmitInfo) {
          tl = p as VkTimelineSemaphoreSubmitInfo;
        }
      }
      const values = tl?.pSignalSemaphoreValues;
      if (!values || values.length !== sems.length) continue;
      this.vk.feedback.submitBatch(
        b.pCommandBuffers,
        sems.map((semaphore, i) => ({ semaphore, value: values[i] })),
      );
    }
    return super.vkQueueSubmit(queue, submitCount, pSubmits, fence);
  }

  override vkQueueSubmit2(
    queue: number,
    submitCount: number,
    pSubmits: VkSubmitInfo2[] | null,
    fence: number,
  ): number {
    for (const b of this.vk.feedback.tracking ? pSubmits ?? [] : []) {
      const sems = b.pSignalSemaphoreInfos ?? [];
      if (sems.length === 0 || !b.pCommandBufferInfos) continue;
      this.vk.feedback.submitBatch(
        b.pCommandBufferInfos.map((c) => c.commandBuffer),
        sems.map((s) => ({ semaphore: s.semaphore, value: BigInt(s.value) })),
      );
    }
    return super.vkQueueSubmit2(queue, submitCount, pSubmits, fence);
  }

  /** held back (ring yields) until the guest has written the slot: see feedback_guard.ts */
  override vkSignalSemaphore(device: number, pSignalInfo: VkSemaphoreSignalInfo | null): number {
    if (
      this.native && pSignalInfo && this.canYield() &&
      !this.vk.feedback.signalReady(pSignalInfo.semaphore, pSignalInfo.value, performance.now())
    ) {
      this.yieldStream();
      return VK.SUCCESS;
    }
    return super.vkSignalSemaphore(device, pSignalInfo);
  }

  override vkDestroySemaphore(device: number, semaphore: number, pAllocator: null): void {
    super.vkDestroySemaphore(device, semaphore, pAllocator);
    this.vk.feedback.destroySemaphore(semaphore);
  }

  // ------------------------------------------------------------ waits

  /**
   * Common tail of the waits: `r` is the zero-timeout answer. Returns the
   * result to reply with, or yields the ring (the reply comes on the retry).
   */
  #waited(r: number, timeoutNs: U64, again: (timeoutNs: number) => number): number {
    if (r !== VK.TIMEOUT && r !== VK.NOT_READY) {
      this.#waitStart = -1;
      return r;
    }
    const limit = typeof timeoutNs === "bigint" ? Number(timeoutNs) : timeoutNs;
    if (limit === 0) return r;
    if (this.canYield()) {
      const now = performance.now();
      if (this.#waitStart < 0) this.#waitStart = now;
      if ((now - this.#waitStart) * 1e6 >= limit) {
        this.#waitStart = -1;
        return r;
      }
      this.yieldStream();
      return r;
    }
    // cannot suspend: wait here in slices, serving the other streams in between
    const start = performance.now();
    for (;;) {
      this.serveOthers();
      const left = limit - (performance.now() - start) * 1e6;
      if (left <= 0) return r;
      r = again(Math.min(left, WAIT_SLICE_NS));
      if (r !== VK.TIMEOUT && r !== VK.NOT_READY) return r;
    }
  }

  override vkWaitForFences(
    device: number,
    fenceCount: number,
    pFences: Span<number> | null,
    waitAll: number,
    timeout: U64,
  ): number {
    const again = (t: number) => super.vkWaitForFences(device, fenceCount, pFences, waitAll, t);
    return this.#waited(again(0), timeout, again);
  }

  override vkWaitSemaphores(
    device: number,
    pWaitInfo: VkSemaphoreWaitInfo | null,
    timeout: U64,
  ): number {
    const again = (t: number) => super.vkWaitSemaphores(device, pWaitInfo, t);
    return this.#waited(again(0), timeout, again);
  }

  override vkGetQueryPoolResults(
    device: number,
    queryPool: number,
    firstQuery: number,
    queryCount: number,
    dataSize: U64,
    pData: Uint8Array | null,
    stride: U64,
    flags: number,
  ): number {
    if ((flags & QUERY_RESULT_WAIT_BIT) === 0) {
      return super.vkGetQueryPoolResults(
        device,
        queryPool,
        firstQuery,
        queryCount,
        dataSize,
        pData,
        stride,
        flags,
      );
    }
    const poll = () =>
      super.vkGetQueryPoolResults(
        device,
        queryPool,
        firstQuery,
        queryCount,
        dataSize,
        pData,
        stride,
        flags & ~QUERY_RESULT_WAIT_BIT,
      );
    // WAIT has no timeout: wait as long as it takes, never blocking the worker
    return this.#waited(poll(), Number.MAX_SAFE_INTEGER, () => {
      // no timeout parameter: sleep a slice between polls
      const r = poll();
      if (r === VK.NOT_READY) Atomics.wait(SLEEP, 0, 0, WAIT_SLICE_NS / 1e6);
      return r;
    });
  }
}

const SLEEP = new Int32Array(new SharedArrayBuffer(4));

/** vkr's cap: minor version at most 3, patch kept. */
export function capMinor13(v: number): number {
  const major = v >>> 22, minor = (v >>> 12) & 0x3ff;
  if (major > 1 || (major === 1 && minor > 3)) return ((1 << 22) | (3 << 12) | (v & 0xfff)) >>> 0;
  return v;
}
