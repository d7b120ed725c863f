/** The decoder's fast paths: Span parameters, flat-struct checks, unaligned and offset ranges. */
import { assert, assertEquals } from "../support/assert.ts";
import { NoopHandlers } from "../../src/venus/generated/noop.ts";
import type { VkMemoryBarrier, VkViewport } from "../../src/venus/generated/types.ts";
import type { Span } from "../../src/venus/span.ts";
import type { U64 } from "../../src/venus/reader.ts";
import { addObject, encode, makeContext } from "./helpers.ts";

const VIEWPORTS = [
  { x: 1, y: 2, width: 640, height: 480, minDepth: 0, maxDepth: 1 },
  { x: -5, y: 0.5, width: 8, height: 9, minDepth: 0.25, maxDepth: 0.75 },
];

function viewportContext() {
  const seen: unknown[] = [];
  class H extends NoopHandlers {
    override vkCmdSetViewport(
      _cb: number,
      first: number,
      count: number,
      vps: Span<VkViewport> | null,
    ): void {
      seen.push([first, count, vps!.toArray(), vps!.bytes.length]);
    }
    override vkCmdBindVertexBuffers(
      _cb: number,
      _first: number,
      _count: number,
      bufs: Span<number> | null,
      offs: Span<U64> | null,
    ): void {
      seen.push([bufs!.toArray(), offs!.toArray()]);
    }
    override vkCmdPipelineBarrier(
      _cb: number,
      _s: number,
      _d: number,
      _f: number,
      _n: number,
      mem: Span<VkMemoryBarrier> | null,
    ): void {
      seen.push(mem!.toArray());
    }
  }
  const ctx = makeContext((o, f) => new H(o, f));
  addObject(ctx.objects, "VkCommandBuffer", 7);
  addObject(ctx.objects, "VkBuffer", 8);
  return { ctx, seen };
}

const setViewport = encode("vkCmdSetViewport", {
  commandBuffer: 7,
  firstViewport: 1,
  viewportCount: 2,
  pViewports: VIEWPORTS,
});

Deno.test("Span parameters: struct, handle and u64 spans decode on demand", () => {
  const { ctx, seen } = viewportContext();
  const vb = encode("vkCmdBindVertexBuffers", {
    commandBuffer: 7,
    firstBinding: 0,
    bindingCount: 2,
    pBuffers: [8, 0],
    pOffsets: new BigUint64Array([16n, 0xffffffffffffffffn]),
  });
  assert(ctx.decoder.decodeRange(new Uint8Array([...setViewport, ...vb])), ctx.lines.join());
  assertEquals(seen, [[1, 2, VIEWPORTS, 48], [[8, 0], [16, 0xffffffffffffffffn]]]);
});

Deno.test("Span parameters: unknown handle in a span is fatal", () => {
  const { ctx } = viewportContext();
  const vb = encode("vkCmdBindVertexBuffers", {
    commandBuffer: 7,
    firstBinding: 0,
    bindingCount: 1,
    pBuffers: [99],
    pOffsets: new BigUint64Array([0n]),
  });
  assertEquals(ctx.decoder.decodeRange(vb), false);
  assert(ctx.lines[0].includes("unknown object id 99"), ctx.lines[0]);
});

Deno.test("flat extensible structs in spans: sType and pNext are checked", () => {
  const barrier = (mem: unknown[]) =>
    encode("vkCmdPipelineBarrier", {
      commandBuffer: 7,
      srcStageMask: 1,
      dstStageMask: 2,
      dependencyFlags: 0,
      memoryBarrierCount: mem.length,
      pMemoryBarriers: mem,
      bufferMemoryBarrierCount: 0,
      imageMemoryBarrierCount: 0,
    });
  const ok = barrier([{ srcAccessMask: 1, dstAccessMask: 2, pNext: null }]);
  const { ctx, seen } = viewportContext();
  assert(ctx.decoder.decodeRange(ok), ctx.lines.join());
  assertEquals(seen, [[{ sType: 46, pNext: null, srcAccessMask: 1, dstAccessMask: 2 }]]);
  // header 8, cb 8, three masks 12, count 4, u64 array count 8: sType at 40, pNext at 44
  const badSType = ok.slice();
  new DataView(badSType.buffer).setInt32(40, 47, true);
  const a = viewportContext();
  assertEquals(a.ctx.decoder.decodeRange(badSType), false);
  const badNext = ok.slice();
  badNext[44] = 1;
  const b = viewportContext();
  assertEquals(b.ctx.decoder.decodeRange(badNext), false);
  assert(b.ctx.lines[0].includes("pNext"), b.ctx.lines[0]);
});

Deno.test("ranges at an offset and unaligned buffers decode the same", () => {
  for (const shift of [0, 1, 2, 3, 4, 8]) {
    const { ctx, seen } = viewportContext();
    const buf = new Uint8Array(shift + setViewport.length + 16);
    buf.set(setViewport, shift);
    assert(
      ctx.decoder.decodeRange(buf, shift, shift + setViewport.length),
      `shift ${shift}: ${ctx.lines}`,
    );
    const view = new Uint8Array(buf.buffer, shift, setViewport.length);
    assert(ctx.decoder.decodeRange(view), `view shift ${shift}: ${ctx.lines}`);
    assertEquals(seen.length, 2);
    assertEquals((seen[0] as unknown[])[2], VIEWPORTS);
  }
});

Deno.test("a truncated fixed part is fatal (read past the end), not a wrong value", () => {
  const { ctx } = viewportContext();
  assertEquals(ctx.decoder.decodeRange(setViewport.subarray(0, 12)), false);
  assert(ctx.lines[0].includes("past the end"), ctx.lines[0]);
});
