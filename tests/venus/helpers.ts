/** Shared helpers of the Venus tests: hex vectors and a no-op context with a reply buffer. */
import { Logger } from "../../src/log.ts";
import { VenusDecoder } from "../../src/venus/decoder.ts";
import { NoopHandlers } from "../../src/venus/generated/noop.ts";
import { ObjectTable } from "../../src/venus/object_table.ts";
import { VenusReader } from "../../src/venus/reader.ts";
import { VenusWriter } from "../../src/venus/writer.ts";
import { REPLY_DECODERS, REQUEST_ENCODERS } from "../../src/venus/generated/tools.ts";
import { OBJECT_TYPE } from "../../src/venus/generated/types.ts";

/** "01 00 | 02 …" → bytes; `xx` (undefined padding) becomes 00. */
export function hex(s: string): Uint8Array {
  const t = s.replace(/xx/g, "00").replace(/[^0-9a-fA-F]/g, "");
  const out = new Uint8Array(t.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(t.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export function toHex(b: Uint8Array): string {
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join(" ");
}

/** u64 little-endian as hex bytes */
export function u64hex(v: number | bigint): string {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(v), true);
  return toHex(b);
}

export interface TestContext {
  objects: ObjectTable;
  decoder: VenusDecoder;
  lines: string[];
  replyBuf: Uint8Array;
  /** selects reply resource 1 (the whole reply buffer) at offset 0 */
  setReply(offset?: number): void;
  /** the reply bytes written since setReply */
  replyBytes(): Uint8Array;
}

export function testLogger(lines: string[]): Logger {
  return new Logger("test", "debug", (l) => lines.push(l));
}

export function makeContext<H extends NoopHandlers>(
  make?: (objects: ObjectTable, fail: (m: string) => void) => H,
): TestContext & { handlers: H } {
  const objects = new ObjectTable();
  const lines: string[] = [];
  let dec: VenusDecoder | null = null;
  const fail = (m: string) => dec!.fail(m);
  const handlers = make ? make(objects, fail) : (new NoopHandlers(objects, fail) as H);
  dec = new VenusDecoder({ objects, handlers, log: testLogger(lines), name: "test" });
  const replyBuf = new Uint8Array(4096);
  let replyStart = 0;
  const ctx = {
    objects,
    decoder: dec,
    lines,
    replyBuf,
    handlers,
    setReply(offset = 0) {
      replyStart = offset;
      const err = dec!.reply.set(
        { resourceId: 1, offset, size: replyBuf.length - offset },
        (id) => id === 1 ? replyBuf : null,
      );
      if (err) throw new Error(err);
    },
    replyBytes() {
      return replyBuf.slice(replyStart, dec!.reply.cursor);
    },
  };
  return ctx;
}

/** Registers `id` as an object of handle type `type` (e.g. "VkCommandBuffer"). */
export function addObject(objects: ObjectTable, type: keyof typeof OBJECT_TYPE, id: number): void {
  const err = objects.create(OBJECT_TYPE[type], id);
  if (err) throw new Error(err);
}

/** Encodes one request with the generated request encoder. */
export function encode(name: string, args: Record<string, unknown>, flags = 0): Uint8Array {
  const w = new VenusWriter();
  REQUEST_ENCODERS[name](w, args, flags);
  return w.bytesWritten.slice();
}

/** Decodes one reply with the generated reply decoder. */
export function decodeReply(name: string, bytes: Uint8Array): Record<string, unknown> {
  const r = new VenusReader(null);
  r.reset(bytes);
  const out = REPLY_DECODERS[name](r);
  if (r.bad) throw new Error(`reply decode failed: ${r.error}`);
  if (r.pos !== bytes.length) throw new Error(`reply has ${bytes.length - r.pos} trailing bytes`);
  return out;
}
