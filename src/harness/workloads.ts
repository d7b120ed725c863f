/**
 * The Vulkan workload programs (tests/workloads): built in the trixie chroot,
 * then run (a) directly on lavapipe — the oracle — (b) through
 * virgl_test_server and the C reference render server, or (c) through
 * virgl_test_server and Vesper, in either worker mode. A workload prints its
 * results as "RESULT ..." lines that must not depend on the path it ran on.
 */
import { buildInChroot, C_SERVER, inChroot, LVP_ICD, REPO } from "./chroot.ts";
import { startVtest, venusClientEnv, type VtestServer } from "./vtest.ts";

/** Whether the Vesper runs of the workloads are on (unless VESPER_VK_WORKLOADS=0). */
export const VESPER_VK_WORKLOADS: boolean = Deno.env.get("VESPER_VK_WORKLOADS") !== "0";

export const WORKLOADS_SRC = `${REPO}/tests/workloads`;
/** Where the programs are built (gitignored); the same path inside the chroot. */
export const WORKLOADS_BUILD = `${WORKLOADS_SRC}/build`;
export const VESPER = `${REPO}/bin/vesper`;

/** Mesa venus's VN_PERF flags that keep fences, semaphores, events and queries off mapped memory. */
export const NO_FEEDBACK = [
  "no_fence_feedback",
  "no_semaphore_feedback",
  "no_event_feedback",
  "no_query_feedback",
];

/** The workload names: one program per tests/workloads/*.c, sorted. */
export function workloadNames(): string[] {
  return [...Deno.readDirSync(WORKLOADS_SRC)]
    .filter((e) => e.isFile && e.name.endsWith(".c"))
    .map((e) => e.name.slice(0, -2))
    .sort();
}

/** Builds every workload inside the chroot (only when a source changed since the last build). */
export function buildWorkloads(root: string): Promise<void> {
  return buildInChroot(root, WORKLOADS_SRC, WORKLOADS_BUILD);
}

/** Where a workload runs. */
export type Via =
  | { kind: "lavapipe" }
  | { kind: "c-server" }
  | { kind: "vesper"; worker: "process" | "thread" };

export function describeVia(via: Via): string {
  return via.kind === "vesper" ? `vesper (${via.worker} workers)` : via.kind;
}

export interface WorkloadOptions {
  /** Mesa venus VN_PERF flags for the client (ignored on lavapipe), e.g. NO_FEEDBACK. */
  vnPerf?: string[];
  /** Arguments for the program (paths are inside the chroot). */
  args?: string[];
  /** Wall-clock limit for the program in seconds (default 60). */
  timeoutS?: number;
  /** More environment for the program. */
  env?: Record<string, string>;
  /** More environment for the render server (Vesper: e.g. VESPER_LOG_LEVEL). */
  serverEnv?: Record<string, string>;
}

export interface WorkloadRun {
  name: string;
  via: Via;
  code: number;
  timedOut: boolean;
  stdout: string;
  stderr: string;
  /** The program's own wall time in milliseconds (not the server's start-up). */
  wallMs: number;
  /** The "RESULT ..." lines of stdout, in order. */
  results: string[];
  /**
   * virgl_test_server dropped the client (its log says VTEST_CLIENT_ERROR): Mesa
   * then waits forever, so the program was killed DROP_GRACE_MS later.
   */
  dropped: boolean;
  /** virgl_test_server's log (with the render server's stderr), when one ran. */
  serverLog?: string;
}

/** The "RESULT ..." lines of a workload's output. */
export function resultLines(stdout: string): string[] {
  return stdout.split("\n").filter((l) => l.startsWith("RESULT "));
}

/** Runs one built workload (see buildWorkloads) on `via`. */
export async function runWorkload(
  root: string,
  name: string,
  via: Via,
  opts: WorkloadOptions = {},
): Promise<WorkloadRun> {
  const argv = [`${WORKLOADS_BUILD}/${name}`, ...(opts.args ?? [])];
  const timeoutS = opts.timeoutS ?? 60;
  if (via.kind === "lavapipe") {
    const run = await runClient(root, argv, timeoutS, { VK_ICD_FILENAMES: LVP_ICD, ...opts.env });
    return { name, via, ...run, results: resultLines(run.stdout), dropped: false };
  }
  const server = via.kind === "c-server" ? C_SERVER : VESPER;
  const serverEnv = via.kind === "vesper"
    ? { VESPER_WORKER: via.worker, ...opts.serverEnv }
    : { ...opts.serverEnv };
  const vtest = await startVtest(root, server, serverEnv);
  try {
    const env: Record<string, string> = { ...venusClientEnv(vtest), ...opts.env };
    if (opts.vnPerf?.length) env.VN_PERF = opts.vnPerf.join(",");
    const run = await runClient(root, argv, timeoutS, env, vtest);
    return {
      name,
      via,
      ...run,
      results: resultLines(run.stdout),
      serverLog: vtest.log(),
    };
  } finally {
    await vtest.stop();
  }
}

/** How long a client dropped by virgl_test_server gets before it is killed. */
export const DROP_GRACE_MS = 1000;
const DROPPED = /client: VTEST_CLIENT_ERROR/;

/**
 * Runs `argv` in the chroot with exactly `env`, under `timeout -s KILL`; with
 * `vtest`, also stops it DROP_GRACE_MS after vtest's log says it dropped the
 * client (SIGTERM to timeout(1), which KILLs the program).
 */
async function runClient(
  root: string,
  argv: string[],
  timeoutS: number,
  env: Record<string, string>,
  vtest?: VtestServer,
): Promise<
  { code: number; timedOut: boolean; stdout: string; stderr: string; wallMs: number } & {
    dropped: boolean;
  }
> {
  const cmd = inChroot(root, ["timeout", "-s", "KILL", String(timeoutS), ...argv], env);
  const t0 = performance.now();
  const child = new Deno.Command(cmd[0], { args: cmd.slice(1), stdout: "piped", stderr: "piped" })
    .spawn();
  let dropped = false;
  let done = false;
  const watch = vtest && (async () => {
    let seenAt = 0;
    while (!done) {
      await new Promise((r) => setTimeout(r, 20));
      if (!seenAt && DROPPED.test(vtest.log())) seenAt = performance.now();
      if (seenAt && !done && performance.now() - seenAt > DROP_GRACE_MS) {
        dropped = true;
        try {
          child.kill("SIGTERM");
        } catch { /* already gone */ }
        return;
      }
    }
  })();
  const out = await child.output();
  done = true;
  await watch;
  const wallMs = performance.now() - t0;
  const dec = new TextDecoder();
  return {
    code: out.code,
    timedOut: !dropped && (out.code === 137 || out.signal === "SIGKILL"),
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
    wallMs,
    dropped,
  };
}

/** A one-line summary of a run, for logs and failure messages. */
export function summarize(run: WorkloadRun): string {
  const how = run.dropped
    ? "dropped by the server"
    : run.timedOut
    ? "timed out"
    : run.code === 0
    ? "passed"
    : `exit ${run.code}`;
  const why = run.code === 0
    ? ""
    : `: ${
      (run.stderr.split("\n").find((l) => /FAIL|error|Error|abort/i.test(l)) ??
        run.stderr.trim().split("\n").at(-1) ?? "").trim()
    }`;
  return `${run.name} on ${describeVia(run.via)} ${how} in ${run.wallMs.toFixed(0)} ms${why}`;
}
