/**
 * The timeline-feedback guard (src/venus/vulkan/feedback_guard.ts) on real
 * memfd-backed mappings: how it learns a semaphore's slot from the feedback
 * copy of a submitted batch, holds a guest signal until the guest's own
 * slot write is there, and lets it go after the grace period. The race it
 * closes is covered end to end by the sync/nomem workloads through Mesa.
 */
import { assert, assertEquals } from "../support/assert.ts";
import { Logger } from "../../src/log.ts";
import { HostMemoryTable } from "../../src/venus/vulkan/host_memory.ts";
import { FeedbackGuard, GRACE_MS } from "../../src/venus/vulkan/feedback_guard.ts";

const MEM = 7, SRC_BUF = 20, DST_BUF = 21, OTHER_BUF = 22, CMD = 30, SEM = 40, SEM2 = 41;

function setup() {
  const table = new HostMemoryTable(new Logger("test", "error"), 1 << 30);
  const mem = table.create(4096, 0x6, "test")!;
  table.bind(MEM, mem);
  const guard = new FeedbackGuard(table);
  const view = mem.map.view;
  // like Mesa's feedback pool: one buffer over the memory, slots at offsets
  guard.bindBuffer(SRC_BUF, MEM, 0);
  guard.bindBuffer(DST_BUF, MEM, 0);
  return { table, guard, view };
}

/** Records Mesa's feedback command: copy 8 bytes src slot → dst slot. */
function recordFeedback(guard: FeedbackGuard, srcOff: number, dstOff: number) {
  guard.resetCommandBuffer(CMD);
  guard.copyBuffer(CMD, SRC_BUF, DST_BUF, [{ srcOffset: srcOff, dstOffset: dstOff, size: 8 }]);
}

Deno.test("feedback guard: a signal waits for the guest's slot write, then runs", () => {
  const { table, guard, view } = setup();
  try {
    recordFeedback(guard, 256, 128);
    view.setBigUint64(256, 2n, true); // the guest writes the signal value into the src slot
    guard.submitBatch([CMD], [{ semaphore: SEM, value: 2n }]);
    // vkSignalSemaphore(SEM, 1) arrives before the guest wrote 1 into the slot (still 0)
    assertEquals(guard.signalReady(SEM, 1, 1000), false);
    assertEquals(guard.signalReady(SEM, 1, 1001), false);
    view.setBigUint64(128, 1n, true); // the guest's late write
    assertEquals(guard.signalReady(SEM, 1, 1002), true);
    assertEquals(guard.stats, { held: 1, expired: 0 });
    // a slot already at (or past) the value never holds
    assertEquals(guard.signalReady(SEM, 1, 1003), true);
  } finally {
    table.releaseAll();
  }
});

Deno.test("feedback guard: a slot that is never written lets the signal go after the grace period", () => {
  const { table, guard, view } = setup();
  try {
    recordFeedback(guard, 256, 128);
    view.setBigUint64(256, 5n, true);
    guard.submitBatch([CMD], [{ semaphore: SEM, value: 5n }]);
    assertEquals(guard.signalReady(SEM, 3, 0), false);
    assertEquals(guard.signalReady(SEM, 3, GRACE_MS - 1), false);
    assertEquals(guard.signalReady(SEM, 3, GRACE_MS), true);
    assertEquals(guard.stats, { held: 1, expired: 1 });
  } finally {
    table.releaseAll();
  }
});

Deno.test("feedback guard: nothing is learned from what is not a feedback copy", () => {
  const { table, guard, view } = setup();
  try {
    // a semaphore never seen in a submission: signals run at once
    assert(guard.signalReady(SEM2, 9, 0));
    // a copy of 16 bytes, a copy into an unbound buffer: not feedback
    guard.copyBuffer(CMD, SRC_BUF, DST_BUF, [{ srcOffset: 256, dstOffset: 128, size: 16 }]);
    guard.copyBuffer(CMD, SRC_BUF, OTHER_BUF, [{ srcOffset: 256, dstOffset: 128, size: 8 }]);
    view.setBigUint64(256, 4n, true);
    guard.submitBatch([CMD], [{ semaphore: SEM, value: 4n }]);
    assert(guard.signalReady(SEM, 1, 0));
    // two semaphores signalled with the same value: ambiguous, not learned
    recordFeedback(guard, 256, 128);
    guard.submitBatch([CMD], [{ semaphore: SEM, value: 4n }, { semaphore: SEM2, value: 4n }]);
    assert(guard.signalReady(SEM, 1, 0));
    assert(guard.signalReady(SEM2, 1, 0));
    // the source slot holds another value than the signal: not this semaphore's copy
    guard.submitBatch([CMD], [{ semaphore: SEM, value: 6n }]);
    assert(guard.signalReady(SEM, 1, 0));
    // learned, then the semaphore is destroyed: forgotten
    guard.submitBatch([CMD], [{ semaphore: SEM, value: 4n }]);
    assertEquals(guard.signalReady(SEM, 1, 0), false);
    guard.destroySemaphore(SEM);
    assert(guard.signalReady(SEM, 1, 0));
  } finally {
    table.releaseAll();
  }
});

Deno.test("feedback guard: freed memory or a slot past its end is never read", () => {
  const { table, guard, view } = setup();
  try {
    guard.resetCommandBuffer(CMD);
    guard.copyBuffer(CMD, SRC_BUF, DST_BUF, [{ srcOffset: 256, dstOffset: 4092, size: 8 }]);
    view.setBigUint64(256, 2n, true);
    guard.submitBatch([CMD], [{ semaphore: SEM, value: 2n }]);
    assert(guard.signalReady(SEM, 1, 0), "slot straddling the end of the memory");
    recordFeedback(guard, 256, 128);
    guard.submitBatch([CMD], [{ semaphore: SEM, value: 2n }]);
    assertEquals(guard.signalReady(SEM, 1, 0), false);
    table.release(MEM);
    assert(guard.signalReady(SEM, 1, 1), "memory freed");
  } finally {
    table.releaseAll();
  }
});
