/**
 * Venus protocol generator: reads ../shared/venus-protocol/ (or
 * $VESPER_PROTOCOL_DIR) and writes src/venus/generated/ (or the directory
 * given as the first argument), then formats the output with `deno fmt`.
 *
 *   deno task gen                       # regenerate in place
 *   deno run -A tools/gen/venus.ts DIR  # generate into DIR (staleness test)
 */
import { loadRegistry } from "./venus_registry.ts";
import { DISPATCHABLE, isExtensible, isOutput, Model } from "./venus_model.ts";
import { BANNER, Emitter, SampleEmitter } from "./venus_emit.ts";
import { NativeEmitter } from "./venus_native.ts";
import type { CommandDef } from "./venus_registry.ts";

/** Commands vkr 1.1.0 never executes (venus-wire.md appendix A): no handler → fatal. */
export const NOT_DISPATCHED = [
  9,
  10,
  15,
  16,
  17,
  19,
  20,
  23,
  24,
  25,
  26,
  160,
  193,
  194,
  196,
  197,
  198,
  199,
  200,
  238,
  239,
  242,
  243,
  250,
];

const here = new URL(".", import.meta.url).pathname;
const repo = `${here}../..`;

export async function generate(outDir: string, protocolDir: string): Promise<string[]> {
  const reg = await loadRegistry(protocolDir);
  const model = new Model(reg);
  const em = new Emitter(model);
  const all = [...model.all].sort();
  const structs = all.map((n) => reg.structs.get(n)!).filter((s, i, a) => a.indexOf(s) === i);
  const files: Record<string, string> = {};
  const head = (extra = "// deno-lint-ignore-file") => `${BANNER}\n${extra}`;

  // ---- types.ts
  {
    const L: string[] = [head()];
    L.push(
      `/** Venus protocol constants and decoded-struct shapes (vk.xml ${reg.vkHeaderVersion}). */`,
    );
    L.push(`import type { U64 } from "../reader.ts";`);
    L.push(`export type { Ref, U64 } from "../reader.ts";`);
    L.push(`
/** Common head of every extensible struct; pNext elements are linked in application order. */
export interface VkBaseStruct {
  sType: number;
  pNext: VkBaseStruct | null;
}

export const VK_XML_VERSION = ${reg.vkHeaderVersion};
export const VK_EXT_COMMAND_SERIALIZATION_SPEC_VERSION = ${reg.specVersions.commandSerialization};
export const VK_MESA_VENUS_PROTOCOL_SPEC_VERSION = ${reg.specVersions.venusProtocol};
/** highest VkCommandTypeEXT of the protocol; larger values are fatal */
export const MAX_COMMAND_TYPE = ${Math.max(...reg.commands.map((c) => c.id))};
/** extension numbers of the protocol (the 1.1.0 capset's vk_extension_mask1) */
export const PROTOCOL_EXTENSIONS: readonly number[] = ${JSON.stringify(reg.extensionNumbers)};
/** name → spec version of the protocol's extensions (what vkr clamps device extensions to) */
export const PROTOCOL_EXTENSION_SPECS: Readonly<Record<string, number>> = ${
      JSON.stringify(Object.fromEntries([...reg.extensionSpecs].sort()))
    };
`);
    L.push("/** VkCommandTypeEXT by command name (aliases included). */");
    L.push("export const COMMAND_TYPE = {");
    for (const c of reg.commands) for (const n of c.names) L.push(`${n}: ${c.id},`);
    L.push("} as const;");
    L.push("/** Primary command name by VkCommandTypeEXT (undefined for unused values). */");
    L.push("export const COMMAND_NAME: readonly (string | undefined)[] = [");
    const byId = new Map(reg.commands.map((c) => [c.id, c.name]));
    for (let i = 0; i <= Math.max(...byId.keys()); i++) {
      L.push(byId.has(i) ? `${JSON.stringify(byId.get(i))},` : "undefined,");
    }
    L.push("];");
    L.push("/** VkStructureType of every extensible struct the protocol reaches. */");
    L.push("export const STRUCTURE_TYPE = {");
    for (const s of structs) if (s.sType !== undefined) L.push(`${s.name}: ${s.sType},`);
    L.push("} as const;");
    L.push("/** VkObjectType of every handle type. */");
    L.push("export const OBJECT_TYPE = {");
    const handles = [...reg.handles.values()].filter((h, i, a) => a.indexOf(h) === i);
    for (const h of handles.sort((a, b) => a.objectType - b.objectType)) {
      L.push(`${h.name}: ${h.objectType},`);
    }
    L.push("} as const;");
    for (const s of structs) L.push(em.structInterface(s));
    // U64 is used by interfaces; keep the import referenced
    L.push("export type _U64 = U64;");
    files["types.ts"] = L.join("\n");
  }

  // ---- structs.ts
  {
    const L: string[] = [head("// deno-lint-ignore-file")];
    L.push(`/** Encoders/decoders of every protocol struct (full, and partial for outputs). */`);
    L.push(`import { type VenusReader, zeros } from "../reader.ts";`);
    L.push(`import type { VenusWriter } from "../writer.ts";`);
    L.push(`import { fit, fit8, placeholders } from "../codec_util.ts";`);
    L.push("void zeros; void fit; void fit8; void placeholders;");
    for (const s of structs) {
      const v = em.podStructSize(s) ? em.flatValidator(s) : null;
      if (v) L.push(v);
      L.push(em.structDecoders(s, false));
      L.push(em.structEncoders(s, false));
      if (model.out.has(s.name)) {
        L.push(em.structDecoders(s, true));
        L.push(em.structEncoders(s, true));
      }
    }
    files["structs.ts"] = L.join("\n\n");
  }

  // ---- commands.ts
  {
    const L: string[] = [head("// deno-lint-ignore-file")];
    L.push(`/** Request decoders + dispatchers + reply encoders, one per command. */`);
    L.push(`import { type U64, type VenusReader, zeros } from "../reader.ts";`);
    L.push(`import type { VenusWriter } from "../writer.ts";`);
    L.push(`import type { Span, SpanKind } from "../span.ts";`);
    L.push(`import type { VenusHandlers } from "./handlers.ts";`);
    L.push(`import * as S from "./structs.ts";`);
    L.push("void zeros; export type _U64 = U64;");
    L.push(`
/** What a command's decoder needs from the stream it runs on. */
export interface CommandDispatch {
  readonly r: VenusReader;
  readonly h: VenusHandlers;
  /** the decoder's reusable span for one (command, parameter) slot */
  span<T>(slot: number, stride: number, kind: SpanKind, elem: ((r: VenusReader) => T) | null): Span<T>;
  /** true when a reply stream is set */
  hasReply(): boolean;
  /** a writer at the reply cursor, or null (the stream is then fatal) */
  replyBegin(): VenusWriter | null;
  /** commits what was written since replyBegin (fatal on overflow) */
  replyEnd(w: VenusWriter): void;
}
export type CommandFn = (d: CommandDispatch, flags: number) => void;`);
    for (const c of reg.commands) L.push(em.commandDispatch(c));
    L.push("/** Command functions by VkCommandTypeEXT. */");
    L.push("export const COMMAND_FNS: readonly (CommandFn | undefined)[] = [");
    const byId = new Map(reg.commands.map((c) => [c.id, c]));
    for (let i = 0; i <= Math.max(...byId.keys()); i++) {
      L.push(byId.has(i) ? `x_${byId.get(i)!.name},` : "undefined,");
    }
    L.push("];");
    files["commands.ts"] = prefixStructs(L.join("\n\n"));
  }

  // ---- structs used in the signatures
  const usedTypes = new Set<string>();
  for (const c of reg.commands) {
    for (const p of c.params) {
      const t = em.paramTs(c, p);
      for (const m of t.match(/\bVk\w+/g) ?? []) usedTypes.add(m);
    }
  }

  // ---- handlers.ts
  {
    const L: string[] = [head()];
    L.push(`/** The per-command handler interface the dispatcher calls. */`);
    L.push(
      `import type {\n${
        [...usedTypes, "Ref", "U64"].sort().join(",\n")
      }\n} from "./types.ts";\nimport type { Span } from "../span.ts";`,
    );
    L.push(`
/**
 * One optional method per command. Parameters arrive decoded in declaration
 * order: scalars as numbers (64-bit ones as {@link U64}), handles as object
 * ids (already checked against the object table), structs as plain objects.
 * Top-level input arrays of fixed-size elements (scalars, handles, flat
 * structs, byte blobs) arrive as {@link Span}s — reusable zero-copy views of
 * the wire bytes, no allocation per command; other arrays as JS arrays, and
 * scalar arrays inside structs as typed-array views. Spans and views alias
 * the stream and are valid only during the call. Output parameters arrive in their partial request
 * form and are filled in place: \`Ref\` holders, output structs (only sType,
 * pNext, counts and handles set), zero-filled output arrays. The return value
 * (VkResult etc.) and the outputs form the reply when one is requested.
 * A missing method makes the command fatal, as in vkr.
 */
export interface VenusHandlers {`);
    for (const c of reg.commands) L.push(em.handlerSignature(c));
    L.push("}");
    L.push(`
export interface CommandInfo {
  id: number;
  name: string;
  names: readonly string[];
  ret: string;
  params: readonly string[];
  /** vkr 1.1.0 registers a handler for it */
  dispatched: boolean;
}

/** Every command of the protocol, by VkCommandTypeEXT. */
export const COMMANDS: readonly CommandInfo[] = [`);
    for (const c of reg.commands) {
      L.push(
        `{ id: ${c.id}, name: ${JSON.stringify(c.name)}, names: ${JSON.stringify(c.names)}, ret: ${
          JSON.stringify(c.ret)
        }, params: ${JSON.stringify(c.params.map((p) => p.name))}, dispatched: ${!NOT_DISPATCHED
          .includes(c.id)} },`,
      );
    }
    L.push("];");
    files["handlers.ts"] = L.join("\n");
  }

  // ---- noop.ts
  {
    const L: string[] = [head()];
    L.push(`/**
 * A backend that accepts every command vkr 1.1.0 dispatches and does nothing:
 * create commands register the guest's ids in the object table, destroy/free
 * commands remove them, commands with a result return VK_SUCCESS (0), output
 * structs and arrays are replied with zeros. Commands vkr never dispatches
 * have no method (fatal, as in vkr). For replay and benchmarks.
 */`);
    L.push(`import type { ObjectTable } from "../object_table.ts";`);
    L.push(`import type { VenusHandlers } from "./handlers.ts";`);
    const methods: string[] = [];
    for (const c of reg.commands) {
      if (NOT_DISPATCHED.includes(c.id)) continue;
      methods.push(noopMethod(c, model, em));
    }
    const noopTypes = new Set<string>();
    for (const m of methods) {
      for (const t of m.split("{")[0].match(/\b(Vk\w+|Ref|U64)\b/g) ?? []) noopTypes.add(t);
    }
    L.push(`import type {\n${[...noopTypes].sort().join(",\n")}\n} from "./types.ts";`);
    L.push(`import type { Span } from "../span.ts";`);
    L.push(`
export class NoopHandlers implements VenusHandlers {
  constructor(protected readonly objects: ObjectTable, protected readonly fail: (msg: string) => void) {}

  protected created(type: number, id: number): void {
    const err = this.objects.create(type, id);
    if (err) this.fail(err);
  }
  protected enumerated(type: number, id: number): void {
    if (this.objects.get(id)?.type === type) return;
    this.created(type, id);
  }
  protected destroyed(type: number, id: number): void {
    if (id === 0) return;
    const err = this.objects.destroy(type, id);
    if (err) this.fail(err);
  }
`);
    L.push(...methods);
    L.push("}");
    files["noop.ts"] = L.join("\n");
  }

  // ---- native.ts + vulkan.ts (the Vulkan backend's marshalling and passthrough calls)
  {
    const ne = new NativeEmitter(model, em);
    const outs = [...model.out].sort().map((n) => reg.structs.get(n)!)
      .filter((s, i, a) => a.indexOf(s) === i);
    const L: string[] = [head()];
    L.push(`/**
 * C layouts (LP64) and marshallers of the protocol structs: nw_* write a
 * decoded struct into an Arena, nwo_* prepare an output struct (sType, pNext
 * chain, the members the request carried), nr_* read the driver's answer
 * back into the reply object, nwu_/nru_ the same for unions.
 */`);
    L.push(`import type { Arena } from "../vulkan/arena.ts";`);
    for (const s of structs) L.push(ne.structWriter(s));
    for (const s of outs) {
      if (!s.union) L.push(ne.structOutWriter(s));
      L.push(ne.structReader(s));
    }
    L.push(ne.chainFns(structs, outs));
    L.push(`/** sizeof/alignof of every protocol struct (tests compare them with the C compiler). */
export const LAYOUTS: Record<string, [number, number]> = {
${structs.map((s) => `${s.name}: [${ne.layout(s).size}, ${ne.layout(s).align}],`).join("\n")}
};`);
    files["native.ts"] = L.join("\n\n");
    files["layouts.ts"] = [
      head(),
      `/** Member offsets of every protocol struct as Vesper lays them out (LP64); tests compare them with the C compiler's. */`,
      `export const MEMBER_OFFSETS: Record<string, [number, number, [string, number][]]> = {\n${
        structs.map((s) => {
          const l = ne.layout(s);
          return `${s.name}: [${l.size}, ${l.align}, [${
            s.members.map((m, i) => `["${m.name}", ${l.offs[i]}]`).join(", ")
          }]],`;
        }).join("\n")
      }\n};`,
    ].join("\n\n");

    const V: string[] = [head()];
    V.push(`/**
 * The Vulkan passthrough: for every command vkr dispatches on a dispatchable
 * handle, marshal the decoded arguments into the stream's Arena, call the
 * host driver's entry point, read outputs back into the reply objects, and
 * bind/unbind created/destroyed object ids. src/venus/vulkan/ overrides the
 * commands that need more (instance, physical devices, memory, waits …).
 */`);
    V.push(`import { ARENA_FULL, type Arena, B } from "../vulkan/arena.ts";
import { NoopHandlers } from "./noop.ts";
import * as N from "./native.ts";
import type {
${
      [
        ...new Set(
          reg.commands.flatMap((c) =>
            c.params.map((p) => em.paramTs(c, p).match(/\b(Vk\w+|Ref|U64)\b/g) ?? []).flat()
          ),
        ),
      ].sort().join(",\n")
    }
} from "./types.ts";
import type { Span } from "../span.ts";

/** A native entry point, called with marshalled arguments. */
// deno-lint-ignore no-explicit-any
export type NativeFn = (...args: any[]) => any;

/** Entry points of one instance or device, resolved on first use. */
export interface FnTable {
  readonly fns: (NativeFn | null | undefined)[];
  resolve(id: number): NativeFn | null;
}

/** The host side of a dispatchable object. */
export interface Dispatchable {
  readonly h: number | bigint;
  /** h as a BigInt (the form Deno's fast FFI calls take) */
  readonly hb: bigint;
  readonly t: FnTable;
}`);
    const cmds = reg.commands.filter((c) =>
      !NOT_DISPATCHED.includes(c.id) && !c.name.endsWith("MESA") &&
      DISPATCHABLE.has(c.params[0]?.type)
    );
    V.push(`/** FFI signature of each command, by command type. */
export const FFI: Record<number, { names: string[]; device: boolean; parameters: string[]; result: string }> = {
${
      cmds.map((c) =>
        `${c.id}: { names: ${JSON.stringify(c.names)}, device: ${
          ["VkDevice", "VkQueue", "VkCommandBuffer"].includes(c.params[0].type)
        }, parameters: [${c.params.map((p) => ne.ffiType(p)).join(", ")}], result: ${
          ne.ffiRet(c)
        } },`
      ).join("\n")
    }
};`);
    V.push(`export abstract class VulkanCommands extends NoopHandlers {
  /** false: no host Vulkan — every command falls back to the no-op handlers (protocol tests) */
  abstract readonly native: boolean;
  /** marshalling memory of this stream */
  abstract readonly arena: Arena;
  /** the host side of a dispatchable object id (validated by the decoder) */
  abstract disp(id: number): Dispatchable;
  /** host handle of a non-dispatchable object id (0 → 0) */
  abstract hh(id: number): number | bigint;
  /** the same as a BigInt, for FFI arguments */
  abstract hb(id: number): bigint;
  /** binds a created object id to its host handle */
  abstract bind(type: number, id: number, host: number | bigint, parent: number, d: Dispatchable): void;
  /** the host lacks the entry point of command type \`id\` */
  abstract missing(id: number): number;
  /** forgets every object whose parent is \`id\` (recursively) */
  abstract dropChildren(id: number): void;
`);
    for (const c of cmds) {
      V.push(ne.commandMethod(c).replace(/(?<![.\w])(nw|nwo|nr|nru|nwu)_(Vk\w+)/g, "N.$1_$2"));
    }
    V.push("}");
    files["vulkan.ts"] = V.join("\n\n");
  }

  // ---- tools.ts
  {
    const L: string[] = [head("// deno-lint-ignore-file")];
    L.push(`/** The guest's direction: request encoders and reply decoders (tests, tools). */`);
    L.push(`import type { VenusReader } from "../reader.ts";`);
    L.push(`import type { VenusWriter } from "../writer.ts";`);
    L.push(`import * as S from "./structs.ts";`);
    L.push(`import { Span } from "../span.ts";`);
    L.push(`import { fit, fit8 } from "../codec_util.ts";\nvoid fit; void fit8; void Span;`);
    for (const c of reg.commands) L.push(em.commandTools(c));
    L.push("/** Request encoders by primary command name. */");
    L.push(
      `export const REQUEST_ENCODERS: Record<string, (w: VenusWriter, a: any, flags?: number) => void> = {\n${
        reg.commands.map((c) => `${c.name}: req_${c.name},`).join("\n")
      }\n};`,
    );
    L.push("/** Reply decoders by primary command name. */");
    L.push(
      `export const REPLY_DECODERS: Record<string, (r: VenusReader) => any> = {\n${
        reg.commands.map((c) => `${c.name}: rep_${c.name},`).join("\n")
      }\n};`,
    );
    files["tools.ts"] = prefixStructs(L.join("\n\n"));
  }

  // ---- samples.ts (test data)
  {
    const se = new SampleEmitter(em);
    const L: string[] = [head()];
    L.push(`/**
 * Random sample values of every struct and command's arguments, in the shape
 * the decoders produce, with consistent counts. For round-trip tests and
 * fuzzing; not used at run time.
 */`);
    L.push(`import type { U64 } from "../reader.ts";`);
    L.push(`
/** The randomness the samplers draw from (tests/venus provide a seeded one). */
export interface SampleGen {
  depth: number;
  int(n: number): number;
  bool(): boolean;
  /** optional things: present with some probability, less so when deep */
  maybe(): boolean;
  /** a small array length / count */
  len(): number;
  u8(): number;
  u16(): number;
  i8(): number;
  i16(): number;
  u32(): number;
  i32(): number;
  f32(): number;
  f64(): number;
  u64(): U64;
  i64(): U64;
  arr(kind: string, n: number): ArrayLike<unknown>;
  bytes(n: number): Uint8Array;
  str(): string;
  strs(n: number): string[];
  /** an existing object of this type (registered if needed) */
  handle(objectType: number): number;
  handles(objectType: number, n: number): number[];
  /** a fresh id for an output handle */
  newHandle(): number;
  newHandles(n: number): number[];
  list<T>(n: number, f: (g: SampleGen) => T): T[];
  /** a random subset (in random order) of pNext sTypes */
  pick(sTypes: number[]): number[];
}`);
    for (const s of structs) L.push(se.struct(s));
    for (const c of reg.commands) L.push(se.command(c));
    L.push(`/** Struct samplers by name. */
export const STRUCT_SAMPLERS: Record<string, (g: SampleGen) => any> = {
${structs.map((s) => `${s.name}: s_${s.name},`).join("\n")}
};
/** Argument samplers by primary command name (request form). */
export const COMMAND_SAMPLERS: Record<string, (g: SampleGen) => any> = {
${reg.commands.map((c) => `${c.name}: c_${c.name},`).join("\n")}
};`);
    files["samples.ts"] = L.join("\n\n");
  }

  await Deno.mkdir(outDir, { recursive: true });
  const written: string[] = [];
  for (const [name, text] of Object.entries(files)) {
    const p = `${outDir}/${name}`;
    await Deno.writeTextFile(p, text + "\n");
    written.push(p);
  }
  const fmt = await new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--no-config", "--line-width", "100", "--quiet", ...written],
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!fmt.success) throw new Error("deno fmt failed on the generated code");
  void isExtensible;
  void DISPATCHABLE;
  return written;
}

function prefixStructs(code: string): string {
  return code.replace(/(?<![.\w])((?:d|p|e|pe)_Vk\w+)\b/g, "S.$1");
}

function noopMethod(c: CommandDef, model: Model, em: Emitter): string {
  const body: string[] = [];
  const used = new Set<number>();
  c.params.forEach((p, i) => {
    if (!isOutput(p)) return;
    const k = model.kind(p);
    if (!("e" in k) || k.e.k !== "handle") return;
    const ot = k.e.ot;
    const fn = c.name === "vkEnumeratePhysicalDevices" ? "enumerated" : "created";
    used.add(i);
    if (k.k === "pointer") body.push(`if (${p.name} !== null) this.${fn}(${ot}, ${p.name});`);
    else body.push(`if (${p.name}) for (const id of ${p.name}) this.${fn}(${ot}, id);`);
  });
  if (/^vk(Destroy|Free)/.test(c.name)) {
    for (let i = c.params.length - 1; i >= 0; i--) {
      const p = c.params[i];
      if (isOutput(p)) continue;
      const k = model.kind(p);
      if (!("e" in k) || k.e.k !== "handle") continue;
      used.add(i);
      if (k.k === "value") body.push(`this.destroyed(${k.e.ot}, ${p.name});`);
      else {
        body.push(
          `if (${p.name}) for (let i = 0; i < ${p.name}.count; i++) this.destroyed(${k.e.ot}, ${p.name}.at(i));`,
        );
      }
      break;
    }
  }
  const params = c.params.map((p, i) =>
    `${used.has(i) ? p.name : `_${p.name}`}: ${em.paramTs(c, p)}`
  );
  const ret = em.retTs(c);
  if (ret !== "void") body.push("return 0;");
  return `${c.name}(${params.join(", ")}): ${ret} {\n${body.join("\n")}\n}`;
}

if (import.meta.main) {
  const protocolDir = Deno.env.get("VESPER_PROTOCOL_DIR") ?? `${repo}/../shared/venus-protocol`;
  const outDir = Deno.args[0] ?? `${repo}/src/venus/generated`;
  const files = await generate(outDir, protocolDir);
  console.log(`wrote ${files.length} files to ${outDir}`);
}
