/**
 * Start-up floor: what starting Deno costs a render server on every client,
 * set against the vulkaninfo target (at most 1.5× the C server's end-to-end
 * time). vtest execs one render server per client and each context gets a
 * worker, so every client pays, before any Vulkan work:
 *
 *   - the server: the launcher, a Deno runtime, the server's modules;
 *   - its worker: a second Deno runtime (process mode) or a Worker isolate
 *     (thread mode), then the worker's modules.
 *
 * Each is timed alone here, the same way (taskset -c 0, wall ms, median):
 *
 *   deno run -A bench/startup_floor.ts [--runs N] [--c-ms MS] [--json]
 *
 * `--c-ms` is the C server's vulkaninfo median from bench/vulkaninfo.ts
 * (which passes it itself when it runs this after its rounds); the report
 * then sets the start-up costs against the 0.5 × C a 1.5× target leaves.
 * Times of child processes have the launch overhead (`true` started the same
 * way) subtracted; the Worker's is measured inside its process.
 */
import { parseArgs } from "node:util";
import { REPO } from "../src/harness/chroot.ts";
import { RUNTIME_FLAGS } from "../src/permissions.ts";
import { median } from "./stats.ts";

const PIN = ["taskset", "-c", "0"];

export interface StartupFloor {
  runs: number;
  /** `true` under taskset: subtracted from the process times below */
  launchMs: number;
  /** `deno run` of an empty module: a Deno runtime's start and exit */
  denoRuntimeMs: number;
  /** `new Worker` of an empty module until its first message (in-process) */
  emptyWorkerMs: number;
  /** `bin/vesper --help`: launcher, Deno runtime, the server's modules */
  serverStartMs: number;
  /** a worker process's entry up to its argument check: runtime and worker modules */
  workerProcessStartMs: number;
}

async function wallMs(argv: string[], env: Record<string, string>, okCodes: number[]) {
  const t0 = performance.now();
  const out = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const ms = performance.now() - t0;
  if (!okCodes.includes(out.code)) {
    const err = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-2).join(" | ");
    throw new Error(`${argv.join(" ")}: exit ${out.code}: ${err}`);
  }
  return { ms, stdout: new TextDecoder().decode(out.stdout) };
}

/** The bundle the launcher runs (built by any `bin/vesper` start), or null. */
function bundleDir(): string | null {
  try {
    const dir = Deno.readTextFileSync(`${REPO}/.cache/bundle/dir`).trim();
    Deno.statSync(`${dir}/src/render/worker_process.js`);
    return dir;
  } catch {
    return null;
  }
}

export async function measureStartupFloor(runs: number): Promise<StartupFloor> {
  const deno = Deno.execPath();
  const tmp = `${REPO}/.cache/startup-floor`;
  Deno.mkdirSync(tmp, { recursive: true });
  Deno.writeTextFileSync(`${tmp}/empty.js`, "");
  Deno.writeTextFileSync(`${tmp}/empty_worker.js`, "self.postMessage(0);\n");
  Deno.writeTextFileSync(
    `${tmp}/spawn_worker.js`,
    `const t0 = performance.now();
const w = new Worker(new URL("./empty_worker.js", import.meta.url), { type: "module" });
w.onmessage = () => { console.log(performance.now() - t0); w.terminate(); };
`,
  );
  // the launcher's Deno cache directory, as servers and workers see it
  const env = { DENO_DIR: Deno.env.get("DENO_DIR") ?? `${REPO}/.cache/deno` };
  const run = ["run", "--no-prompt", ...RUNTIME_FLAGS];
  await wallMs([`${REPO}/bin/vesper`, "--help"], env, [0]); // builds the bundle if stale
  const bundle = bundleDir();
  const workerEntry = bundle
    ? `${bundle}/src/render/worker_process.js`
    : `${REPO}/src/render/worker_process.ts`;
  const cases = {
    launch: () => wallMs([...PIN, "true"], env, [0]),
    runtime: () => wallMs([...PIN, deno, ...run, `${tmp}/empty.js`], env, [0]),
    worker: () => wallMs([...PIN, deno, ...run, `${tmp}/spawn_worker.js`], env, [0]),
    server: () => wallMs([...PIN, `${REPO}/bin/vesper`, "--help"], env, [0]),
    // a bad argument: the worker exits (2) right after loading its modules
    workerProcess: () => wallMs([...PIN, deno, ...run, workerEntry, "--startup-floor"], env, [2]),
  };
  const ms: Record<keyof typeof cases, number[]> = {
    launch: [],
    runtime: [],
    worker: [],
    server: [],
    workerProcess: [],
  };
  for (let i = -2; i < runs; i++) { // two warm-up rounds (code cache, page cache)
    for (const [k, f] of Object.entries(cases) as [keyof typeof cases, typeof cases.launch][]) {
      const r = await f();
      if (i < 0) continue;
      ms[k].push(k === "worker" ? Number(r.stdout.trim()) : r.ms);
    }
  }
  const launchMs = median(ms.launch);
  const net = (xs: number[]) => Math.max(0, median(xs) - launchMs);
  return {
    runs,
    launchMs,
    denoRuntimeMs: net(ms.runtime),
    emptyWorkerMs: median(ms.worker),
    serverStartMs: net(ms.server),
    workerProcessStartMs: net(ms.workerProcess),
  };
}

/** The report's lines; with the C server's vulkaninfo median, against the 1.5× budget. */
export function describeStartupFloor(f: StartupFloor, cMs?: number): string[] {
  const x = (v: number) => v.toFixed(1).padStart(6);
  const lines = [
    `start-up alone, per client (CPU 0, wall ms, median of ${f.runs}; launch overhead ` +
    `${f.launchMs.toFixed(1)} ms subtracted):`,
    `  ${x(f.denoRuntimeMs)}  a Deno runtime: \`deno run\` of an empty module`,
    `  ${
      x(f.emptyWorkerMs)
    }  a Worker isolate: \`new Worker\` of an empty module to its first message`,
    `  ${x(f.serverStartMs)}  the server: bin/vesper --help (launcher, runtime, server modules)`,
    `  ${
      x(f.workerProcessStartMs)
    }  a worker process: its entry up to its argument check (runtime, worker modules)`,
  ];
  const processMode = f.serverStartMs + f.workerProcessStartMs;
  const workerModules = Math.max(0, f.workerProcessStartMs - f.denoRuntimeMs);
  const threadMode = f.serverStartMs + f.emptyWorkerMs + workerModules;
  const fixed = 2 * f.denoRuntimeMs;
  lines.push(
    `  ${x(processMode)}  process mode: server + worker process (Deno's two runtimes alone: ${
      fixed.toFixed(1)
    })`,
    `  ${x(threadMode)}  thread mode: server + Worker isolate + worker modules`,
  );
  if (cMs !== undefined && Number.isFinite(cMs)) {
    const budget = 0.5 * cMs;
    const start = Math.min(processMode, threadMode);
    const runtimes = Math.min(fixed, f.denoRuntimeMs + f.emptyWorkerMs);
    lines.push(
      `  ${x(budget)}  what a 1.5x target leaves beyond the C server's ${cMs.toFixed(1)} ms; ` +
        `start-up alone takes ${start.toFixed(1)} (${(start / budget).toFixed(1)}x that), ` +
        `Deno's runtimes ${runtimes.toFixed(1)} of it`,
    );
  }
  return lines;
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      runs: { type: "string", default: "15" },
      "c-ms": { type: "string" },
      json: { type: "boolean", default: false },
    },
  });
  const runs = Number(values.runs);
  if (!(runs >= 1)) throw new Error("--runs N: N >= 1");
  const f = await measureStartupFloor(runs);
  const cMs = values["c-ms"] === undefined ? undefined : Number(values["c-ms"]);
  if (values.json) console.log(JSON.stringify({ ...f, cMs }, null, 1));
  else console.log(describeStartupFloor(f, cMs).join("\n"));
}
