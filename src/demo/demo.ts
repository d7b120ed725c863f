/**
 * `vesper demo`: sets up the real client chain on this machine and drives a
 * real Vulkan client through Vesper, showing step by step the render-protocol
 * exchange Vesper serves:
 *
 *   vulkaninfo → Mesa venus (guest driver) → virgl_test_server (virglrenderer
 *   1.1.0 proxy) → Vesper (exec'd through RENDER_SERVER_EXEC_PATH) → workers
 *
 * Until the Venus backend runs Vulkan, vulkaninfo cannot finish (the guest
 * driver waits for replies on its ring); the demo bounds it with a timeout and
 * shows what arrived and what Vesper answered.
 */
import { ensureChroot, REPO } from "../harness/chroot.ts";
import { processesMatching, runVenusClient, startVtest, waitFor } from "../harness/vtest.ts";

const STEPS: [RegExp, (m: RegExpMatchArray) => string][] = [
  [
    /server: INFO serving client socket fd (\d+) \((\w+) workers\)/,
    (m) => `proxy exec'd Vesper with --socket-fd ${m[1]} (SOCK_SEQPACKET checked; ${m[2]} workers)`,
  ],
  [
    /server: DEBUG INIT flags 0x([0-9a-f]+)/,
    (m) =>
      `client op INIT: renderer flags 0x${m[1]} (VENUS|NO_VIRGL set: ${
        (parseInt(m[1], 16) & 0xc0) === 0xc0 ? "yes" : "NO"
      })`,
  ],
  [
    /server: DEBUG CREATE_CONTEXT ctx (\d+) "([^"]*)": worker started/,
    (m) =>
      `client op CREATE_CONTEXT ctx ${m[1]} "${
        m[2]
      }": worker started, replied ok + context socket fd`,
  ],
  [
    /ctx (\d+): INIT, (\d+) timelines, eventfd (\w+)/,
    (m) => `context op INIT: shmem of ${m[2]} fence timelines mapped, eventfd: ${m[3]}`,
  ],
  [
    /ctx (\d+): CREATE_RESOURCE res (\d+): shm blob of (\d+) bytes/,
    (m) =>
      `context op CREATE_RESOURCE res ${m[2]}: ${
        m[3]
      }-byte memfd blob (ring / reply shm), replied SHM + fd`,
  ],
  [
    /ctx (\d+): SUBMIT_CMD of (\d+) bytes/,
    (m) => `context op SUBMIT_CMD: ${m[2]} bytes of Venus commands (e.g. vkCreateRingMESA)`,
  ],
  [/ctx (\d+): context socket closed/, () => `context socket closed by the proxy: worker ends`],
  [/DESTROY_CONTEXT ctx (\d+)/, (m) => `client op DESTROY_CONTEXT ctx ${m[1]}`],
];

export async function demoMain(_args: string[]): Promise<number> {
  console.log("Vesper demo: a real Vulkan client through Vesper\n");
  console.log("1. setting up the real client chain (Debian trixie chroot: virglrenderer 1.1.0,");
  console.log("   Mesa 25.0.7 venus + lavapipe, vulkan-tools) — about 40 s the first time");
  if (Deno.uid() !== 0) {
    console.error("vesper demo: needs root (debootstrap, chroot, bind mounts)");
    return 1;
  }
  const root = await ensureChroot();
  if (!root) return 1;
  console.log(`   ready: ${root}\n`);
  console.log("2. starting virgl_test_server --venus with RENDER_SERVER_EXEC_PATH=bin/vesper");
  const vtest = await startVtest(root, `${REPO}/bin/vesper`, { VESPER_LOG_LEVEL: "debug" });
  let code: number;
  try {
    console.log("3. running `vulkaninfo --summary` on Mesa venus against it (bounded: 8 s)\n");
    const run = await runVenusClient(root, vtest, ["vulkaninfo", "--summary"], 8);
    code = run.code;
    await waitFor(() => processesMatching(`${REPO}/main.ts`).length === 0, 5000);
  } finally {
    await vtest.stop();
  }
  console.log("4. the render-protocol exchange Vesper served, step by step:\n");
  let n = 0;
  const counts = new Map<string, number>();
  for (const line of vtest.log().split("\n")) {
    for (const [re, say] of STEPS) {
      const m = line.match(re);
      if (!m) continue;
      const key = re.source;
      counts.set(key, (counts.get(key) ?? 0) + 1);
      if (counts.get(key)! <= 3) console.log(`   ${String(++n).padStart(2)}. ${say(m)}`);
      else if (counts.get(key) === 4) console.log(`       (more of the same follow)`);
    }
  }
  const errors = vtest.log().split("\n").filter((l) => /vesper\[\d+\].* (ERROR|WARN) /.test(l));
  console.log(`\n   Vesper log: ${errors.length} errors/warnings`);
  errors.forEach((l) => console.log(`     ${l}`));
  console.log(
    `\n5. vulkaninfo ended with status ${code} — expected for now: the Venus backend that ` +
      `answers the driver's ring is the next milestone.`,
  );
  console.log(
    `   Vesper processes left behind: ${processesMatching(`${REPO}/main.ts`).length}`,
  );
  return n > 0 ? 0 : 1;
}
