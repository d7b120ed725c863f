/**
 * End to end with the real stack: QEMU 10 (TCG) + a pinned Debian 6.1 guest
 * kernel + tools/gpu2d/guest/drmtest.c, served by `vesper gpu2d`.
 *
 * Checks: one TRANSFER_TO_HOST_2D + RESOURCE_FLUSH per DIRTYFB with exactly
 * the clip rect (a multi-clip call arrives merged into its bounding box);
 * one UPDATE of that rect on the display socket per flush; that QEMU
 * received exactly those UPDATEs and cursor messages (a logging proxy,
 * tools/gpu2d/vu_proxy.ts, sits on both sockets); and a QMP screendump equal to the expected picture pixel for
 * pixel (including that pixels drawn but never dirtied did not show up).
 */
import { assert, assertEquals } from "../support/assert.ts";
import * as Q from "./support/qemu.ts";
import { MAX_UPDATE_BYTES } from "../../src/gpu2d/device.ts";

type Ev = {
  kind: string;
  cmd?: string;
  resource?: number;
  rect?: { x: number; y: number; w: number; h: number };
  request?: number;
  words?: number[];
  pixelBytes?: number;
};

// The picture drmtest draws (same integer arithmetic as the C program).
const gradient = (x: number, y: number) =>
  ((Math.floor(x * 255 / 1279) & 0xff) << 16) | ((Math.floor(y * 255 / 799) & 0xff) << 8) |
  ((x + y) & 0xff);
const boxColor = (i: number) => ((0x00ff0000 >>> (i % 3 * 8)) | ((i * 12) << 8)) >>> 0;
const boxes = Array.from(
  { length: 20 },
  (_, i) => ({ x: 20 + (i % 10) * 120, y: 100 + Math.floor(i / 10) * 300, w: 64, h: 48 }),
);

function expected(x: number, y: number): number {
  for (let i = boxes.length - 1; i >= 0; i--) {
    const b = boxes[i];
    if (x >= b.x && x < b.x + b.w && y >= b.y && y < b.y + b.h) return boxColor(i);
  }
  if (x < 16 && y < 16) return 0xffffff;
  if (x >= 1264 && y >= 784) return 0xffff00;
  return gradient(x, y); // the undirtied square at (600,250) must not be visible
}

Deno.test({
  name: "e2e: QEMU + Debian 6.1 guest + drmtest through vesper gpu2d",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const guest = await Q.prepareGuest();
    const dir = Deno.makeTempDirSync({ prefix: "vesper-gpu2d-e2e-" });
    const sock = `${dir}/vu.sock`;
    const beSock = `${dir}/be.sock`;
    const be = Q.startBackend("vesper", beSock, dir);
    let proxy: Deno.ChildProcess | null = null;
    let run: Q.QemuRun | null = null;
    let qemuErr: Promise<string> = Promise.resolve("");
    try {
      await Q.waitFor(() => Q.exists(beSock), 15_000, "the back-end socket");
      proxy = Deno.env.get("NOPROXY") ? null : Q.startProxy(sock, beSock, `${dir}/proxy.jsonl`);
      if (!proxy) Deno.symlinkSync(beSock, sock);
      await Q.waitFor(() => Q.exists(sock), 15_000, "the proxy socket");
      run = Q.startQemu(guest, sock, dir, 4);
      const r = run;
      qemuErr = new Response(r.proc.stderr).text();
      await Q.waitFor(() => /DRMTEST (DONE|FAIL)/.test(Q.serialText(r)), 50_000, "DRMTEST DONE");
      assert(!Q.serialText(r).includes("DRMTEST FAIL"), Q.serialText(r));
      // The guest's last step waited for the host to handle every flush; give
      // QEMU's main loop (and the proxy) time to take the UPDATEs off the socket.
      await new Promise((ok) => setTimeout(ok, 1000));
      await Q.screendump(r.qmp, `${dir}/screen.ppm`);
      const st = await r.proc.status;
      clearTimeout(r.timer);
      assert(st.success, `QEMU exited with ${st.code}`);
      const beStatus = await be.status;
      assert(beStatus.success, `back-end exited with ${beStatus.code}`);
      if (proxy) assert((await proxy.status).success, "proxy failed");
    } finally {
      if (run) {
        clearTimeout(run.timer);
        try {
          run.proc.kill("SIGKILL");
        } catch { /* exited */ }
        await run.proc.status;
      }
      for (const p of proxy ? [be, proxy] : [be]) {
        try {
          p.kill("SIGKILL");
        } catch { /* exited */ }
        await p.status;
        await p.stderr.cancel();
      }
    }

    const qemuStderr = await qemuErr;
    assert(!/failed to read msg/.test(qemuStderr), `QEMU lost display messages:\n${qemuStderr}`);
    const events: Ev[] = Deno.readTextFileSync(`${dir}/trace.jsonl`).trim().split("\n").map((l) =>
      JSON.parse(l)
    );
    // drmtest's framebuffer is the second 1280x800 resource (the first is fbcon's).
    const fbs = events.filter((e) =>
      e.cmd === "RESOURCE_CREATE_2D" && e.rect?.w === 1280 && e.rect?.h === 800
    );
    assert(fbs.length >= 2, "drmtest's framebuffer was not created");
    const res = fbs[1].resource!;
    const full = { x: 0, y: 0, w: 1280, h: 800 };
    // SETCRTC (full), 0 clips (full), 2 clips (merged bounding box = full), then the 20 boxes.
    const want = [full, full, full, ...boxes];
    const mine = events.filter((e) =>
      e.resource === res && (e.cmd === "TRANSFER_TO_HOST_2D" || e.cmd === "RESOURCE_FLUSH")
    );
    const flushes = mine.filter((e) => e.cmd === "RESOURCE_FLUSH").map((e) => e.rect);
    assertEquals(flushes, want, "one RESOURCE_FLUSH per DIRTYFB with the exact rect");
    // Each flush is preceded by exactly one transfer of the same rect.
    for (let i = 0; i < mine.length; i += 2) {
      assertEquals(mine[i].cmd, "TRANSFER_TO_HOST_2D");
      assertEquals(mine[i + 1].cmd, "RESOURCE_FLUSH");
      assertEquals(mine[i].rect, mine[i + 1].rect);
    }
    // What went to QEMU after each of those flushes: that rect (big rects in
    // whole-row bands of at most MAX_UPDATE_BYTES per message, tiling it exactly).
    const firstFlush = events.findIndex((e) => e.resource === res && e.cmd === "RESOURCE_FLUSH");
    const lastFlush = events.findLastIndex((e) => e.resource === res && e.cmd === "RESOURCE_FLUSH");
    const window = events.slice(firstFlush, lastFlush + 3);
    assertEquals(window.filter((e) => e.kind === "update").map((e) => e.rect), want);
    const bands = window.filter((e) => e.kind === "sent" && e.request === 8).map((e) => e.words!);
    const tiled: { x: number; y: number; w: number; h: number }[] = [];
    for (const [, x, y, w, h] of bands) {
      const t = tiled[tiled.length - 1];
      if (t && t.x === x && t.w === w && t.y + t.h === y && !(x === 0 && y === 0)) t.h += h;
      else tiled.push({ x, y, w, h });
      assert(20 + w * h * 4 + 12 <= MAX_UPDATE_BYTES, "band too big for QEMU's reader");
    }
    assertEquals(tiled, want);
    // Cursor: one CURSOR_UPDATE at (100,100), then three CURSOR_POS.
    const cur = events.filter((e) => e.kind === "sent" && e.request! >= 4 && e.request! <= 6).slice(
      0,
      4,
    );
    assertEquals(cur.map((e) => [e.request, e.words![1], e.words![2]]), [
      [6, 100, 100],
      [4, 150, 120],
      [4, 200, 140],
      [4, 250, 160],
    ]);
    assertEquals(cur[0].pixelBytes, 64 * 64 * 4);
    // QEMU received exactly what was sent: every UPDATE, SCANOUT and cursor message, in order.
    const received = Q.readProxyLog(`${dir}/proxy.jsonl`).filter((m) =>
      m.request >= 4 && m.request <= 8
    );
    const sent = events.filter((e) => e.kind === "sent" && e.request! >= 4 && e.request! <= 8);
    assertEquals(
      received.map((m) => [m.request, ...m.words]),
      sent.map((e) => [e.request, ...e.words!]),
    );
    assert(
      received.filter((m) => m.request === 8).every((m) =>
        m.size === 20 + m.words[3] * m.words[4] * 4
      ),
    );
    assert(received.every((m) => m.flags === 0), "UPDATE/SCANOUT/cursor flags are 0");
    // The screendump equals the expected picture.
    const img = Q.readPpm(`${dir}/screen.ppm`);
    assertEquals([img.w, img.h], [1280, 800]);
    let bad = 0;
    let firstBad = "";
    for (let y = 0; y < 800; y++) {
      for (let x = 0; x < 1280; x++) {
        const o = (y * 1280 + x) * 3;
        const got = (img.rgb[o] << 16) | (img.rgb[o + 1] << 8) | img.rgb[o + 2];
        if (got !== expected(x, y)) {
          if (!bad) {
            firstBad = `(${x},${y}) got ${got.toString(16)} want ${expected(x, y).toString(16)}`;
          }
          bad++;
        }
      }
    }
    assertEquals(bad, 0, `${bad} pixels differ, first ${firstBad}`);
    // Counters the user sees.
    const stats = JSON.parse(Deno.readTextFileSync(`${dir}/stats.json`));
    assert(stats.scanouts[0].flushes >= want.length);
    assertEquals(stats.scanouts[0].rects, events.filter((e) => e.kind === "update").length);
    Deno.removeSync(dir, { recursive: true });
  },
});
