/**
 * Run inside the trixie chroot (lavapipe) by tests/ffi_vulkan_test.ts: makes a
 * VkInstance and a VkDevice with the loader, calls an instance-level and a
 * device-level command through their ProcTables a few times, and prints what
 * it saw as one JSON line: how each was bound ("pointer": a
 * Deno.UnsafeFnPointer; "export": the loader's fast-call export), whether the
 * binding stayed the same function, and the results.
 */
import { ProcTable } from "../../ffi/vulkan.ts";
import { FFI } from "../../src/venus/generated/vulkan.ts";
import { cmdId } from "../../src/venus/vulkan/context.ts";

const addr = (b: ArrayBufferView) => Deno.UnsafePointer.value(Deno.UnsafePointer.of(b));
const binding = (f: unknown) =>
  (f as { name: string }).name === "bound call" ? "pointer" : "export";

const global = new ProcTable("instance", 0, FFI);
const createInstance = global.named("vkCreateInstance", ["usize", "usize", "usize"], "i32")!;
// VkApplicationInfo (48 bytes) asking for Vulkan 1.1, as Vesper does (vkGetDeviceQueue2
// is 1.1), and VkInstanceCreateInfo (64 bytes) with it
const app = new DataView(new ArrayBuffer(48));
app.setUint32(44, (1 << 22) | (1 << 12), true); // apiVersion 1.1 (sType 0: APPLICATION_INFO)
const ici = new DataView(new ArrayBuffer(64));
ici.setUint32(0, 1, true); // sType INSTANCE_CREATE_INFO
ici.setBigUint64(24, BigInt(addr(app)), true);
const out = new BigUint64Array(1);
if (createInstance(addr(ici), 0, addr(out)) !== 0) throw new Error("vkCreateInstance failed");
const inst = out[0];
const it = new ProcTable("instance", inst, FFI);

// instance level: vkEnumeratePhysicalDevices, three times
const enumId = cmdId("vkEnumeratePhysicalDevices");
const enumFns = new Set<unknown>();
const count = new Uint32Array(1);
const pds = new BigUint64Array(4);
for (let i = 0; i < 3; i++) {
  const f = it.fns[enumId] ?? it.resolve(enumId);
  enumFns.add(f);
  count[0] = 4;
  if (f!(inst, addr(count), addr(pds)) !== 0) throw new Error("vkEnumeratePhysicalDevices failed");
}

// VkDeviceQueueCreateInfo (40 bytes) and VkDeviceCreateInfo (72 bytes), one queue of family 0
const prio = new Float32Array([1]);
const qci = new DataView(new ArrayBuffer(40));
qci.setUint32(0, 2, true); // sType DEVICE_QUEUE_CREATE_INFO
qci.setUint32(24, 1, true); // queueCount
qci.setBigUint64(32, BigInt(addr(prio)), true);
const dci = new DataView(new ArrayBuffer(72));
dci.setUint32(0, 3, true); // sType DEVICE_CREATE_INFO
dci.setUint32(20, 1, true); // queueCreateInfoCount
dci.setBigUint64(24, BigInt(addr(qci)), true);
const createDevice = it.fns[cmdId("vkCreateDevice")] ?? it.resolve(cmdId("vkCreateDevice"));
if (createDevice!(pds[0], addr(dci), 0, addr(out)) !== 0) throw new Error("vkCreateDevice failed");
const dev = out[0];
const dt = new ProcTable("device", dev, FFI);

// device level: vkGetDeviceQueue2 (VkDeviceQueueInfo2, 32 bytes: family 0, index 0), three times
const dqi = new DataView(new ArrayBuffer(32));
dqi.setUint32(0, 1000145003, true); // sType DEVICE_QUEUE_INFO_2
const queueId = cmdId("vkGetDeviceQueue2");
const queueFns = new Set<unknown>();
const queues = new Set<bigint>();
const queue = new BigUint64Array(1);
for (let i = 0; i < 3; i++) {
  const f = dt.fns[queueId] ?? dt.resolve(queueId);
  queueFns.add(f);
  queue[0] = 0n;
  f!(dev, addr(dqi), addr(queue));
  queues.add(queue[0]);
}

dt.named("vkDestroyDevice", ["u64", "usize"], "void")!(dev, 0);
it.named("vkDestroyInstance", ["u64", "usize"], "void")!(inst, 0);
console.log(JSON.stringify({
  instanceLevel: { binding: binding([...enumFns][0]), functions: enumFns.size, devices: count[0] },
  deviceLevel: {
    binding: binding([...queueFns][0]),
    functions: queueFns.size,
    queues: [...queues].map((q) => q !== 0n),
  },
}));
