/** VenusContextBackend: SUBMIT_CMD, reply streams, rings (incl. wrap-around), executed streams. */
import { assert, assertEquals } from "../support/assert.ts";
import type { BackendHost } from "../../src/render/backend.ts";
import {
  FD_TYPE_DMABUF,
  FD_TYPE_SHM,
  type Resource,
  ResourceTable,
} from "../../src/render/resources.ts";
import { VenusContextBackend } from "../../src/venus/backend.ts";
import { RING_STATUS_FATAL } from "../../src/venus/ring.ts";
import { decodeReply, encode, testLogger } from "./helpers.ts";

const RING_ID = 0x55aa00001000;

function fakeResource(resId: number, size: number, fdType = FD_TYPE_SHM): Resource {
  const bytes = new Uint8Array(size);
  return {
    resId,
    fdType,
    size,
    fd: { close() {} },
    mapping: fdType === FD_TYPE_SHM ? { bytes, size, unmap() {} } : null,
  } as unknown as Resource;
}

function setup(bufferSize = 4096) {
  const resources = new ResourceTable();
  const lines: string[] = [];
  const retired: [number, number][] = [];
  const host: BackendHost = {
    ctxId: 7,
    name: "test",
    log: testLogger(lines),
    resources,
    retire: (ring, seqno) => retired.push([ring, seqno]),
  };
  const ringSize = 192 + bufferSize + 4;
  resources.add(fakeResource(1, ringSize));
  resources.add(fakeResource(2, 65536)); // reply pool
  resources.add(fakeResource(3, 65536)); // command pool
  resources.add(fakeResource(4, 4096, FD_TYPE_DMABUF));
  const backend = new VenusContextBackend(host, { vulkan: false });
  const ring = resources.get(1)!.mapping!.bytes;
  const dv = new DataView(ring.buffer);
  const ok = backend.submitCmd(encode("vkCreateRingMESA", {
    ring: RING_ID,
    pCreateInfo: {
      flags: 0,
      resourceId: 1,
      offset: 0,
      size: ringSize,
      idleTimeout: 1000000,
      headOffset: 0,
      tailOffset: 64,
      statusOffset: 128,
      bufferOffset: 192,
      bufferSize,
      extraOffset: 192 + bufferSize,
      extraSize: 4,
      pNext: {
        sType: 1000384006,
        maxReportingPeriodMicroseconds: 3000000,
        pNext: { sType: 1000384007, priority: 0, pNext: null },
      },
    },
  }));
  assert(ok, lines.join());
  let tail = 0;
  /** writes commands into the ring (wrapping) and publishes the tail */
  const push = (...cmds: Uint8Array[]) => {
    for (const c of cmds) {
      for (let i = 0; i < c.length; i++) ring[192 + ((tail + i) & (bufferSize - 1))] = c[i];
      tail += c.length;
    }
    dv.setUint32(64, tail >>> 0, true);
  };
  const notify = () =>
    backend.submitCmd(encode("vkNotifyRingMESA", { ring: RING_ID, seqno: tail, flags: 0 }));
  return {
    backend,
    resources,
    lines,
    retired,
    push,
    notify,
    head: () => dv.getUint32(0, true),
    status: () => dv.getUint32(128, true),
    get tail() {
      return tail;
    },
    reply: resources.get(2)!.mapping!.bytes,
    pool: resources.get(3)!.mapping!.bytes,
  };
}

const setReply = (offset: number, size = 1024) =>
  encode("vkSetReplyCommandStreamMESA", { pStream: { resourceId: 2, offset, size } });

/** vkCreateInstance of instance `id` whose application name is `nameLength` bytes long */
const createInstanceNamed = (id: number, nameLength: number) =>
  encode("vkCreateInstance", {
    pCreateInfo: {
      flags: 0,
      pApplicationInfo: {
        pApplicationName: "n".repeat(nameLength),
        applicationVersion: 1,
        pEngineName: null,
        engineVersion: 0,
        apiVersion: 0,
      },
      enabledLayerCount: 0,
      enabledExtensionCount: 0,
    },
    pAllocator: null,
    pInstance: id,
  });

Deno.test("ring: reply stream + vkCreateInstance through the ring, head advances", () => {
  const t = setup();
  t.push(
    setReply(256),
    encode("vkEnumerateInstanceVersion", { pApiVersion: { value: 0 } }, 1),
    setReply(512),
    encode("vkCreateInstance", {
      pCreateInfo: {
        flags: 0,
        pApplicationInfo: null,
        enabledLayerCount: 0,
        enabledExtensionCount: 0,
      },
      pAllocator: null,
      pInstance: 1,
    }, 1),
  );
  assert(t.notify(), t.lines.join());
  assertEquals(t.head(), t.tail);
  assertEquals(decodeReply("vkEnumerateInstanceVersion", t.reply.subarray(256, 276)), {
    ret: 0,
    pApiVersion: { value: (1 << 22) | (3 << 12) | 269 },
  });
  assertEquals(decodeReply("vkCreateInstance", t.reply.subarray(512, 536)), {
    ret: 0,
    pInstance: 1,
  });
  assertEquals(t.backend.objects.get(1)?.type, 1);
  assertEquals(t.backend.stats().venusCommands, 6);
});

Deno.test("ring: a command straddling the end of the buffer is decoded (copying only it)", () => {
  const t = setup(256);
  t.backend.objects.create(6, 0x2a);
  const draw = encode("vkCmdDraw", {
    commandBuffer: 0x2a,
    vertexCount: 3,
    instanceCount: 1,
    firstVertex: 0,
    firstInstance: 0,
  });
  // 7 draws = 224 bytes, then repeatedly push batches that wrap
  let draws = 0;
  for (let round = 0; round < 20; round++) {
    const batch = Array.from({ length: 5 }, () => draw);
    t.push(...batch);
    draws += batch.length;
    assert(t.notify(), t.lines.join());
    assertEquals(t.head(), t.tail);
  }
  const ring = t.backend.rings.get(String(RING_ID))!;
  assert(ring.straddles === 0, "32-byte commands in a 256-byte ring never straddle");
  // a 36-byte command does straddle
  for (let i = 0; i < 20; i++) {
    t.push(setReply(0));
    assert(t.notify(), t.lines.join());
  }
  assert(ring.straddles > 0);
  assertEquals(t.head(), t.tail);
  assertEquals(ring.decoder.commands, draws + 20);
});

Deno.test("ring: vkExecuteCommandStreamsMESA decodes an SHM range with the ring's reply stream", () => {
  const t = setup();
  t.backend.objects.create(6, 0x2a);
  const inner = encode("vkCmdDraw", {
    commandBuffer: 0x2a,
    vertexCount: 3,
    instanceCount: 1,
    firstVertex: 0,
    firstInstance: 0,
  }, 1);
  t.pool.set(inner, 100);
  t.push(
    setReply(0),
    encode("vkExecuteCommandStreamsMESA", {
      streamCount: 1,
      pStreams: [{ resourceId: 3, offset: 100, size: inner.length }],
      pReplyPositions: null,
      dependencyCount: 0,
      pDependencies: null,
      flags: 0,
    }),
  );
  assert(t.notify(), t.lines.join());
  assertEquals([...t.reply.subarray(0, 4)], [0x6a, 0, 0, 0]);
});

Deno.test("ring: vkWaitVirtqueueSeqnoMESA blocks the ring until the context submits the seqno", () => {
  const t = setup();
  t.push(
    encode("vkWaitVirtqueueSeqnoMESA", { seqno: 1 }),
    setReply(0),
    encode("vkEnumerateInstanceVersion", { pApiVersion: { value: 0 } }, 1),
  );
  assert(t.notify());
  assertEquals(t.head(), 0);
  assert(t.backend.submitCmd(encode("vkSubmitVirtqueueSeqnoMESA", { ring: RING_ID, seqno: 1 })));
  assertEquals(t.head(), t.tail);
  assert(t.backend.submitCmd(encode("vkWaitRingSeqnoMESA", { ring: RING_ID, seqno: t.tail })));
});

Deno.test("ring: a malformed ring command sets FATAL and makes the context fatal", () => {
  const t = setup();
  t.push(new Uint8Array([0x1b, 1, 0, 0, 0, 0, 0, 0]));
  assertEquals(t.notify(), false);
  assert((t.status() & RING_STATUS_FATAL) !== 0);
  assert(t.lines.some((l) => l.includes("unknown command type 283")), t.lines.join());
  assertEquals(t.backend.submitCmd(encode("vkWaitVirtqueueSeqnoMESA", { seqno: 1 })), false);
});

Deno.test("context-only and ring-only commands are enforced; unknown rings are fatal", () => {
  const t = setup();
  assertEquals(t.backend.submitCmd(encode("vkWaitVirtqueueSeqnoMESA", { seqno: 1 })), false);
  const u = setup();
  assertEquals(
    u.backend.submitCmd(encode("vkNotifyRingMESA", { ring: 99, seqno: 0, flags: 0 })),
    false,
  );
  const v = setup();
  v.push(encode("vkDestroyRingMESA", { ring: RING_ID }));
  assertEquals(v.notify(), false);
});

Deno.test("reply stream errors: outside the resource, not SHM, no stream", () => {
  for (
    const cmd of [
      encode("vkSetReplyCommandStreamMESA", {
        pStream: { resourceId: 2, offset: 65000, size: 1000 },
      }),
      encode("vkSetReplyCommandStreamMESA", { pStream: { resourceId: 4, offset: 0, size: 16 } }),
      encode("vkEnumerateInstanceVersion", { pApiVersion: { value: 0 } }, 1),
    ]
  ) {
    const t = setup();
    assertEquals(t.backend.submitCmd(cmd), false);
  }
});

Deno.test("queue timelines bound by vkGetDeviceQueue2 retire fences; others are fatal", () => {
  const t = setup();
  t.backend.objects.create(3, 10); // VkDevice
  assertEquals(t.backend.submitFence(1, 5, 0), false);
  assert(
    t.backend.submitCmd(encode("vkGetDeviceQueue2", {
      device: 10,
      pQueueInfo: {
        flags: 0,
        queueFamilyIndex: 0,
        queueIndex: 0,
        pNext: { sType: 1000384005, ringIdx: 1, pNext: null },
      },
      pQueue: 11,
    })),
    t.lines.join(),
  );
  assert(t.backend.submitFence(1, 5, 0));
  assertEquals(t.retired, [[1, 5]]);
  assertEquals(t.backend.objects.get(11)?.type, 4);
});

Deno.test("destroying a ring's SHM resource is fatal; destroying the reply resource unsets it", () => {
  const t = setup();
  t.backend.resourceDestroyed(1);
  assert(t.backend.fatal.fatal);
});

Deno.test("ring: a large straddling command grows the scratch window", () => {
  const t = setup(8192);
  const ring = t.backend.rings.get(String(RING_ID))!;
  const filler = setReply(0);
  for (let i = 0; i < 190; i++) t.push(filler); // 6840 bytes
  assert(t.notify(), t.lines.join());
  const big = createInstanceNamed(5, 6000);
  t.push(big, filler);
  assert(t.notify(), t.lines.join());
  assertEquals(t.head(), t.tail);
  assertEquals(ring.straddles, 1);
  assertEquals(t.backend.objects.get(5)?.type, 1);
  assert(ring.copiedBytes < 3 * big.length, `copied ${ring.copiedBytes}`);
});

Deno.test("ring status: ALIVE at creation, IDLE only after the idle timeout, ALIVE refreshed", () => {
  const t = setup();
  assertEquals(t.status() & 0x5, 0x4, "monitored: ALIVE at once; active, so not IDLE");
  assertEquals(t.backend.monitorPeriodMs, 3000);
  const r = t.backend.rings.get(String(RING_ID))!;
  t.push(setReply(0));
  assert(t.notify());
  assertEquals(t.head(), t.tail);
  assertEquals(t.status() & 0x1, 0);
  const t0 = r.lastActiveMs;
  assert(r.service(t0 + 0.5) !== Infinity, "before the 1 ms idle timeout: still polled");
  assertEquals(t.status() & 0x1, 0);
  r.nextPollMs = 0;
  assertEquals(r.service(t0 + 1), Infinity, "idle timeout reached: asleep");
  assertEquals(t.status() & 0x1, 0x1);
  assert(t.notify());
  assertEquals(t.status() & 0x1, 0, "a notify wakes it");
  // the guest clears ALIVE; the monitor sets it again
  const dv = new DataView(r.u8.buffer);
  dv.setUint32(128, t.status() & ~0x4, true);
  t.backend.refreshAlive();
  assertEquals(t.status() & 0x4, 0x4);
  assert(t.backend.pollRings());
});

Deno.test("ring status: a drain that outlasts the idle timeout does not send the ring to sleep", () => {
  const t = setup();
  const r = t.backend.rings.get(String(RING_ID))!;
  // the drain ends 5 ms after it began (a long driver call, a preemption)
  let clock = 100;
  r.clock = () => clock;
  r.wake(95);
  t.push(setReply(0));
  clock = 105;
  assertEquals(r.service(100), 100, "progress: again at once");
  assertEquals(r.lastActiveMs, 105, "active until the drain ended");
  assert(r.service(105.5) !== Infinity, "0.5 ms after the drain: still polled");
  r.nextPollMs = 0;
  assertEquals(t.status() & 0x1, 0);
  assertEquals(r.service(106), Infinity, "a full idle timeout after the drain: asleep");
  assertEquals(t.status() & 0x1, 0x1);
});

Deno.test("tick() drains rings without a notify and asks to be called again", () => {
  const t = setup();
  t.push(setReply(0));
  assertEquals(t.head(), 0);
  const d = t.backend.tick();
  assertEquals(t.head(), t.tail);
  assert(d !== false && d >= 0 && d <= 1, `delay ${d}`);
  const u = setup();
  u.backend.submitCmd(encode("vkDestroyRingMESA", { ring: RING_ID }));
  assertEquals(u.backend.tick(), -1);
});

Deno.test("instance-level answers: the two protocol instance extensions", () => {
  const t = setup();
  const props = [{}, {}, {}];
  t.push(
    setReply(0),
    encode("vkEnumerateInstanceExtensionProperties", {
      pLayerName: null,
      pPropertyCount: { value: 3 },
      pProperties: props,
    }, 1),
  );
  assert(t.notify(), t.lines.join());
  const r = decodeReply(
    "vkEnumerateInstanceExtensionProperties",
    t.reply.subarray(0, 4096 - 0).subarray(0, 4 + 4 + 12 + 8 + 2 * 268),
  );
  assertEquals(r.ret, 0);
  assertEquals(r.pPropertyCount, { value: 2 });
});

/**
 * A model check of the ring's batch logic against a guest that writes like
 * Mesa's (whole commands, tail published after them, only into free space):
 * random command sizes in small buffers (many wraps and straddling
 * commands), random drain budgets, and commands that park the ring
 * (vkWaitVirtqueueSeqnoMESA) until the context stream moves the virtqueue
 * seqno on. After every step the head must sit on a command boundary, and
 * exactly the instances created by commands before it must exist.
 */
Deno.test("ring: random sizes, budgets and parked commands execute every command once, in order", () => {
  let seed = 0x2545f491;
  const rand = (n: number) => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) % n;
  };
  for (const bufferSize of [256, 512, 1024]) {
    const t = setup(bufferSize);
    const ring = t.backend.rings.get(String(RING_ID))!;
    let nextId = 100;
    let vq = 0; // virtqueue seqno the context stream has submitted
    let awaited = 0; // highest seqno a pushed wait asks for
    /** [end position, instance id or 0] of every pushed command */
    const cmds: [number, number][] = [];
    let steps = 0;
    let parkedDrains = 0;
    const check = (what: string) => {
      const head = t.head();
      assertEquals(t.status() & RING_STATUS_FATAL, 0, `${what}: ${t.lines.slice(-3).join(" | ")}`);
      const done = head === 0 ? 0 : cmds.findIndex(([end]) => end === head) + 1;
      assert(done > 0 || head === 0, `${what}: head ${head} is not on a command boundary`);
      for (let i = 0; i < cmds.length; i++) {
        const id = cmds[i][1];
        if (id) assertEquals(t.backend.objects.get(id) !== undefined, i < done, `${what}: ${id}`);
      }
    };
    while (steps < 3000) {
      steps++;
      const what = `buffer ${bufferSize}, step ${steps}`;
      switch (rand(4)) {
        case 0:
        case 1: { // the guest writes a few commands where they fit
          for (let k = 1 + rand(4); k > 0; k--) {
            let bytes: Uint8Array;
            let id = 0;
            const kind = rand(8);
            const wait = kind === 0 && vq === awaited;
            if (wait) {
              bytes = encode("vkWaitVirtqueueSeqnoMESA", { seqno: awaited + 1 });
            } else if (kind < 4) {
              bytes = setReply(rand(64) * 16, 64);
            } else {
              id = nextId++;
              bytes = createInstanceNamed(id, rand(bufferSize / 2 - 96));
            }
            if (t.tail + bytes.length - t.head() > bufferSize) {
              if (id) nextId--;
              break;
            }
            if (wait) awaited++;
            t.push(bytes);
            cmds.push([t.tail, id]);
          }
          break;
        }
        case 2: // the ring drains with a random budget
          ring.drain(1 + rand(bufferSize));
          if (ring.yielded) parkedDrains++;
          break;
        case 3: // the context stream moves the virtqueue seqno on
          if (vq < awaited) {
            vq++;
            assert(
              t.backend.submitCmd(
                encode("vkSubmitVirtqueueSeqnoMESA", { ring: RING_ID, seqno: vq }),
              ),
              t.lines.join(),
            );
          }
          break;
      }
      check(what);
    }
    // the guest stops: everything it wrote executes
    while (vq < awaited) {
      vq++;
      t.backend.submitCmd(encode("vkSubmitVirtqueueSeqnoMESA", { ring: RING_ID, seqno: vq }));
    }
    for (let i = 0; i < 64 && t.head() !== t.tail; i++) ring.drain(1 + rand(bufferSize));
    check(`buffer ${bufferSize}, end`);
    assertEquals(t.head(), t.tail);
    assert(ring.straddles > 0, `buffer ${bufferSize}: no command straddled the end`);
    assert(parkedDrains > 0, `buffer ${bufferSize}: no drain stopped at a parked command`);
  }
});
