/**
 * Reads the three Venus protocol XMLs (vk.xml, VK_EXT_command_serialization.xml,
 * VK_MESA_venus_protocol.xml) into a small model: the commands of the
 * protocol spoken by virglrenderer 1.1.0 / Mesa 25.0.7, the structs, unions,
 * handles and scalar typedefs they reach, and the pNext extension sets.
 *
 * The deltas documented in venus-protocol/README.md are applied here:
 * command types are limited to 0–282 (195 unused); VK_MESA_venus_protocol is
 * raised to spec version 2 with VkRingPriorityInfoMESA (sType offset 7).
 */
// A registry dependency would need an import-map entry in deno.json, which this layer does not own.
// deno-lint-ignore no-import-prefix
import { XMLParser } from "npm:fast-xml-parser@4.5.7";

/** One struct member or command parameter, as declared in the XML. */
export interface Decl {
  name: string;
  /** the base type name (`uint32_t`, `VkBuffer`, `VkSubmitInfo`, …) */
  type: string;
  /** `const` before the type: the (first) pointee is input */
  isConst: boolean;
  /** number of `*` */
  ptr: number;
  /** static array dimensions (`[3]`, `[VK_UUID_SIZE]`), resolved */
  dims: number[];
  /** `len` split on commas (after `altlen` substitution for latexmath) */
  len: string[];
  optional: boolean[];
  noautovalidity: boolean;
  /** `values` of an sType member */
  values?: string;
  bitfield: boolean;
}

export interface StructDef {
  name: string;
  union: boolean;
  members: Decl[];
  structextends: string[];
  /** numeric sType when the struct is extensible */
  sType?: number;
  sTypeName?: string;
}

export interface CommandDef {
  name: string;
  /** value of VkCommandTypeEXT */
  id: number;
  /** names under which the id is listed (primary first) */
  names: string[];
  ret: string;
  params: Decl[];
}

export interface HandleDef {
  name: string;
  objectType: number;
  objectTypeName: string;
}

export interface Registry {
  commands: CommandDef[];
  structs: Map<string, StructDef>;
  handles: Map<string, HandleDef>;
  /** typedef name → underlying scalar (basetypes, bitmasks, enums → "int32_t") */
  scalars: Map<string, string>;
  enumTypes: Set<string>;
  constants: Map<string, number>;
  /** struct names that belong to the protocol (core ≤ 1.3 + protocol extensions) */
  protocolStructs: Set<string>;
  /** extension numbers of the protocol (from the 1.1.0 capset mask) */
  extensionNumbers: number[];
  extensionNames: string[];
  /** spec version of each protocol extension (its *_SPEC_VERSION enum) */
  extensionSpecs: Map<string, number>;
  vkHeaderVersion: number;
  specVersions: { commandSerialization: number; venusProtocol: number };
}

/** 1.1.0 capset `vk_extension_mask1` words 0–15 (venus-runtime.md §2). */
export const EXTENSION_MASK_1_1_0 = [
  0x20008001,
  0x30402000,
  0x005f6bcb,
  0xc25660c0,
  0xe01a2819,
  0x8265060c,
  0x41310162,
  0xd0c4600c,
  0x86201454,
  0x08000549,
  0x00350842,
  0xc4000233,
  0x50020703,
  0x00000080,
  0x00810140,
  0x00108000,
];

/** Highest command type of the 1.1.0 protocol and the one removed value. */
export const MAX_COMMAND_TYPE = 282;
export const REMOVED_COMMAND_TYPES = [195];

type Node = Record<string, unknown>;

function tagOf(n: Node): string | undefined {
  for (const k of Object.keys(n)) if (k !== ":@") return k;
  return undefined;
}
function kids(n: Node): Node[] {
  const t = tagOf(n);
  return t ? (n[t] as Node[]) ?? [] : [];
}
function attrs(n: Node): Record<string, string> {
  const a = n[":@"] as Record<string, string> | undefined;
  if (!a) return {};
  const out: Record<string, string> = {};
  for (const k of Object.keys(a)) out[k] = unescape(a[k]);
  return out;
}
function unescape(s: string): string {
  return s.replace(/&(lt|gt|quot|apos|amp);/g, (_, e: string) => ENTITIES[e]);
}
const ENTITIES: Record<string, string> = { lt: "<", gt: ">", quot: '"', apos: "'", amp: "&" };

function text(n: Node): string {
  const t = tagOf(n);
  if (t === "#text") return unescape(String(n["#text"]));
  if (t === "comment") return "";
  return kids(n).map(text).join("");
}
function children(n: Node, tag: string): Node[] {
  return kids(n).filter((c) => tagOf(c) === tag);
}

function parse(xml: string): Node[] {
  const p = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: "",
    preserveOrder: true,
    trimValues: false,
    parseTagValue: false,
    parseAttributeValue: false,
    commentPropName: "#xmlcomment",
    processEntities: false,
  });
  return p.parse(xml) as Node[];
}

function root(doc: Node[]): Node {
  const r = doc.find((n) => tagOf(n) === "registry");
  if (!r) throw new Error("no <registry>");
  return r;
}

function apiOk(a: Record<string, string>): boolean {
  return !a.api || a.api.split(",").includes("vulkan");
}

function parseDecl(n: Node, constants: Map<string, number>): Decl {
  const a = attrs(n);
  let before = "";
  let between = "";
  let after = "";
  let type = "";
  let name = "";
  let stage = 0;
  for (const c of kids(n)) {
    const t = tagOf(c);
    if (t === "comment" || t === "#xmlcomment") continue;
    if (t === "type") {
      type = text(c).trim();
      stage = 1;
    } else if (t === "name") {
      name = text(c).trim();
      stage = 2;
    } else {
      const s = text(c);
      if (stage === 0) before += s;
      else if (stage === 1) between += s;
      else after += s;
    }
  }
  const dims: number[] = [];
  for (const m of after.matchAll(/\[([^\]]+)\]/g)) {
    const d = m[1].trim();
    const v = /^\d+$/.test(d) ? Number(d) : constants.get(d);
    if (v === undefined) throw new Error(`unknown array size ${d} in ${name}`);
    dims.push(v);
  }
  let len = a.len ? a.len.split(",") : [];
  if (len.length && len[0].startsWith("latexmath")) {
    if (!a.altlen) throw new Error(`latexmath len without altlen in ${name}`);
    len = [a.altlen, ...len.slice(1)];
  }
  return {
    name,
    type,
    isConst: /\bconst\b/.test(before),
    ptr: (between.match(/\*/g) ?? []).length,
    dims,
    len,
    optional: a.optional ? a.optional.split(",").map((s) => s === "true") : [],
    noautovalidity: a.noautovalidity === "true",
    values: a.values,
    bitfield: after.includes(":"),
  };
}

/** Evaluates a `depends` expression (`,` = or, `+` = and, parentheses). */
function dependsOk(expr: string | undefined, have: (name: string) => boolean): boolean {
  if (!expr) return true;
  let i = 0;
  const atom = (): boolean => {
    if (expr[i] === "(") {
      i++;
      const v = or();
      i++; // ')'
      return v;
    }
    const m = /^[A-Za-z0-9_:]+/.exec(expr.slice(i));
    if (!m) throw new Error(`bad depends ${expr}`);
    i += m[0].length;
    return have(m[0].split("::")[0]);
  };
  const and = (): boolean => {
    let v = atom();
    while (expr[i] === "+") {
      i++;
      v = atom() && v;
    }
    return v;
  };
  const or = (): boolean => {
    let v = and();
    while (expr[i] === ",") {
      i++;
      v = and() || v;
    }
    return v;
  };
  return or();
}

export async function loadRegistry(dir: string): Promise<Registry> {
  const vk = root(parse(await Deno.readTextFile(`${dir}/vk.xml`)));
  const ser = root(parse(await Deno.readTextFile(`${dir}/VK_EXT_command_serialization.xml`)));
  const mesa = root(parse(await Deno.readTextFile(`${dir}/VK_MESA_venus_protocol.xml`)));

  const constants = new Map<string, number>();
  const enumValues = new Map<string, number>();
  const enumAliases = new Map<string, string>();
  const scalars = new Map<string, string>([
    ["uint8_t", "uint8_t"],
    ["uint16_t", "uint16_t"],
    ["uint32_t", "uint32_t"],
    ["uint64_t", "uint64_t"],
    ["int8_t", "int8_t"],
    ["int16_t", "int16_t"],
    ["int32_t", "int32_t"],
    ["int64_t", "int64_t"],
    ["int", "int32_t"],
    ["float", "float"],
    ["double", "double"],
    ["size_t", "size_t"],
    ["char", "char"],
  ]);
  const enumTypes = new Set<string>();
  const structs = new Map<string, StructDef>();
  const typeAliases = new Map<string, string>();
  const handleObjType = new Map<string, string>();
  const commandsXml = new Map<string, Node>();
  const commandAliases = new Map<string, string>();
  let vkHeaderVersion = 0;

  const registries = [vk, mesa, ser];

  // API constants and enum blocks
  for (const reg of registries) {
    for (const en of children(reg, "enums")) {
      const ea = attrs(en);
      for (const e of children(en, "enum")) {
        const a = attrs(e);
        if (!apiOk(a)) continue;
        if (a.alias) {
          enumAliases.set(a.name, a.alias);
          continue;
        }
        let v: number | undefined;
        if (a.value !== undefined) {
          const s = a.value.replace(/[()]/g, "").replace(/U?L*L?$/i, "");
          if (/^-?\d+$/.test(s)) v = Number(s);
          else if (/^0x[0-9a-f]+$/i.test(s)) v = Number(s);
          else if (/^[\d.]+F$/i.test(s)) v = parseFloat(s);
        } else if (a.bitpos !== undefined) v = 2 ** Number(a.bitpos);
        if (v === undefined) continue;
        if (ea.name === "API Constants") constants.set(a.name, v);
        enumValues.set(a.name, v);
      }
    }
  }
  const extendEnum = (a: Record<string, string>, extNumber?: number) => {
    if (!a.extends) return;
    if (a.alias) {
      enumAliases.set(a.name, a.alias);
      return;
    }
    let v: number | undefined;
    if (a.offset !== undefined) {
      const ext = a.extnumber ? Number(a.extnumber) : extNumber;
      if (ext === undefined) throw new Error(`enum ${a.name} without extnumber`);
      v = 1000000000 + (ext - 1) * 1000 + Number(a.offset);
      if (a.dir === "-") v = -v;
    } else if (a.value !== undefined) v = Number(a.value);
    else if (a.bitpos !== undefined) v = 2 ** Number(a.bitpos);
    if (v !== undefined && !enumValues.has(a.name)) enumValues.set(a.name, v);
  };

  // types
  for (const reg of registries) {
    for (const ts of children(reg, "types")) {
      for (const t of children(ts, "type")) {
        const a = attrs(t);
        if (!apiOk(a)) continue;
        const cat = a.category;
        const nameNode = children(t, "name")[0];
        const name = a.name ?? (nameNode ? text(nameNode).trim() : "");
        if (a.alias) {
          typeAliases.set(name, a.alias);
          continue;
        }
        if (name === "VK_HEADER_VERSION") {
          vkHeaderVersion = Number(/(\d+)\s*$/.exec(text(t).trim())?.[1] ?? 0);
        }
        if (cat === "basetype" || cat === "bitmask") {
          const under = children(t, "type")[0];
          if (under) scalars.set(name, text(under).trim());
        } else if (cat === "enum") {
          enumTypes.add(name);
          scalars.set(name, "int32_t");
        } else if (cat === "handle") {
          if (a.objtypeenum) handleObjType.set(name, a.objtypeenum);
        } else if (cat === "struct" || cat === "union") {
          const members = children(t, "member")
            .filter((m) => apiOk(attrs(m)))
            .map((m) => parseDecl(m, constants));
          structs.set(name, {
            name,
            union: cat === "union",
            members,
            structextends: a.structextends ? a.structextends.split(",") : [],
          });
        }
      }
    }
  }

  // commands
  for (const reg of registries) {
    for (const cs of children(reg, "commands")) {
      for (const c of children(cs, "command")) {
        const a = attrs(c);
        if (!apiOk(a)) continue;
        if (a.alias) {
          commandAliases.set(a.name, a.alias);
          continue;
        }
        const proto = children(c, "proto")[0];
        const name = text(children(proto, "name")[0]).trim();
        commandsXml.set(name, c);
      }
    }
  }

  // protocol extensions from the capset mask
  const extensionNumbers: number[] = [];
  EXTENSION_MASK_1_1_0.forEach((w, i) => {
    for (let b = 0; b < 32; b++) {
      if (((w >>> b) & 1) && i * 32 + b !== 0) extensionNumbers.push(i * 32 + b);
    }
  });
  const extNums = new Set(extensionNumbers);
  const extByName = new Map<string, Node>();
  const haveFeature = new Set<string>();
  const protocolStructs = new Set<string>();
  const extensionNames: string[] = [];
  const extensionSpecs = new Map<string, number>();

  const features = children(vk, "feature").filter((f) => apiOk(attrs(f)));
  for (const f of features) {
    const n = attrs(f).name;
    if (["VK_VERSION_1_0", "VK_VERSION_1_1", "VK_VERSION_1_2", "VK_VERSION_1_3"].includes(n)) {
      haveFeature.add(n);
    }
  }
  const protocolExts: Node[] = [];
  for (const reg of registries) {
    for (const es of children(reg, "extensions")) {
      for (const e of children(es, "extension")) {
        const a = attrs(e);
        const num = Number(a.number);
        if (!extNums.has(num)) continue;
        const fromPrivate = reg !== vk;
        if ((num === 384 || num === 385) !== fromPrivate) continue;
        extByName.set(a.name, e);
        protocolExts.push(e);
        haveFeature.add(a.name);
        extensionNames.push(a.name);
        for (const r of children(e, "require")) {
          for (const en of children(r, "enum")) {
            const ea = attrs(en);
            if (ea.name?.endsWith("_SPEC_VERSION") && ea.value) {
              extensionSpecs.set(a.name, Number(ea.value));
            }
          }
        }
      }
    }
  }
  const requireBlocks: { node: Node; ext?: number }[] = [];
  for (const f of features) {
    if (!haveFeature.has(attrs(f).name)) continue;
    for (const r of children(f, "require")) requireBlocks.push({ node: r });
  }
  for (const e of protocolExts) {
    for (const r of children(e, "require")) {
      requireBlocks.push({ node: r, ext: Number(attrs(e).number) });
    }
  }
  // enum extensions apply regardless of depends (values are fixed); types only if depends ok
  for (const f of children(vk, "feature")) {
    for (const r of children(f, "require")) {
      for (const en of children(r, "enum")) extendEnum(attrs(en));
    }
  }
  for (const reg of registries) {
    for (const es of children(reg, "extensions")) {
      for (const e of children(es, "extension")) {
        const num = Number(attrs(e).number);
        if ((num === 384 || num === 385) && reg === vk) continue;
        for (const r of children(e, "require")) {
          for (const en of children(r, "enum")) extendEnum(attrs(en), num);
        }
      }
    }
  }
  for (const { node } of requireBlocks) {
    if (!dependsOk(attrs(node).depends, (n) => haveFeature.has(n))) continue;
    for (const t of children(node, "type")) {
      const n = attrs(t).name;
      const canon = typeAliases.get(n) ?? n;
      if (structs.has(canon)) protocolStructs.add(canon);
    }
  }

  // README delta: VK_MESA_venus_protocol spec version 2 + VkRingPriorityInfoMESA
  const ringPriority = "VkRingPriorityInfoMESA";
  if (!structs.has(ringPriority)) {
    structs.set(ringPriority, {
      name: ringPriority,
      union: false,
      structextends: ["VkRingCreateInfoMESA"],
      members: [
        {
          name: "sType",
          type: "VkStructureType",
          isConst: false,
          ptr: 0,
          dims: [],
          len: [],
          optional: [],
          noautovalidity: false,
          values: "VK_STRUCTURE_TYPE_RING_PRIORITY_INFO_MESA",
          bitfield: false,
        },
        {
          name: "pNext",
          type: "void",
          isConst: true,
          ptr: 1,
          dims: [],
          len: [],
          optional: [true],
          noautovalidity: false,
          bitfield: false,
        },
        {
          name: "priority",
          type: "int32_t",
          isConst: false,
          ptr: 0,
          dims: [],
          len: [],
          optional: [],
          noautovalidity: false,
          bitfield: false,
        },
      ],
    });
  }
  if (!enumValues.has("VK_STRUCTURE_TYPE_RING_PRIORITY_INFO_MESA")) {
    enumValues.set("VK_STRUCTURE_TYPE_RING_PRIORITY_INFO_MESA", 1000000000 + 384 * 1000 + 7);
  }
  protocolStructs.add(ringPriority);

  const resolveEnum = (name: string): number => {
    let n = name;
    for (let i = 0; i < 8 && !enumValues.has(n) && enumAliases.has(n); i++) n = enumAliases.get(n)!;
    const v = enumValues.get(n);
    if (v === undefined) throw new Error(`unknown enum ${name}`);
    return v;
  };

  for (const s of structs.values()) {
    const st = s.members.find((m) => m.name === "sType" && m.values);
    if (st) {
      s.sTypeName = st.values!;
      s.sType = resolveEnum(st.values!);
    }
    s.structextends = s.structextends.map((x) => typeAliases.get(x) ?? x);
  }

  // handles
  const handles = new Map<string, HandleDef>();
  for (const [name, ot] of handleObjType) {
    handles.set(name, { name, objectType: resolveEnum(ot), objectTypeName: ot });
  }
  for (const [alias, target] of typeAliases) {
    if (handles.has(target)) handles.set(alias, handles.get(target)!);
    if (scalars.has(target)) scalars.set(alias, scalars.get(target)!);
    if (structs.has(target) && !structs.has(alias)) structs.set(alias, structs.get(target)!);
    if (enumTypes.has(target)) enumTypes.add(alias);
  }

  // command types
  const typeEnum = children(ser, "enums").find((e) => attrs(e).name === "VkCommandTypeEXT")!;
  const byId = new Map<number, string[]>();
  const aliasOf = new Map<string, string>();
  for (const e of children(typeEnum, "enum")) {
    const a = attrs(e);
    const cmd = a.name.replace(/^VK_COMMAND_TYPE_/, "").replace(/_EXT$/, "");
    if (a.alias) {
      aliasOf.set(cmd, a.alias.replace(/^VK_COMMAND_TYPE_/, "").replace(/_EXT$/, ""));
      continue;
    }
    const id = Number(a.value);
    if (id > MAX_COMMAND_TYPE || REMOVED_COMMAND_TYPES.includes(id)) continue;
    if (!byId.has(id)) byId.set(id, []);
    byId.get(id)!.push(cmd);
  }
  for (const [alias, target] of aliasOf) {
    for (const names of byId.values()) if (names.includes(target)) names.push(alias);
  }
  const commands: CommandDef[] = [];
  for (const [id, names] of [...byId].sort((a, b) => a[0] - b[0])) {
    let node: Node | undefined;
    let found = "";
    for (const n of names) {
      const canon = commandsXml.has(n) ? n : commandAliases.get(n);
      if (canon && commandsXml.has(canon)) {
        node = commandsXml.get(canon);
        found = n;
        break;
      }
    }
    if (!node) throw new Error(`command type ${id} (${names.join(", ")}) not in the XMLs`);
    const proto = children(node, "proto")[0];
    const canonName = text(children(proto, "name")[0]).trim();
    const ret = text(children(proto, "type")[0]).trim();
    const params = children(node, "param")
      .filter((p) => apiOk(attrs(p)))
      .map((p) => parseDecl(p, constants));
    // primary name: the first listed name that vk.xml knows, preferring the canonical
    const primary = names.includes(canonName) ? canonName : found;
    commands.push({
      name: primary,
      id,
      names: [primary, ...names.filter((n) => n !== primary)],
      ret,
      params,
    });
  }

  const verOf = (reg: Node, ename: string): number => {
    for (const es of children(reg, "extensions")) {
      for (const e of children(es, "extension")) {
        for (const r of children(e, "require")) {
          for (const en of children(r, "enum")) {
            if (attrs(en).name === ename) return Number(attrs(en).value);
          }
        }
      }
    }
    return 0;
  };

  return {
    commands,
    structs,
    handles,
    scalars,
    enumTypes,
    constants,
    protocolStructs,
    extensionNumbers,
    extensionNames,
    extensionSpecs,
    vkHeaderVersion,
    specVersions: {
      commandSerialization: verOf(ser, "VK_EXT_COMMAND_SERIALIZATION_SPEC_VERSION"),
      venusProtocol: Math.max(2, verOf(mesa, "VK_MESA_VENUS_PROTOCOL_SPEC_VERSION")),
    },
  };
}
