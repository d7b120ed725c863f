/**
 * Writes the small synthetic captures under tests/fixtures/captures/, built
 * with the generated request encoder (what Mesa would send):
 *
 *   startup.vcap   ring creation, instance/device bring-up on the ring with
 *                  replies, a recorded command buffer and a submit
 *   cmdbuf.vcap    a vkCmd-heavy ring batch (draw loop)
 *   fatal.vcap     a valid start, then a truncated vkQueueSubmit (replay must end fatal)
 *
 *   deno run -A tools/gen/synthetic_captures.ts [DIR]
 */
import { CaptureWriter } from "../../src/venus/capture.ts";
import { REQUEST_ENCODERS } from "../../src/venus/generated/tools.ts";
import { VenusWriter } from "../../src/venus/writer.ts";

const here = new URL(".", import.meta.url).pathname;
const outDir = Deno.args[0] ?? `${here}../../tests/fixtures/captures`;
const RING = 0x55aa00001000;

type Args = Record<string, unknown>;

function stream(...cmds: [string, Args, number?][]): Uint8Array {
  const w = new VenusWriter();
  for (const [name, a, flags] of cmds) REQUEST_ENCODERS[name](w, a, flags ?? 0);
  return w.bytesWritten.slice();
}

function fakeClock(): () => number {
  let t = 0;
  return () => (t += 0.25);
}

const createRing: [string, Args] = ["vkCreateRingMESA", {
  ring: RING,
  pCreateInfo: {
    flags: 0,
    resourceId: 1,
    offset: 0,
    size: 135168,
    idleTimeout: 1000000,
    headOffset: 0,
    tailOffset: 64,
    statusOffset: 128,
    bufferOffset: 192,
    bufferSize: 131072,
    extraOffset: 131264,
    extraSize: 4,
    pNext: { sType: 1000384006, maxReportingPeriodMicroseconds: 3000000, pNext: null },
  },
}];
const reply = (offset: number): [string, Args] => [
  "vkSetReplyCommandStreamMESA",
  { pStream: { resourceId: 2, offset, size: 4096 } },
];
const INST = 1, PDEV = 2, DEV = 3, QUEUE = 4, POOL = 5, CB = 6, BUF = 7, LAYOUT = 8, _PIPE = 9;

function bringUp(): Uint8Array {
  return stream(
    reply(0),
    ["vkEnumerateInstanceVersion", { pApiVersion: { value: 0 } }, 1],
    reply(64),
    ["vkCreateInstance", {
      pCreateInfo: {
        flags: 0,
        pApplicationInfo: {
          pApplicationName: "vesper-synthetic",
          applicationVersion: 1,
          pEngineName: null,
          engineVersion: 0,
          apiVersion: 0x403000,
        },
        enabledLayerCount: 0,
        ppEnabledLayerNames: null,
        enabledExtensionCount: 0,
        ppEnabledExtensionNames: null,
      },
      pAllocator: null,
      pInstance: INST,
    }, 1],
    reply(128),
    ["vkEnumeratePhysicalDevices", {
      instance: INST,
      pPhysicalDeviceCount: { value: 1 },
      pPhysicalDevices: [PDEV],
    }, 1],
    reply(256),
    ["vkGetPhysicalDeviceProperties2", {
      physicalDevice: PDEV,
      pProperties: { pNext: { sType: 1000094000, pNext: null } },
    }, 1],
    reply(2048),
    ["vkGetPhysicalDeviceQueueFamilyProperties2", {
      physicalDevice: PDEV,
      pQueueFamilyPropertyCount: { value: 1 },
      pQueueFamilyProperties: [{ pNext: null }],
    }, 1],
    reply(2304),
    ["vkCreateDevice", {
      physicalDevice: PDEV,
      pCreateInfo: {
        flags: 0,
        queueCreateInfoCount: 1,
        pQueueCreateInfos: [{
          flags: 0,
          queueFamilyIndex: 0,
          queueCount: 1,
          pQueuePriorities: new Float32Array([1]),
          pNext: null,
        }],
        enabledLayerCount: 0,
        enabledExtensionCount: 1,
        ppEnabledExtensionNames: ["VK_KHR_external_memory_fd"],
        pEnabledFeatures: null,
        pNext: null,
      },
      pAllocator: null,
      pDevice: DEV,
    }, 1],
    ["vkGetDeviceQueue2", {
      device: DEV,
      pQueueInfo: {
        flags: 0,
        queueFamilyIndex: 0,
        queueIndex: 0,
        pNext: { sType: 1000384005, ringIdx: 1, pNext: null },
      },
      pQueue: QUEUE,
    }],
    ["vkCreateCommandPool", {
      device: DEV,
      pCreateInfo: { flags: 2, queueFamilyIndex: 0, pNext: null },
      pAllocator: null,
      pCommandPool: POOL,
    }],
    ["vkAllocateCommandBuffers", {
      device: DEV,
      pAllocateInfo: { commandPool: POOL, level: 0, commandBufferCount: 1, pNext: null },
      pCommandBuffers: [CB],
    }],
    ["vkCreateBuffer", {
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
      pBuffer: BUF,
    }],
    ["vkCreatePipelineLayout", {
      device: DEV,
      pCreateInfo: {
        flags: 0,
        setLayoutCount: 0,
        pSetLayouts: null,
        pushConstantRangeCount: 1,
        pPushConstantRanges: [{ stageFlags: 1, offset: 0, size: 16 }],
        pNext: null,
      },
      pAllocator: null,
      pPipelineLayout: LAYOUT,
    }],
  );
}

function drawLoop(draws: number): Uint8Array {
  const cmds: [string, Args, number?][] = [
    ["vkBeginCommandBuffer", {
      commandBuffer: CB,
      pBeginInfo: { flags: 1, pInheritanceInfo: null, pNext: null },
    }],
  ];
  for (let i = 0; i < draws; i++) {
    cmds.push(
      ["vkCmdSetViewport", {
        commandBuffer: CB,
        firstViewport: 0,
        viewportCount: 1,
        pViewports: [{ x: 0, y: 0, width: 640, height: 480, minDepth: 0, maxDepth: 1 }],
      }],
      ["vkCmdBindVertexBuffers", {
        commandBuffer: CB,
        firstBinding: 0,
        bindingCount: 1,
        pBuffers: [BUF],
        pOffsets: new BigUint64Array([BigInt(i * 64)]),
      }],
      ["vkCmdPushConstants", {
        commandBuffer: CB,
        layout: LAYOUT,
        stageFlags: 1,
        offset: 0,
        size: 16,
        pValues: new Uint8Array(16).fill(i & 0xff),
      }],
      ["vkCmdDraw", {
        commandBuffer: CB,
        vertexCount: 3,
        instanceCount: 1,
        firstVertex: 0,
        firstInstance: 0,
      }],
    );
  }
  cmds.push(["vkEndCommandBuffer", { commandBuffer: CB }]);
  return stream(...cmds);
}

const submit = stream(["vkQueueSubmit", {
  queue: QUEUE,
  submitCount: 1,
  pSubmits: [{
    waitSemaphoreCount: 0,
    pWaitSemaphores: null,
    pWaitDstStageMask: null,
    commandBufferCount: 1,
    pCommandBuffers: [CB],
    signalSemaphoreCount: 0,
    pSignalSemaphores: null,
    pNext: null,
  }],
  fence: 0,
}]);
const notify = stream(["vkNotifyRingMESA", { ring: RING, seqno: 0, flags: 0 }]);

await Deno.mkdir(outDir, { recursive: true });
{
  const cap = CaptureWriter.open(`${outDir}/startup.vcap`, fakeClock());
  cap.record("submit", stream(createRing));
  cap.record("ring", bringUp(), RING);
  cap.record("submit", notify);
  cap.record("ring", drawLoop(8), RING);
  cap.record("ring", submit, RING);
  cap.record("submit", stream(["vkWaitRingSeqnoMESA", { ring: RING, seqno: 0 }]));
  cap.close();
}
{
  const cap = CaptureWriter.open(`${outDir}/cmdbuf.vcap`, fakeClock());
  cap.record("ring", bringUp(), RING);
  for (let i = 0; i < 4; i++) cap.record("ring", drawLoop(64), RING);
  cap.close();
}
{
  const cap = CaptureWriter.open(`${outDir}/fatal.vcap`, fakeClock());
  cap.record("submit", stream(createRing));
  cap.record("ring", bringUp(), RING);
  cap.record("ring", submit.subarray(0, submit.length - 4), RING);
  cap.record("ring", drawLoop(1), RING);
  cap.close();
}
console.log(`wrote synthetic captures to ${outDir}`);
