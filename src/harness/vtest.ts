/**
 * The real client chain: virgl_test_server (virglrenderer 1.1.0's vtest
 * proxy) exec'ing a render server through RENDER_SERVER_EXEC_PATH, and a
 * Vulkan program on Mesa's venus driver talking to it — all in the trixie
 * chroot.
 */
import { inChroot, LVP_ICD, REPO, VIRTIO_ICD } from "./chroot.ts";

export interface VtestServer {
  socketPath: string;
  child: Deno.ChildProcess;
  logPath: string;
  log(): string;
  stop(): Promise<void>;
}

let serial = 0;

/**
 * Starts virgl_test_server in the chroot. `renderServer` is the path (inside
 * the chroot) of the render server to exec; `env` is added to its environment
 * (and so to the render server's).
 */
export async function startVtest(
  root: string,
  renderServer: string,
  env: Record<string, string> = {},
  extraArgs: string[] = [],
): Promise<VtestServer> {
  const name = `vesper-vtest-${Deno.pid}-${serial++}`;
  const socketPath = `/run/${name}.sock`;
  const logInChroot = `/tmp/${name}.log`;
  const logPath = `${root}${logInChroot}`;
  try {
    Deno.removeSync(`${root}${socketPath}`);
  } catch { /* not there */ }
  // The log goes straight to a file (no pipe in between), so it can be read while running.
  const argv = inChroot(
    root,
    [
      "/bin/sh",
      "-c",
      `exec virgl_test_server --venus --no-virgl --socket-path=${socketPath} ${
        extraArgs.join(" ")
      } >${logInChroot} 2>&1`,
    ],
    { VK_ICD_FILENAMES: LVP_ICD, RENDER_SERVER_EXEC_PATH: renderServer, ...env },
  );
  const child = new Deno.Command(argv[0], { args: argv.slice(1), stdout: "null", stderr: "null" })
    .spawn();
  const ok = await waitFor(() => {
    try {
      Deno.statSync(`${root}${socketPath}`);
      return true;
    } catch {
      return false;
    }
  }, 10000);
  let final: string | null = null; // the log once stopped (its file is gone then)
  const log = () => {
    if (final !== null) return final;
    try {
      return Deno.readTextFileSync(logPath);
    } catch {
      return "";
    }
  };
  if (!ok) throw new Error(`virgl_test_server did not start:\n${log()}`);
  return {
    socketPath,
    child,
    logPath,
    log,
    /** Stops the server; its log stays readable through log(), its files in the chroot go. */
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      await child.status;
      if (final !== null) return;
      final = log();
      for (const f of [logPath, `${root}${socketPath}`]) {
        try {
          Deno.removeSync(f);
        } catch { /* not there */ }
      }
    },
  };
}

/** The environment of a Vulkan client on Mesa venus talking to `vtest`. */
export function venusClientEnv(vtest: { socketPath: string }): Record<string, string> {
  return {
    VK_ICD_FILENAMES: VIRTIO_ICD,
    VN_DEBUG: "vtest",
    VTEST_SOCKET_NAME: vtest.socketPath,
    XDG_RUNTIME_DIR: "/run/xdg",
  };
}

export interface ClientRun {
  code: number;
  timedOut: boolean;
  stdout: string;
  stderr: string;
}

/** Runs a Vulkan program in the chroot on Mesa venus against `vtest`, bounded by `timeoutS`. */
export async function runVenusClient(
  root: string,
  vtest: VtestServer,
  argv: string[],
  timeoutS: number,
  env: Record<string, string> = {},
): Promise<ClientRun> {
  const cmd = inChroot(root, ["timeout", "-s", "KILL", String(timeoutS), ...argv], {
    ...venusClientEnv(vtest),
    ...env,
  });
  const out = await new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const dec = new TextDecoder();
  return {
    code: out.code,
    timedOut: out.code === 137 || out.signal === "SIGKILL",
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
  };
}

/**
 * Command lines of the Vesper processes that bin/vesper starts: servers
 * (`deno run ... <repo>/src/server_entry.ts`, or `main.ts` for the other
 * jobs) and worker processes (`<repo>/src/render/worker_process.ts`), or the
 * same entries in the launcher's bundle
 * (`<repo>/.cache/bundle.<build>/src/server_entry.js`, …).
 */
export const VESPER_CMDLINE = new RegExp(
  `${
    REPO.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
  }/(\\.cache/bundle\\.[^/ ]+/)?(main|src/server_entry|src/render/worker_process)\\.[jt]s( |$)`,
);

/** Whether a command line (NULs as spaces) contains `needle` or matches it. */
export function cmdlineMatches(cmdline: string, needle: string | RegExp): boolean {
  return typeof needle === "string" ? cmdline.includes(needle) : needle.test(cmdline);
}

/** Pids in /proc now, this process's excepted. */
export function otherPids(): number[] {
  const out: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (/^\d+$/.test(e.name) && Number(e.name) !== Deno.pid) out.push(Number(e.name));
  }
  return out;
}

/** Pids of running processes whose command line contains or matches `needle`. */
export function processesMatching(needle: string | RegExp): number[] {
  const out: number[] = [];
  for (const pid of otherPids()) {
    try {
      const cmd = Deno.readTextFileSync(`/proc/${pid}/cmdline`).replaceAll("\0", " ");
      const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
      if (cmdlineMatches(cmd, needle) && !/^\d+ \(.*\) Z/.test(stat)) out.push(pid);
    } catch { /* gone */ }
  }
  return out;
}

/** Waits until `cond` holds, polling every `intervalMs`; false on timeout. */
export async function waitFor(
  cond: () => boolean,
  timeoutMs = 5000,
  intervalMs = 5,
): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (cond()) return true;
    await sleep(intervalMs);
  }
  return cond();
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
