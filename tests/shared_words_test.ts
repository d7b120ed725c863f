/**
 * Words shared with a guest are never torn: a Venus ring's tail (read while
 * the guest publishes it) and head (stored while the guest waits on it), and
 * a virtqueue's avail.idx (read while the driver publishes it).
 *
 * V8's unoptimized DataView getters and setters move a multi-byte value a
 * byte at a time. A ring that read its tail that way could see a tail in the
 * middle of a command ("read of N bytes past the end of the stream" on a
 * healthy guest, seen twice in CI on fresh workers), and a queue could see
 * avail.idx jump by 256 and mark itself corrupt. The probe
 * (support/torn_words_probe.ts) races a Worker playing the guest against
 * each accessor with V8 kept unoptimized, beside a DataView control that
 * shows the race is real on this machine.
 */
import { assert, assertEquals } from "./support/assert.ts";
import { OwnedFd } from "../ffi/fd.ts";
import { ftruncate, memfdCreate } from "../ffi/libc.ts";
import { GuestMemory } from "../src/gpu2d/guest_memory.ts";
import { SplitQueue } from "../src/gpu2d/virtqueue.ts";
import { ringLayout } from "../src/venus/ring.ts";

const PROBE = new URL("./support/torn_words_probe.ts", import.meta.url).pathname;

Deno.test("shared ring and virtqueue words are read and written whole, never torn", async () => {
  const o = await new Deno.Command(Deno.execPath(), {
    // its own flags: keep them out of the shared code cache
    args: ["run", "--no-code-cache", "--v8-flags=--max-opt=0", "-A", PROBE, "300"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(o.stderr);
  assertEquals(o.code, 0, err);
  const r = JSON.parse(new TextDecoder().decode(o.stdout)) as Record<string, number>;
  const seen = JSON.stringify(r);
  for (const k of ["ring_tail", "ring_head", "queue_avail"]) {
    assert(r[`${k}_reads`] > 10_000, `${k}: too few reads to mean anything: ${seen}`);
    assertEquals(r[k], 0, `${k} torn: ${seen}`);
  }
  // the control: with two CPUs the same race tears a DataView's accesses
  if (navigator.hardwareConcurrency >= 2) {
    assert(
      r.control_tail + r.control_head + r.control_avail > 0,
      `the DataView control never tore: the probe did not race: ${seen}`,
    );
  }
});

Deno.test("shared words must be aligned: a ring at an odd offset, virtqueue rings off alignment", () => {
  const ci = {
    resourceId: 1,
    offset: 2,
    size: 4096,
    idleTimeout: 0,
    headOffset: 0,
    tailOffset: 4,
    statusOffset: 8,
    bufferOffset: 64,
    bufferSize: 1024,
    extraOffset: 2048,
    extraSize: 4,
  };
  assertEquals(ringLayout(ci, 8192), "ring offset 2 not 4-byte aligned");
  assertEquals(typeof ringLayout({ ...ci, offset: 4 }, 8192), "object");

  const fd = new OwnedFd(memfdCreate("vesper-align", 0));
  ftruncate(fd.fd, 4096);
  const mem = new GuestMemory();
  mem.add({ gpa: 0, size: 4096, uva: 0x10000, mmapOffset: 0 }, fd);
  const q = new SplitQueue(0, mem);
  q.num = 4;
  const at = (avail: number, used: number) =>
    q.setAddrs({ desc: 0x10000, avail: 0x10000 + avail, used: 0x10000 + used });
  assert(at(0x100, 0x200), "virtio's alignment (avail 2, used 4) is accepted");
  assert(!at(0x101, 0x200), "avail.idx at an odd address");
  assert(!at(0x100, 0x202), "used ring not 4-byte aligned");
  mem.clear();
});
