/** The worked byte-level examples of venus-wire.md §11, decoded, replied and re-encoded. */
import { assert, assertEquals } from "../support/assert.ts";
import { NoopHandlers } from "../../src/venus/generated/noop.ts";
import type { Ref } from "../../src/venus/reader.ts";
import type {
  VkInstanceCreateInfo,
  VkMemoryRequirements,
  VkRingCreateInfoMESA,
  VkSubmitInfo,
} from "../../src/venus/generated/types.ts";
import { addObject, decodeReply, encode, hex, makeContext, toHex, u64hex } from "./helpers.ts";

// §11.1
const CREATE_INSTANCE = hex(`
00 00 00 00  01 00 00 00  01 00 00 00 00 00 00 00  01 00 00 00  00 00 00 00 00 00 00 00
00 00 00 00  01 00 00 00 00 00 00 00  00 00 00 00  00 00 00 00 00 00 00 00
06 00 00 00 00 00 00 00  68 65 6c 6c 6f 00 xx xx  01 00 00 00  00 00 00 00 00 00 00 00
00 00 00 00  00 30 40 00  00 00 00 00  00 00 00 00 00 00 00 00  00 00 00 00
00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  01 00 00 00 00 00 00 00
01 00 00 00 00 00 00 00`);

Deno.test("§11.1 vkCreateInstance decodes, replies 24 bytes, and re-encodes", () => {
  let seen: VkInstanceCreateInfo | null = null;
  class H extends NoopHandlers {
    override vkCreateInstance(
      ci: VkInstanceCreateInfo | null,
      _a: null,
      id: number | null,
    ): number {
      seen = ci;
      assertEquals(id, 1);
      return super.vkCreateInstance(ci as never, null, id);
    }
  }
  const ctx = makeContext((o, f) => new H(o, f));
  ctx.setReply();
  assertEquals(CREATE_INSTANCE.length, 136);
  assert(ctx.decoder.decodeRange(CREATE_INSTANCE), ctx.lines.join());
  const ci = seen as unknown as VkInstanceCreateInfo;
  assertEquals(ci.sType, 1);
  assertEquals(ci.pNext, null);
  assertEquals(ci.pApplicationInfo?.pApplicationName, "hello");
  assertEquals(ci.pApplicationInfo?.applicationVersion, 1);
  assertEquals(ci.pApplicationInfo?.pEngineName, null);
  assertEquals(ci.pApplicationInfo?.apiVersion, 0x00403000);
  assertEquals(ci.ppEnabledExtensionNames, null);
  assertEquals(
    toHex(ctx.replyBytes()),
    toHex(hex("00 00 00 00 00 00 00 00 01 00 00 00 00 00 00 00 01 00 00 00 00 00 00 00")),
  );
  assertEquals(ctx.objects.get(1)?.type, 1);
  assertEquals(
    toHex(encode("vkCreateInstance", { pCreateInfo: ci, pAllocator: null, pInstance: 1 }, 1)),
    toHex(CREATE_INSTANCE),
  );
  assertEquals(decodeReply("vkCreateInstance", ctx.replyBytes()), { ret: 0, pInstance: 1 });
});

Deno.test("§11.2 vkEnumerateInstanceVersion", () => {
  class H extends NoopHandlers {
    override vkEnumerateInstanceVersion(v: Ref<number> | null): number {
      v!.value = 0x00403000;
      return 0;
    }
  }
  const ctx = makeContext((o, f) => new H(o, f));
  ctx.setReply();
  const req = hex("89 00 00 00 | 01 00 00 00 | 01 00 00 00 00 00 00 00");
  assert(ctx.decoder.decodeRange(req));
  assertEquals(
    toHex(ctx.replyBytes()),
    toHex(hex("89 00 00 00 | 00 00 00 00 | 01 00 00 00 00 00 00 00 | 00 30 40 00")),
  );
  assertEquals(
    toHex(encode("vkEnumerateInstanceVersion", { pApiVersion: { value: 0 } }, 1)),
    toHex(req),
  );
});

const DRAW = hex(
  `6a 00 00 00 00 00 00 00 2a 00 00 00 00 00 00 00 03 00 00 00 01 00 00 00 00 00 00 00 00 00 00 00`,
);

Deno.test("§11.3 vkCmdDraw", () => {
  const calls: number[][] = [];
  class H extends NoopHandlers {
    override vkCmdDraw(cb: number, a: number, b: number, c: number, d: number): void {
      calls.push([cb, a, b, c, d]);
    }
  }
  const ctx = makeContext((o, f) => new H(o, f));
  addObject(ctx.objects, "VkCommandBuffer", 0x2a);
  assert(ctx.decoder.decodeRange(DRAW));
  assertEquals(calls, [[0x2a, 3, 1, 0, 0]]);
  const args = {
    commandBuffer: 0x2a,
    vertexCount: 3,
    instanceCount: 1,
    firstVertex: 0,
    firstInstance: 0,
  };
  assertEquals(toHex(encode("vkCmdDraw", args)), toHex(DRAW));
  // with the reply bit the reply is just the command type
  const withReply = DRAW.slice();
  withReply[4] = 1;
  ctx.setReply();
  assert(ctx.decoder.decodeRange(withReply));
  assertEquals(toHex(ctx.replyBytes()), "6a 00 00 00");
});

const SUBMIT = hex(`
12 00 00 00 00 00 00 00 05 00 00 00 00 00 00 00 01 00 00 00 01 00 00 00 00 00 00 00
04 00 00 00 01 00 00 00 00 00 00 00 9b f2 9d 3b 00 00 00 00 00 00 00 00
01 00 00 00 01 00 00 00 00 00 00 00 01 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
01 00 00 00 01 00 00 00 00 00 00 00 07 00 00 00 00 00 00 00 01 00 00 00 00 00 00 00 00 04 00 00
01 00 00 00 01 00 00 00 00 00 00 00 09 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
00 00 00 00 00 00 00 00`);

function submitContext() {
  let seen: VkSubmitInfo[] | null = null;
  class H extends NoopHandlers {
    override vkQueueSubmit(_q: number, _n: number, s: VkSubmitInfo[] | null): number {
      seen = s;
      return 0;
    }
  }
  const ctx = makeContext((o, f) => new H(o, f));
  addObject(ctx.objects, "VkQueue", 5);
  addObject(ctx.objects, "VkSemaphore", 7);
  addObject(ctx.objects, "VkCommandBuffer", 9);
  return { ctx, seen: () => seen as unknown as VkSubmitInfo[] };
}

Deno.test("§11.4 vkQueueSubmit with a timeline chain", () => {
  assertEquals(SUBMIT.length, 156);
  const { ctx, seen } = submitContext();
  assert(ctx.decoder.decodeRange(SUBMIT), ctx.lines.join());
  const s = seen()[0];
  assertEquals(s.waitSemaphoreCount, 1);
  assertEquals(s.pWaitSemaphores, [7]);
  assertEquals([...s.pWaitDstStageMask!], [0x400]);
  assertEquals(s.pCommandBuffers, [9]);
  assertEquals(s.pSignalSemaphores, null);
  const t = s.pNext as unknown as Record<string, unknown>;
  assertEquals(t.sType, 1000207003);
  assertEquals(t.pNext, null);
  assertEquals(t.waitSemaphoreValueCount, 1);
  assertEquals([...(t.pWaitSemaphoreValues as BigUint64Array)], [1n]);
  assertEquals(t.pSignalSemaphoreValues, null);
  assertEquals(
    toHex(encode("vkQueueSubmit", { queue: 5, submitCount: 1, pSubmits: seen(), fence: 0 })),
    toHex(SUBMIT),
  );
  ctx.setReply();
  const withReply = SUBMIT.slice();
  withReply[4] = 1;
  assert(ctx.decoder.decodeRange(withReply));
  assertEquals(toHex(ctx.replyBytes()), "12 00 00 00 00 00 00 00");
});

Deno.test("§11.4 negative vectors are fatal with a log line naming the command", () => {
  const cases: [string, Uint8Array][] = [];
  const badSType = SUBMIT.slice();
  new DataView(badSType.buffer).setInt32(0x28, 1000999999, true);
  cases.push(["unexpected sType", badSType]);
  const badCount = SUBMIT.slice();
  badCount[0x10] = 2;
  cases.push(["size mismatch", badCount]);
  cases.push(["past the end", SUBMIT.slice(0, SUBMIT.length - 4)]);
  cases.push(["unknown command type 283", hex("1b 01 00 00 00 00 00 00")]);
  for (const [what, bytes] of cases) {
    const { ctx } = submitContext();
    assertEquals(ctx.decoder.decodeRange(bytes), false, what);
    assert(ctx.decoder.fatal);
    assertEquals(ctx.lines.length, 1, what);
    assert(/fatal: vk\w+ \(\d+\) at offset 0x0|fatal: \? \(283\)/.test(ctx.lines[0]), ctx.lines[0]);
    // sticky: later streams are refused
    assertEquals(ctx.decoder.decodeRange(DRAW), false);
  }
  const { ctx } = submitContext();
  ctx.decoder.decodeRange(badSType);
  assert(ctx.lines[0].includes("vkQueueSubmit (18)") && ctx.lines[0].includes("1000999999"));
});

Deno.test("§11.5 vkEnumeratePhysicalDevices", () => {
  const req = hex(
    `02 00 00 00 01 00 00 00 ${u64hex(1)} ${u64hex(1)} 02 00 00 00 ${u64hex(2)} ${u64hex(2)} ${
      u64hex(3)
    }`,
  );
  assertEquals(req.length, 52);
  const ctx = makeContext();
  addObject(ctx.objects, "VkInstance", 1);
  ctx.setReply();
  assert(ctx.decoder.decodeRange(req), ctx.lines.join());
  const reply = ctx.replyBytes();
  assertEquals(reply.length, 44);
  assertEquals(
    toHex(reply),
    toHex(
      hex(
        `02 00 00 00 00 00 00 00 ${u64hex(1)} 02 00 00 00 ${u64hex(2)} ${u64hex(2)} ${u64hex(3)}`,
      ),
    ),
  );
  // the same ids again are accepted (same index → same id)
  ctx.setReply();
  assert(ctx.decoder.decodeRange(req), ctx.lines.join());
  assertEquals(ctx.objects.get(3)?.type, 2);
  assertEquals(
    toHex(encode("vkEnumeratePhysicalDevices", {
      instance: 1,
      pPhysicalDeviceCount: { value: 2 },
      pPhysicalDevices: [2, 3],
    }, 1)),
    toHex(req),
  );
});

Deno.test("§11.6 vkGetBufferMemoryRequirements (partial output struct)", () => {
  class H extends NoopHandlers {
    override vkGetBufferMemoryRequirements(
      _d: number,
      _b: number,
      m: VkMemoryRequirements | null,
    ): void {
      m!.size = 0x10000;
      m!.alignment = 0x100;
      m!.memoryTypeBits = 7;
    }
  }
  const ctx = makeContext((o, f) => new H(o, f));
  addObject(ctx.objects, "VkDevice", 10);
  addObject(ctx.objects, "VkBuffer", 11);
  ctx.setReply();
  const req = hex(`1e 00 00 00 01 00 00 00 ${u64hex(10)} ${u64hex(11)} 01 00 00 00 00 00 00 00`);
  assert(ctx.decoder.decodeRange(req), ctx.lines.join());
  assertEquals(
    toHex(ctx.replyBytes()),
    toHex(hex(`1e 00 00 00 01 00 00 00 00 00 00 00 00 00 01 00 00 00 00 00
      00 01 00 00 00 00 00 00 07 00 00 00`)),
  );
  assertEquals(decodeReply("vkGetBufferMemoryRequirements", ctx.replyBytes()), {
    pMemoryRequirements: { size: 0x10000, alignment: 0x100, memoryTypeBits: 7 },
  });
});

const CREATE_RING = hex(`
bc 00 00 00 00 00 00 00 00 10 00 00 aa 55 00 00 01 00 00 00 00 00 00 00
00 a6 a0 3b 01 00 00 00 00 00 00 00 06 a6 a0 3b 01 00 00 00 00 00 00 00
07 a6 a0 3b 00 00 00 00 00 00 00 00 00 00 00 00 c0 c6 2d 00
00 00 00 00 03 00 00 00 00 00 00 00 00 00 00 00 c4 40 00 00 00 00 00 00
40 42 0f 00 00 00 00 00 00 00 00 00 00 00 00 00 40 00 00 00 00 00 00 00
80 00 00 00 00 00 00 00 c0 00 00 00 00 00 00 00 00 40 00 00 00 00 00 00
c0 40 00 00 00 00 00 00 04 00 00 00 00 00 00 00`);

Deno.test("§11.7 vkCreateRingMESA with monitor and priority (innermost first)", () => {
  let seen: VkRingCreateInfoMESA | null = null;
  let ringId: unknown = null;
  class H extends NoopHandlers {
    override vkCreateRingMESA(ring: number | bigint, ci: VkRingCreateInfoMESA | null): void {
      ringId = ring;
      seen = ci;
    }
  }
  const ctx = makeContext((o, f) => new H(o, f));
  assertEquals(CREATE_RING.length, 156);
  assert(ctx.decoder.decodeRange(CREATE_RING), ctx.lines.join());
  assertEquals(ringId, 0x55aa00001000);
  const ci = seen as unknown as VkRingCreateInfoMESA;
  assertEquals(ci.resourceId, 3);
  assertEquals(ci.size, 16580);
  assertEquals(ci.idleTimeout, 1000000);
  assertEquals(ci.bufferOffset, 192);
  assertEquals(ci.bufferSize, 16384);
  assertEquals(ci.extraOffset, 16576);
  assertEquals(ci.extraSize, 4);
  const mon = ci.pNext as unknown as Record<string, unknown>;
  assertEquals(mon.sType, 1000384006);
  assertEquals(mon.maxReportingPeriodMicroseconds, 3000000);
  const prio = mon.pNext as unknown as Record<string, unknown>;
  assertEquals(prio, { sType: 1000384007, pNext: null, priority: 0 });
  assertEquals(
    toHex(encode("vkCreateRingMESA", { ring: 0x55aa00001000, pCreateInfo: ci })),
    toHex(CREATE_RING),
  );
});

Deno.test("§11.8 small MESA commands", () => {
  const ring = 0x55aa00001000;
  const vectors: [string, Record<string, unknown>, string][] = [
    [
      "vkSetReplyCommandStreamMESA",
      { pStream: { resourceId: 4, offset: 0x100, size: 24 } },
      `b2 00 00 00 00 00 00 00 01 00 00 00 00 00 00 00 04 00 00 00 00 01 00 00 00 00 00 00 18 00 00 00 00 00 00 00`,
    ],
    ["vkSeekReplyCommandStreamMESA", { position: 8 }, `b3 00 00 00 00 00 00 00 ${u64hex(8)}`],
    [
      "vkNotifyRingMESA",
      { ring, seqno: 0x1234, flags: 0 },
      `be 00 00 00 00 00 00 00 ${u64hex(ring)} 34 12 00 00 00 00 00 00`,
    ],
    [
      "vkWaitRingSeqnoMESA",
      { ring, seqno: 0x2000 },
      `fd 00 00 00 00 00 00 00 ${u64hex(ring)} ${u64hex(0x2000)}`,
    ],
    [
      "vkSubmitVirtqueueSeqnoMESA",
      { ring, seqno: 7 },
      `fb 00 00 00 00 00 00 00 ${u64hex(ring)} ${u64hex(7)}`,
    ],
    ["vkWaitVirtqueueSeqnoMESA", { seqno: 7 }, `fc 00 00 00 00 00 00 00 ${u64hex(7)}`],
    ["vkDestroyRingMESA", { ring }, `bd 00 00 00 00 00 00 00 ${u64hex(ring)}`],
    [
      "vkWriteRingExtraMESA",
      { ring, offset: 4, value: 9 },
      `bf 00 00 00 00 00 00 00 ${u64hex(ring)} ${u64hex(4)} 09 00 00 00`,
    ],
  ];
  const sizes = [36, 16, 24, 24, 24, 16, 16, 28];
  vectors.forEach(([name, args, bytes], i) => {
    const enc = encode(name, args);
    assertEquals(toHex(enc), toHex(hex(bytes)), name);
    assertEquals(enc.length, sizes[i], name);
    const ctx = makeContext();
    assert(ctx.decoder.decodeRange(enc), `${name}: ${ctx.lines.join()}`);
  });
});

Deno.test("§4.4 partial output structs have the documented sizes", async () => {
  const S = await import("../../src/venus/generated/structs.ts");
  const { VenusWriter } = await import("../../src/venus/writer.ts");
  const size = (fn: (w: InstanceType<typeof VenusWriter>, v: unknown) => void) => {
    const w = new VenusWriter();
    fn(w, {});
    return w.pos;
  };
  assertEquals(size(S.pe_VkMemoryRequirements), 0);
  assertEquals(size(S.pe_VkPhysicalDeviceMemoryProperties), 16);
  assertEquals(size(S.pe_VkPhysicalDeviceProperties), 0);
  assertEquals(size(S.pe_VkPhysicalDeviceGroupProperties), 4 + 8 + 8 + 32 * 8);
});
