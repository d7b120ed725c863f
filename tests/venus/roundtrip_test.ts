/**
 * Encoder → decoder round trips of every struct (full and partial form) and
 * every command (request, then the reply the dispatcher encodes), on seeded
 * generated samples: decoding must consume exactly the encoded bytes, and
 * re-encoding the decoded value must reproduce them byte for byte.
 */
import { assert, assertEquals } from "../support/assert.ts";
import { Logger } from "../../src/log.ts";
import { VenusDecoder } from "../../src/venus/decoder.ts";
import * as S from "../../src/venus/generated/structs.ts";
import { COMMANDS, type VenusHandlers } from "../../src/venus/generated/handlers.ts";
import { COMMAND_SAMPLERS, STRUCT_SAMPLERS } from "../../src/venus/generated/samples.ts";
import { REPLY_DECODERS, REQUEST_ENCODERS } from "../../src/venus/generated/tools.ts";
import { ObjectTable } from "../../src/venus/object_table.ts";
import { VenusReader } from "../../src/venus/reader.ts";
import { VenusWriter } from "../../src/venus/writer.ts";
import { SeededGen } from "./sample_gen.ts";
import { toHex } from "./helpers.ts";

const ROUNDS = Number(Deno.env.get("VESPER_ROUNDTRIP_ROUNDS") ?? 4);
// deno-lint-ignore no-explicit-any
const codecs = S as unknown as Record<string, (...a: any[]) => any>;

function roundTrip(
  objects: ObjectTable,
  value: unknown,
  enc: (w: VenusWriter, v: unknown) => void,
  dec: (r: VenusReader) => unknown,
  what: string,
): void {
  const w1 = new VenusWriter();
  enc(w1, value);
  const bytes = w1.bytesWritten;
  const r = new VenusReader(objects);
  r.reset(bytes);
  const back = dec(r);
  assert(!r.bad, `${what}: decode failed at ${r.errorOffset}: ${r.error}`);
  assertEquals(r.pos, bytes.length, `${what}: decoder consumed ${r.pos} of ${bytes.length} bytes`);
  const w2 = new VenusWriter();
  enc(w2, back);
  if (toHex(w2.bytesWritten) !== toHex(bytes)) {
    assertEquals(toHex(w2.bytesWritten), toHex(bytes), `${what}: re-encoding differs`);
  }
}

Deno.test("every struct round-trips (full and partial forms)", () => {
  const objects = new ObjectTable();
  let n = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const g = new SeededGen(1000 + round, objects);
    for (const [name, sample] of Object.entries(STRUCT_SAMPLERS)) {
      const v = sample(g);
      roundTrip(
        objects,
        v,
        codecs[`e_${name}`],
        codecs[`d_${name}`],
        `${name} (seed ${1000 + round})`,
      );
      if (codecs[`pe_${name}`]) {
        roundTrip(objects, v, codecs[`pe_${name}`], codecs[`p_${name}`], `partial ${name}`);
      }
      n++;
    }
  }
  assert(n > 300 * ROUNDS, `${n} structs`);
});

Deno.test("every command round-trips: request encode → decode → dispatch → re-encode, reply decode", () => {
  const objects = new ObjectTable();
  let captured: unknown[] | null = null;
  const handlers = new Proxy({}, {
    get: () => (...args: unknown[]) => {
      captured = args;
      return undefined;
    },
  }) as VenusHandlers;
  const dec = new VenusDecoder({ objects, handlers, log: new Logger("t", "error"), name: "rt" });
  const reply = new Uint8Array(1 << 20);
  for (let round = 0; round < ROUNDS; round++) {
    const g = new SeededGen(2000 + round, objects);
    for (const c of COMMANDS) {
      const what = `${c.name} (seed ${2000 + round})`;
      const args = COMMAND_SAMPLERS[c.name](g);
      const w = new VenusWriter();
      REQUEST_ENCODERS[c.name](w, args, 1);
      const bytes = w.bytesWritten.slice();
      assertEquals(
        dec.reply.set({ resourceId: 1, offset: 0, size: reply.length }, () => reply),
        null,
      );
      captured = null;
      const ok = dec.decodeRange(bytes);
      assert(ok, `${what}: ${dec.fatalState.reason}`);
      assert(captured !== null, `${what}: handler not called`);
      const back: Record<string, unknown> = {};
      c.params.forEach((p, i) => back[p] = captured![i]);
      const w2 = new VenusWriter();
      REQUEST_ENCODERS[c.name](w2, back, 1);
      assertEquals(toHex(w2.bytesWritten), toHex(bytes), `${what}: re-encoding differs`);
      // the reply the dispatcher wrote decodes completely
      const r = new VenusReader(null);
      r.reset(reply, 0, dec.reply.cursor);
      REPLY_DECODERS[c.name](r);
      assert(!r.bad, `${what}: reply decode: ${r.error}`);
      assertEquals(r.pos, dec.reply.cursor, `${what}: reply length`);
    }
  }
});
