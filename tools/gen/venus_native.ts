/**
 * Native side of the Venus generator: C layouts (LP64) of every protocol
 * struct, marshallers from decoded structs into an Arena (nw_*), output
 * preparation (nwo_*: sType, pNext chain, lengths), readers back into the
 * reply objects (nr_*), and the per-command Vulkan calls (vulkan.ts):
 * FFI signatures and a generated passthrough handler for every command vkr
 * dispatches.
 */
import {
  DISPATCHABLE,
  type Elem,
  elemOf,
  isExtensible,
  isOutput,
  type Kind,
  type Model,
} from "./venus_model.ts";
import type { CommandDef, Decl, StructDef } from "./venus_registry.ts";
import type { Emitter } from "./venus_emit.ts";

const SZ: Record<string, number> = {
  u8: 1,
  i8: 1,
  u16: 2,
  i16: 2,
  u32: 4,
  i32: 4,
  f32: 4,
  u64: 8,
  i64: 8,
  f64: 8,
};

interface Layout {
  size: number;
  align: number;
  offs: number[];
}

export class NativeEmitter {
  #lay = new Map<string, Layout>();

  constructor(readonly m: Model, readonly em: Emitter) {}

  elemLayout(e: Elem): [number, number] {
    switch (e.k) {
      case "scalar":
        return [SZ[e.s], SZ[e.s]];
      case "handle":
      case "pfn":
        return [8, 8];
      case "char":
        return [1, 1];
      case "struct":
      case "union": {
        const l = this.layout(e.s);
        return [l.size, l.align];
      }
      default:
        return [8, 8];
    }
  }

  memberLayout(k: Kind): [number, number] {
    switch (k.k) {
      case "value":
        return this.elemLayout(k.e);
      case "fixedString":
        return [k.n, 1];
      case "static": {
        const [s, a] = this.elemLayout(k.e);
        return [s * k.n, a];
      }
      default:
        return [8, 8];
    }
  }

  layout(s: StructDef): Layout {
    let l = this.#lay.get(s.name);
    if (l) return l;
    let off = 0, align = 1, size = 0;
    const offs: number[] = [];
    for (const d of s.members) {
      const [ms, ma] = this.memberLayout(this.m.kind(d));
      align = Math.max(align, ma);
      if (s.union) {
        offs.push(0);
        size = Math.max(size, ms);
      } else {
        off = (off + ma - 1) & ~(ma - 1);
        offs.push(off);
        off += ms;
        size = off;
      }
    }
    size = (size + align - 1) & ~(align - 1);
    l = { size, align, offs };
    this.#lay.set(s.name, l);
    return l;
  }

  /** True when the wire form of a flat struct equals its C layout (a Span can be copied as is). */
  sameAsWire(s: StructDef): boolean {
    if (s.union) return false;
    const l = this.layout(s);
    let wire = 0;
    for (let i = 0; i < s.members.length; i++) {
      const k = this.m.kind(s.members[i]);
      if (
        k.k === "value" && k.e.k === "scalar" &&
        ["u32", "i32", "f32", "u64", "i64", "f64"].includes(k.e.s)
      ) {
        if (l.offs[i] !== wire) return false;
        wire += SZ[k.e.s];
      } else if (k.k === "value" && k.e.k === "struct" && this.sameAsWire(k.e.s)) {
        if (l.offs[i] !== wire) return false;
        wire += this.layout(k.e.s).size;
      } else return false;
    }
    return wire === l.size;
  }

  // ------------------------------------------------------------ input writers

  /** statements writing member `v` (an expression) of kind k at arena offset expression `o` */
  wMember(k: Kind, o: string, v: string, ctx: string): string[] {
    switch (k.k) {
      case "chain":
        return [`a.wp(${o}, nwChain(a, ${v}));`];
      case "allocator":
      case "opaque":
        return [];
      case "value":
        return this.wElem(k.e, o, v);
      case "fixedString":
        return [`a.fstr(${o}, ${v}, ${k.n});`];
      case "static": {
        const [es] = this.elemLayout(k.e);
        if (k.e.k === "scalar" && k.e.s === "u8") {
          return [`if (${v}) a.u8.set((${v} as Uint8Array).subarray(0, ${k.n}), ${o});`];
        }
        return [
          `if (${v}) for (let i = 0; i < ${k.n} && i < ${v}.length; i++) {`,
          ...this.wElem(k.e, `${o} + i * ${es}`, `${v}[i]`),
          `}`,
        ];
      }
      case "string":
        return [`a.wp(${o}, a.str(${v}));`];
      case "strings":
        return [`a.wp(${o}, a.strs(${v}));`];
      case "blob":
        return [`a.wp(${o}, a.blob(${v}));`];
      case "array":
        return [`a.wp(${o}, ${this.arrayExpr(k.e, v)});`];
      case "pointer":
        return [`a.wp(${o}, ${this.pointerExpr(k.e, v, ctx)});`];
    }
  }

  wElem(e: Elem, o: string, v: string): string[] {
    switch (e.k) {
      case "scalar":
        return e.s === "u64" || e.s === "i64"
          ? [`a.w64(${o}, ${v});`]
          : [`a.ws(${o}, "${e.s}", ${v});`];
      case "handle":
        return [`a.wh(${o}, ${v});`];
      case "struct":
        return [`if (${v}) nw_${e.s.name}(a, ${o}, ${v});`];
      case "union":
        return [`if (${v}) nwu_${e.s.name}(a, ${o}, ${v});`];
      default:
        return [];
    }
  }

  arrayExpr(e: Elem, v: string): string {
    switch (e.k) {
      case "scalar":
        return `a.scalars(${v}, "${e.s}")`;
      case "handle":
        return `a.handles(${v})`;
      case "struct": {
        const l = this.layout(e.s);
        return `a.structs(${v}, ${l.size}, ${l.align}, nw_${e.s.name}, ${this.sameAsWire(e.s)})`;
      }
      case "union": {
        const l = this.layout(e.s);
        return `a.structs(${v}, ${l.size}, ${l.align}, nwu_${e.s.name})`;
      }
      default:
        return "0";
    }
  }

  pointerExpr(e: Elem, v: string, ctx: string): string {
    switch (e.k) {
      case "scalar":
        return `(${v} == null ? 0 : a.scalars([${v}], "${e.s}"))`;
      case "handle":
        return `(${v} == null ? 0 : a.handles([${v}]))`;
      case "struct": {
        const l = this.layout(e.s);
        return `a.struct(${v}, ${l.size}, ${l.align}, nw_${e.s.name})`;
      }
      case "union": {
        const l = this.layout(e.s);
        return `a.struct(${v}, ${l.size}, ${l.align}, nwu_${e.s.name})`;
      }
      default:
        throw new Error(`pointer to ${e.k} in ${ctx}`);
    }
  }

  structWriter(s: StructDef): string {
    const l = this.layout(s);
    const body: string[] = [];
    s.members.forEach((d, i) => {
      const o = l.offs[i] ? `o + ${l.offs[i]}` : "o";
      if (d.name === "sType" && s.sType !== undefined) {
        body.push(`a.dv.setInt32(${o}, ${s.sType}, true);`);
        return;
      }
      body.push(...this.wMember(this.m.kind(d), o, `v.${d.name}`, `${s.name}.${d.name}`));
    });
    if (s.union) {
      const alts = s.members.map((d) => {
        const k = this.m.kind(d);
        return `if (v.${d.name} !== undefined) {\n${
          this.wMember(k, "o", `v.${d.name}`, `${s.name}.${d.name}`).join("\n")
        }\nreturn;\n}`;
      });
      return `export function nwu_${s.name}(a: Arena, o: number, v: any): void {\n${
        alts.join("\n")
      }\n}`;
    }
    return `export function nw_${s.name}(a: Arena, o: number, v: any): void {\n${
      body.join("\n")
    }\n}`;
  }

  // ------------------------------------------------------------ output side

  /** prepares an output struct: sType, output pNext chain, and the members the request carried */
  structOutWriter(s: StructDef): string {
    const l = this.layout(s);
    const body: string[] = [];
    s.members.forEach((d, i) => {
      const o = l.offs[i] ? `o + ${l.offs[i]}` : "o";
      const k = this.m.kind(d);
      const v = `v.${d.name}`;
      if (d.name === "sType" && s.sType !== undefined) {
        body.push(`a.dv.setInt32(${o}, ${s.sType}, true);`);
        return;
      }
      switch (k.k) {
        case "chain":
          body.push(`a.wp(${o}, nwoChain(a, ${v}));`);
          break;
        case "value":
          if (k.e.k === "scalar") body.push(`if (${v} !== undefined) ${this.wElem(k.e, o, v)[0]}`);
          else if (k.e.k === "struct") body.push(`if (${v}) nwo_${k.e.s.name}(a, ${o}, ${v});`);
          break;
        case "static":
          if (k.e.k === "struct" && this.needsOutPrep(k.e.s)) {
            const [es] = this.elemLayout(k.e);
            body.push(
              `if (${v}) for (let i = 0; i < ${k.n} && i < ${v}.length; i++) nwo_${k.e.s.name}(a, ${o} + i * ${es}, ${v}[i]);`,
            );
          }
          break;
        case "array": {
          const [es, ea] = this.elemLayout(k.e);
          if (k.e.k === "struct") {
            body.push(
              `if (${v} && ${v}.length) { const p = a.alloc(${v}.length * ${es}, ${ea}); for (let i = 0; i < ${v}.length; i++) nwo_${k.e.s.name}(a, p + i * ${es}, ${v}[i]); a.wp(${o}, a.addr(p)); }`,
            );
          } else if (k.e.k === "scalar" || k.e.k === "handle") {
            body.push(
              `if (${v} && ${v}.length) a.wp(${o}, a.addr(a.alloc(${v}.length * ${es}, ${ea})));`,
            );
          }
          break;
        }
        case "blob":
          body.push(`if (${v} && ${v}.length) a.wp(${o}, a.addr(a.alloc(${v}.length, 8)));`);
          break;
        default:
          break;
      }
    });
    return `export function nwo_${s.name}(a: Arena, o: number, v: any): void {\n${
      body.join("\n")
    }\n}`;
  }

  needsOutPrep(s: StructDef): boolean {
    return isExtensible(s) || s.members.some((d) => {
      const k = this.m.kind(d);
      return k.k === "array" || k.k === "blob" ||
        (k.k === "value" && k.e.k === "struct" && this.needsOutPrep(k.e.s));
    });
  }

  rElem(e: Elem, o: string): string | null {
    switch (e.k) {
      case "scalar":
        return `a.rs(${o}, "${e.s}")`;
      case "handle":
        return `a.rid(a.r64(${o}))`;
      default:
        return null;
    }
  }

  structReader(s: StructDef): string {
    const l = this.layout(s);
    const body: string[] = [];
    const name = s.union ? `nru_${s.name}` : `nr_${s.name}`;
    if (s.union) {
      // output unions: report the first member (the reply needs one alternative)
      const d = s.members[0];
      const k = this.m.kind(d);
      body.push(...this.rMember(k, "o", `v.${d.name}`));
      return `export function ${name}(a: Arena, o: number, v: any): void {\n${body.join("\n")}\n}`;
    }
    s.members.forEach((d, i) => {
      if (d.name === "sType") return;
      const o = l.offs[i] ? `o + ${l.offs[i]}` : "o";
      body.push(...this.rMember(this.m.kind(d), o, `v.${d.name}`));
    });
    return `export function ${name}(a: Arena, o: number, v: any): void {\n${body.join("\n")}\n}`;
  }

  rMember(k: Kind, o: string, v: string): string[] {
    switch (k.k) {
      case "chain":
        return [`nrChain(a, a.rp(${o}), ${v});`];
      case "value": {
        const r = this.rElem(k.e, o);
        if (r) return [`${v} = ${r};`];
        if (k.e.k === "struct") return [`nr_${k.e.s.name}(a, ${o}, ${v} ??= {});`];
        if (k.e.k === "union") return [`nru_${k.e.s.name}(a, ${o}, ${v} ??= {});`];
        return [];
      }
      case "fixedString":
        return [`${v} = a.rstr(${o}, ${k.n});`];
      case "static": {
        const [es] = this.elemLayout(k.e);
        if (k.e.k === "scalar" && k.e.s === "u8") {
          return [`${v} = a.u8.slice(${o}, ${o} + ${k.n});`];
        }
        const r = this.rElem(k.e, `${o} + i * ${es}`);
        if (r) {
          return [
            `{ const t: any[] = []; for (let i = 0; i < ${k.n}; i++) t.push(${r}); ${v} = t; }`,
          ];
        }
        if (k.e.k === "struct") {
          return [
            `{ const t: any[] = ${v} ?? []; for (let i = 0; i < ${k.n}; i++) nr_${k.e.s.name}(a, ${o} + i * ${es}, t[i] ??= {}); ${v} = t; }`,
          ];
        }
        return [];
      }
      case "array": {
        const [es] = this.elemLayout(k.e);
        const r = this.rElem(k.e, `p + i * ${es}`);
        const loop = r
          ? `${v}[i] = ${r};`
          : k.e.k === "struct"
          ? `nr_${k.e.s.name}(a, p + i * ${es}, ${v}[i] ??= {});`
          : null;
        if (!loop) return [];
        return [
          `if (${v} && ${v}.length) { const p = a.off(a.rp(${o})); if (p >= 0) for (let i = 0; i < ${v}.length; i++) ${loop} }`,
        ];
      }
      case "blob":
        return [
          `if (${v} && ${v}.length) { const p = a.off(a.rp(${o})); if (p >= 0) ${v}.set(a.u8.subarray(p, p + ${v}.length)); }`,
        ];
      default:
        return [];
    }
  }

  chainFns(all: StructDef[], out: StructDef[]): string {
    const ext = (list: StructDef[]) =>
      list.filter((s) => s.sType !== undefined && isExtensible(s)).sort((a, b) =>
        a.sType! - b.sType!
      );
    const L: string[] = [];
    const cases = (list: StructDef[], fn: string) =>
      ext(list).map((s) => {
        const l = this.layout(s);
        return `case ${s.sType}: { const o = a.alloc(${l.size}, ${l.align}); ${fn}_${s.name}(a, o, p); return a.addr(o); }`;
      }).join("\n");
    L.push(`/** Writes an input pNext chain; elements of unknown sType are left out. */
export function nwChain(a: Arena, p: any): number {
  for (; p; p = p.pNext) {
    switch (p.sType) {
${cases(all, "nw")}
    }
  }
  return 0;
}`);
    L.push(`/** Prepares an output pNext chain (sType + links); unknown elements are left out. */
export function nwoChain(a: Arena, p: any): number {
  for (; p; p = p.pNext) {
    switch (p.sType) {
${cases(out, "nwo")}
    }
  }
  return 0;
}`);
    L.push(`/** Reads the native chain element at \`addr\` back into the matching reply element. */
export function nrChain(a: Arena, addr: number, p: any): void {
  const o = a.off(addr);
  if (o < 0) return;
  const st = a.dv.getInt32(o, true);
  while (p && p.sType !== st) p = p.pNext;
  if (!p) return;
  switch (st) {
${ext(out).map((s) => `case ${s.sType}: return nr_${s.name}(a, o, p);`).join("\n")}
  }
}`);
    return L.join("\n\n");
  }

  // ------------------------------------------------------------ commands

  ffiType(p: Decl): string {
    const k = this.m.kind(p);
    if (p.ptr > 0 || p.dims.length) return `"usize"`;
    if (k.k === "allocator") return `"usize"`;
    if (k.k !== "value") return `"usize"`;
    const e = k.e;
    if (e.k === "handle") return `"u64"`;
    if (e.k === "scalar") {
      switch (e.s) {
        case "u8":
        case "u16":
        case "u32":
          return `"u32"`;
        case "i8":
        case "i16":
        case "i32":
          return `"i32"`;
        case "f32":
          return `"f32"`;
        case "f64":
          return `"f64"`;
        case "i64":
          return `"i64"`;
        default:
          return `"u64"`;
      }
    }
    throw new Error(`unsupported by-value parameter ${p.name}: ${p.type}`);
  }

  ffiRet(c: CommandDef): string {
    if (c.ret === "void") return `"void"`;
    if (c.ret === "VkResult") return `"i32"`;
    const e = this.m.elem(c.ret);
    if (e.k === "scalar") {
      if (e.s === "u64" || e.s === "i64") return `"u64"`;
      if (e.s === "f32") return `"f32"`;
      return e.s.startsWith("i") ? `"i32"` : `"u32"`;
    }
    if (e.k === "handle") return `"u64"`;
    return `"void"`;
  }

  /** The generated passthrough method of one command. */
  commandMethod(c: CommandDef): string {
    const pre: string[] = [];
    const post: string[] = [];
    const args: string[] = [];
    const first = c.params[0];
    const dispatchable = DISPATCHABLE.has(first.type);
    if (!dispatchable) throw new Error(`${c.name}: not dispatchable`);
    c.params.forEach((p, i) => {
      const k = this.m.kind(p);
      const n = p.name;
      if (i === 0) {
        args.push("d.h");
        return;
      }
      if (!isOutput(p)) {
        switch (k.k) {
          case "value":
            args.push(k.e.k === "handle" ? `this.hh(${n})` : n);
            return;
          case "allocator":
          case "opaque":
            args.push("0");
            return;
          case "string":
            args.push(`a.str(${n})`);
            return;
          case "strings":
            args.push(`a.strs(${n})`);
            return;
          case "blob":
            args.push(`a.blob(${n})`);
            return;
          case "static":
            args.push(`a.scalars(${n}, "${(k.e as { s: string }).s}")`);
            return;
          case "array":
            args.push(this.arrayExpr(k.e, n));
            return;
          case "pointer":
            args.push(this.pointerExpr(k.e, n, `${c.name}.${n}`));
            return;
          default:
            throw new Error(`${c.name}.${n}: ${k.k}`);
        }
      }
      const form = this.em.outForm(c, p);
      const e = elemOf(k);
      const q = `q_${n}`;
      switch (form) {
        case "holder": {
          const s = (e as { s: string }).s;
          pre.push(`const ${q} = ${n} === null ? -1 : a.alloc(8);`);
          pre.push(`if (${n} !== null) a.ws(${q}, "${s}", ${n}.value);`);
          args.push(`(${q} < 0 ? 0 : a.addr(${q}))`);
          post.push(`if (${n} !== null) ${n}.value = a.rs(${q}, "${s}") as any;`);
          return;
        }
        case "handle": {
          const he = e as { k: "handle"; ot: number; name: string };
          pre.push(`const ${q} = ${n} === null ? -1 : a.alloc(8);`);
          args.push(`(${q} < 0 ? 0 : a.addr(${q}))`);
          post.push(
            `if (${n} !== null && ok) this.bind(${he.ot}, ${n}, a.r64(${q}), ${
              this.parentOf(c)
            }, d);`,
          );
          return;
        }
        case "handles": {
          const he = e as { k: "handle"; ot: number; name: string };
          pre.push(
            `const ${q} = ${n} === null || ${n}.length === 0 ? -1 : a.alloc(${n}.length * 8);`,
          );
          args.push(`(${q} < 0 ? 0 : a.addr(${q}))`);
          post.push(
            `if (${n} !== null && ok) for (let i = 0; i < ${n}.length; i++) this.bind(${he.ot}, ${n}[i], a.r64(${q} + i * 8), ${
              this.parentOf(c)
            }, d);`,
          );
          return;
        }
        case "struct": {
          const s = (e as { s: StructDef }).s;
          const l = this.layout(s);
          const u = s.union ? "u" : "";
          pre.push(`const ${q} = ${n} === null ? -1 : a.alloc(${l.size}, ${l.align});`);
          if (!s.union) pre.push(`if (${n} !== null) nwo_${s.name}(a, ${q}, ${n});`);
          args.push(`(${q} < 0 ? 0 : a.addr(${q}))`);
          post.push(`if (${n} !== null) nr${u}_${s.name}(a, ${q}, ${n});`);
          return;
        }
        case "structs": {
          const s = (e as { s: StructDef }).s;
          const l = this.layout(s);
          pre.push(
            `const ${q} = ${n} === null || ${n}.length === 0 ? -1 : a.alloc(${n}.length * ${l.size}, ${l.align});`,
          );
          pre.push(
            `if (${q} >= 0) for (let i = 0; i < ${n}!.length; i++) nwo_${s.name}(a, ${q} + i * ${l.size}, ${n}![i]);`,
          );
          args.push(`(${q} < 0 ? 0 : a.addr(${q}))`);
          post.push(
            `if (${q} >= 0) for (let i = 0; i < ${n}!.length; i++) nr_${s.name}(a, ${q} + i * ${l.size}, ${n}![i]);`,
          );
          return;
        }
        case "scalars": {
          const s = (e as { s: string }).s;
          const sz = SZ[s];
          pre.push(
            `const ${q} = ${n} === null || ${n}.length === 0 ? -1 : a.alloc(${n}.length * ${sz});`,
          );
          args.push(`(${q} < 0 ? 0 : a.addr(${q}))`);
          post.push(
            `if (${q} >= 0) for (let i = 0; i < ${n}!.length; i++) (${n} as any)[i] = a.rs(${q} + i * ${sz}, "${s}");`,
          );
          return;
        }
        case "blob":
          pre.push(`const ${q} = ${n} === null || ${n}.length === 0 ? -1 : a.alloc(${n}.length);`);
          args.push(`(${q} < 0 ? 0 : a.addr(${q}))`);
          post.push(`if (${q} >= 0) ${n}!.set(a.u8.subarray(${q}, ${q} + ${n}!.length));`);
          return;
        case "opaque":
          args.push("0");
          return;
      }
    });
    // 64-bit arguments as BigInt: Deno's fast FFI call path takes u64/usize
    // only as BigInt (a number falls back to a generic call about 20× slower)
    c.params.forEach((p, i) => {
      if (!['"u64"', '"i64"', '"usize"'].includes(this.ffiType(p))) return;
      const v = args[i];
      if (i === 0) args[i] = "d.hb";
      else if (v === "0") args[i] = "0n";
      else if (v === `this.hh(${p.name})`) args[i] = `this.hb(${p.name})`;
      else if (this.ffiType(p) === '"usize"') args[i] = `a.P(${v})`;
      else args[i] = `B(${v})`;
    });
    const destroy: string[] = [];
    if (/^vk(Destroy|Free)/.test(c.name)) {
      for (let i = c.params.length - 1; i >= 1; i--) {
        const p = c.params[i];
        const k = this.m.kind(p);
        if (isOutput(p) || !("e" in k) || k.e.k !== "handle") continue;
        if (k.k === "value") destroy.push(`this.destroyed(${k.e.ot}, ${p.name});`);
        else {
          destroy.push(
            `if (${p.name}) for (let i = 0; i < ${p.name}.count; i++) this.destroyed(${k.e.ot}, ${p.name}.at(i));`,
          );
        }
        break;
      }
    }
    if (c.name === "vkResetDescriptorPool") destroy.push(`this.dropChildren(descriptorPool);`);
    const ret = c.ret === "void" ? "void" : this.em.retTs(c);
    const params = c.params.map((p) => `${p.name}: ${this.em.paramTs(c, p)}`).join(", ");
    const names = c.params.map((p) => p.name).join(", ");
    const head = `override ${c.name}(${params}): ${ret} {
  if (!this.native) return super.${c.name}(${names});
  const d = this.disp(${first.name});
  const f = d.t.fns[${c.id}] ?? d.t.resolve(${c.id});
  if (f === null) return this.missing(${c.id}) as any;`;
    const call = `f(${args.join(", ")})`;
    const usesArena = [...pre, ...args, ...post].some((x) => /\ba\./.test(x));
    if (!usesArena) {
      // nothing to marshal: no arena, so nothing to retry either
      if (destroy.length === 0) return `${head}\n  return ${call};\n}`;
      const keep = c.ret === "void" ? `${call};` : `const r = ${call};`;
      const back = c.ret === "void" ? "" : "\n  return r as any;";
      return `${head}\n  ${keep}\n${destroy.join("\n")}${back}\n}`;
    }
    // outputs are bound only when the call succeeded
    const ok = post.some((x) => /\bok\b/.test(x))
      ? `const ok = ${c.ret === "VkResult" ? "(r as number) >= 0" : "true"};`
      : "";
    const needR = c.ret !== "void" || ok !== "";
    return `${head}
  const a = this.arena;
  for (;;) {
    a.reset();
    try {
${pre.join("\n")}
      ${needR ? `const r = ${call};` : `${call};`}
      ${ok}
${post.join("\n")}
${destroy.join("\n")}
      ${c.ret === "void" ? "return;" : "return r as any;"}
    } catch (e) {
      if (e !== ARENA_FULL || !a.grow()) throw e;
    }
  }
}`.replace(/\n\s*\n+/g, "\n");
  }

  parentOf(c: CommandDef): string {
    if (c.name === "vkAllocateCommandBuffers") return "pAllocateInfo!.commandPool";
    if (c.name === "vkAllocateDescriptorSets") return "pAllocateInfo!.descriptorPool";
    return c.params[0].name;
  }
}
