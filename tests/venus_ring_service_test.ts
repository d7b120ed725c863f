/**
 * Ring service in the context worker loop (venus-runtime.md §4.1), end to
 * end: a real server (both worker modes), real context sockets, rings in
 * real SHM blobs created with CREATE_RESOURCE and mapped here, commands
 * written by this test acting as the guest.
 *
 * - an active ring is drained without vkNotifyRingMESA; IDLE appears only
 *   after the ring's idle timeout, and an idle ring costs nothing (no
 *   wake-ups, no CPU) until a notify;
 * - ALIVE comes back within the monitor period after the guest clears it,
 *   also while the context stream is busy;
 * - a ring stopped in vkWaitVirtqueueSeqnoMESA stalls neither the context
 *   socket nor another ring, and resumes on vkSubmitVirtqueueSeqnoMESA;
 * - a flooding ring does not starve the context socket;
 * - a ring with garbage goes FATAL and ends only its own context.
 */
import { assert, assertEquals } from "./support/assert.ts";
import {
  type ContextClient,
  harmlessStream,
  RenderClient,
  settled,
  sleep,
  vesperSpec,
  waitFor,
} from "./support/render_client.ts";
import { Mapping } from "../ffi/mmap.ts";
import type { OwnedFd } from "../ffi/fd.ts";
import * as P from "../src/render/protocol.ts";
import { FD_TYPE_SHM } from "../src/render/resources.ts";
import { RING_STATUS_ALIVE, RING_STATUS_FATAL, RING_STATUS_IDLE } from "../src/venus/ring.ts";
import { encode } from "./venus/helpers.ts";

const HEAD = 0, TAIL = 64, STATUS = 128, BUFFER = 192;

interface RingOptions {
  bufferSize?: number;
  idleTimeoutNs?: number;
  /** VkRingMonitorInfoMESA period; 0 = not monitored */
  monitorUs?: number;
}

/** The guest side of one ring: Mesa's layout in an SHM blob of the context. */
class GuestRing {
  readonly map: Mapping;
  readonly fd: OwnedFd;
  readonly bufferSize: number;
  readonly i32: Int32Array;
  tail = 0;

  constructor(
    readonly ctx: ContextClient,
    readonly id: number,
    readonly resId: number,
    opts: RingOptions = {},
  ) {
    this.bufferSize = opts.bufferSize ?? 4096;
    const size = BUFFER + this.bufferSize + 4;
    const r = ctx.createResource({
      resId,
      blobId: 0n,
      blobSize: BigInt(size),
      blobFlags: P.BLOB_FLAG_USE_MAPPABLE,
    });
    assertEquals(r.fdType, FD_TYPE_SHM);
    this.fd = r.fd!;
    this.map = Mapping.map(this.fd.fd, size);
    this.i32 = new Int32Array(this.map.bytes.buffer, 0, size >> 2);
    const monitorUs = opts.monitorUs ?? 3_000_000;
    const ok = ctx.submitCmd(encode("vkCreateRingMESA", {
      ring: id,
      pCreateInfo: {
        flags: 0,
        resourceId: resId,
        offset: 0,
        size,
        idleTimeout: opts.idleTimeoutNs ?? 1_000_000,
        headOffset: HEAD,
        tailOffset: TAIL,
        statusOffset: STATUS,
        bufferOffset: BUFFER,
        bufferSize: this.bufferSize,
        extraOffset: BUFFER + this.bufferSize,
        extraSize: 4,
        pNext: monitorUs
          ? { sType: 1000384006, maxReportingPeriodMicroseconds: monitorUs, pNext: null }
          : null,
      },
    }));
    assert(ok, "SUBMIT_CMD vkCreateRingMESA");
  }

  get head(): number {
    return Atomics.load(this.i32, HEAD >> 2) >>> 0;
  }
  get status(): number {
    return Atomics.load(this.i32, STATUS >> 2);
  }
  /** the guest's side of the monitor handshake */
  clearAlive(): void {
    Atomics.and(this.i32, STATUS >> 2, ~RING_STATUS_ALIVE);
  }

  /** Writes commands (wrapping) and publishes the new tail; no notify. */
  push(...cmds: Uint8Array[]): number {
    const u8 = this.map.bytes;
    for (const c of cmds) {
      for (let i = 0; i < c.length; i++) {
        u8[BUFFER + ((this.tail + i) & (this.bufferSize - 1))] = c[i];
      }
      this.tail = (this.tail + c.length) >>> 0;
    }
    Atomics.store(this.i32, TAIL >> 2, this.tail | 0);
    return this.tail;
  }

  /** What Mesa does: publish, then notify only when the ring shows IDLE. */
  submit(...cmds: Uint8Array[]): boolean {
    this.push(...cmds);
    return (this.status & RING_STATUS_IDLE) === 0 || this.notify();
  }

  notify(): boolean {
    return this.ctx.submitCmd(encode("vkNotifyRingMESA", { ring: this.id, seqno: 0, flags: 0 }));
  }

  drained(): boolean {
    return this.head === this.tail;
  }

  close(): void {
    this.map.unmap();
    this.fd.close();
  }
}

/** Voluntary context switches and CPU ticks of the server and its worker processes. */
function activity(c: RenderClient): { switches: number; cpuTicks: number } {
  let switches = 0, cpuTicks = 0;
  for (const pid of [c.pid, ...c.workers()]) {
    try {
      for (const t of Deno.readDirSync(`/proc/${pid}/task`)) {
        const st = Deno.readTextFileSync(`/proc/${pid}/task/${t.name}/status`);
        switches += Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(st)?.[1] ?? 0);
        const stat = Deno.readTextFileSync(`/proc/${pid}/task/${t.name}/stat`);
        const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        cpuTicks += Number(f[11]) + Number(f[12]); // utime, stime
      }
    } catch { /* gone */ }
  }
  return { switches, cpuTicks };
}

async function activityOver(c: RenderClient, ms: number) {
  const a = activity(c);
  await sleep(ms);
  const b = activity(c);
  return { switches: b.switches - a.switches, cpuTicks: b.cpuTicks - a.cpuTicks };
}

/** Waits (up to 10 s) until the server and its workers used no CPU for 100 ms. */
async function quiet(c: RenderClient): Promise<void> {
  const end = performance.now() + 10_000;
  while (performance.now() < end) {
    const n = c.workers().length;
    if ((await activityOver(c, 100)).cpuTicks === 0 && c.workers().length === n) return;
  }
}

async function withContext(
  mode: "process" | "thread",
  body: (c: RenderClient, ctx: ContextClient) => Promise<void>,
): Promise<void> {
  const c = RenderClient.start(vesperSpec(mode, "info"));
  try {
    c.init();
    const ctx = c.createContext(1, "ring-test");
    assert(ctx, "CREATE_CONTEXT refused");
    ctx.init();
    assert(await ctx.roundTrip(1), "first fence did not retire");
    // the server starts its next spare a while after the context: let it load first,
    // so that what the tests measure is the context's own activity
    await settled(c);
    await quiet(c);
    await body(c, ctx);
    ctx.close();
    assert((await c.close()) !== null, "server did not exit");
  } catch (e) {
    console.error(`--- ${mode} log ---\n${c.log()}`);
    throw e;
  } finally {
    await c.kill();
  }
}

for (const mode of ["process", "thread"] as const) {
  Deno.test(`${mode}: an active ring drains without notify; IDLE only after the idle timeout, then no polling`, async () => {
    await withContext(mode, async (c, ctx) => {
      const ring = new GuestRing(ctx, 0x1000, 10, { idleTimeoutNs: 50_000_000 });
      assert(await ctx.roundTrip(2));
      assertEquals(ring.status & (RING_STATUS_IDLE | RING_STATUS_FATAL), 0, "active at creation");
      assert(ring.status & RING_STATUS_ALIVE, "monitored: ALIVE at creation");

      // no notify: the worker polls the active ring
      ring.push(harmlessStream(10));
      assert(await waitFor(() => ring.drained(), 2000, 1), "ring not drained without notify");
      const drainedAt = performance.now();
      assertEquals(ring.status & RING_STATUS_IDLE, 0, "IDLE right after data");
      assert(await waitFor(() => (ring.status & RING_STATUS_IDLE) !== 0, 3000, 1), "never IDLE");
      const idleAfter = performance.now() - drainedAt;
      assert(idleAfter >= 40, `IDLE after ${idleAfter.toFixed(1)} ms, idle timeout is 50 ms`);

      // idle: the worker sleeps in the kernel (only the ALIVE refresh every 1.5 s)
      const idle = await activityOver(c, 300);
      assert(idle.switches < 20, `idle context woke up ${idle.switches} times in 300 ms`);
      assert(idle.cpuTicks <= 3, `idle context used ${idle.cpuTicks} CPU ticks in 300 ms`);

      // asleep: data without notify stays where it is; a notify wakes the ring
      ring.push(harmlessStream(3));
      await sleep(30);
      assert(!ring.drained(), "an IDLE ring was polled");
      assert(ring.notify());
      assert(await waitFor(() => ring.drained(), 2000, 1), "notify did not drain");
      assertEquals(ring.status & RING_STATUS_IDLE, 0, "woken: IDLE cleared");
      ring.close();
    });
  });

  Deno.test(`${mode}: an active ring is polled with back-off, not a busy spin`, async () => {
    await withContext(mode, async (c, ctx) => {
      const ring = new GuestRing(ctx, 0x1000, 10, { idleTimeoutNs: 60_000_000_000 });
      assert(await ctx.roundTrip(2));
      await sleep(20); // past the fast part of the back-off
      const busy = await activityOver(c, 300);
      // ~1 ms between polls: a few hundred wake-ups, a few ms of CPU
      assert(busy.switches >= 50, `active ring polled only ${busy.switches} times in 300 ms`);
      assert(busy.cpuTicks <= 15, `active ring used ${busy.cpuTicks} CPU ticks in 300 ms`);
      ring.push(harmlessStream(2));
      assert(await waitFor(() => ring.drained(), 2000, 1));
      ring.close();
    });
  });

  Deno.test(`${mode}: ALIVE comes back within the monitor period, also while the socket is busy`, async () => {
    await withContext(mode, async (_c, ctx) => {
      const ring = new GuestRing(ctx, 0x1000, 10, { monitorUs: 200_000 });
      assert(await ctx.roundTrip(2));
      assert(ring.status & RING_STATUS_ALIVE);
      for (let round = 0; round < 3; round++) {
        ring.clearAlive();
        const t0 = performance.now();
        assert(
          await waitFor(() => (ring.status & RING_STATUS_ALIVE) !== 0, 1000, 1),
          "ALIVE not set again",
        );
        const dt = performance.now() - t0;
        assert(dt <= 200, `ALIVE back after ${dt.toFixed(1)} ms; period is 200 ms`);
      }
      // the context stream is busy: ALIVE still comes back
      const stream = harmlessStream(256);
      ring.clearAlive();
      const t0 = performance.now();
      let seqno = 10;
      while ((ring.status & RING_STATUS_ALIVE) === 0 && performance.now() - t0 < 1000) {
        for (let i = 0; i < 20; i++) assert(ctx.submitCmd(stream));
        assert(await ctx.roundTrip(++seqno));
      }
      const dt = performance.now() - t0;
      assert(ring.status & RING_STATUS_ALIVE, "ALIVE not set while the socket was busy");
      assert(dt <= 250, `ALIVE back after ${dt.toFixed(1)} ms under load; period is 200 ms`);
      ring.close();
    });
  });

  Deno.test(`${mode}: a ring waiting in vkWaitVirtqueueSeqnoMESA stalls neither the socket nor another ring`, async () => {
    await withContext(mode, async (c, ctx) => {
      const a = new GuestRing(ctx, 0xa000, 10, { idleTimeoutNs: 1_000_000 });
      const b = new GuestRing(ctx, 0xb000, 11, { idleTimeoutNs: 1_000_000 });
      assert(await ctx.roundTrip(2));
      assert(a.submit(encode("vkWaitVirtqueueSeqnoMESA", { seqno: 1 }), harmlessStream(4)));
      assert(b.submit(harmlessStream(4)));
      assert(await waitFor(() => b.drained(), 2000, 1), "ring B stalled");
      assert(await ctx.roundTrip(3), "fence on ring 0 stalled");
      await sleep(20);
      assertEquals(a.head, 0, "ring A went past its wait");
      assertEquals(a.status & RING_STATUS_IDLE, 0, "a ring inside a wait is not IDLE");
      // B goes to sleep and wakes as usual meanwhile
      assert(await waitFor(() => (b.status & RING_STATUS_IDLE) !== 0, 2000, 1));
      b.push(harmlessStream(2));
      assert(b.notify());
      assert(await waitFor(() => b.drained(), 2000, 1), "ring B stalled after a notify");
      // the parked ring costs nothing
      const parked = await activityOver(c, 300);
      assert(parked.switches < 20, `parked ring: ${parked.switches} wake-ups in 300 ms`);
      // the context submits the seqno: A resumes
      assert(ctx.submitCmd(encode("vkSubmitVirtqueueSeqnoMESA", { ring: a.id, seqno: 1 })));
      assert(await waitFor(() => a.drained(), 2000, 1), "ring A did not resume");
      assert(await ctx.roundTrip(4));
      a.close();
      b.close();
    });
  });

  Deno.test(`${mode}: a flooding ring does not starve the context socket`, async () => {
    await withContext(mode, async (_c, ctx) => {
      const size = 8 << 20;
      const ring = new GuestRing(ctx, 0x1000, 10, { bufferSize: size });
      assert(await ctx.roundTrip(2));
      assert(ring.submit(harmlessStream(size / 16 - 1)));
      const t0 = performance.now();
      assert(await ctx.roundTrip(3), "fence did not retire");
      const fenceMs = performance.now() - t0;
      const headAtFence = ring.head;
      assert(await waitFor(() => ring.drained(), 20000, 1), "ring not drained");
      const drainMs = performance.now() - t0;
      if (drainMs > 20) {
        assert(
          headAtFence !== ring.tail,
          `fence took ${fenceMs.toFixed(1)} ms, waited for the ${drainMs.toFixed(1)} ms drain`,
        );
      }
      ring.close();
    });
  });
}

Deno.test("a garbage ring goes FATAL and ends only its own context", async () => {
  const c = RenderClient.start(vesperSpec("process", "info"));
  try {
    c.init();
    const bad = c.createContext(1, "bad")!;
    const good = c.createContext(2, "good")!;
    bad.init();
    good.init();
    assert(await bad.roundTrip(1));
    assert(await good.roundTrip(1));
    const r1 = new GuestRing(bad, 0x1000, 10, { idleTimeoutNs: 10_000_000_000 }); // stays active
    const r2 = new GuestRing(good, 0x1000, 10);
    assert(await bad.roundTrip(2));
    assert(await good.roundTrip(2));
    // unknown command type 283, found by the worker's polling (no notify)
    r1.push(new Uint8Array([0x1b, 1, 0, 0, 0, 0, 0, 0]));
    assert(await waitFor(() => (r1.status & RING_STATUS_FATAL) !== 0, 2000, 1), "no FATAL");
    assert(await bad.waitClosed(), "the fatal context's worker is still serving");
    assert(r2.submit(harmlessStream(4)));
    assert(await waitFor(() => r2.drained(), 2000, 1), "the other context's ring stalled");
    assert(await good.roundTrip(3), "the other context stalled");
    assertEquals(r2.status & RING_STATUS_FATAL, 0);
    assert(c.log().includes("unknown command type 283"), "the fatal error is logged");
    r1.close();
    r2.close();
    bad.close();
    good.close();
    assert((await c.close()) !== null);
  } catch (e) {
    console.error(`--- log ---\n${c.log()}`);
    throw e;
  } finally {
    await c.kill();
  }
});
