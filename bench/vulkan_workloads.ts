/**
 * Vulkan workload benchmarks (issue 5 item 6): bench/workloads/vkbench.c run
 * as a real Vulkan program in the trixie chroot, four ways:
 *
 *   lavapipe       directly on lavapipe (no Venus at all)
 *   c-noperf       Mesa venus → virgl_test_server → C virgl_render_server, with
 *                  VN_PERF=no_fence_feedback,no_semaphore_feedback,no_event_feedback,no_query_feedback
 *                  (the C server cannot export mappable memory here: no /dev/udmabuf)
 *   vesper-noperf  the same chain through Vesper, same VN_PERF (like-for-like with c-noperf)
 *   vesper         through Vesper with the driver's default settings
 *
 *   deno run -A bench/vulkan_workloads.ts [--runs 3] [--json out.json] [--quick]
 *        [--metrics submit,submit-cold,submit-long,cmdstream,upload,dispatch,dispatch-cold,
 *                   dispatch-long,alloc,init]
 *        [--configs lavapipe,c-noperf,vesper-noperf,vesper] [--timeout 60] [--cpu 0|none]
 *        [--rebuild]
 *
 * Everything (this runner, virgl_test_server, the render servers it execs,
 * the clients) is pinned to one CPU (`taskset -c 0`, `--cpu none` to not
 * pin). Each metric's value is the median over the runs; failed runs show as
 * failed, metrics that need mappable memory show n/a on the C server. The
 * programs are built in the chroot into bench/workloads/build/ (gitignored),
 * only when their sources changed.
 */
import { parseArgs } from "node:util";
import {
  buildInChroot,
  C_SERVER,
  ensureChroot,
  inChroot,
  LVP_ICD,
  REPO,
} from "../src/harness/chroot.ts";
import { runVenusClient, startVtest, type VtestServer } from "../src/harness/vtest.ts";
import { NO_FEEDBACK as NO_FEEDBACK_FLAGS, VESPER } from "../src/harness/workloads.ts";
import { median } from "./stats.ts";

const SRC = `${REPO}/bench/workloads`;
const BUILD = `${SRC}/build`;
const NO_FEEDBACK = NO_FEEDBACK_FLAGS.join(",");

interface Metric {
  id: string;
  /** the vkbench subcommand (default: id) */
  program?: string;
  /** what the row measures */
  label: string;
  args: string[];
  quickArgs: string[];
  /** the JSON field compared across configurations, and other fields shown */
  key: string;
  extra: string[];
  unit: string;
  higherIsBetter: boolean;
  /** maps guest memory: cannot run on the C server here */
  mapsMemory?: boolean;
}

// per_s is n over the total time, so it follows the mean, not the median: a
// few slow iterations (a JIT compile taking the only CPU) move it
const DISPATCH_EXTRA = ["median_us", "mean_us", "p99_us"];

/**
 * A latency workload measured three ways: steady (after as many untimed
 * iterations as timed ones: a JIT-compiled server reaches its speed only
 * after a few thousand), cold (the first iterations after 20, what a short
 * program sees) and long run (after 50000 untimed iterations, about 1–2 s:
 * Vesper's JIT has finished tiering up, while lavapipe under every
 * configuration has slowed down as its heap got shuffled — the C server's
 * dispatch rate drops from ~44k/s after 3000 iterations to 40–42k/s there).
 */
function latencyMetrics(
  program: string,
  what: string,
  n: { steady: number; cold: number; quick: number },
  row: Pick<Metric, "key" | "extra" | "unit" | "higherIsBetter">,
): Metric[] {
  const q = String(n.quick);
  return [
    {
      id: program,
      label: `${what} (steady)`,
      args: ["-w", String(n.steady), "-n", String(n.steady)],
      quickArgs: ["-w", q, "-n", q],
      ...row,
    },
    {
      id: `${program}-cold`,
      program,
      label: `${what} (cold)`,
      args: ["-n", String(n.cold)],
      quickArgs: ["-n", q],
      ...row,
    },
    {
      id: `${program}-long`,
      program,
      label: `${what} (long run)`,
      args: ["-w", "50000", "-n", "5000"],
      quickArgs: ["-w", "2000", "-n", q],
      ...row,
    },
  ];
}

const METRICS: Metric[] = [
  ...latencyMetrics("submit", "submit+wait", { steady: 5000, cold: 2000, quick: 300 }, {
    key: "median_us",
    extra: ["p99_us"],
    unit: "µs",
    higherIsBetter: false,
  }),
  // 20 rounds, the median: the rounds do not cost the same all along. On
  // lavapipe itself they go from 8 ms to 18-32 ms over 20 rounds, on the C
  // server from 27-34 ms to 50-56 ms (perf: the hot spots are loads in
  // lavapipe's walks over its command list, i.e. cache misses as its heap
  // gets shuffled), on Vesper from 50-70 ms (JIT warm-up) to a flat 35-37 ms.
  // With 5 rounds the median was mostly noise (either server ahead by ~10%).
  // first_ms and last_ms show the trend.
  {
    id: "cmdstream",
    label: "command stream (200k vkCmdPushConstants)",
    args: ["-n", "200000", "-r", "20"],
    quickArgs: ["-n", "200000", "-r", "2"],
    key: "cmds_per_s",
    extra: ["record_ms", "submit_wait_ms", "first_ms", "last_ms"],
    unit: "cmds/s",
    higherIsBetter: true,
  },
  {
    id: "upload",
    label: "upload through mapped memory (64 MiB)",
    args: ["-s", "64", "-r", "10"],
    quickArgs: ["-s", "64", "-r", "3"],
    key: "MBps",
    extra: ["memcpy_ms"],
    unit: "MB/s",
    higherIsBetter: true,
    mapsMemory: true,
  },
  ...latencyMetrics("dispatch", "dispatch+wait", { steady: 3000, cold: 1000, quick: 200 }, {
    key: "per_s",
    extra: DISPATCH_EXTRA,
    unit: "/s",
    higherIsBetter: true,
  }),
  {
    id: "alloc",
    label: "buffer+memory create/bind/destroy",
    args: ["-w", "2000", "-n", "2000"],
    quickArgs: ["-n", "300"],
    key: "per_s",
    extra: [],
    unit: "ops/s",
    higherIsBetter: true,
  },
  {
    id: "init",
    label: "instance+device creation",
    args: ["-n", "20"],
    quickArgs: ["-n", "5"],
    key: "median_ms",
    extra: ["instance_ms", "device_ms"],
    unit: "ms",
    higherIsBetter: false,
  },
];

interface Config {
  id: string;
  /** render server path in the chroot; null: the program runs directly on lavapipe */
  server: string | null;
  clientEnv: Record<string, string>;
  serverEnv: Record<string, string>;
}

const CONFIGS: Config[] = [
  { id: "lavapipe", server: null, clientEnv: {}, serverEnv: {} },
  { id: "c-noperf", server: C_SERVER, clientEnv: { VN_PERF: NO_FEEDBACK }, serverEnv: {} },
  {
    id: "vesper-noperf",
    server: VESPER,
    clientEnv: { VN_PERF: NO_FEEDBACK },
    serverEnv: { VESPER_LOG_LEVEL: "warn" },
  },
  { id: "vesper", server: VESPER, clientEnv: {}, serverEnv: { VESPER_LOG_LEVEL: "warn" } },
];

type RunResult = { ok: true; data: Record<string, unknown> } | { ok: false; error: string };

interface Cell {
  runs: RunResult[];
  /** "n/a": not runnable in this configuration */
  na?: string;
  /** median over the successful runs of the metric's key */
  value?: number;
  extra: Record<string, number>;
  device?: string;
}

const { values: opts } = parseArgs({
  options: {
    runs: { type: "string", default: "3" },
    json: { type: "string" },
    quick: { type: "boolean", default: false },
    metrics: { type: "string", default: METRICS.map((m) => m.id).join(",") },
    configs: { type: "string", default: CONFIGS.map((c) => c.id).join(",") },
    timeout: { type: "string", default: "60" },
    cpu: { type: "string", default: "0" },
    rebuild: { type: "boolean", default: false },
  },
});
const RUNS = Math.max(1, Number(opts.runs));
const TIMEOUT_S = Math.max(1, Number(opts.timeout));
const pick = <T extends { id: string }>(all: T[], list: string, what: string): T[] =>
  list.split(",").filter(Boolean).map((id) => {
    const x = all.find((a) => a.id === id);
    if (!x) throw new Error(`unknown ${what} ${id} (known: ${all.map((a) => a.id).join(", ")})`);
    return x;
  });
const metrics = pick(METRICS, opts.metrics!, "metric");
const configs = pick(CONFIGS, opts.configs!, "configuration");
const pin = opts.cpu === "none" ? [] : ["taskset", "-c", opts.cpu!];

async function run(argv: string[]): Promise<{ code: number; out: string }> {
  const o = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const dec = new TextDecoder();
  return { code: o.code, out: dec.decode(o.stdout) + dec.decode(o.stderr) };
}

/** Builds the bench programs in the chroot when their sources changed (or on --rebuild). */
function build(root: string): Promise<void> {
  if (opts.rebuild) {
    try {
      Deno.removeSync(`${BUILD}/.stamp`);
    } catch { /* never built */ }
  }
  return buildInChroot(root, SRC, BUILD);
}

/** The JSON line of a workload's output, or why there is none. */
function parseOutput(code: number, timedOut: boolean, out: string): RunResult {
  const lines = out.split("\n").filter((l) => l.startsWith("{"));
  for (const l of lines.reverse()) {
    try {
      const data = JSON.parse(l);
      if (data.ok === true && code === 0) return { ok: true, data };
      if (data.ok === false) return { ok: false, error: String(data.error) };
    } catch { /* not ours */ }
  }
  const tail = out.trim().split("\n").slice(-2).join(" | ").slice(0, 300);
  return {
    ok: false,
    error: timedOut
      ? `timed out after ${TIMEOUT_S} s${tail ? `: ${tail}` : ""}`
      : `exit ${code}${tail ? `: ${tail}` : ""}`,
  };
}

const servers = new Map<string, { vtest: VtestServer; exited: boolean }>();

async function server(root: string, cfg: Config): Promise<VtestServer> {
  const s = servers.get(cfg.id);
  // a proxy that exited (it does when it cannot start its renderer) is started again
  if (s && !s.exited) return s.vtest;
  const entry = { vtest: await startVtest(root, cfg.server!, cfg.serverEnv), exited: false };
  entry.vtest.child.status.then(() => entry.exited = true);
  servers.set(cfg.id, entry);
  return entry.vtest;
}

async function runOne(root: string, cfg: Config, m: Metric): Promise<RunResult> {
  if (buildError) {
    return { ok: false, error: "the workloads did not build (the compiler's output is above)" };
  }
  const argv = [
    ...pin, // each client pinned explicitly too (not only through the runner's affinity)
    `${BUILD}/vkbench`,
    m.program ?? m.id,
    ...(opts.quick ? m.quickArgs : m.args),
  ];
  try {
    if (cfg.server === null) {
      const cmd = inChroot(root, ["timeout", "-s", "KILL", String(TIMEOUT_S), ...argv], {
        VK_ICD_FILENAMES: LVP_ICD,
        ...cfg.clientEnv,
      });
      const r = await run(cmd);
      return parseOutput(r.code, r.code === 137, r.out);
    }
    const s = await server(root, cfg);
    const r = await runVenusClient(root, s, argv, TIMEOUT_S, cfg.clientEnv);
    return parseOutput(r.code, r.timedOut, r.stdout + r.stderr);
  } catch (e) {
    return { ok: false, error: e instanceof Error ? e.message.split("\n")[0] : String(e) };
  }
}

const root = await ensureChroot();
if (!root) {
  console.error("vulkan_workloads: needs the trixie chroot (root); skipped");
  Deno.exit(0);
}
if (pin.length) {
  // this runner and everything it starts (vtest, render servers, clients) on one CPU
  const r = await run(["taskset", "-a", "-p", "-c", opts.cpu!, String(Deno.pid)]);
  if (r.code !== 0) throw new Error(`taskset: ${r.out}`);
}
/** Set when the programs did not build: every run then fails with it, the table still prints. */
let buildError: string | null = null;
try {
  await build(root);
} catch (e) {
  buildError = e instanceof Error ? e.message : String(e);
  console.error(buildError);
}

const cells = new Map<string, Cell>();
const cellOf = (c: Config, m: Metric) => {
  const k = `${c.id}/${m.id}`;
  let x = cells.get(k);
  if (!x) cells.set(k, x = { runs: [], extra: {} });
  return x;
};
for (const c of configs) {
  for (const m of metrics) {
    if (m.mapsMemory && c.server === C_SERVER) {
      cellOf(c, m).na = "the C server cannot export mappable memory here (no /dev/udmabuf)";
    }
  }
}

// runs outermost, so drift over time spreads over all configurations alike
try {
  for (let r = 0; r < RUNS; r++) {
    for (const c of configs) {
      for (const m of metrics) {
        const cell = cellOf(c, m);
        // n/a, or failed before: a broken configuration is not retried
        if (cell.na || cell.runs.some((x) => !x.ok)) continue;
        const t0 = performance.now();
        const res = await runOne(root, c, m);
        cell.runs.push(res);
        console.error(
          `run ${r + 1}/${RUNS} ${c.id.padEnd(13)} ${m.id.padEnd(13)} ${
            res.ok ? `${res.data[m.key]} ${m.unit}` : `FAILED: ${res.error}`
          } (${((performance.now() - t0) / 1000).toFixed(1)} s)`,
        );
      }
    }
  }
} finally {
  for (const s of servers.values()) await s.vtest.stop();
}

for (const c of configs) {
  for (const m of metrics) {
    const cell = cellOf(c, m);
    const good = cell.runs.filter((x) => x.ok).map((x) => x.data);
    if (!good.length) continue;
    cell.value = median(good.map((d) => Number(d[m.key])));
    for (const f of m.extra) cell.extra[f] = median(good.map((d) => Number(d[f])));
    cell.device = String(good[0].device);
  }
}

// ---- report ----------------------------------------------------------------------

const fmt = (x: number) =>
  x >= 1e6
    ? `${(x / 1e6).toFixed(2)}M`
    : x >= 1e4
    ? `${(x / 1e3).toFixed(1)}k`
    : x >= 100
    ? x.toFixed(0)
    : x.toFixed(x >= 10 ? 1 : 2);
function show(cell: Cell | undefined): string {
  if (!cell) return "-";
  if (cell.na) return "n/a";
  const failed = cell.runs.filter((x) => !x.ok).length;
  if (cell.value === undefined) return cell.runs.length ? "failed" : "-";
  return fmt(cell.value) + (failed ? ` (${failed} failed)` : "");
}
/** value ratio a/b (↑ metric: >1 is better for a; ↓ metric: <1 is) */
function ratio(a?: Cell, b?: Cell): string {
  if (a?.value === undefined || b?.value === undefined || b.value === 0) return "-";
  return `${(a.value / b.value).toFixed(2)}×`;
}

const cfg = (id: string) => configs.find((c) => c.id === id);
const get = (cid: string, m: Metric) => cfg(cid) ? cells.get(`${cid}/${m.id}`) : undefined;
const cpus = Deno.readTextFileSync("/proc/self/status").match(/Cpus_allowed_list:\s+(\S+)/)?.[1];
console.log(
  `\nVulkan workloads (median of ${RUNS} run${RUNS > 1 ? "s" : ""}${
    opts.quick ? ", quick sizes" : ""
  }; CPU affinity ${cpus}; VN_PERF no-feedback = ${NO_FEEDBACK})`,
);
const W = [44, 7];
const header = [
  "metric".padEnd(W[0]),
  "unit".padEnd(W[1]),
  ...configs.map((c) => c.id.padStart(14)),
  "vesper/C".padStart(9),
  "vesper/lvp".padStart(11),
  "nf/lvp".padStart(8),
];
console.log(header.join(" "));
for (const m of metrics) {
  const row = [
    `${m.label} ${m.higherIsBetter ? "↑" : "↓"}`.padEnd(W[0]),
    m.unit.padEnd(W[1]),
    ...configs.map((c) => show(cells.get(`${c.id}/${m.id}`)).padStart(14)),
    ratio(get("vesper-noperf", m), get("c-noperf", m)).padStart(9),
    ratio(get("vesper", m), get("lavapipe", m)).padStart(11),
    ratio(get("vesper-noperf", m), get("lavapipe", m)).padStart(8),
  ];
  console.log(row.join(" "));
  for (const f of m.extra) {
    const vals = configs.map((c) => {
      const x = cells.get(`${c.id}/${m.id}`);
      return (x?.extra[f] === undefined ? "" : fmt(x.extra[f])).padStart(14);
    });
    if (vals.every((v) => !v.trim())) continue;
    console.log([`  ${f}`.padEnd(W[0]), "".padEnd(W[1]), ...vals].join(" "));
  }
}
console.log(
  "\n↑ higher is better, ↓ lower is better; ratios are value ratios: vesper/C = vesper-noperf ÷ " +
    "c-noperf (like-for-like), vesper/lvp = vesper ÷ lavapipe, nf/lvp = vesper-noperf ÷ lavapipe",
);
const failures: string[] = [];
for (const c of configs) {
  for (const m of metrics) {
    const cell = cells.get(`${c.id}/${m.id}`)!;
    if (cell.na) failures.push(`${c.id} ${m.id}: n/a — ${cell.na}`);
    const bad = cell.runs.find((x) => !x.ok);
    if (bad && !bad.ok) failures.push(`${c.id} ${m.id}: failed — ${bad.error}`);
  }
}
if (failures.length) console.log(failures.map((f) => `  ${f}`).join("\n"));
const devices = new Set([...cells.values()].map((c) => c.device).filter(Boolean));
if (devices.size) console.log(`devices: ${[...devices].join("; ")}`);

if (opts.json) {
  const out = {
    date: new Date().toISOString(),
    runs: RUNS,
    quick: opts.quick,
    cpuAffinity: cpus,
    vnPerfNoFeedback: NO_FEEDBACK,
    configs: configs.map((c) => ({ id: c.id, server: c.server, clientEnv: c.clientEnv })),
    metrics: metrics.map((m) => ({
      id: m.id,
      label: m.label,
      key: m.key,
      unit: m.unit,
      higherIsBetter: m.higherIsBetter,
      args: opts.quick ? m.quickArgs : m.args,
    })),
    results: Object.fromEntries(configs.map((c) => [
      c.id,
      Object.fromEntries(metrics.map((m) => {
        const cell = cells.get(`${c.id}/${m.id}`)!;
        return [m.id, {
          value: cell.value ?? null,
          status: cell.na ? "n/a" : cell.value !== undefined ? "ok" : "failed",
          note: cell.na ?? null,
          runs: cell.runs.map((x) => x.ok ? x.data : { ok: false, error: x.error }),
        }];
      })),
    ])),
    ratios: Object.fromEntries(metrics.map((m) => {
      const r = (a?: Cell, b?: Cell) =>
        a?.value !== undefined && b?.value !== undefined && b.value !== 0
          ? a.value / b.value
          : null;
      return [m.id, {
        vesperOverC: r(get("vesper-noperf", m), get("c-noperf", m)),
        vesperOverLavapipe: r(get("vesper", m), get("lavapipe", m)),
        vesperNoperfOverLavapipe: r(get("vesper-noperf", m), get("lavapipe", m)),
      }];
    })),
  };
  Deno.writeTextFileSync(opts.json, JSON.stringify(out, null, 2) + "\n");
  console.log(`results written to ${opts.json}`);
}
