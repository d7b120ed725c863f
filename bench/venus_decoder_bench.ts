/**
 * Venus decoder throughput: (a) a vkCmd-heavy stream, (b) a create/query-heavy
 * stream, decoded and dispatched into the no-op backend; plus a plain copy of
 * the same bytes (Uint8Array.set) as the physical limit.
 *
 *   deno bench -A bench/venus_decoder_bench.ts         # per-iteration times
 *   deno run -A bench/venus_decoder_bench.ts           # commands/s, bytes/s, ratio to copy
 */
import { Logger } from "../src/log.ts";
import { VenusDecoder } from "../src/venus/decoder.ts";
import { NoopHandlers } from "../src/venus/generated/noop.ts";
import { REQUEST_ENCODERS } from "../src/venus/generated/tools.ts";
import { OBJECT_TYPE } from "../src/venus/generated/types.ts";
import { ObjectTable } from "../src/venus/object_table.ts";
import { VenusWriter } from "../src/venus/writer.ts";

const CB = 0x100,
  PIPE = 0x101,
  BUF = 0x102,
  LAYOUT = 0x103,
  DEV = 0x104,
  IMG = 0x105,
  PDEV = 0x106,
  INST = 0x107;

function setup() {
  const objects = new ObjectTable();
  const add = (t: keyof typeof OBJECT_TYPE, id: number) => objects.create(OBJECT_TYPE[t], id);
  add("VkCommandBuffer", CB);
  add("VkPipeline", PIPE);
  add("VkBuffer", BUF);
  add("VkPipelineLayout", LAYOUT);
  add("VkDevice", DEV);
  add("VkImage", IMG);
  add("VkPhysicalDevice", PDEV);
  add("VkInstance", INST);
  let dec: VenusDecoder | null = null;
  const handlers = new NoopHandlers(objects, (m) => dec!.fail(m));
  dec = new VenusDecoder({ objects, handlers, log: new Logger("bench", "error"), name: "bench" });
  const reply = new Uint8Array(1 << 20);
  return { objects, dec, reply };
}

/** (a) one draw's worth of state + draw, like a recorded command buffer. */
function cmdStream(targetBytes: number): { bytes: Uint8Array; commands: number } {
  const w = new VenusWriter();
  const e = (name: string, a: Record<string, unknown>) => REQUEST_ENCODERS[name](w, a, 0);
  let n = 0;
  const viewport = [{ x: 0, y: 0, width: 1920, height: 1080, minDepth: 0, maxDepth: 1 }];
  const scissor = [{ offset: { x: 0, y: 0 }, extent: { width: 1920, height: 1080 } }];
  const push = new Uint8Array(16);
  const offsets = new BigUint64Array([0n]);
  while (w.pos < targetBytes) {
    e("vkCmdBindPipeline", { commandBuffer: CB, pipelineBindPoint: 0, pipeline: PIPE });
    e("vkCmdSetViewport", {
      commandBuffer: CB,
      firstViewport: 0,
      viewportCount: 1,
      pViewports: viewport,
    });
    e("vkCmdSetScissor", {
      commandBuffer: CB,
      firstScissor: 0,
      scissorCount: 1,
      pScissors: scissor,
    });
    e("vkCmdBindVertexBuffers", {
      commandBuffer: CB,
      firstBinding: 0,
      bindingCount: 1,
      pBuffers: [BUF],
      pOffsets: offsets,
    });
    e("vkCmdPushConstants", {
      commandBuffer: CB,
      layout: LAYOUT,
      stageFlags: 1,
      offset: 0,
      size: 16,
      pValues: push,
    });
    for (let i = 0; i < 4; i++) {
      e("vkCmdDraw", {
        commandBuffer: CB,
        vertexCount: 3,
        instanceCount: 1,
        firstVertex: i * 3,
        firstInstance: 0,
      });
    }
    e("vkCmdPipelineBarrier", {
      commandBuffer: CB,
      srcStageMask: 0x400,
      dstStageMask: 0x80,
      dependencyFlags: 0,
      memoryBarrierCount: 1,
      pMemoryBarriers: [{ srcAccessMask: 0x100, dstAccessMask: 0x20, pNext: null }],
      bufferMemoryBarrierCount: 0,
      pBufferMemoryBarriers: null,
      imageMemoryBarrierCount: 0,
      pImageMemoryBarriers: null,
    });
    n += 10;
  }
  return { bytes: w.bytesWritten.slice(), commands: n };
}

/** (b) object creation and queries with replies (as Mesa's instance ring sees at startup). */
function createStream(targetBytes: number): { bytes: Uint8Array; commands: number } {
  const w = new VenusWriter();
  const e = (name: string, a: Record<string, unknown>, f = 0) => REQUEST_ENCODERS[name](w, a, f);
  let n = 0;
  let id = 0x10000;
  while (w.pos < targetBytes) {
    e("vkSetReplyCommandStreamMESA", { pStream: { resourceId: 1, offset: 0, size: 1 << 20 } });
    const buf = id++;
    e("vkCreateBuffer", {
      device: DEV,
      pCreateInfo: {
        flags: 0,
        size: 65536,
        usage: 0x80,
        sharingMode: 0,
        queueFamilyIndexCount: 0,
        pQueueFamilyIndices: null,
        pNext: null,
      },
      pAllocator: null,
      pBuffer: buf,
    }, 1);
    e("vkGetBufferMemoryRequirements", { device: DEV, buffer: buf, pMemoryRequirements: {} }, 1);
    e("vkGetImageMemoryRequirements2", {
      device: DEV,
      pInfo: { image: IMG, pNext: null },
      pMemoryRequirements: { pNext: { sType: 1000127000, pNext: null } },
    }, 1);
    e("vkGetPhysicalDeviceFormatProperties2", {
      physicalDevice: PDEV,
      format: 37,
      pFormatProperties: { pNext: null },
    }, 1);
    e("vkDestroyBuffer", { device: DEV, buffer: buf, pAllocator: null });
    n += 6;
  }
  return { bytes: w.bytesWritten.slice(), commands: n };
}

const A = cmdStream(1 << 20);
const B = createStream(1 << 18);
const ctx = setup();
const copyDst = new Uint8Array(A.bytes.length);

function runA(): void {
  if (!ctx.dec.decodeRange(A.bytes)) throw new Error(ctx.dec.fatalState.reason);
}
function runB(): void {
  const err = ctx.dec.reply.set({ resourceId: 1, offset: 0, size: 1 << 20 }, () => ctx.reply);
  if (err) throw new Error(err);
  if (!ctx.dec.decodeRange(B.bytes)) throw new Error(ctx.dec.fatalState.reason);
}

Deno.bench({
  name: `(a) vkCmd stream: ${A.commands} commands, ${A.bytes.length} bytes`,
  group: "a",
  fn: runA,
});
Deno.bench({
  name: `(a) copy of the same ${A.bytes.length} bytes`,
  group: "a",
  baseline: true,
  fn: () => copyDst.set(A.bytes),
});
Deno.bench({
  name: `(b) create/query stream: ${B.commands} commands, ${B.bytes.length} bytes`,
  group: "b",
  fn: runB,
});
Deno.bench({
  name: `(b) copy of the same ${B.bytes.length} bytes`,
  group: "b",
  baseline: true,
  fn: () => copyDst.set(B.bytes),
});

function measure(fn: () => void, minMs = 1500): number {
  for (let i = 0; i < 20; i++) fn();
  let iters = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < minMs) {
    for (let i = 0; i < 10; i++) fn();
    iters += 10;
    t = performance.now();
  }
  return (t - t0) / 1000 / iters;
}

if (import.meta.main) {
  for (const [label, s, run] of [["(a) vkCmd", A, runA], ["(b) create/query", B, runB]] as const) {
    const tDec = measure(run);
    const copy = copyDst.subarray(0, s.bytes.length);
    const tCopy = measure(() => copy.set(s.bytes));
    console.log(
      `${label}: ${(s.commands / tDec / 1e6).toFixed(1)} M commands/s, ${
        (s.bytes.length / tDec / 1e9).toFixed(2)
      } GB/s; ` +
        `copy ${(s.bytes.length / tCopy / 1e9).toFixed(2)} GB/s; decode/copy time ratio ${
          (tDec / tCopy).toFixed(1)
        }x ` +
        `(${s.commands} commands, ${s.bytes.length} bytes, ${
          (s.bytes.length / s.commands).toFixed(1)
        } B/command)`,
    );
  }
}
