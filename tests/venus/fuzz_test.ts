/**
 * Fuzzing the decoder with mutated valid streams: truncations, bit flips,
 * bogus sizes/counts, random command types, very long and never-ending pNext
 * chains. The decoder must never throw (an internal exception would show up
 * as a fatal reason starting with "exception:"), never read out of bounds and
 * never hang; a bad stream must end fatal with one log line.
 *
 * The same for real streams: the committed workload captures (Mesa venus
 * through Vesper), replayed in order with one record mutated, so the
 * mutations also reach commands whose objects exist (decoded deeper than an
 * unknown id).
 *
 * Fixed seed; VESPER_FUZZ_ITERS=N (default 1500) and VESPER_FUZZ_SEED for longer runs.
 */
import { assert } from "../support/assert.ts";
import { Logger } from "../../src/log.ts";
import { CaptureReader } from "../../src/venus/capture.ts";
import { replayCaptureBytes } from "../../src/venus/replay.ts";
import { VenusDecoder } from "../../src/venus/decoder.ts";
import { COMMANDS } from "../../src/venus/generated/handlers.ts";
import { NoopHandlers } from "../../src/venus/generated/noop.ts";
import { COMMAND_SAMPLERS } from "../../src/venus/generated/samples.ts";
import { REQUEST_ENCODERS } from "../../src/venus/generated/tools.ts";
import { ObjectTable } from "../../src/venus/object_table.ts";
import { VenusWriter } from "../../src/venus/writer.ts";
import { SeededGen } from "./sample_gen.ts";
import { encode, hex, u64hex } from "./helpers.ts";

const ITERS = Number(Deno.env.get("VESPER_FUZZ_ITERS") ?? 1500);
const SEED = Number(Deno.env.get("VESPER_FUZZ_SEED") ?? 12345);

function fresh(objects: ObjectTable) {
  const lines: string[] = [];
  let dec: VenusDecoder | null = null;
  const handlers = new NoopHandlers(objects, (m) => dec!.fail(m));
  dec = new VenusDecoder({
    objects,
    handlers,
    log: new Logger("fuzz", "error", (l) => lines.push(l)),
    name: "fuzz",
  });
  const reply = new Uint8Array(1 << 16);
  dec.reply.set({ resourceId: 1, offset: 0, size: reply.length }, () => reply);
  return { dec, lines };
}

function check(objects: ObjectTable, bytes: Uint8Array, what: string): boolean {
  const { dec, lines } = fresh(objects);
  const t0 = performance.now();
  const ok = dec.decodeRange(bytes);
  const dt = performance.now() - t0;
  assert(dt < 2000, `${what}: took ${dt} ms`);
  if (!ok) {
    assert(!dec.fatalState.reason.includes("exception:"), `${what}: ${dec.fatalState.reason}`);
    if (Deno.env.get("VESPER_FUZZ_VERBOSE")) console.log(what, dec.fatalState.reason);
    assert(lines.length === 1, `${what}: ${lines.length} log lines`);
  }
  return ok;
}

Deno.test(`fuzz: ${ITERS} mutated streams (seed ${SEED})`, () => {
  const objects = new ObjectTable();
  const g = new SeededGen(SEED, objects);
  const dispatched = COMMANDS.filter((c) => c.dispatched && !c.name.endsWith("MESA"));
  let fatal = 0;
  for (let it = 0; it < ITERS; it++) {
    const w = new VenusWriter();
    const n = 1 + g.int(4);
    for (let k = 0; k < n; k++) {
      const c = dispatched[g.int(dispatched.length)];
      REQUEST_ENCODERS[c.name](w, COMMAND_SAMPLERS[c.name](g), g.int(2));
    }
    const bytes = w.bytesWritten.slice();
    const dv = new DataView(bytes.buffer);
    switch (g.int(6)) {
      case 0: // truncation
        check(objects, bytes.subarray(0, g.int(bytes.length)), `trunc it ${it}`);
        break;
      case 1: // bit flips
        for (let i = 0; i < 1 + g.int(4); i++) bytes[g.int(bytes.length)] ^= 1 << g.int(8);
        break;
      case 2: { // bogus counts / sizes in an aligned word
        const vals = [0xffffffff, 0x7fffffff, 0x80000000, 0x10000, 1, 0, 0x200000];
        const o = g.int(bytes.length >> 2) << 2;
        dv.setUint32(o, vals[g.int(vals.length)], true);
        break;
      }
      case 3: // random command type
        dv.setInt32(0, [-1, 195, 283, 298, 1 << 30, g.int(400)][g.int(6)], true);
        break;
      case 4: // random garbage tail
        for (let i = g.int(bytes.length); i < bytes.length; i++) bytes[i] = g.int(256);
        break;
      default:
        break;
    }
    if (!check(objects, bytes, `it ${it}`)) fatal++;
  }
  assert(fatal > ITERS / 10, `only ${fatal} of ${ITERS} streams were fatal`);
});

Deno.test("fuzz: long and never-ending pNext chains, huge counts, pure garbage", () => {
  const objects = new ObjectTable();
  objects.create(4, 5); // VkQueue
  // VkSubmitInfo with 20000 timeline elements: accepted (iterative chain decoder, no recursion)
  const head = `12 00 00 00 00 00 00 00 ${u64hex(5)} 01 00 00 00 ${u64hex(1)} 04 00 00 00`;
  const elem = `${u64hex(1)} 9b f2 9d 3b`;
  const fields = `00 00 00 00 ${u64hex(0)} 00 00 00 00 ${u64hex(0)}`;
  // waitSemaphoreCount, pWaitSemaphores, pWaitDstStageMask, commandBufferCount, pCommandBuffers,
  // signalSemaphoreCount, pSignalSemaphores, then the fence
  const tail = `00 00 00 00 ${u64hex(0)} ${u64hex(0)} 00 00 00 00 ${u64hex(0)} 00 00 00 00 ${
    u64hex(0)
  } ${u64hex(0)}`;
  const N = 20000;
  const deep = hex(head + elem.repeat(N) + ` ${u64hex(0)} ` + fields.repeat(N) + tail);
  assert(check(objects, deep, "deep chain"));
  // a chain that never ends: runs into the end of the stream → fatal
  const endless = hex(head + elem.repeat(N));
  assert(!check(objects, endless, "endless chain"));
  // a chain element with an sType the head does not accept
  assert(
    !check(
      objects,
      hex(head + `${u64hex(1)} 00 a6 a0 3b ${u64hex(0)}` + " 00".repeat(256)),
      "foreign sType",
    ),
  );
  // giant counts never allocate: 2^32-1 submits, 2^52 array count, 2^63 count
  for (const cnt of ["ff ff ff ff", "00 00 00 00"]) {
    const b = hex(`12 00 00 00 00 00 00 00 ${u64hex(5)} ${cnt} ff ff ff ff ff ff 0f 00`);
    assert(!check(objects, b, "giant count"));
  }
  assert(
    !check(
      objects,
      hex(`12 00 00 00 00 00 00 00 ${u64hex(5)} 01 00 00 00 ff ff ff ff ff ff ff ff`),
      "2^64",
    ),
  );
  // output arrays with zero-byte elements are capped (vkEnumerateDeviceExtensionProperties)
  objects.create(2, 9);
  const cap = encode("vkEnumerateDeviceExtensionProperties", {
    physicalDevice: 9,
    pLayerName: null,
    pPropertyCount: { value: 0xffffffff },
    pProperties: null,
  });
  const patched = new Uint8Array([
    ...cap.subarray(0, cap.length - 8),
    ...hex("ff ff ff ff 00 00 00 00"),
  ]);
  assert(!check(objects, patched, "capped output"));
  // random garbage
  const g = new SeededGen(SEED + 1, objects);
  for (let i = 0; i < 200; i++) check(objects, g.bytes(g.int(512)), `garbage ${i}`);
});

Deno.test(`fuzz: real captures replayed with one record mutated (${ITERS} runs, seed ${SEED})`, () => {
  const dir = new URL("../fixtures/captures/workloads/", import.meta.url).pathname;
  const caps = [...Deno.readDirSync(dir)].filter((e) => e.name.endsWith(".vcap"))
    .map((e) => Deno.readFileSync(dir + e.name));
  assert(caps.length >= 4, `${caps.length} captures in ${dir}`);
  const g = new SeededGen(SEED, new ObjectTable());
  let fatal = 0;
  for (let it = 0; it < ITERS; it++) {
    const file = caps[g.int(caps.length)].slice();
    // a record's bytes are a view into the file: mutating them mutates the capture
    const recs = [...new CaptureReader(file)];
    const b = recs[g.int(recs.length)].bytes;
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    for (let m = 1 + g.int(4); m > 0 && b.length >= 4; m--) {
      const o = g.int(b.length >> 2) << 2;
      const word = [0xffffffff, 0x7fffffff, 0x80000000, g.int(64), dv.getUint32(o, true) + 1];
      if (g.int(3) === 0) b[o + g.int(4)] ^= 1 << g.int(8);
      else dv.setUint32(o, word[g.int(word.length)], true);
    }
    const lines: string[] = [];
    const t0 = performance.now();
    const r = replayCaptureBytes(file, new Logger("fuzz", "error", (l) => lines.push(l)));
    const dt = performance.now() - t0;
    assert(dt < 2000, `it ${it}: took ${dt} ms`);
    assert(!lines.some((l) => l.includes("exception:")), `it ${it}: ${lines.join("\n")}`);
    assert(lines.length === (r.fatal ? 1 : 0), `it ${it}: fatal ${r.fatal}, ${lines.join("\n")}`);
    if (r.fatal) fatal++;
  }
  assert(fatal > ITERS / 10 && fatal < ITERS, `${fatal} of ${ITERS} replays were fatal`);
});
