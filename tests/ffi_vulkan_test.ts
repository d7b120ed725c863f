/**
 * ffi/vulkan.ts with the real loader and lavapipe (in the trixie chroot):
 * device-level commands are bound to the loader's fast-call exports, instance
 * level ones to their Deno.UnsafeFnPointers (VESPER_VK_NO_LOADER_EXPORTS:
 * everything), each once, before its first call; either way the calls work.
 */
import { assert, assertEquals } from "./support/assert.ts";
import { ensureChroot, inChroot, LVP_ICD, REPO } from "../src/harness/chroot.ts";

const root = await ensureChroot();

interface Bound {
  binding: "pointer" | "export";
  functions: number;
}

async function probe(env: Record<string, string> = {}) {
  const argv = inChroot(root!, [
    `${REPO}/.tools/deno`,
    "run",
    "--no-lock",
    "--allow-all",
    `${REPO}/tests/support/proc_table_probe.ts`,
  ], { VK_ICD_FILENAMES: LVP_ICD, DENO_DIR: `${REPO}/.cache/deno`, ...env });
  const r = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const stdout = new TextDecoder().decode(r.stdout);
  assert(r.success, `probe failed: ${new TextDecoder().decode(r.stderr)}`);
  const o = JSON.parse(stdout.trim().split("\n").at(-1)!) as {
    instanceLevel: Bound & { devices: number };
    deviceLevel: Bound & { queues: boolean[] };
  };
  assert(o.instanceLevel.devices >= 1, "lavapipe is a physical device");
  assertEquals(o.deviceLevel.queues, [true], "vkGetDeviceQueue2: the same queue each time");
  assertEquals(o.instanceLevel.functions, 1, "one binding for all calls");
  assertEquals(o.deviceLevel.functions, 1, "one binding for all calls");
  return o;
}

Deno.test({
  name: "Vulkan: device-level commands call the loader's exports, instance-level ones pointers",
  ignore: !root,
  async fn() {
    const r = await probe();
    assertEquals(r.instanceLevel.binding, "pointer");
    assertEquals(r.deviceLevel.binding, "export");
  },
});

Deno.test({
  name: "VESPER_VK_NO_LOADER_EXPORTS keeps every command on its pointer",
  ignore: !root,
  async fn() {
    const r = await probe({ VESPER_VK_NO_LOADER_EXPORTS: "1" });
    assertEquals(r.instanceLevel.binding, "pointer");
    assertEquals(r.deviceLevel.binding, "pointer");
  },
});
