/** VM-free protocol tests: the back-end against the TypeScript front-end double. */
import { assert, assertEquals } from "../support/assert.ts";
import * as G from "../../src/gpu2d/virtio_gpu.ts";
import { StreamSocket } from "../../ffi/unix_socket.ts";
import * as V from "../../src/gpu2d/vhost_user.ts";
import { FORMAT_B8G8R8X8_UNORM } from "../../src/gpu2d/formats.ts";
import { MAX_UPDATE_BYTES } from "../../src/gpu2d/device.ts";
import {
  attachBacking,
  create2d,
  cursor,
  flush,
  FrontendDouble,
  GPU_MSG,
  hdr,
  respType,
  setScanout,
  simple,
  transfer,
} from "./support/frontend.ts";
import { GuestFb, pattern, rig } from "./support/harness.ts";

const W = 320;
const H = 200;

/** Creates resource 1 (W×H XRGB) with scattered backing shown on scanout 0. */
function setupFb(r: ReturnType<typeof rig>, w = W, h = H) {
  const fb = new GuestFb(r.fe, w, h);
  assertEquals(
    respType(r.fe.command([create2d(1, FORMAT_B8G8R8X8_UNORM, w, h)])),
    G.RESP_OK_NODATA,
  );
  assertEquals(respType(r.fe.command([attachBacking(1, fb.entries())])), G.RESP_OK_NODATA);
  assertEquals(respType(r.fe.command([setScanout(0, 1, { x: 0, y: 0, w, h })])), G.RESP_OK_NODATA);
  return fb;
}

function updates(fe: FrontendDouble) {
  return fe.gpuLog.filter((m) => m.request === GPU_MSG.UPDATE).map((m) => m.rect!);
}

function checkSurface(
  fe: FrontendDouble,
  w: number,
  h: number,
  f: (x: number, y: number) => number,
) {
  const s = fe.surfaces.get(0)!;
  assert(s, "no surface");
  let bad = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) if ((s.px[y * s.w + x] & 0xffffff) !== (f(x, y) & 0xffffff)) bad++;
  }
  assertEquals(bad, 0, `${bad} pixels differ`);
}

for (
  const mode of [
    { memSlots: true, eventIdx: true, indirect: false },
    { memSlots: false, eventIdx: false, indirect: true },
    { memSlots: true, eventIdx: true, indirect: true },
  ]
) {
  Deno.test(`2D flow: damage is exactly the flushed rect (${JSON.stringify(mode)})`, () => {
    using r = rig(mode);
    const fe = r.fe;
    const di = fe.command([hdr(G.CMD_GET_DISPLAY_INFO, 24)[0]], G.DISPLAY_INFO_SIZE);
    assertEquals(respType(di), G.RESP_OK_DISPLAY_INFO);
    const dv = new DataView(di.resp.buffer);
    assertEquals([dv.getUint32(32, true), dv.getUint32(36, true), dv.getUint32(40, true)], [
      1280,
      800,
      1,
    ]);
    const fb = setupFb(r);
    fb.fill(0, 0, W, H, pattern);
    // The first flush after SCANOUT paints the whole (blank) surface.
    fe.command([transfer(1, { x: 0, y: 0, w: W, h: H }, 0)]);
    fe.command([flush(1, { x: 0, y: 0, w: W, h: H })]);
    // A 64×48 damage rect.
    const rect = { x: 100, y: 50, w: 64, h: 48 };
    fb.fill(rect.x, rect.y, rect.w, rect.h, (x, y) => pattern(y, x) ^ 0x00ff00);
    fe.command([transfer(1, rect, rect.y * fb.stride + rect.x * 4)]);
    fe.command([flush(1, rect)]);
    fe.serviceGpu(0);
    const scanouts = fe.gpuLog.filter((m) => m.request === GPU_MSG.SCANOUT);
    assertEquals(scanouts.length, 1);
    assertEquals(updates(fe), [{ x: 0, y: 0, w: W, h: H }, rect]);
    const inRect = (x: number, y: number) =>
      x >= rect.x && x < rect.x + rect.w && y >= rect.y && y < rect.y + rect.h;
    checkSurface(fe, W, H, (x, y) => inRect(x, y) ? pattern(y, x) ^ 0x00ff00 : pattern(x, y));
    const upd = fe.gpuLog.filter((m) => m.request === GPU_MSG.UPDATE);
    assertEquals(upd[1].size, 20 + 64 * 48 * 4);
    const c = r.be.device.stats().scanouts as {
      flushes: number;
      rects: number;
      pixelBytes: number;
    }[];
    assertEquals([c[0].flushes, c[0].rects, c[0].pixelBytes], [2, 2, (W * H + 64 * 48) * 4]);
  });
}

Deno.test("flush is clipped to the scanout and translated into scanout coordinates", () => {
  using r = rig();
  const fe = r.fe;
  const fb = new GuestFb(fe, W, H);
  fe.command([create2d(1, FORMAT_B8G8R8X8_UNORM, W, H)]);
  fe.command([attachBacking(1, fb.entries())]);
  const so = { x: 40, y: 30, w: 200, h: 100 };
  fe.command([setScanout(0, 1, so)]);
  fb.fill(0, 0, W, H, pattern);
  fe.command([transfer(1, { x: 0, y: 0, w: W, h: H }, 0)]);
  fe.command([flush(1, so)]); // first: the whole scanout
  fe.command([flush(1, { x: 0, y: 0, w: 60, h: 40 })]); // overlaps the corner only
  fe.command([flush(1, { x: 250, y: 150, w: 10, h: 10 })]); // outside the scanout: nothing
  fe.serviceGpu(0);
  assertEquals(updates(fe), [{ x: 0, y: 0, w: 200, h: 100 }, { x: 0, y: 0, w: 20, h: 10 }]);
  checkSurface(fe, 200, 100, (x, y) => pattern(x + so.x, y + so.y));
});

Deno.test("fenced commands echo flags, fence id and ctx id", () => {
  using r = rig();
  const [b, dv] = hdr(G.CMD_RESOURCE_CREATE_2D, 40, G.FLAG_FENCE, 0x1234567890n, 7);
  dv.setUint32(24, 5, true);
  dv.setUint32(28, FORMAT_B8G8R8X8_UNORM, true);
  dv.setUint32(32, 16, true);
  dv.setUint32(36, 16, true);
  const u = r.fe.command([b]);
  const rv = new DataView(u.resp.buffer);
  assertEquals(u.len, 24);
  assertEquals(rv.getUint32(0, true), G.RESP_OK_NODATA);
  assertEquals(rv.getUint32(4, true) & G.FLAG_FENCE, G.FLAG_FENCE);
  assertEquals(rv.getBigUint64(8, true), 0x1234567890n);
  assertEquals(rv.getUint32(16, true), 7);
});

Deno.test("GET_EDID is answered from QEMU's EDID; bad scanout id is refused", () => {
  using r = rig();
  const [b, dv] = hdr(G.CMD_GET_EDID, 32);
  dv.setUint32(24, 0, true);
  const u = r.fe.command([b], G.EDID_RESP_SIZE);
  assertEquals(respType(u), G.RESP_OK_EDID);
  assertEquals(u.len, G.EDID_RESP_SIZE);
  assertEquals([...u.resp.subarray(32, 40)], [0, 255, 255, 255, 255, 255, 255, 0]);
  dv.setUint32(24, 9, true);
  assertEquals(respType(r.fe.command([b], G.EDID_RESP_SIZE)), G.RESP_ERR_INVALID_SCANOUT_ID);
});

Deno.test("GET_CONFIG reports the scanouts; GET_VRING_BASE returns the last avail index", () => {
  using r = rig();
  const p = new Uint8Array(new ArrayBuffer(12 + 16));
  new DataView(p.buffer).setUint32(4, 16, true);
  const cfg = r.fe.call(V.REQ.GET_CONFIG, p);
  assertEquals(cfg.getUint32(4, true), 16);
  assertEquals(cfg.getUint32(12 + 8, true), 1);
  for (let i = 0; i < 5; i++) r.fe.command([create2d(10 + i, FORMAT_B8G8R8X8_UNORM, 8, 8)]);
  r.fe.send(V.REQ.SET_VRING_ENABLE, FrontendDouble.state(0, 0));
  const st = r.fe.call(V.REQ.GET_VRING_BASE, FrontendDouble.state(0, 0));
  assertEquals([st.getUint32(0, true), st.getUint32(4, true)], [0, 5]);
  // Restart the queue where it stopped: commands keep working.
  r.fe.startQueue(r.fe.queues[0]);
  assertEquals(respType(r.fe.command([simple(G.CMD_RESOURCE_UNREF, 10)])), G.RESP_OK_NODATA);
});

Deno.test("cursor queue: UPDATE_CURSOR sends the 64x64 ARGB image, MOVE_CURSOR the position, resource 0 hides", () => {
  using r = rig();
  const fe = r.fe;
  const fb = new GuestFb(fe, 64, 64);
  fe.command([create2d(2, 1, /* B8G8R8A8 */ 64, 64)]);
  fe.command([attachBacking(2, fb.entries())]);
  fb.fill(0, 0, 64, 64, (x, y) => (0x80 << 24) | (x << 16) | (y << 8) | 0x11);
  fe.command([transfer(2, { x: 0, y: 0, w: 64, h: 64 }, 0)]);
  fe.submit(1, [cursor(G.CMD_UPDATE_CURSOR, 0, 10, 20, 2, 3, 4)], 0);
  fe.submit(1, [cursor(G.CMD_MOVE_CURSOR, 0, 30, 40)], 0);
  fe.submit(1, [cursor(G.CMD_UPDATE_CURSOR, 0, 50, 60, 0)], 0);
  const used = fe.waitUsed(1, 3);
  assertEquals(used.map((u) => u.len), [0, 0, 0]);
  fe.serviceGpu(0);
  const msgs = fe.gpuLog.filter((m) => m.request >= 4 && m.request <= 6);
  assertEquals(msgs.map((m) => m.request), [
    GPU_MSG.CURSOR_UPDATE,
    GPU_MSG.CURSOR_POS,
    GPU_MSG.CURSOR_POS_HIDE,
  ]);
  const u = new DataView(msgs[0].head.buffer);
  assertEquals([
    u.getUint32(0, true),
    u.getUint32(4, true),
    u.getUint32(8, true),
    u.getUint32(12, true),
    u.getUint32(16, true),
  ], [0, 10, 20, 3, 4]);
  assertEquals(msgs[0].size, 16404);
  const p = new DataView(msgs[1].head.buffer);
  assertEquals([p.getUint32(4, true), p.getUint32(8, true)], [30, 40]);
});

Deno.test("DETACH_BACKING then TRANSFER fails; re-attach works; UNREF disables the scanout", () => {
  using r = rig();
  const fe = r.fe;
  const fb = setupFb(r, 64, 64);
  assertEquals(respType(fe.command([simple(G.CMD_RESOURCE_DETACH_BACKING, 1)])), G.RESP_OK_NODATA);
  assertEquals(
    respType(fe.command([transfer(1, { x: 0, y: 0, w: 8, h: 8 }, 0)])),
    G.RESP_ERR_UNSPEC,
  );
  assertEquals(respType(fe.command([attachBacking(1, fb.entries())])), G.RESP_OK_NODATA);
  assertEquals(
    respType(fe.command([transfer(1, { x: 0, y: 0, w: 8, h: 8 }, 0)])),
    G.RESP_OK_NODATA,
  );
  assertEquals(respType(fe.command([simple(G.CMD_RESOURCE_UNREF, 1)])), G.RESP_OK_NODATA);
  fe.serviceGpu(0);
  const sc = fe.gpuLog.filter((m) => m.request === GPU_MSG.SCANOUT).map((m) => m.rect);
  assertEquals(sc, [{ x: 0, y: 0, w: 64, h: 64 }, { x: 0, y: 0, w: 0, h: 0 }]);
  assertEquals(r.be.device.hostMem, 0);
});

Deno.test("a big damage rect goes out as whole-row bands that tile it exactly", () => {
  using r = rig({ memSize: 32 * 1024 * 1024 });
  const fe = r.fe;
  const [w, h] = [1024, 768];
  const fb = setupFb(r, w, h);
  fb.fill(0, 0, w, h, pattern);
  fe.command([transfer(1, { x: 0, y: 0, w, h }, 0)]);
  fe.command([flush(1, { x: 0, y: 0, w, h })]);
  fe.serviceGpu(0);
  const rows = Math.floor((MAX_UPDATE_BYTES - 32) / (w * 4));
  const got = updates(fe);
  assertEquals(got.length, Math.ceil(h / rows));
  got.forEach((b, i) => assertEquals(b, { x: 0, y: i * rows, w, h: Math.min(rows, h - i * rows) }));
  for (const m of fe.gpuLog.filter((m) => m.request === GPU_MSG.UPDATE)) {
    assert(12 + m.size <= MAX_UPDATE_BYTES);
  }
  checkSurface(fe, w, h, pattern);
  const c =
    (r.be.device.stats().scanouts as { rects: number; messages: number; bytes: number }[])[0];
  assertEquals([c.rects, c.messages, c.bytes], [1, got.length, w * h * 4 + 32 * got.length]);
});

Deno.test("maxUpdateBytes 0 sends a big rect as one UPDATE", () => {
  using r = rig({ memSize: 32 * 1024 * 1024 }, {
    limits: {
      maxResources: 16,
      maxHostMem: 1 << 28,
      maxDimension: 16384,
      maxBackingEntries: 16384,
      maxUpdateBytes: 0,
    },
  });
  const [w, h] = [1024, 768];
  const fb = setupFb(r, w, h);
  fb.fill(0, 0, w, h, pattern);
  r.fe.command([transfer(1, { x: 0, y: 0, w, h }, 0)]);
  r.fe.command([flush(1, { x: 0, y: 0, w, h })]);
  r.fe.serviceGpu(0);
  assertEquals(updates(r.fe), [{ x: 0, y: 0, w, h }]);
  checkSurface(r.fe, w, h, pattern);
});

Deno.test("a new display socket gets a SCANOUT and a full repaint before the next damage", () => {
  using r = rig();
  const fe = r.fe;
  const fb = setupFb(r, 64, 32);
  fb.fill(0, 0, 64, 32, pattern);
  fe.command([transfer(1, { x: 0, y: 0, w: 64, h: 32 }, 0)]);
  fe.command([flush(1, { x: 0, y: 0, w: 64, h: 32 })]);
  fe.serviceGpu(0);
  // QEMU stops and starts the device: a fresh display channel, no surface yet.
  const [mine, theirs] = StreamSocket.pair();
  fe.send(V.REQ.GPU_SET_SOCKET, new Uint8Array(0), [theirs.fd]);
  theirs.close();
  fe.gpu!.close();
  fe.gpu = mine;
  fe.surfaces.clear();
  for (let i = 0; i < 4; i++) { // let the back-end take the new socket and greet QEMU
    fe.pump();
    fe.serviceGpu(0);
  }
  fe.gpuLog.length = 0;
  fe.command([flush(1, { x: 8, y: 8, w: 4, h: 4 })]);
  fe.serviceGpu(0);
  assertEquals(fe.gpuLog.filter((m) => m.request === GPU_MSG.SCANOUT).map((m) => m.rect), [
    { x: 0, y: 0, w: 64, h: 32 },
  ]);
  assertEquals(updates(fe), [{ x: 0, y: 0, w: 64, h: 32 }]);
  checkSurface(fe, 64, 32, pattern);
});
