/**
 * Against the real client: Mesa 25.0.7's venus driver → virgl_test_server
 * (virglrenderer 1.1.0 proxy) → Vesper, in the trixie chroot.
 *
 * The Venus backend does not decode streams yet, so vulkaninfo cannot finish
 * (the driver waits for ring replies); it runs under a timeout, and the test
 * asserts on what Vesper saw and answered, and that Vesper and its workers
 * are gone once vtest drops them. The same chain with the C reference server
 * runs vulkaninfo to completion, which shows the harness itself is right.
 */
import { assert } from "./support/assert.ts";
import { C_SERVER, ensureChroot } from "../src/harness/chroot.ts";
import { VESPER, waitFor } from "./support/render_client.ts";
import {
  processesMatching,
  runVenusClient,
  startVtest,
  VESPER_CMDLINE,
} from "../src/harness/vtest.ts";

const root = await ensureChroot();

for (const mode of ["process", "thread"] as const) {
  Deno.test({
    name: `real client (${mode} workers): the proxy's sequence arrives and is answered`,
    ignore: !root,
    async fn() {
      const vtest = await startVtest(root!, VESPER, {
        VESPER_LOG_LEVEL: "debug",
        VESPER_WORKER: mode,
      });
      let run;
      try {
        run = await runVenusClient(root!, vtest, ["vulkaninfo", "--summary"], 8);
        // The client is gone: vtest tears its renderer down, and the proxy
        // SIGKILLs the render server (its fini does). Nothing of Vesper may
        // remain: process-mode workers die with their server (PDEATHSIG).
        assert(
          await waitFor(() => processesMatching(VESPER_CMDLINE).length === 0, 10000),
          `Vesper processes left after the client left: ${processesMatching(VESPER_CMDLINE)}`,
        );
      } finally {
        await vtest.stop();
      }
      const log = vtest.log();
      const expect: [RegExp, string][] = [
        [
          /server: INFO serving client socket fd \d+ \(\w+ workers\)/,
          "Vesper started by the proxy",
        ],
        [/server: DEBUG INIT flags 0x([0-9a-f]+)/, "client INIT"],
        [/server: DEBUG CREATE_CONTEXT ctx \d+ "vulkaninfo": worker started/, "CREATE_CONTEXT"],
        [/ctx \d+: INIT, 64 timelines, eventfd (yes|no)/, "context INIT with the shmem"],
        [/CREATE_RESOURCE res \d+: shm blob of \d+ bytes/, "the driver's SHM blobs"],
        [/SUBMIT_CMD of \d+ bytes/, "SUBMIT_CMD"],
      ];
      for (const [re, what] of expect) {
        assert(re.test(log), `${what} not seen (${re}); vulkaninfo rc ${run?.code}\n${log}`);
      }
      const flags = parseInt(log.match(/INIT flags 0x([0-9a-f]+)/)![1], 16);
      assert((flags & 0xc0) === 0xc0, `INIT flags 0x${flags.toString(16)} lack VENUS|NO_VIRGL`);
      assert(!/ERROR/.test(log), `errors in Vesper's log:\n${log}`);
      assert(
        await waitFor(() => processesMatching(VESPER_CMDLINE).length === 0, 10000),
        `Vesper processes left after vtest exited: ${processesMatching(VESPER_CMDLINE)}\n${log}`,
      );
    },
  });
}

Deno.test({
  name: "real client with the C reference server: vulkaninfo --summary completes (harness check)",
  ignore: !root,
  async fn() {
    const vtest = await startVtest(root!, C_SERVER);
    try {
      const run = await runVenusClient(root!, vtest, ["vulkaninfo", "--summary"], 60);
      assert(run.code === 0, `vulkaninfo failed (${run.code}):\n${run.stderr}\n${vtest.log()}`);
      assert(/deviceName\s*=\s*Virtio-GPU Venus \(llvmpipe/.test(run.stdout), run.stdout);
    } finally {
      await vtest.stop();
    }
  },
});

Deno.test({
  name:
    "real client with VESPER_BACKEND=venus: the driver's streams decode cleanly and are captured",
  ignore: !root,
  async fn() {
    const dir = `/tmp/vesper-capture-${Deno.pid}`;
    Deno.mkdirSync(`${root}${dir}`, { recursive: true });
    const vtest = await startVtest(root!, VESPER, {
      VESPER_LOG_LEVEL: "debug",
      VESPER_BACKEND: "venus",
      VESPER_CAPTURE: dir,
    });
    try {
      await runVenusClient(root!, vtest, ["vulkaninfo", "--summary"], 8);
    } finally {
      await vtest.stop();
    }
    const log = vtest.log();
    assert(/capturing Venus streams to/.test(log), log);
    assert(!/ERROR/.test(log), `the Venus decoder rejected the driver's stream:\n${log}`);
    const files = [...Deno.readDirSync(`${root}${dir}`)].map((e) => `${root}${dir}/${e.name}`);
    assert(files.length >= 1, "no capture file");
    const out = await new Deno.Command(VESPER, { args: ["replay", files[0]], stdout: "piped" })
      .output();
    const text = new TextDecoder().decode(out.stdout);
    assert(out.code === 0 && /: [1-9]\d* commands/.test(text), `replay: ${text}`);
    Deno.removeSync(`${root}${dir}`, { recursive: true });
  },
});
