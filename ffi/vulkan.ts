/**
 * libvulkan through Deno.dlopen: the loader's two entry points, and tables
 * of instance/device entry points resolved with vkGetInstanceProcAddr /
 * vkGetDeviceProcAddr and called through Deno.UnsafeFnPointer.
 *
 * Every other Vulkan function is reached through a {@link ProcTable}; the
 * FFI signatures of those come from the generated protocol description
 * (src/venus/generated/vulkan.ts `FFI`): handles are passed as u64, every
 * pointer as a usize address into the caller's marshalling arena (no
 * pointer objects per call).
 */
import type { FnTable, NativeFn } from "../src/venus/generated/vulkan.ts";
import { MAX_COMMAND_TYPE } from "../src/venus/generated/types.ts";

export const VULKAN_SYMBOLS = {
  vkGetInstanceProcAddr: {
    parameters: [
      "u64", /* VkInstance instance */
      "buffer", /* const char *pName */
    ],
    result: "pointer", /* PFN_vkVoidFunction */
  },
  vkGetDeviceProcAddr: {
    parameters: [
      "u64", /* VkDevice device */
      "buffer", /* const char *pName */
    ],
    result: "pointer", /* PFN_vkVoidFunction */
  },
} as const satisfies Deno.ForeignLibraryInterface;

/** FFI signature of one entry point (generated). */
export interface ProcSignature {
  names: readonly string[];
  device: boolean;
  parameters: readonly string[];
  result: string;
}

const enc = new TextEncoder();
const cstr = (s: string) => enc.encode(`${s}\0`);

let lib: Deno.DynamicLibrary<typeof VULKAN_SYMBOLS> | null = null;

/** The process's libvulkan (opened once; `VESPER_LIBVULKAN` overrides the soname). */
export function vulkanLibrary(): Deno.DynamicLibrary<typeof VULKAN_SYMBOLS> {
  lib ??= Deno.dlopen(Deno.env.get("VESPER_LIBVULKAN") ?? "libvulkan.so.1", VULKAN_SYMBOLS);
  return lib;
}

/** vkGetInstanceProcAddr(instance, name) → function pointer or null. */
export function instanceProcAddr(instance: number | bigint, name: string): Deno.PointerValue {
  return vulkanLibrary().symbols.vkGetInstanceProcAddr(BigInt(instance), cstr(name));
}

/** vkGetDeviceProcAddr(device, name) → function pointer or null. */
export function deviceProcAddr(device: number | bigint, name: string): Deno.PointerValue {
  return vulkanLibrary().symbols.vkGetDeviceProcAddr(BigInt(device), cstr(name));
}

/** Wraps a function pointer with a signature into a plain callable. */
export function nativeFn(ptr: NonNullable<Deno.PointerValue>, sig: ProcSignature): NativeFn {
  const def = {
    parameters: sig.parameters as Deno.NativeType[],
    result: sig.result as Deno.NativeResultType,
  };
  const fp = new Deno.UnsafeFnPointer(ptr as Deno.PointerObject<typeof def>, def);
  return fp.call.bind(fp) as NativeFn;
}

const exported = new Map<string, NativeFn | null>();

/**
 * The loader's own export `name` (its trampoline for a core or WSI command)
 * as a Deno.dlopen symbol, or null: dlopen symbols get V8's fast FFI calls,
 * about 4× cheaper than Deno.UnsafeFnPointer.call, which matters for
 * command streams of hundreds of thousands of vkCmd*. A trampoline
 * dispatches through the handle's own table, so it serves every instance
 * and device the loader made. Bound lazily, one symbol at a time.
 */
export function loaderExport(name: string, sig: ProcSignature): NativeFn | null {
  let fn = exported.get(name);
  if (fn !== undefined) return fn;
  try {
    const l = Deno.dlopen(Deno.env.get("VESPER_LIBVULKAN") ?? "libvulkan.so.1", {
      [name]: {
        parameters: sig.parameters as Deno.NativeType[],
        result: sig.result as Deno.NativeResultType,
        optional: true,
      },
    });
    fn = (l.symbols as Record<string, NativeFn | null>)[name] ?? null;
  } catch {
    fn = null;
  }
  exported.set(name, fn);
  return fn;
}

/**
 * The entry points of one VkInstance (global when the handle is 0) or one
 * VkDevice, resolved on first use by command type. Device-level commands
 * (first parameter VkDevice/VkQueue/VkCommandBuffer) go through
 * vkGetDeviceProcAddr on a device table; everything else through
 * vkGetInstanceProcAddr. A name the driver does not know resolves to null
 * once and stays null.
 */
export class ProcTable implements FnTable {
  /** by command type; a packed array (filled up front), so lookups stay fast-path */
  readonly fns: (NativeFn | null | undefined)[];

  constructor(
    readonly kind: "instance" | "device",
    readonly handle: number | bigint,
    readonly signatures: Readonly<Record<number, ProcSignature>>,
  ) {
    this.fns = new Array(MAX_COMMAND_TYPE + 1).fill(undefined);
  }

  #procAddr(name: string): Deno.PointerValue {
    return this.kind === "device"
      ? deviceProcAddr(this.handle, name)
      : instanceProcAddr(this.handle, name);
  }

  resolve(id: number): NativeFn | null {
    const sig = this.signatures[id];
    let fn: NativeFn | null = null;
    if (sig) {
      // the driver's entry point of each alias, looked up once
      const ptrs = sig.names.map((name) => this.#procAddr(name));
      const p = ptrs.find((p) => p);
      // Device-level commands (command buffers, queues, objects) go through
      // the loader's trampoline when the driver has the command for this
      // device. Instance-level ones (mostly physical-device queries, made a
      // few times per context) stay on their pointers: binding an export is a
      // one-symbol dlopen, 150–400 µs, and vulkaninfo's 12 of them took 4 ms.
      // The choice is made once, before the first call: a call site that saw
      // the pointer first would stay megamorphic, and V8 makes fast calls
      // only from monomorphic ones (vkCmdPushConstants streams lost 40%).
      if (p) {
        const exported =
          this.kind === "device" && Deno.env.get("VESPER_VK_NO_LOADER_EXPORTS") === undefined
            ? loaderExport(sig.names[ptrs.indexOf(p)], sig)
            : null;
        fn = exported ?? nativeFn(p, sig);
      }
    }
    this.fns[id] = fn;
    return fn;
  }

  /** A named entry point outside the command table (vkCreateInstance, …). */
  named(name: string, parameters: readonly string[], result: string): NativeFn | null {
    const p = this.#procAddr(name);
    return p
      ? nativeFn(p, { names: [name], device: this.kind === "device", parameters, result })
      : null;
  }
}
