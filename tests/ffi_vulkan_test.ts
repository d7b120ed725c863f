/**
 * ffi/vulkan.ts with the real loader and lavapipe (in the trixie chroot): an
 * entry point is called through Deno.UnsafeFnPointer until it has been called
 * TIER_UP_AFTER_CALLS times, then through the loader's fast-call export; with
 * VESPER_VK_NO_LOADER_EXPORTS it stays on the pointer. Either way the calls
 * give the same results.
 */
import { assert, assertEquals } from "./support/assert.ts";
import { ensureChroot, inChroot, LVP_ICD, REPO } from "../src/harness/chroot.ts";

const root = await ensureChroot();

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
  return JSON.parse(stdout.trim().split("\n").at(-1)!) as {
    functions: number;
    results: number[];
    devices: number;
  };
}

Deno.test({
  name: "a Vulkan entry point moves to the loader's export after TIER_UP_AFTER_CALLS calls",
  ignore: !root,
  async fn() {
    const r = await probe();
    assertEquals(r.functions, 2, "pointer first, then the export");
    assertEquals(r.results, [0]);
    assert(r.devices >= 1, "lavapipe is a physical device");
  },
});

Deno.test({
  name: "VESPER_VK_NO_LOADER_EXPORTS keeps entry points on their pointers",
  ignore: !root,
  async fn() {
    const r = await probe({ VESPER_VK_NO_LOADER_EXPORTS: "1" });
    assertEquals(r.functions, 1);
    assertEquals(r.results, [0]);
    assert(r.devices >= 1);
  },
});
