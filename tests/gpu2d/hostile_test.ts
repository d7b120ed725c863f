/**
 * Hostile guests: every malformed input gets the proper virtio-gpu error
 * (or its chain back with length 0), a log line, and the back-end keeps
 * serving. Nothing is read or written outside guest memory.
 */
import { assert, assertEquals } from "../support/assert.ts";
import { OwnedFd } from "../../ffi/fd.ts";
import * as L from "../../ffi/libc.ts";
import { FORMAT_B8G8R8X8_UNORM } from "../../src/gpu2d/formats.ts";
import * as G from "../../src/gpu2d/virtio_gpu.ts";
import * as V from "../../src/gpu2d/vhost_user.ts";
import {
  attachBacking,
  create2d,
  cursor,
  flush,
  FrontendDouble,
  hdr,
  respType,
  setScanout,
  simple,
  transfer,
} from "./support/frontend.ts";
import { GuestFb, rig } from "./support/harness.ts";

const NEXT = 1;
const WRITE = 2;
const INDIRECT = 4;

function logged(logs: string[], re: RegExp): void {
  assert(logs.some((l) => re.test(l)), `no log line matching ${re}:\n${logs.join("")}`);
}

/** The back-end still answers: a normal command works. */
function stillServing(fe: FrontendDouble): void {
  const u = fe.command([hdr(G.CMD_GET_DISPLAY_INFO, 24)[0]], G.DISPLAY_INFO_SIZE);
  assertEquals(respType(u), G.RESP_OK_DISPLAY_INFO);
}

function expectError(
  r: ReturnType<typeof rig>,
  parts: Uint8Array[],
  code: number,
  log: RegExp,
): void {
  const u = r.fe.command(parts);
  assertEquals(
    respType(u),
    code,
    `wanted ${G.commandName(code)}, got ${G.commandName(respType(u))}`,
  );
  assertEquals(u.len, 24);
  logged(r.logs, log);
}

Deno.test("descriptor loop: the chain comes back with length 0 and a log line", () => {
  using r = rig();
  const req = r.fe.put(hdr(G.CMD_GET_DISPLAY_INFO, 24)[0]);
  r.fe.rawSubmit(0, 10, [[req, 24, NEXT, 11], [req, 24, NEXT, 10]], 10);
  r.fe.kick(0);
  const u = r.fe.waitUsed(0, 1);
  assertEquals([u[0].id, u[0].len], [10, 0]);
  logged(r.logs, /longer than its table.*loop/);
  stillServing(r.fe);
});

Deno.test("chain longer than the queue (no loop, every descriptor used once) is cut off", () => {
  using r = rig({ ctrlSize: 8 });
  const req = r.fe.put(hdr(G.CMD_GET_DISPLAY_INFO, 24)[0]);
  // 8 descriptors chained 0->1->...->7->0: longer than the queue of 8.
  const descs: [number, number, number, number][] = [];
  for (let i = 0; i < 8; i++) descs.push([req, 24, NEXT, (i + 1) % 8]);
  r.fe.rawSubmit(0, 0, descs, 0);
  r.fe.kick(0);
  assertEquals(r.fe.waitUsed(0, 1)[0].len, 0);
  logged(r.logs, /longer than its table/);
  r.fe.queues[0].freeHead = [0, 1, 2, 3, 4, 5, 6, 7];
  stillServing(r.fe);
});

Deno.test("indirect tables: loops, nesting, bad sizes and un-negotiated use are refused", () => {
  using r = rig({ indirect: true });
  const fe = r.fe;
  const req = fe.put(hdr(G.CMD_GET_DISPLAY_INFO, 24)[0]);
  const table = fe.alloc(4096);
  const dv = fe.view();
  const entry = (i: number, gpa: number, len: number, flags: number, next: number) => {
    dv.setBigUint64(table + 16 * i, BigInt(gpa), true);
    dv.setUint32(table + 16 * i + 8, len, true);
    dv.setUint16(table + 16 * i + 12, flags, true);
    dv.setUint16(table + 16 * i + 14, next, true);
  };
  // loop inside the table
  entry(0, req, 24, NEXT, 1);
  entry(1, req, 24, NEXT, 0);
  fe.rawSubmit(0, 20, [[table, 32, INDIRECT, 0]], 20);
  fe.kick(0);
  assertEquals(fe.waitUsed(0, 1)[0].len, 0);
  // nested indirect
  entry(0, table, 32, INDIRECT, 0);
  fe.rawSubmit(0, 21, [[table, 32, INDIRECT, 0]], 21);
  fe.kick(0);
  assertEquals(fe.waitUsed(0, 1)[0].len, 0);
  logged(r.logs, /nested indirect/);
  // length not a multiple of 16, and a table outside guest memory
  fe.rawSubmit(0, 22, [[table, 20, INDIRECT, 0]], 22);
  fe.rawSubmit(0, 23, [[fe.size - 16, 32, INDIRECT, 0]], 23);
  fe.kick(0);
  assertEquals(fe.waitUsed(0, 2).map((u) => u.len), [0, 0]);
  logged(r.logs, /bad indirect table length 20/);
  logged(r.logs, /indirect table .* outside guest memory/);
  stillServing(fe);

  using r2 = rig({ indirect: false });
  r2.fe.rawSubmit(0, 5, [[table, 32, INDIRECT, 0]], 5);
  r2.fe.kick(0);
  assertEquals(r2.fe.waitUsed(0, 1)[0].len, 0);
  logged(r2.logs, /indirect descriptor not negotiated/);
});

Deno.test("buffers outside guest memory, bad next index, readable after writable", () => {
  using r = rig();
  const fe = r.fe;
  const req = fe.put(hdr(G.CMD_GET_DISPLAY_INFO, 24)[0]);
  const resp = fe.put(new Uint8Array(512));
  fe.rawSubmit(0, 30, [[fe.size - 8, 24, NEXT, 31], [resp, 512, WRITE, 0]], 30);
  fe.rawSubmit(0, 32, [[req, 24, NEXT, 33], [0x7fff_ffff_ffff_f000n, 512, WRITE, 0]], 32);
  fe.rawSubmit(0, 34, [[req, 24, NEXT, 9999]], 34);
  fe.rawSubmit(0, 35, [[resp, 512, WRITE | NEXT, 36], [req, 24, 0, 0]], 35);
  fe.rawSubmit(0, 37, [[0xffff_ffff_ffff_fff0n, 0x20, 0, 0]], 37);
  fe.kick(0);
  const used = fe.waitUsed(0, 5);
  assertEquals(used.map((u) => [u.id, u.len]), [[30, 0], [32, 0], [34, 0], [35, 0], [37, 0]]);
  logged(r.logs, /outside guest memory/);
  logged(r.logs, /descriptor index 9999 out of range/);
  logged(r.logs, /device-readable buffer after a device-writable one/);
  stillServing(fe);
});

Deno.test("corrupt avail ring (head out of range, idx jump): queue stops, device survives, re-setup recovers", () => {
  using r = rig();
  const fe = r.fe;
  const q = fe.queues[0];
  fe.publish(q, 500); // head >= 64
  fe.kick(0);
  for (let i = 0; i < 4; i++) fe.pump();
  logged(r.logs, /head index 500 >= queue size 64/);
  // The vhost-user side keeps working.
  const p = new Uint8Array(new ArrayBuffer(28));
  new DataView(p.buffer).setUint32(4, 16, true);
  assertEquals(fe.call(V.REQ.GET_CONFIG, p).getUint32(20, true), 1);
  // QEMU resets the ring: stop, set it up again past the bad entry.
  fe.send(V.REQ.SET_VRING_ENABLE, FrontendDouble.state(0, 0));
  const base = fe.call(V.REQ.GET_VRING_BASE, FrontendDouble.state(0, 0)).getUint32(4, true);
  assertEquals(base, q.availIdx);
  fe.startQueue(q);
  stillServing(fe);
  // avail.idx jumping by more than the queue size
  fe.view().setUint16(q.avail + 2, (q.availIdx + 1000) & 0xffff, true);
  fe.kick(0);
  for (let i = 0; i < 4; i++) fe.pump();
  logged(r.logs, /avail.idx \d+ is 1000 ahead/);
  assert(!r.be.closed);
});

Deno.test("rects outside the resource (no 32-bit wrap) -> ERR_INVALID_PARAMETER", () => {
  using r = rig();
  const fb = new GuestFb(r.fe, 64, 64);
  r.fe.command([create2d(1, FORMAT_B8G8R8X8_UNORM, 64, 64)]);
  r.fe.command([attachBacking(1, fb.entries())]);
  const P = G.RESP_ERR_INVALID_PARAMETER;
  expectError(
    r,
    [transfer(1, { x: 32, y: 0, w: 33, h: 1 }, 0)],
    P,
    /transfer rect 33x1\+32\+0 outside/,
  );
  expectError(r, [transfer(1, { x: 0xffffffff, y: 0, w: 2, h: 1 }, 0)], P, /outside resource 1/);
  expectError(r, [flush(1, { x: 0, y: 0xfffffff0, w: 1, h: 0x20 })], P, /flush rect/);
  expectError(r, [setScanout(0, 1, { x: 0, y: 0, w: 65, h: 64 })], P, /scanout rect/);
  expectError(r, [setScanout(0, 1, { x: 0, y: 0, w: 0, h: 64 })], P, /scanout rect/);
  expectError(
    r,
    [setScanout(3, 1, { x: 0, y: 0, w: 64, h: 64 })],
    G.RESP_ERR_INVALID_SCANOUT_ID,
    /scanout 3/,
  );
  expectError(
    r,
    [flush(9, { x: 0, y: 0, w: 1, h: 1 })],
    G.RESP_ERR_INVALID_RESOURCE_ID,
    /no resource 9/,
  );
  stillServing(r.fe);
});

Deno.test("sizes: stride x height overflow, huge and zero sizes, unknown format", () => {
  using r = rig();
  const P = G.RESP_ERR_INVALID_PARAMETER;
  expectError(r, [create2d(1, FORMAT_B8G8R8X8_UNORM, 0x40000001, 4)], P, /bad size 1073741825x4/);
  expectError(r, [create2d(1, FORMAT_B8G8R8X8_UNORM, 0xffffffff, 0xffffffff)], P, /bad size/);
  expectError(r, [create2d(1, FORMAT_B8G8R8X8_UNORM, 0, 10)], P, /bad size 0x10/);
  expectError(r, [create2d(1, 999, 10, 10)], P, /unknown format 999/);
  // 16384 x 16384 x 4 = 1 GiB: over the host memory budget.
  expectError(
    r,
    [create2d(1, FORMAT_B8G8R8X8_UNORM, 16384, 16384)],
    G.RESP_ERR_OUT_OF_MEMORY,
    /host memory limit/,
  );
  assertEquals(r.be.device.hostMem, 0);
  stillServing(r.fe);
});

Deno.test("backing: not covering the resource, outside guest memory, too many entries, short request", () => {
  using r = rig();
  const fe = r.fe;
  fe.command([create2d(1, FORMAT_B8G8R8X8_UNORM, 64, 64)]); // 16 KiB
  const page = fe.alloc(4096);
  expectError(
    r,
    [attachBacking(1, [[page, 4096]])],
    G.RESP_ERR_INVALID_PARAMETER,
    /does not cover resource 1/,
  );
  const U = G.RESP_ERR_UNSPEC;
  expectError(
    r,
    [attachBacking(1, [[page, 4096], [fe.size - 4096, 8192], [page, 8192]])],
    U,
    /entry 1 .* outside guest memory/,
  );
  expectError(r, [attachBacking(1, [[2n ** 63n, 16384]])], U, /outside guest memory/);
  // nr_entries far beyond what the request holds
  const [b, dv] = hdr(G.CMD_RESOURCE_ATTACH_BACKING, 48);
  dv.setUint32(24, 1, true);
  dv.setUint32(28, 0xffffffff, true);
  expectError(r, [b], U, /4294967295 backing entries/);
  dv.setUint32(28, 1000, true);
  expectError(r, [b], U, /request too short for 1000 backing entries/);
  // transfer reading past the backing: a covering backing, then an offset beyond it
  const fb = new GuestFb(fe, 64, 64);
  assertEquals(respType(fe.command([attachBacking(1, fb.entries())])), G.RESP_OK_NODATA);
  expectError(r, [attachBacking(1, fb.entries())], U, /already has backing/);
  const P = G.RESP_ERR_INVALID_PARAMETER;
  expectError(r, [transfer(1, { x: 0, y: 0, w: 64, h: 64 }, 4)], P, /reads past the backing/);
  expectError(r, [transfer(1, { x: 0, y: 0, w: 1, h: 1 }, 2n ** 63n)], P, /reads past the backing/);
  expectError(
    r,
    [transfer(2, { x: 0, y: 0, w: 1, h: 1 }, 0)],
    G.RESP_ERR_INVALID_RESOURCE_ID,
    /no resource 2/,
  );
  stillServing(fe);
});

Deno.test("unknown commands, short requests, cursor commands on the control queue -> ERR_UNSPEC", () => {
  using r = rig();
  const U = G.RESP_ERR_UNSPEC;
  expectError(r, [hdr(0x999, 24)[0]], U, /0x999: unknown or unsupported command/);
  expectError(r, [hdr(G.CMD_GET_CAPSET_INFO, 32)[0]], U, /GET_CAPSET_INFO/);
  expectError(r, [hdr(G.CMD_UPDATE_CURSOR, 56)[0]], U, /UPDATE_CURSOR/);
  expectError(r, [hdr(G.CMD_RESOURCE_CREATE_2D, 30)[0]], U, /request of 30 bytes, needs 40/);
  expectError(r, [new Uint8Array(8)], U, /shorter than a header/);
  stillServing(r.fe);
});

Deno.test("resource ids: 0, duplicates and exhaustion of the resource table", () => {
  using r = rig({}, {
    limits: { maxResources: 3, maxHostMem: 1 << 20, maxDimension: 16384, maxBackingEntries: 16384 },
  });
  const I = G.RESP_ERR_INVALID_RESOURCE_ID;
  expectError(r, [create2d(0, FORMAT_B8G8R8X8_UNORM, 4, 4)], I, /resource id 0/);
  for (let i = 1; i <= 3; i++) {
    assertEquals(
      respType(r.fe.command([create2d(i, FORMAT_B8G8R8X8_UNORM, 4, 4)])),
      G.RESP_OK_NODATA,
    );
  }
  expectError(r, [create2d(2, FORMAT_B8G8R8X8_UNORM, 4, 4)], I, /resource 2 already exists/);
  expectError(
    r,
    [create2d(4, FORMAT_B8G8R8X8_UNORM, 4, 4)],
    G.RESP_ERR_OUT_OF_MEMORY,
    /resource limit 3 reached/,
  );
  // Freeing one makes room again.
  r.fe.command([simple(G.CMD_RESOURCE_UNREF, 1)]);
  assertEquals(
    respType(r.fe.command([create2d(4, FORMAT_B8G8R8X8_UNORM, 4, 4)])),
    G.RESP_OK_NODATA,
  );
  expectError(r, [simple(G.CMD_RESOURCE_UNREF, 1)], I, /no resource 1/);
});

Deno.test("a response buffer that is too small is filled only up to its end", () => {
  using r = rig();
  const fe = r.fe;
  const req = fe.put(hdr(G.CMD_GET_DISPLAY_INFO, 24)[0]);
  const resp = fe.alloc(64);
  fe.bytes(resp, 64).fill(0xee);
  fe.rawSubmit(0, 40, [[req, 24, NEXT, 41], [resp, 8, WRITE, 0]], 40);
  fe.kick(0);
  const u = fe.waitUsed(0, 1)[0];
  assertEquals(u.len, 8);
  assertEquals(new DataView(fe.mem.buffer).getUint32(resp, true), G.RESP_OK_DISPLAY_INFO);
  assert(fe.bytes(resp + 8, 56).every((b) => b === 0xee), "wrote past the response buffer");
  logged(r.logs, /response of 408 bytes cut to 8/);
});

Deno.test("removed memory is never touched: backing in a region that REM_MEM_REG took away", () => {
  using r = rig();
  const fe = r.fe;
  // A second region of guest RAM at 1 GiB, holding the framebuffer.
  const size = 1 << 20;
  const gpa = 1 << 30;
  const fd = new OwnedFd(L.memfdCreate("ram2", L.MFD_CLOEXEC));
  L.ftruncate(fd.fd, size);
  assertEquals(
    fe.ack(V.REQ.ADD_MEM_REG, fe.regionPayload(gpa, size, fe.uvaBase + gpa, 0), [fd.fd]),
    0n,
  );
  fe.command([create2d(1, FORMAT_B8G8R8X8_UNORM, 64, 64)]);
  assertEquals(respType(fe.command([attachBacking(1, [[gpa, 16384]])])), G.RESP_OK_NODATA);
  assertEquals(
    respType(fe.command([transfer(1, { x: 0, y: 0, w: 64, h: 64 }, 0)])),
    G.RESP_OK_NODATA,
  );
  assertEquals(fe.ack(V.REQ.REM_MEM_REG, fe.regionPayload(gpa, size, fe.uvaBase + gpa, 0)), 0n);
  expectError(
    r,
    [transfer(1, { x: 0, y: 0, w: 64, h: 64 }, 0)],
    G.RESP_ERR_UNSPEC,
    /no longer in guest memory/,
  );
  // Removing it again, or overlapping regions, are refused with a failed ack.
  assert(fe.ack(V.REQ.REM_MEM_REG, fe.regionPayload(gpa, size, fe.uvaBase + gpa, 0)) !== 0n);
  assert(fe.ack(V.REQ.ADD_MEM_REG, fe.regionPayload(4096, size, 0x1000, 0), [fd.fd]) !== 0n);
  logged(r.logs, /overlaps another/);
  fd.close();
  stillServing(fe);
});

Deno.test("vhost-user: bad ring addresses and fd counts fail the ack; a broken header disconnects cleanly", () => {
  using r = rig();
  const fe = r.fe;
  const a = new Uint8Array(new ArrayBuffer(40));
  const dv = new DataView(a.buffer);
  dv.setUint32(0, 1, true);
  dv.setBigUint64(8, 0x10n, true); // not a front-end address we know
  assert(fe.ack(V.REQ.SET_VRING_ADDR, a) !== 0n);
  logged(r.logs, /ring addresses of queue 1 are outside guest memory/);
  assert(fe.ack(V.REQ.SET_MEM_TABLE, fe.regionPayload(0, fe.size, fe.uvaBase, 0, true)) !== 0n);
  logged(r.logs, /1 regions but 0 fds/);
  assert(fe.ack(V.REQ.SET_VRING_NUM, FrontendDouble.state(7, 64)) !== 0n);
  assert(fe.ack(0x7777) !== 0n);
  // A header with a wrong version: the back-end drops the connection, no crash.
  const h = new Uint8Array(new ArrayBuffer(12));
  new DataView(h.buffer).setUint32(4, 0x2, true);
  fe.vhost.send([h]);
  for (let i = 0; i < 4; i++) fe.pump();
  assert(r.be.closed);
  logged(r.logs, /bad version/);
});

Deno.test("cursor queue: bad scanout, missing resource, odd sizes are logged and ignored", () => {
  using r = rig();
  const fe = r.fe;
  fe.submit(1, [cursor(G.CMD_UPDATE_CURSOR, 7, 1, 1, 1)], 0);
  fe.submit(1, [cursor(G.CMD_UPDATE_CURSOR, 0, 1, 1, 42)], 0);
  fe.submit(1, [new Uint8Array(10)], 0);
  fe.submit(1, [cursor(0x333, 0, 1, 1)], 0);
  assertEquals(fe.waitUsed(1, 4).map((u) => u.len), [0, 0, 0, 0]);
  logged(r.logs, /scanout 7 that does not exist/);
  logged(r.logs, /resource 42 that does not exist/);
  logged(r.logs, /too short/);
  // A 32x16 cursor resource is clipped into the 64x64 image.
  const fb = new GuestFb(fe, 32, 16);
  fe.command([create2d(5, 1, 32, 16)]);
  fe.command([attachBacking(5, fb.entries())]);
  fe.submit(1, [cursor(G.CMD_UPDATE_CURSOR, 0, 3, 4, 5)], 0);
  fe.waitUsed(1, 1);
  fe.serviceGpu(0);
  assertEquals(fe.gpuLog.filter((m) => m.request === 6).length, 1);
  logged(r.logs, /32x16, not 64x64; clipping/);
});
