/**
 * Host-visible memory backing (src/venus/vulkan/host_memory.ts) on real
 * memfds: the reuse pool of freed, never-exported memfds, and that exported
 * memory is never reused (the VMM and the guest still hold its fd).
 */
import { assert, assertEquals } from "../support/assert.ts";
import { close } from "../../ffi/libc.ts";
import { fdCount } from "../support/render_client.ts";
import { Logger } from "../../src/log.ts";
import { HostMemoryTable, POOL_MAX_ENTRIES } from "../../src/venus/vulkan/host_memory.ts";

const log = new Logger("test", "error");

Deno.test("host memory: a freed, never-exported memfd is reused for the same size", () => {
  const t = new HostMemoryTable(log, 1 << 30);
  const base = fdCount(Deno.pid);
  const a = t.create(65536, 0xf, "t")!;
  t.bind(1, a);
  const fd = a.fd.fd, addr = a.address;
  t.release(1);
  assertEquals(fdCount(Deno.pid), base + 1, "pooled, not closed");
  assertEquals(t.pooledBytes, 65536);
  const b = t.create(65536, 0x7, "t")!;
  assertEquals([b.fd.fd, b.address, b.typeFlags, t.reused], [fd, addr, 0x7, 1]);
  t.bind(2, b);
  // another size gets a memfd of its own
  const c = t.create(4096 * 3 + 1, 0xf, "t")!;
  assert(c.fd.fd !== fd, "a memfd of its own");
  assertEquals([c.size, c.fileSize], [4096 * 4, 4096 * 3 + 1]);
  t.bind(3, c);
  t.releaseAll();
  assertEquals([fdCount(Deno.pid), t.bytes, t.pooledBytes, t.size], [base, 0, 0, 0]);
});

Deno.test("host memory: exported memory is closed on free, never reused", () => {
  const t = new HostMemoryTable(log, 1 << 30);
  const base = fdCount(Deno.pid);
  const a = t.create(8192, 0xf, "t")!;
  t.bind(1, a);
  const blob = t.exportBlob(1, 8192n, 1, "t")!;
  assert(blob.fd >= 0);
  t.release(1);
  assertEquals(t.pooledBytes, 0);
  const b = t.create(8192, 0xf, "t")!;
  assertEquals(t.reused, 0);
  t.bind(2, b);
  t.releaseAll();
  close(blob.fd);
  assertEquals(fdCount(Deno.pid), base);
});

Deno.test("host memory: the pool is bounded and gives way to the context limit", () => {
  const t = new HostMemoryTable(log, (POOL_MAX_ENTRIES + 4) * 4096);
  const base = fdCount(Deno.pid);
  for (let i = 1; i <= POOL_MAX_ENTRIES + 4; i++) t.bind(i, t.create(4096, 0xf, "t")!);
  // over the limit: refused
  assertEquals(t.create(4096, 0xf, "t"), null);
  for (let i = 1; i <= POOL_MAX_ENTRIES + 4; i++) t.release(i);
  assertEquals(t.pooledBytes, POOL_MAX_ENTRIES * 4096);
  assertEquals(fdCount(Deno.pid), base + POOL_MAX_ENTRIES);
  // a size the pool does not have, larger than what is left: the pool is emptied for it
  const big = t.create(8 * 4096, 0xf, "t");
  assert(big, "the pool gave way to the limit");
  assertEquals(t.pooledBytes, 0);
  t.bind(100, big!);
  t.releaseAll();
  assertEquals([fdCount(Deno.pid), t.bytes], [base, 0]);
});
