/** Notification suppression (event-idx, NO_INTERRUPT) and commands waiting for QEMU's answers. */
import { assert, assertEquals } from "../support/assert.ts";
import * as L from "../../ffi/libc.ts";
import { FORMAT_B8G8R8X8_UNORM } from "../../src/gpu2d/formats.ts";
import * as G from "../../src/gpu2d/virtio_gpu.ts";
import * as V from "../../src/gpu2d/vhost_user.ts";
import { create2d, FrontendDouble, hdr, respType } from "./support/frontend.ts";
import { rig } from "./support/harness.ts";

function pumpN(fe: FrontendDouble, n = 6): void {
  for (let i = 0; i < n; i++) fe.pump();
}

Deno.test("event-idx: the back-end interrupts only when used_event is crossed", () => {
  using r = rig({ eventIdx: true });
  const fe = r.fe;
  const q = fe.queues[0];
  fe.command([create2d(100, FORMAT_B8G8R8X8_UNORM, 4, 4)]); // first batch always interrupts
  L.eventfdRead(q.call.fd);
  const dv = fe.view();
  const usedEventAt = q.avail + 4 + 2 * q.num;
  const target = (q.lastUsed + 5) & 0xffff; // interrupt me when entry lastUsed+5 is used
  for (let i = 0; i < 3; i++) {
    fe.submit(0, [create2d(i + 1, FORMAT_B8G8R8X8_UNORM, 4, 4)], 24, false);
    dv.setUint16(usedEventAt, target, true);
    fe.kick(0);
    pumpN(fe);
  }
  assertEquals(dv.getUint16(q.used + 2, true), (q.lastUsed + 3) & 0xffff, "all three were used");
  assertEquals(L.eventfdRead(q.call.fd), null, "no interrupt before used_event");
  for (let i = 3; i < 6; i++) {
    fe.submit(0, [create2d(i + 1, FORMAT_B8G8R8X8_UNORM, 4, 4)], 24, false);
    dv.setUint16(usedEventAt, target, true);
    fe.kick(0);
    pumpN(fe);
  }
  assert(L.eventfdRead(q.call.fd) !== null, "interrupt once used_event was passed");
  // avail_event tells the driver where the device will look next.
  assertEquals(dv.getUint16(q.used + 4 + 8 * q.num, true), q.availIdx);
  assertEquals(fe.takeUsed(0).length, 6);
});

Deno.test("without event-idx, VRING_AVAIL_F_NO_INTERRUPT suppresses interrupts", () => {
  using r = rig({ eventIdx: false });
  const fe = r.fe;
  const q = fe.queues[0];
  const dv = fe.view();
  L.eventfdRead(q.call.fd);
  dv.setUint16(q.avail, 1, true); // NO_INTERRUPT
  fe.submit(0, [create2d(1, FORMAT_B8G8R8X8_UNORM, 4, 4)], 24);
  pumpN(fe);
  assertEquals(L.eventfdRead(q.call.fd), null);
  dv.setUint16(q.avail, 0, true);
  fe.submit(0, [create2d(2, FORMAT_B8G8R8X8_UNORM, 4, 4)], 24);
  pumpN(fe);
  assert(L.eventfdRead(q.call.fd) !== null);
  assertEquals(fe.takeUsed(0).map(respType), [G.RESP_OK_NODATA, G.RESP_OK_NODATA]);
});

Deno.test("a command waiting for QEMU holds the queue in order; a closed display answers from defaults", () => {
  using r = rig();
  const fe = r.fe;
  const gpu = fe.gpu!;
  fe.gpu = null; // QEMU stops answering
  fe.submit(0, [hdr(G.CMD_GET_DISPLAY_INFO, 24)[0]], G.DISPLAY_INFO_SIZE);
  fe.submit(0, [create2d(1, FORMAT_B8G8R8X8_UNORM, 4, 4)], 24);
  pumpN(fe);
  assertEquals(fe.takeUsed(0).length, 0, "both wait: the queue is processed in order");
  gpu.close(); // QEMU closes the display channel (as on reset)
  const used = fe.waitUsed(0, 2);
  assertEquals(used.map(respType), [G.RESP_OK_DISPLAY_INFO, G.RESP_OK_NODATA]);
  const dv = new DataView(used[0].resp.buffer);
  assertEquals([dv.getUint32(32, true), dv.getUint32(36, true), dv.getUint32(40, true)], [
    1280,
    800,
    1,
  ]);
  // EDID needs the display: refused now.
  const [b, ev] = hdr(G.CMD_GET_EDID, 32);
  ev.setUint32(24, 0, true);
  assertEquals(respType(fe.command([b], G.EDID_RESP_SIZE)), G.RESP_ERR_UNSPEC);
});

Deno.test("GET_VRING_BASE while a command waits for QEMU completes it first", () => {
  using r = rig();
  const fe = r.fe;
  const gpu = fe.gpu!;
  fe.gpu = null;
  fe.submit(0, [hdr(G.CMD_GET_DISPLAY_INFO, 24)[0]], G.DISPLAY_INFO_SIZE);
  pumpN(fe);
  fe.send(V.REQ.SET_VRING_ENABLE, FrontendDouble.state(0, 0));
  const st = fe.call(V.REQ.GET_VRING_BASE, FrontendDouble.state(0, 0));
  assertEquals(st.getUint32(4, true), 1);
  const used = fe.takeUsed(0);
  assertEquals(used.map(respType), [G.RESP_OK_DISPLAY_INFO]);
  gpu.close();
});

Deno.test("a restarted driver (fresh rings) gets a fresh device; a resumed one keeps its resources", () => {
  using r = rig();
  const fe = r.fe;
  const q = fe.queues[0];
  fe.command([create2d(1, FORMAT_B8G8R8X8_UNORM, 4, 4)]);
  // Pause/resume: stop and start at the same ring position: resource 1 still exists.
  fe.send(V.REQ.SET_VRING_ENABLE, FrontendDouble.state(0, 0));
  fe.call(V.REQ.GET_VRING_BASE, FrontendDouble.state(0, 0));
  fe.startQueue(q);
  assertEquals(
    respType(fe.command([create2d(1, FORMAT_B8G8R8X8_UNORM, 4, 4)])),
    G.RESP_ERR_INVALID_RESOURCE_ID,
  );
  // Guest reboot: the driver zeroes its rings and starts at index 0.
  fe.send(V.REQ.SET_VRING_ENABLE, FrontendDouble.state(0, 0));
  fe.call(V.REQ.GET_VRING_BASE, FrontendDouble.state(0, 0));
  fe.bytes(q.avail, 6 + 2 * q.num).fill(0);
  fe.bytes(q.used, 6 + 8 * q.num).fill(0);
  q.availIdx = 0;
  q.lastUsed = 0;
  fe.startQueue(q);
  assertEquals(respType(fe.command([create2d(1, FORMAT_B8G8R8X8_UNORM, 4, 4)])), G.RESP_OK_NODATA);
  assert(r.logs.some((l) => /fresh control ring: dropping 1 resources/.test(l)));
});
