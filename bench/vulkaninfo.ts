/**
 * End-to-end vulkaninfo benchmark: full `vulkaninfo` (text, to /dev/null) on
 * Mesa venus through virgl_test_server with the C reference render server
 * and with Vesper (process and thread workers), plus vulkaninfo straight on
 * lavapipe for reference — same run, same client, rounds interleaved.
 *
 *   deno run -A bench/vulkaninfo.ts [--runs N] [--timeout S] [--json]
 *
 * Everything runs on CPU 0: each virgl_test_server is pinned with
 * `taskset -a -c -p 0` right after it starts (its per-client children — the
 * forked proxy, the render server, its workers — inherit that), and each
 * client runs under `taskset -c 0`. A time is the wall time of the client
 * process as this script sees it (it includes the per-client render server
 * start: vtest execs one per client), launched as chroot → env → timeout →
 * taskset → vulkaninfo; "launch overhead" times `true` launched the same way.
 * A configuration whose run fails is reported as failed, the rest go on.
 * The report ends with the start-up floor (bench/startup_floor.ts) against
 * the C server's median.
 */
import { parseArgs } from "node:util";
import { ensureChroot, LVP_ICD } from "../src/harness/chroot.ts";
import { startVtest, venusClientEnv, type VtestServer } from "../src/harness/vtest.ts";
import { describeStartupFloor, measureStartupFloor } from "./startup_floor.ts";
import { median, percentile } from "./stats.ts";
import {
  C_REFERENCE,
  type ServerConfig,
  timeInChroot,
  vesperServer,
} from "../src/harness/vulkaninfo.ts";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "10" },
    timeout: { type: "string", default: "30" },
    json: { type: "boolean", default: false },
  },
});
const RUNS = Number(values.runs);
const TIMEOUT_S = Number(values.timeout);
if (!(RUNS >= 1)) throw new Error("--runs N: N >= 1");

const root = await ensureChroot();
if (!root) {
  console.error("bench/vulkaninfo: needs root to set up the trixie chroot");
  Deno.exit(1);
}

interface Config {
  name: string;
  server: ServerConfig | null;
  argv: string[];
  vtest?: VtestServer;
  ms: number[];
  failures: string[];
  skipped: boolean;
}

const PIN = ["taskset", "-c", "0"];
const configs: Config[] = [
  { name: "launch overhead (true)", server: null, argv: [...PIN, "true"] },
  { name: "direct lavapipe", server: null, argv: [...PIN, "vulkaninfo"] },
  { name: "C server", server: C_REFERENCE, argv: [...PIN, "vulkaninfo"] },
  { name: "Vesper (process)", server: vesperServer("process"), argv: [...PIN, "vulkaninfo"] },
  { name: "Vesper (thread)", server: vesperServer("thread"), argv: [...PIN, "vulkaninfo"] },
].map((c) => ({ ...c, ms: [], failures: [], skipped: false }));

function envOf(c: Config): Record<string, string> {
  if (!c.vtest) return { VK_ICD_FILENAMES: LVP_ICD, XDG_RUNTIME_DIR: "/run/xdg" };
  return venusClientEnv(c.vtest);
}

async function once(c: Config): Promise<number | null> {
  const r = await timeInChroot(root!, c.argv, envOf(c), TIMEOUT_S);
  if (r.code === 0) return r.ms;
  const tail = r.stderr.trim().split("\n").slice(-2).join(" | ");
  c.failures.push(`rc ${r.code}${r.code === 137 ? " (timed out)" : ""}: ${tail}`);
  return null;
}

try {
  for (const c of configs) {
    if (!c.server) continue;
    c.vtest = await startVtest(root, c.server.renderServer, c.server.env);
    const pin = await new Deno.Command("taskset", {
      args: ["-a", "-c", "-p", "0", String(c.vtest.child.pid)],
      stdout: "null",
    }).output();
    if (!pin.success) throw new Error(`cannot pin virgl_test_server ${c.vtest.child.pid}`);
  }
  // warm-up (not counted): page cache, first-use costs; a configuration that
  // fails here is not run again
  for (const c of configs) {
    if ((await once(c)) === null) {
      c.skipped = true;
      console.error(`${c.name}: failed in warm-up (${c.failures.at(-1)}); skipped`);
    }
  }
  for (let i = 0; i < RUNS; i++) {
    for (const c of configs) {
      if (c.skipped) continue;
      const ms = await once(c);
      if (ms !== null) c.ms.push(ms);
    }
  }
} finally {
  for (const c of configs) await c.vtest?.stop();
}

const rows = configs.map((c) => ({
  name: c.name,
  ok: c.ms.length,
  runs: c.skipped ? 0 : RUNS,
  failed: c.skipped || c.ms.length === 0,
  medianMs: median(c.ms),
  p90Ms: percentile(c.ms, 0.9),
  minMs: c.ms.length ? Math.min(...c.ms) : NaN,
  failures: c.failures,
}));
const cRow = rows.find((r) => r.name === "C server")!;
// what Deno's start-up alone costs per client, beside the budget a 1.5x target leaves
const floor = await measureStartupFloor(Math.min(RUNS, 10));

if (values.json) {
  console.log(JSON.stringify({ runs: RUNS, cpu: 0, rows, startupFloor: floor }, null, 1));
} else {
  const f = (x: number) => Number.isNaN(x) ? "-" : x.toFixed(1);
  console.log(
    `vulkaninfo end to end (full text to /dev/null), ${RUNS} runs each, all on CPU 0 ` +
      `(wall ms: median, p90, min)`,
  );
  for (const r of rows) {
    const status = r.failed
      ? `FAILED (${r.failures.length} failure(s): ${r.failures[0] ?? "?"})`
      : `${f(r.medianMs).padStart(8)} ${f(r.p90Ms).padStart(8)} ${f(r.minMs).padStart(8)}` +
        (r.failures.length ? `   (${r.failures.length} failed run(s): ${r.failures[0]})` : "");
    console.log(`  ${r.name.padEnd(24)} ${status}`);
  }
  console.log("ratio Vesper / C server (lower is better; median, p90):");
  for (const r of rows.filter((r) => r.name.startsWith("Vesper"))) {
    console.log(
      `  ${r.name.padEnd(24)} ${
        r.failed || cRow.failed
          ? "-"
          : `${(r.medianMs / cRow.medianMs).toFixed(2)}x  ${(r.p90Ms / cRow.p90Ms).toFixed(2)}x`
      }`,
    );
  }
  console.log(describeStartupFloor(floor, cRow.failed ? undefined : cRow.medianMs).join("\n"));
}
