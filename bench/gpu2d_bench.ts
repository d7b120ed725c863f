/**
 * In-process micro-benchmarks of the gpu2d back-end (deno bench): one
 * TRANSFER_TO_HOST_2D + RESOURCE_FLUSH cycle through real rings, eventfds
 * and the display socket, driven by the front-end double in this process.
 * The comparison with QEMU's reference back-end is bench/gpu2d_vs_reference.ts
 * and bench/gpu2d_guest_vs_reference.ts.
 */
import { FORMAT_B8G8R8X8_UNORM } from "../src/gpu2d/formats.ts";
import {
  attachBacking,
  create2d,
  flush,
  setScanout,
  transfer,
} from "../tests/gpu2d/support/frontend.ts";
import { GuestFb, pattern, rig } from "../tests/gpu2d/support/harness.ts";

for (const [w, h] of [[1280, 800], [1920, 1080]]) {
  const r = rig({ memSize: 64 * 1024 * 1024 });
  const fe = r.fe;
  const fb = new GuestFb(fe, w, h);
  fe.command([create2d(1, FORMAT_B8G8R8X8_UNORM, w, h)]);
  fe.command([attachBacking(1, fb.entries())]);
  fe.command([setScanout(0, 1, { x: 0, y: 0, w, h })]);
  fb.fill(0, 0, w, h, pattern);
  const cycle = (x: number, y: number, cw: number, ch: number) => {
    const rect = { x, y, w: cw, h: ch };
    fe.submit(0, [transfer(1, rect, y * fb.stride + x * 4)], 24, false);
    fe.submit(0, [flush(1, rect)], 24);
    fe.waitUsed(0, 2);
    fe.serviceGpu(0);
    fe.gpuLog.length = 0;
  };
  let i = 0;
  Deno.bench(`gpu2d transfer+flush 64x48 on ${w}x${h}`, { group: `${w}x${h}` }, () => {
    i++;
    cycle((i * 64) % (w - 64), (i * 48) % (h - 48), 64, 48);
  });
  Deno.bench(
    `gpu2d transfer+flush full frame ${w}x${h}`,
    { group: `${w}x${h}`, baseline: true },
    () => {
      cycle(0, 0, w, h);
    },
  );
}
