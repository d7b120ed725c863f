/**
 * vulkaninfo through the real client chain (Mesa venus → virgl_test_server →
 * a render server), for the acceptance tests (tests/vulkaninfo_test.ts), the
 * benchmark (bench/vulkaninfo.ts) and the demo: which servers to compare, how
 * to run vulkaninfo's text and JSON outputs, how to normalize them, a unified
 * diff, and the leak soak (many clients in a row and at once, with process,
 * fd and RSS checks on the long-lived processes).
 */
import { C_SERVER, inChroot, REPO } from "./chroot.ts";
import {
  type ClientRun,
  cmdlineMatches,
  otherPids,
  runVenusClient,
  startVtest,
  VESPER_CMDLINE,
  type VtestServer,
  waitFor,
} from "./vtest.ts";

/**
 * THE gate for everything that needs vulkaninfo to complete through Vesper
 * (its Vulkan backend): on, unless VESPER_VK_ACCEPT=0.
 */
export const VESPER_VK_ACCEPT: boolean = Deno.env.get("VESPER_VK_ACCEPT") !== "0";

export const VESPER = `${REPO}/bin/vesper`;

/** A render server for virgl_test_server to exec, and how to recognise its processes. */
export interface ServerConfig {
  /** short label: "C", "vesper-process", "vesper-thread" */
  name: string;
  /** RENDER_SERVER_EXEC_PATH (a path inside the chroot) */
  renderServer: string;
  /** added to virgl_test_server's environment, hence the render server's */
  env: Record<string, string>;
  /** a string in the command line of the server and of its workers */
  needle: string | RegExp;
  /** false for Vesper when VESPER_VK_ACCEPT=0 */
  enabled: boolean;
}

export const C_REFERENCE: ServerConfig = {
  name: "C",
  renderServer: C_SERVER,
  env: {},
  needle: C_SERVER,
  enabled: true,
};

export function vesperServer(mode: "process" | "thread"): ServerConfig {
  return {
    name: `vesper-${mode}`,
    renderServer: VESPER,
    env: { VESPER_WORKER: mode, VESPER_LOG_LEVEL: "warn" },
    needle: VESPER_CMDLINE,
    enabled: VESPER_VK_ACCEPT,
  };
}

export const VESPER_SERVERS: ServerConfig[] = [vesperServer("process"), vesperServer("thread")];

let serial = 0;

export interface JsonRun extends ClientRun {
  /** the profile file vulkaninfo wrote (VP_VULKANINFO_<device>_<driver version>.json) */
  fileName: string | null;
  json: string | null;
}

/** Full text vulkaninfo through `vtest`. */
export function vulkaninfoText(
  root: string,
  vtest: VtestServer,
  timeoutS = 60,
): Promise<ClientRun> {
  return runVenusClient(root, vtest, ["vulkaninfo"], timeoutS);
}

/**
 * `vulkaninfo --json` through `vtest`. vulkan-tools 1.4.304 writes the JSON
 * (a Vulkan Profiles document) to a file, not stdout:
 * VP_VULKANINFO_<deviceName>_<driverVersion>.json in the current directory
 * (`-o FILE` would rename it). So it runs in a fresh directory of its own.
 */
export async function vulkaninfoJson(
  root: string,
  vtest: VtestServer,
  timeoutS = 60,
): Promise<JsonRun> {
  const dir = `/tmp/vesper-vkjson-${Deno.pid}-${serial++}`;
  Deno.mkdirSync(`${root}${dir}`, { recursive: true });
  try {
    const run = await runVenusClient(
      root,
      vtest,
      ["/bin/sh", "-c", `cd ${dir} && exec vulkaninfo --json`],
      timeoutS,
    );
    const files = [...Deno.readDirSync(`${root}${dir}`)].map((e) => e.name)
      .filter((n) => n.startsWith("VP_VULKANINFO_") && n.endsWith(".json"));
    if (files.length !== 1) return { ...run, fileName: null, json: null };
    return {
      ...run,
      fileName: files[0],
      json: Deno.readTextFileSync(`${root}${dir}/${files[0]}`),
    };
  } finally {
    Deno.removeSync(`${root}${dir}`, { recursive: true });
  }
}

/**
 * What the normalizer rewrites, each with why. Found by comparing C-server
 * runs (separate virgl_test_server instances, fresh and warm, different
 * socket paths, `vulkaninfo` and `vulkaninfo --json`): the outputs were
 * byte-identical apart from the rules below. Deliberately NOT normalized:
 *
 * - pipelineCacheUUID, deviceUUID, driverUUID: the venus guest driver
 *   derives them (SHA-1) from the host's pipelineCacheUUID, vendorID/deviceID
 *   and its own driverName/driverInfo — stable across runs and servers, so a
 *   difference means the server forwarded different host properties.
 * - deviceLUID / deviceNodeMask: venus zeroes them and reports
 *   deviceLUIDValid = false; vulkaninfo then prints no LUID at all.
 * - pids, timings, socket paths: vulkaninfo prints none of them.
 * - memory heap size: lavapipe's, from the host's physical memory (same
 *   machine, same value); a difference is a real one.
 */
export const NORMALIZE_RULES: { field: string; why: string; re: RegExp; to: string }[] = [
  {
    field: 'JSON profiles.<name>.history[].date ("YYYY-MM-DD")',
    why: "the export date of the profile: changes at midnight between two runs",
    re: /("date": )"\d{4}-\d{2}-\d{2}"/g,
    to: '$1"<date>"',
  },
];

/** Applies NORMALIZE_RULES (text or JSON output alike). */
export function normalize(out: string): string {
  let s = out;
  for (const r of NORMALIZE_RULES) s = s.replace(r.re, r.to);
  return s;
}

type Op = { t: " " | "-" | "+"; line: string };

/** Myers' O(ND) line diff; null when more than `maxD` edits apart. */
function myers(a: string[], b: string[], maxD: number): Op[] | null {
  const n = a.length, m = b.length;
  const limit = Math.min(maxD, n + m);
  const off = limit + 1;
  const v = new Int32Array(2 * limit + 3);
  const trace: Int32Array[] = [];
  for (let d = 0; d <= limit; d++) {
    trace.push(v.slice());
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[off + k - 1] < v[off + k + 1])
        ? v[off + k + 1]
        : v[off + k - 1] + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) x++, y++;
      v[off + k] = x;
      if (x >= n && y >= m) return backtrack(a, b, trace, off);
    }
  }
  return null;
}

function backtrack(a: string[], b: string[], trace: Int32Array[], off: number): Op[] {
  const ops: Op[] = [];
  let x = a.length, y = b.length;
  for (let d = trace.length - 1; d >= 0; d--) {
    const v = trace[d];
    const k = x - y;
    const prevK = k === -d || (k !== d && v[off + k - 1] < v[off + k + 1]) ? k + 1 : k - 1;
    const prevX = v[off + prevK], prevY = prevX - prevK;
    while (x > prevX && y > prevY) ops.push({ t: " ", line: a[--x] }), y--;
    if (d > 0) {
      if (x === prevX) ops.push({ t: "+", line: b[--y] });
      else ops.push({ t: "-", line: a[--x] });
    }
  }
  return ops.reverse();
}

/**
 * A unified diff (`diff -u` style, `context` lines around each hunk) of two
 * texts; "" when equal. Outputs too far apart for a line diff are shown as
 * their first differing lines. At most `maxLines` lines.
 */
export function unifiedDiff(
  a: string,
  b: string,
  labelA: string,
  labelB: string,
  context = 3,
  maxLines = 400,
): string {
  if (a === b) return "";
  const lines = (s: string) => s === "" ? [] : s.replace(/\n$/, "").split("\n");
  const al = lines(a), bl = lines(b);
  const out = [`--- ${labelA}`, `+++ ${labelB}`];
  const ops = myers(al, bl, 2000);
  if (!ops) {
    let i = 0;
    while (i < al.length && i < bl.length && al[i] === bl[i]) i++;
    out.push(`@@ too different for a line diff; first difference at line ${i + 1} @@`);
    al.slice(i, i + 20).forEach((l) => out.push(`-${l}`));
    bl.slice(i, i + 20).forEach((l) => out.push(`+${l}`));
    return out.join("\n");
  }
  // line numbers (1-based) of each op in a and b
  const posA: number[] = [], posB: number[] = [];
  let ia = 1, ib = 1;
  for (const o of ops) {
    posA.push(ia);
    posB.push(ib);
    if (o.t !== "+") ia++;
    if (o.t !== "-") ib++;
  }
  let i = 0;
  while (i < ops.length) {
    while (i < ops.length && ops[i].t === " ") i++;
    if (i >= ops.length) break;
    const start = Math.max(0, i - context);
    let end = i;
    // extend while the next change is within 2*context equal lines
    for (;;) {
      while (end < ops.length && ops[end].t !== " ") end++;
      let j = end;
      while (j < ops.length && ops[j].t === " " && j - end < 2 * context) j++;
      if (j < ops.length && ops[j].t !== " ") end = j;
      else break;
    }
    const stop = Math.min(ops.length, end + context);
    const hunk = ops.slice(start, stop);
    const na = hunk.filter((o) => o.t !== "+").length;
    const nb = hunk.filter((o) => o.t !== "-").length;
    const range = (pos: number, n: number) => n === 1 ? `${pos}` : `${n ? pos : pos - 1},${n}`;
    out.push(`@@ -${range(posA[start], na)} +${range(posB[start], nb)} @@`);
    for (const o of hunk) out.push(`${o.t}${o.line}`);
    if (out.length > maxLines) {
      out.length = maxLines;
      out.push("... (diff truncated)");
      break;
    }
    i = stop;
  }
  return out.join("\n");
}

// ---------------------------------------------------------------------------
// Processes, fds, memory

export interface Proc {
  pid: number;
  ppid: number;
  comm: string;
  state: string;
  cmdline: string;
}

function readProc(pid: number): Proc | null {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const close = stat.lastIndexOf(")");
    const rest = stat.slice(close + 2).split(" ");
    return {
      pid,
      ppid: Number(rest[1]),
      comm: stat.slice(stat.indexOf("(") + 1, close),
      state: rest[0],
      cmdline: Deno.readTextFileSync(`/proc/${pid}/cmdline`).replaceAll("\0", " ").trim(),
    };
  } catch {
    return null; // gone
  }
}

/**
 * Live (non-zombie) processes whose environment holds `KEY=value`: the
 * environment is looked at first, and stat/cmdline read only for those.
 */
export function processesWithEnv(key: string, value: string): Proc[] {
  const want = `${key}=${value}`;
  const out: Proc[] = [];
  for (const pid of otherPids()) {
    try {
      if (!Deno.readTextFileSync(`/proc/${pid}/environ`).split("\0").includes(want)) continue;
    } catch {
      continue; // gone, or not ours to read
    }
    const p = readProc(pid);
    if (p && p.state !== "Z") out.push(p);
  }
  return out;
}

/** Open fds of `pid`. */
export function fdCount(pid: number): number {
  let n = 0;
  for (const _ of Deno.readDirSync(`/proc/${pid}/fd`)) n++;
  return n;
}

/** Resident set of `pid` in KiB. */
export function rssKiB(pid: number): number {
  const m = Deno.readTextFileSync(`/proc/${pid}/status`).match(/VmRSS:\s+(\d+) kB/);
  return m ? Number(m[1]) : NaN;
}

// ---------------------------------------------------------------------------
// The soak: many clients in a row, then several at once

/** RSS growth of a long-lived process allowed over the whole soak. */
export const RSS_TOLERANCE_KIB = 2048;
/** How long a client's render server and workers may take to go once it left. */
export const LEFTOVER_TIMEOUT_MS = 10000;

export interface SoakSample {
  after: string;
  fds: Record<number, number>;
  rssKiB: Record<number, number>;
}

export interface SoakReport {
  server: string;
  /** the processes that outlive clients, with what they are */
  longLived: Proc[];
  samples: SoakSample[];
  /** most render-server processes (command line holds the needle) seen at once */
  maxRenderServers: number;
  /** clients run, and how many failed */
  clients: number;
  failedClients: string[];
  /** every leak or failure found, readable; empty when clean */
  problems: string[];
}

/**
 * Runs `sequential` full vulkaninfo clients one after the other, then
 * `concurrent` at once, against one `virgl_test_server --multi-clients` with
 * `server` as its render server, and checks after each client left:
 *
 * - no process of that client is left: every process started under this
 *   virgl_test_server carries a tag in its environment (inherited through
 *   fork and exec, by the C server's and Vesper's workers alike), and once a
 *   client left only the long-lived ones may remain;
 * - the long-lived processes keep their fd count, and their RSS grows by at
 *   most RSS_TOLERANCE_KIB over the soak.
 *
 * Which processes live long: with virglrenderer 1.1.0's vtest, only the
 * listening virgl_test_server. It forks a child per client (with and without
 * --multi-clients, which only lets clients overlap), and that child's proxy
 * execs a render server of its own (so 4 clients at once = 4 render servers,
 * each with one worker per context); the proxy SIGKILLs its render server
 * when the client leaves. The long-lived set is taken after a warm-up
 * client, generically: whatever carries the tag then.
 */
export async function soak(
  root: string,
  server: ServerConfig,
  opts: { sequential?: number; concurrent?: number; timeoutS?: number } = {},
): Promise<SoakReport> {
  const sequential = opts.sequential ?? 20, concurrent = opts.concurrent ?? 4;
  const timeoutS = opts.timeoutS ?? 60;
  const tag = `${Deno.pid}-${serial++}`;
  const vtest = await startVtest(
    root,
    server.renderServer,
    { ...server.env, VESPER_SOAK_TAG: tag },
    ["--multi-clients"],
  );
  const report: SoakReport = {
    server: server.name,
    longLived: [],
    samples: [],
    maxRenderServers: 0,
    clients: 0,
    failedClients: [],
    problems: [],
  };
  const tagged = () => processesWithEnv("VESPER_SOAK_TAG", tag);
  const describe = (ps: Proc[]) =>
    ps.map((p) => `${p.pid} (${p.comm}, ppid ${p.ppid}) ${p.cmdline}`).join("; ");
  const client = async (what: string) => {
    report.clients++;
    const r = await vulkaninfoText(root, vtest, timeoutS);
    if (r.code !== 0) {
      const tail = r.stderr.trim().split("\n").slice(-3).join(" | ");
      report.failedClients.push(
        `${what}: rc ${r.code}${r.timedOut ? " (timed out)" : ""}: ${tail}`,
      );
    }
  };
  let long = new Set<number>();
  const settle = async (after: string) => {
    const ok = await waitFor(
      () => tagged().every((p) => long.has(p.pid)),
      LEFTOVER_TIMEOUT_MS,
    );
    if (!ok) {
      const left = tagged().filter((p) => !long.has(p.pid));
      report.problems.push(`${after}: processes left after the client(s) left: ${describe(left)}`);
    }
    const now = new Set(tagged().map((p) => p.pid));
    const gone = [...long].filter((pid) => !now.has(pid));
    if (gone.length) report.problems.push(`${after}: long-lived process(es) died: ${gone}`);
    const s: SoakSample = { after, fds: {}, rssKiB: {} };
    for (const pid of long) {
      if (!now.has(pid)) continue;
      try {
        s.fds[pid] = fdCount(pid);
        s.rssKiB[pid] = rssKiB(pid);
      } catch { /* gone meanwhile */ }
    }
    report.samples.push(s);
  };
  try {
    // warm-up: first-use costs (page cache, lazy set-up) are not leaks
    await client("warm-up");
    await waitFor(() => tagged().length <= 1, LEFTOVER_TIMEOUT_MS);
    report.longLived = tagged();
    long = new Set(report.longLived.map((p) => p.pid));
    if (!long.has(vtest.child.pid)) {
      report.problems.push(`virgl_test_server (${vtest.child.pid}) not found by its tag`);
    }
    await settle("warm-up");
    for (let i = 1; i <= sequential; i++) {
      await client(`client ${i}/${sequential}`);
      await settle(`client ${i}/${sequential}`);
    }
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        // render servers: needle processes whose parent is not one (those are workers)
        const ours = tagged().filter((p) =>
          cmdlineMatches(p.cmdline, server.needle) && !long.has(p.pid)
        );
        const pids = new Set(ours.map((p) => p.pid));
        const servers = ours.filter((p) => !pids.has(p.ppid));
        report.maxRenderServers = Math.max(report.maxRenderServers, servers.length);
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    await Promise.all(
      Array.from({ length: concurrent }, (_, i) => client(`concurrent ${i + 1}/${concurrent}`)),
    );
    sampling = false;
    await sampler;
    await settle(`${concurrent} at once`);
  } finally {
    await vtest.stop();
  }
  // fds: exactly stable; RSS: bounded growth
  const base = report.samples[0];
  for (const s of report.samples.slice(1)) {
    for (const [pid, n] of Object.entries(s.fds)) {
      if (base && n !== base.fds[Number(pid)]) {
        report.problems.push(
          `${s.after}: pid ${pid} has ${n} fds, ${base.fds[Number(pid)]} after warm-up`,
        );
      }
    }
  }
  const last = report.samples.at(-1);
  if (base && last) {
    for (const [pid, kib] of Object.entries(last.rssKiB)) {
      const grew = kib - base.rssKiB[Number(pid)];
      if (grew > RSS_TOLERANCE_KIB) {
        report.problems.push(
          `pid ${pid} RSS grew by ${grew} KiB over the soak (${
            base.rssKiB[Number(pid)]
          } → ${kib} KiB; tolerance ${RSS_TOLERANCE_KIB} KiB)`,
        );
      }
    }
  }
  if (report.failedClients.length) {
    report.problems.push(`clients failed:\n  ${report.failedClients.join("\n  ")}`);
  }
  return report;
}

// ---------------------------------------------------------------------------
// Timing (bench)

/** Wall time of one run of `argv` in the chroot, pinned with `taskset -c 0`. */
export async function timeInChroot(
  root: string,
  argv: string[],
  env: Record<string, string>,
  timeoutS: number,
): Promise<{ ms: number; code: number; stderr: string }> {
  const cmd = inChroot(root, ["timeout", "-s", "KILL", String(timeoutS), ...argv], env);
  const t0 = performance.now();
  const out = await new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    stdout: "null",
    stderr: "piped",
  })
    .output();
  const ms = performance.now() - t0;
  return { ms, code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}
