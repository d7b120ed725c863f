/**
 * Run inside the trixie chroot (lavapipe) by tests/ffi_vulkan_test.ts: makes a
 * VkInstance with the loader, calls vkEnumeratePhysicalDevices through its
 * ProcTable past TIER_UP_AFTER_CALLS, and prints what it saw as one JSON line.
 */
import { ProcTable } from "../../ffi/vulkan.ts";
import { TIER_UP_AFTER_CALLS } from "../../ffi/tier.ts";
import { FFI } from "../../src/venus/generated/vulkan.ts";
import { cmdId } from "../../src/venus/vulkan/context.ts";

const global = new ProcTable("instance", 0, FFI);
const create = global.named("vkCreateInstance", ["buffer", "usize", "buffer"], "i32")!;
// VkInstanceCreateInfo: sType 1 (INSTANCE_CREATE_INFO), everything else 0 (64 bytes)
const info = new Uint8Array(64);
new DataView(info.buffer).setUint32(0, 1, true);
const out = new BigUint64Array(1);
const r = create(info, 0, new Uint8Array(out.buffer));
if (r !== 0) throw new Error(`vkCreateInstance: ${r}`);
const inst = out[0];
const t = new ProcTable("instance", inst, FFI);
const id = cmdId("vkEnumeratePhysicalDevices");
const count = new Uint32Array(1);
const fns = new Set<unknown>();
const results = new Set<number>();
for (let i = 0; i < TIER_UP_AFTER_CALLS + 4; i++) {
  const f = t.fns[id] ?? t.resolve(id);
  fns.add(f);
  count[0] = 0;
  results.add(f!(inst, Deno.UnsafePointer.value(Deno.UnsafePointer.of(count)), 0) as number);
}
const destroy = t.named("vkDestroyInstance", ["u64", "usize"], "void")!;
destroy(inst, 0);
console.log(JSON.stringify({ functions: fns.size, results: [...results], devices: count[0] }));
