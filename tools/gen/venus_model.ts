/**
 * Wire-level classification of XML declarations (venus-wire.md §2–§5): what
 * each struct member / command parameter looks like on the wire, which
 * structs the protocol reaches (as input, as output), and the pNext sets.
 */
import type { CommandDef, Decl, Registry, StructDef } from "./venus_registry.ts";

export type Scalar = "u8" | "u16" | "i8" | "i16" | "u32" | "i32" | "f32" | "u64" | "i64" | "f64";

export type Elem =
  | { k: "scalar"; s: Scalar }
  | { k: "char" }
  | { k: "handle"; name: string; ot: number }
  | { k: "struct"; s: StructDef }
  | { k: "union"; s: StructDef }
  | { k: "void" }
  | { k: "pfn" };

export type Kind =
  | { k: "chain" }
  | { k: "allocator" }
  | { k: "value"; e: Elem }
  | { k: "opaque" }
  | { k: "blob"; len: string }
  | { k: "string" }
  | { k: "strings"; len: string }
  | { k: "fixedString"; n: number }
  | { k: "static"; e: Elem; n: number }
  | { k: "array"; e: Elem; len: string }
  | { k: "pointer"; e: Elem };

const BASE: Record<string, Scalar> = {
  uint8_t: "u8",
  uint16_t: "u16",
  int8_t: "i8",
  int16_t: "i16",
  uint32_t: "u32",
  int32_t: "i32",
  float: "f32",
  uint64_t: "u64",
  size_t: "u64",
  int64_t: "i64",
  double: "f64",
};

export const SCALAR_BYTES: Record<Scalar, number> = {
  u8: 4,
  u16: 4,
  i8: 4,
  i16: 4,
  u32: 4,
  i32: 4,
  f32: 4,
  u64: 8,
  i64: 8,
  f64: 8,
};

export const DISPATCHABLE = new Set([
  "VkInstance",
  "VkPhysicalDevice",
  "VkDevice",
  "VkQueue",
  "VkCommandBuffer",
]);

/**
 * Members that Mesa encodes only under a condition (venus-wire.md §3.2): the
 * decoder takes the unchecked path; the encoder writes count 0 otherwise.
 */
export const CONDITIONAL: Record<string, { member: string; cond: string }> = {
  "VkBufferCreateInfo.pQueueFamilyIndices": {
    member: "pQueueFamilyIndices",
    cond: "v.sharingMode === 1",
  },
  "VkImageCreateInfo.pQueueFamilyIndices": {
    member: "pQueueFamilyIndices",
    cond: "v.sharingMode === 1",
  },
  "VkPhysicalDeviceImageDrmFormatModifierInfoEXT.pQueueFamilyIndices": {
    member: "pQueueFamilyIndices",
    cond: "v.sharingMode === 1",
  },
  "VkFramebufferCreateInfo.pAttachments": {
    member: "pAttachments",
    cond: "((v.flags ?? 0) & 1) === 0",
  },
};

export class Model {
  /** structs reached at all (full codecs) */
  all = new Set<string>();
  /** structs reached through output pointers (partial codecs too) */
  out = new Set<string>();
  /** head struct → protocol structs allowed in its pNext chain */
  chains = new Map<string, StructDef[]>();

  constructor(readonly reg: Registry) {
    for (const c of reg.commands) {
      for (const p of c.params) {
        const k = this.kind(p);
        const e = elemOf(k);
        if (e && (e.k === "struct" || e.k === "union")) {
          this.#reach(e.s, isOutput(p));
        }
      }
    }
  }

  elem(type: string): Elem {
    const s = this.reg.structs.get(type);
    if (s) return s.union ? { k: "union", s } : { k: "struct", s };
    const h = this.reg.handles.get(type);
    if (h) return { k: "handle", name: h.name, ot: h.objectType };
    if (type === "void") return { k: "void" };
    if (type === "char") return { k: "char" };
    if (type.startsWith("PFN_")) return { k: "pfn" };
    let t = type;
    for (let i = 0; i < 8; i++) {
      if (BASE[t]) return { k: "scalar", s: BASE[t] };
      const next = this.reg.scalars.get(t);
      if (!next || next === t) break;
      t = next;
    }
    if (BASE[t]) return { k: "scalar", s: BASE[t] };
    throw new Error(`unsupported type ${type}`);
  }

  kind(d: Decl): Kind {
    if (d.name === "pNext" && d.type === "void") return { k: "chain" };
    if (d.type === "VkAllocationCallbacks") return { k: "allocator" };
    if (d.bitfield) throw new Error(`bitfield member ${d.name}`);
    const e = this.elem(d.type);
    if (d.dims.length > 1) throw new Error(`multi-dimensional array ${d.name}`);
    if (d.dims.length === 1) {
      if (e.k === "char") return { k: "fixedString", n: d.dims[0] };
      return { k: "static", e, n: d.dims[0] };
    }
    if (d.ptr === 0) {
      if (e.k === "void" || e.k === "char") throw new Error(`bad value type for ${d.name}`);
      return { k: "value", e };
    }
    if (e.k === "void") {
      return d.len.length && d.ptr === 1 ? { k: "blob", len: d.len[0] } : { k: "opaque" };
    }
    if (e.k === "pfn") return { k: "opaque" };
    if (e.k === "char") {
      if (d.ptr === 2) return { k: "strings", len: d.len[0] };
      if (d.len[0] === "null-terminated" || d.len.length === 0) return { k: "string" };
      return { k: "blob", len: d.len[0] };
    }
    if (d.ptr !== 1) throw new Error(`unsupported pointer depth for ${d.name}`);
    if (d.len.length) return { k: "array", e, len: d.len[0] };
    return { k: "pointer", e };
  }

  chainOf(head: StructDef): StructDef[] {
    let c = this.chains.get(head.name);
    if (!c) {
      c = [];
      const seen = new Set<string>();
      for (const name of [...this.reg.protocolStructs].sort()) {
        const s = this.reg.structs.get(name)!;
        if (s.name !== name || seen.has(name)) continue;
        if (s.structextends.includes(head.name) && s.sType !== undefined) {
          seen.add(name);
          c.push(s);
        }
      }
      c.sort((a, b) => a.sType! - b.sType!);
      this.chains.set(head.name, c);
    }
    return c;
  }

  #reach(s: StructDef, output: boolean): void {
    const set = output ? this.out : this.all;
    if (set.has(s.name)) return;
    set.add(s.name);
    if (output) this.#reach(s, false);
    const extensible = s.members.some((m) => m.name === "pNext");
    if (extensible) { for (const c of this.chainOf(s)) this.#reach(c, output); }
    for (const m of s.members) {
      const e = elemOf(this.kind(m));
      if (e && (e.k === "struct" || e.k === "union")) this.#reach(e.s, output);
    }
  }

  /** Struct members used as lengths from outside (`pAllocateInfo->commandBufferCount`). */
  outerLens(): Set<string> {
    const out = new Set<string>();
    for (const c of this.reg.commands) {
      for (const p of c.params) {
        for (const l of p.len.slice(0, 1)) {
          for (const m of l.matchAll(/(\w+)->(\w+)/g)) {
            const src = c.params.find((x) => x.name === m[1]);
            if (src) out.add(`${src.type}.${m[2]}`);
          }
        }
      }
    }
    return out;
  }

  /** Member names used in other members' `len` expressions. */
  lenMembers(decls: Decl[], owner?: string): Set<string> {
    const names = new Set(decls.map((d) => d.name));
    const out = new Set<string>();
    if (owner) {
      for (const k of this.outerLens()) {
        if (k.startsWith(`${owner}.`)) out.add(k.slice(owner.length + 1));
      }
    }
    for (const d of decls) {
      for (const l of d.len.slice(0, 1)) {
        for (const id of l.match(/[A-Za-z_]\w*/g) ?? []) if (names.has(id)) out.add(id);
      }
    }
    return out;
  }

  /** Minimal request bytes of one element (0 for partial structs that carry nothing). */
  minBytes(e: Elem, partial: boolean): number {
    switch (e.k) {
      case "scalar":
        return SCALAR_BYTES[e.s];
      case "handle":
        return 8;
      case "union":
        return partial ? 0 : 4;
      case "struct":
        return this.structMin(e.s, partial);
      default:
        return 1;
    }
  }

  structMin(s: StructDef, partial: boolean, depth = 0): number {
    if (depth > 8) return 0;
    let n = 0;
    const lens = this.lenMembers(s.members);
    for (const m of s.members) {
      if (m.name === "sType") {
        n += 4;
        continue;
      }
      const k = this.kind(m);
      if (partial) {
        if (k.k === "chain") n += 8;
        else if (lens.has(m.name) && k.k === "value" && k.e.k === "scalar") {
          n += SCALAR_BYTES[k.e.s];
        } else if (k.k === "value" && k.e.k === "handle") n += 8;
        else if (k.k === "value" && k.e.k === "struct") n += this.structMin(k.e.s, true, depth + 1);
        else if (k.k === "static" && (k.e.k === "struct" || k.e.k === "handle")) n += 8;
        else if (k.k === "array" || k.k === "pointer") n += 8;
        continue;
      }
      switch (k.k) {
        case "value":
          n += k.e.k === "scalar"
            ? SCALAR_BYTES[k.e.s]
            : k.e.k === "handle"
            ? 8
            : k.e.k === "union"
            ? 4
            : k.e.k === "struct"
            ? this.structMin(k.e.s, false, depth + 1)
            : 0;
          break;
        default:
          n += 8;
      }
    }
    return n;
  }
}

export function elemOf(k: Kind): Elem | null {
  return "e" in k ? k.e : null;
}

/** A command parameter is an output when it is a non-const pointer (not pAllocator). */
export function isOutput(p: Decl): boolean {
  return p.ptr > 0 && !p.isConst && p.type !== "VkAllocationCallbacks";
}

export function isExtensible(s: StructDef): boolean {
  return s.members.some((m) => m.name === "pNext");
}

export type { CommandDef, Decl, StructDef };
