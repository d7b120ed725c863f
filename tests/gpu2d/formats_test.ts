/** Every virtio-gpu 2D format becomes correct x8r8g8b8 on the display socket. */
import { assertEquals } from "../support/assert.ts";
import * as F from "../../src/gpu2d/formats.ts";
import * as G from "../../src/gpu2d/virtio_gpu.ts";
import {
  attachBacking,
  create2d,
  flush,
  respType,
  setScanout,
  transfer,
} from "./support/frontend.ts";
import { GuestFb, rig } from "./support/harness.ts";

/** Memory byte order of a pixel with colour (r, g, b) and alpha/padding a, per format. */
const layouts: [number, (r: number, g: number, b: number, a: number) => number[]][] = [
  [F.FORMAT_B8G8R8A8_UNORM, (r, g, b, a) => [b, g, r, a]],
  [F.FORMAT_B8G8R8X8_UNORM, (r, g, b, a) => [b, g, r, a]],
  [F.FORMAT_A8R8G8B8_UNORM, (r, g, b, a) => [a, r, g, b]],
  [F.FORMAT_X8R8G8B8_UNORM, (r, g, b, a) => [a, r, g, b]],
  [F.FORMAT_R8G8B8A8_UNORM, (r, g, b, a) => [r, g, b, a]],
  [F.FORMAT_R8G8B8X8_UNORM, (r, g, b, a) => [r, g, b, a]],
  [F.FORMAT_A8B8G8R8_UNORM, (r, g, b, a) => [a, b, g, r]],
  [F.FORMAT_X8B8G8R8_UNORM, (r, g, b, a) => [a, b, g, r]],
];

Deno.test("all eight 2D formats are known and convert to x8r8g8b8 (alpha kept in the 4th byte)", () => {
  assertEquals(F.FORMATS.size, 8);
  for (const [fmt, lay] of layouts) {
    const px = new Uint32Array([0, 0, 0]);
    const bytes = new Uint8Array(px.buffer);
    const colours = [[0x12, 0x34, 0x56, 0x78], [0xff, 0, 0x80, 0xff], [1, 2, 3, 4]];
    colours.forEach(([r, g, b, a], i) => bytes.set(lay(r, g, b, a), i * 4));
    F.convertInPlace(px, 0, 3, F.FORMATS.get(fmt)!.swizzle);
    colours.forEach(([r, g, b, a], i) => {
      assertEquals([...bytes.subarray(i * 4, i * 4 + 4)], [b, g, r, a], `format ${fmt} pixel ${i}`);
    });
  }
});

Deno.test("each format through the device: UPDATE carries B,G,R bytes of the guest's colours", () => {
  using r = rig();
  const fe = r.fe;
  let id = 1;
  for (const [fmt, lay] of layouts) {
    const w = 5;
    const h = 3;
    const fb = new GuestFb(fe, w, h);
    assertEquals(respType(fe.command([create2d(id, fmt, w, h)])), G.RESP_OK_NODATA);
    fe.command([attachBacking(id, fb.entries())]);
    const colour = (x: number, y: number) => [x * 40 + 1, y * 70 + 2, (x + y) * 9 + 3, 0xaa];
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const [rr, gg, bb, aa] = colour(x, y);
        fb.setPixel(x, y, lay(rr, gg, bb, aa) as [number, number, number, number]);
      }
    }
    fe.command([setScanout(0, id, { x: 0, y: 0, w, h })]);
    fe.command([transfer(id, { x: 0, y: 0, w, h }, 0)]);
    fe.command([flush(id, { x: 0, y: 0, w, h })]);
    fe.serviceGpu(0);
    const s = fe.surfaces.get(0)!;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const [rr, gg, bb] = colour(x, y);
        assertEquals(
          s.px[y * w + x] & 0xffffff,
          (rr << 16) | (gg << 8) | bb,
          `format ${fmt} (${x},${y})`,
        );
      }
    }
    id++;
  }
});
