/**
 * `vesper demo`: sets up the real client chain on this machine and drives a
 * real Vulkan client through Vesper, showing step by step the render-protocol
 * exchange Vesper serves:
 *
 *   vulkaninfo → Mesa venus (guest driver) → virgl_test_server (virglrenderer
 *   1.1.0 proxy) → Vesper (exec'd through RENDER_SERVER_EXEC_PATH) → workers
 *
 * vulkaninfo runs under a timeout; the demo shows what arrived and what
 * Vesper answered, then one line of Vesper's own counters (see vesperStats).
 */
import { ensureChroot, REPO } from "../harness/chroot.ts";
import {
  processesMatching,
  runVenusClient,
  startVtest,
  VESPER_CMDLINE,
  waitFor,
} from "../harness/vtest.ts";
import { Logger } from "../log.ts";
import { replayCapture } from "../venus/replay.ts";
import { renderSceneDemo } from "./scene.ts";

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
  // the compiled binary (and bin/vesper) has only the render server's
  // permissions; the demo also runs programs and reads the uid
  const missing = (["run", "sys"] as const).filter((name) =>
    Deno.permissions.querySync({ name }).state !== "granted"
  );
  if (missing.length > 0) {
    console.error(
      `vesper demo: needs Deno's --allow-${missing.join(" and --allow-")} (it builds a chroot ` +
        "and runs virgl_test_server and vulkaninfo), which the render server's permissions " +
        "leave out: run it as `./run demo` (or `deno run -A main.ts demo`)",
    );
    return 2;
  }
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
  const captureDir = `/tmp/vesper-demo-capture-${Deno.pid}`;
  Deno.mkdirSync(`${root}${captureDir}`, { recursive: true });
  const vtest = await startVtest(root, `${REPO}/bin/vesper`, {
    VESPER_LOG_LEVEL: "debug",
    VESPER_CAPTURE: captureDir,
  });
  let run;
  try {
    console.log("3. running `vulkaninfo --summary` on Mesa venus against it (bounded: 20 s)\n");
    run = await runVenusClient(root, vtest, ["vulkaninfo", "--summary"], 20);
    await waitFor(() => processesMatching(VESPER_CMDLINE).length === 0, 5000);
  } finally {
    await vtest.stop();
  }
  const code = run.code;
  const log = vtest.log(); // the server has stopped: its log is complete
  const lines = log.split("\n");
  console.log("4. the render-protocol exchange Vesper served, step by step:\n");
  let n = 0;
  const counts = new Map<string, number>();
  for (const line of lines) {
    for (const [re, say] of STEPS) {
      const m = line.match(re);
      if (!m) continue;
      const key = re.source;
      counts.set(key, (counts.get(key) ?? 0) + 1);
      if (counts.get(key)! <= 3) console.log(`   ${String(++n).padStart(2)}. ${say(m)}`);
      else if (counts.get(key) === 4) console.log(`       (more of the same follow)`);
    }
  }
  const errors = lines.filter((l) => /vesper\[\d+\].* (ERROR|WARN) /.test(l));
  console.log(`\n   Vesper log: ${errors.length} errors/warnings`);
  errors.forEach((l) => console.log(`     ${l}`));
  if (code === 0) {
    const device = run.stdout.match(/deviceName\s*=\s*(.*)/)?.[1]?.trim() ?? "?";
    console.log(`\n5. vulkaninfo --summary completed through Vesper: deviceName = ${device}`);
  } else {
    console.log(
      `\n5. vulkaninfo --summary ended with status ${code}${run.timedOut ? " (timed out)" : ""}: ${
        run.stderr.trim().split("\n").slice(-2).join(" | ")
      }`,
    );
  }
  console.log(`   ${await vesperStats(log, `${root}${captureDir}`)}`);
  Deno.removeSync(`${root}${captureDir}`, { recursive: true });
  console.log(
    `   Vesper processes left behind: ${processesMatching(VESPER_CMDLINE).length}`,
  );
  // 6. rendering: a small scene offscreen through Mesa venus → Vesper, as a PNG, checked
  // against the same program run directly on lavapipe
  const pngPath = `${Deno.cwd()}/vesper-demo-scene.png`;
  console.log("\n6. rendering a scene offscreen through Mesa venus → Vesper → lavapipe");
  let sceneOk = false;
  try {
    const scene = await renderSceneDemo({ root, pngPath });
    sceneOk = scene.ok;
    console.log(`   ${scene.summary}`);
    if (scene.ok) console.log(`   wrote ${pngPath} (open it with any image viewer)`);
  } catch (e) {
    console.log(`   scene failed: ${(e as Error).message}`);
  }
  return n > 0 && code === 0 && sceneOk ? 0 : 1;
}

/**
 * One line of Vesper's own counters for the run: contexts (the server's
 * CREATE_CONTEXT log lines), Venus commands decoded and stream bytes.
 *
 * Each worker logs its counters when its context ends (src/render/context.ts:
 * `ctx N "name": ended: requests=… submits=… submitBytes=… fences=…; backend:
 * streams=… venusCommands=… venusBytes=… …`). Under vtest that line is often
 * never written: when the client leaves, the proxy SIGKILLs the render server
 * right after DESTROY_CONTEXT, and workers die with it. So the commands and
 * bytes come from the workers' captures (VESPER_CAPTURE, written synchronously
 * as each stream arrives), replayed through Vesper's decoder; the live
 * end-of-context counters are added when a worker got to log them.
 */
export async function vesperStats(log: string, captureDir: string): Promise<string> {
  const contexts = [...log.matchAll(/CREATE_CONTEXT ctx \d+ "[^"]*": worker started/g)].length;
  let commands = 0, bytes = 0, files = 0;
  const quiet = new Logger("replay", "error", () => {});
  try {
    for (const e of Deno.readDirSync(captureDir)) {
      if (!e.name.endsWith(".vcap")) continue;
      const r = await replayCapture(`${captureDir}/${e.name}`, quiet);
      commands += r.commands;
      bytes += r.bytes;
      files++;
    }
  } catch { /* no captures */ }
  const ended = [...log.matchAll(/ctx (\d+) "[^"]*": ended: ([^;]*); backend: (.*)/g)].map((m) => {
    const kv = Object.fromEntries(
      `${m[2]} ${m[3]}`.trim().split(/\s+/).map((p) => p.split("=")).map((
        [k, v],
      ) => [k, Number(v)]),
    );
    return `ctx ${m[1]}: ${kv.requests ?? "?"} requests, ${kv.submitBytes ?? "?"} submit bytes`;
  });
  const n = (k: number, what: string) => `${k} ${what}${k === 1 ? "" : "s"}`;
  return `Vesper stats: ${n(contexts, "context")}, ${commands} Venus commands decoded, ` +
    `${bytes} bytes of Venus streams (${n(files, "capture")} replayed)` +
    (ended.length
      ? `; logged at context end: ${ended.join(", ")}`
      : "; no end-of-context line (the proxy SIGKILLed the server first)");
}
