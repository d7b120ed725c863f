/** `vesper gpu2d` as a process: argument handling, and serving QEMU's socket over --fd. */
import { assert, assertEquals } from "../support/assert.ts";
import * as L from "../../ffi/libc.ts";
import { spawnWithFd } from "../../ffi/spawn.ts";
import { StreamSocket } from "../../ffi/unix_socket.ts";
import { gpu2dMain } from "../../src/gpu2d/main.ts";
import { Logger } from "../../src/log.ts";
import { PERMISSION_FLAGS } from "../../src/permissions.ts";
import { FORMAT_B8G8R8X8_UNORM } from "../../src/gpu2d/formats.ts";
import * as G from "../../src/gpu2d/virtio_gpu.ts";
import {
  attachBacking,
  create2d,
  flush,
  FrontendDouble,
  GPU_MSG,
  respType,
  setScanout,
  transfer,
} from "./support/frontend.ts";
import { GuestFb } from "./support/harness.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

Deno.test("gpu2dMain: bad usage is exit code 2 with a clear message", async () => {
  const lines: string[] = [];
  const log = new Logger("gpu2d", "info", (l) => lines.push(l));
  const memfd = L.memfdCreate("x", L.MFD_CLOEXEC);
  try {
    assertEquals(await gpu2dMain(["--bogus"], log), 2);
    assertEquals(await gpu2dMain([], log), 2);
    assertEquals(await gpu2dMain(["--fd", "4", "--socket-path", "/tmp/x"], log), 2);
    assertEquals(await gpu2dMain(["--fd", "1"], log), 2);
    assertEquals(await gpu2dMain(["--fd", "abc"], log), 2);
    assertEquals(await gpu2dMain(["--fd", String(memfd)], log), 2);
    assertEquals(await gpu2dMain(["--socket-path", "/tmp/x", "--num-scanouts", "99"], log), 2);
    assertEquals(await gpu2dMain(["--socket-path", "/tmp/x", "--max-update-bytes", "12"], log), 2);
  } finally {
    L.close(memfd);
  }
  const text = lines.join("");
  assert(/Unknown option '--bogus'/.test(text), text);
  assert(/exactly one of --socket-path PATH or --fd N/.test(text), text);
  assert(/--fd needs a descriptor number >= 3/.test(text), text);
  assert(/is not a socket/.test(text), text);
  assert(/--num-scanouts must be 1..16/.test(text), text);
  assert(/--max-update-bytes must be 0 or at least 4096/.test(text), text);
});

Deno.test({
  name: "vesper gpu2d --fd 3 serves a front-end in another process and writes its counters",
  sanitizeResources: false,
  fn() {
    const dir = Deno.makeTempDirSync();
    const stats = `${dir}/stats.json`;
    const [mine, theirs] = StreamSocket.pair();
    const pid = spawnWithFd(
      // With exactly the permissions the vesper binary has.
      [
        Deno.execPath(),
        "run",
        "--no-prompt",
        ...PERMISSION_FLAGS,
        `${ROOT}tools/gpu2d/vesper_gpu2d.ts`,
        "--fd",
        "3",
        "--stats-file",
        stats,
      ],
      { fd: theirs.fd },
    );
    theirs.close();
    const fe = new FrontendDouble({}, mine);
    try {
      fe.handshake();
      const fb = new GuestFb(fe, 256, 128);
      fe.command([create2d(1, FORMAT_B8G8R8X8_UNORM, 256, 128)]);
      fe.command([attachBacking(1, fb.entries())]);
      fe.command([setScanout(0, 1, { x: 0, y: 0, w: 256, h: 128 })]);
      fe.command([transfer(1, { x: 0, y: 0, w: 256, h: 128 }, 0)]);
      fe.command([flush(1, { x: 0, y: 0, w: 256, h: 128 })]);
      const r = { x: 10, y: 20, w: 64, h: 48 };
      assertEquals(respType(fe.command([transfer(1, r, r.y * 1024 + r.x * 4)])), G.RESP_OK_NODATA);
      assertEquals(respType(fe.command([flush(1, r)])), G.RESP_OK_NODATA);
      const deadline = Date.now() + 5000;
      while (
        fe.gpuLog.filter((m) => m.request === GPU_MSG.UPDATE).length < 2 && Date.now() < deadline
      ) fe.serviceGpu(10);
      assertEquals(fe.gpuLog.filter((m) => m.request === GPU_MSG.UPDATE).map((m) => m.rect), [
        { x: 0, y: 0, w: 256, h: 128 },
        r,
      ]);
    } finally {
      fe.close();
    }
    const st = L.waitpid(pid);
    assertEquals(st?.code, 0, "the back-end exits 0 when the front-end disconnects");
    const s = JSON.parse(Deno.readTextFileSync(stats));
    assertEquals(s.scanouts[0].flushes, 2);
    assertEquals(s.scanouts[0].rects, 2);
    assertEquals(s.scanouts[0].pixelBytes, (256 * 128 + 64 * 48) * 4);
    assertEquals(s.kickToUpdate.count, 2);
    Deno.removeSync(dir, { recursive: true });
  },
});
