/** The command line: help, version, usage errors (exit 2), and one set of permissions everywhere. */
import { assert, assertEquals, assertThrows } from "./support/assert.ts";
import { VESPER } from "./support/render_client.ts";
import * as L from "../ffi/libc.ts";
import { spawnWithFd } from "../ffi/spawn.ts";
import { PERMISSION_FLAGS, RUNTIME_FLAGS, workerCommand } from "../src/permissions.ts";
import { parseWorkerArgs, workerArgv } from "../src/render/worker_args.ts";
import { VERSION } from "../src/version.ts";
import { parseServerArgs, UsageError } from "../src/cli.ts";
import { SPARE_AFTER_CONTEXT_MS } from "../src/render/spare.ts";

const REPO = new URL("..", import.meta.url).pathname;

async function vesper(args: string[]): Promise<{ code: number; out: string }> {
  const o = await new Deno.Command(VESPER, { args, stdout: "piped", stderr: "piped" }).output();
  const dec = new TextDecoder();
  return { code: o.code, out: dec.decode(o.stdout) + dec.decode(o.stderr) };
}

/** Runs bin/vesper with `fd` as its fd 3 and `--socket-fd 3`. */
async function vesperWithFd(
  fd: number,
  extra: string[] = [],
): Promise<{ code: number | null; out: string }> {
  const log = Deno.makeTempFileSync();
  const out = L.open(log, L.O_WRONLY | L.O_TRUNC | L.O_CLOEXEC);
  const outHigh = L.dupCloexec(out, 100);
  L.close(out);
  const pid = spawnWithFd([VESPER, "--socket-fd", "3", ...extra], {
    fd,
    targetFd: 3,
    output: outHigh,
  });
  L.close(outHigh);
  const pidfd = L.pidfdOpen(pid);
  await L.pollAsync([{ fd: pidfd, events: L.POLLIN }], 20000);
  L.close(pidfd);
  const st = L.waitpid(pid, L.WNOHANG);
  if (!st) L.kill(pid, L.SIGKILL);
  return { code: st?.code ?? null, out: Deno.readTextFileSync(log) };
}

Deno.test("--help prints usage and exits 0", async () => {
  const r = await vesper(["--help"]);
  assertEquals(r.code, 0);
  assert(r.out.includes("--socket-fd N") && r.out.includes("--worker=process|thread"), r.out);
});

Deno.test("--version prints the version of deno.json", async () => {
  const r = await vesper(["--version"]);
  assertEquals(r.code, 0);
  const denoJson = JSON.parse(Deno.readTextFileSync(`${REPO}/deno.json`));
  assertEquals(VERSION, denoJson.version);
  assertEquals(r.out.trim(), `vesper ${VERSION}`);
});

Deno.test("usage errors exit 2 with one clear line", async () => {
  const cases: [string[], RegExp][] = [
    [["--bogus"], /Unknown option '--bogus'/],
    [[], /--socket-fd is required/],
    [["--socket-fd", "abc"], /bad --socket-fd "abc"/],
    [["--socket-fd", "3", "extra"], /Unexpected argument 'extra'/],
  ];
  for (const [args, re] of cases) {
    const r = await vesper(args);
    assertEquals(r.code, 2, `${args}: ${r.out}`);
    assert(re.test(r.out), `${args}: ${r.out}`);
    assert(r.out.includes("Try 'vesper --help'."));
  }
});

Deno.test("the demo under the server's permissions says how to run it instead of throwing", async () => {
  // `vesper demo` from the compiled binary or bin/vesper: no --allow-run/--allow-sys
  const r = await vesper(["demo"]);
  assertEquals(r.code, 2, r.out);
  assert(/needs Deno's --allow-run and --allow-sys/.test(r.out), r.out);
  assert(r.out.includes("./run demo"), r.out);
  assert(!/PermissionDenied|\n\s+at /.test(r.out), `a stack trace:\n${r.out}`);
  assertEquals(r.out.trim().split("\n").length, 1, r.out);
});

Deno.test("an fd that is not a SOCK_SEQPACKET socket is a usage error", async () => {
  const ev = L.eventfd(0, L.EFD_CLOEXEC);
  let r = await vesperWithFd(ev);
  L.close(ev);
  assertEquals(r.code, 2, r.out);
  assert(/--socket-fd 3 is not a socket/.test(r.out), r.out);
  const [a, b] = L.socketpair(L.SOCK_STREAM | L.SOCK_CLOEXEC);
  r = await vesperWithFd(b);
  L.close(a);
  L.close(b);
  assertEquals(r.code, 2, r.out);
  assert(/not a SOCK_SEQPACKET socket \(type 1\)/.test(r.out), r.out);
  const closed = await vesper(["--socket-fd", "77"]);
  assertEquals(closed.code, 2);
  assert(/--socket-fd 77 is not an open fd/.test(closed.out), closed.out);
});

Deno.test("bad --worker and --log-level values are usage errors", async () => {
  const [a, b] = L.socketpair(L.SOCK_SEQPACKET | L.SOCK_CLOEXEC);
  for (
    const [flag, re] of [["--worker=fork", /bad --worker "fork"/], [
      "--log-level=loud",
      /bad --log-level "loud"/,
    ]] as const
  ) {
    const r = await vesperWithFd(b, [flag]);
    assertEquals(r.code, 2, r.out);
    assert(re.test(r.out), r.out);
  }
  L.close(a);
  L.close(b);
});

Deno.test("launcher, compile task and worker re-exec use the same permissions and V8 flags", () => {
  const launcher = Deno.readTextFileSync(`${REPO}/bin/vesper`);
  const runLine = launcher.split("\n").find((l) => /^exec .* run /.test(l))!;
  const flags = (line: string) => line.split(/\s+/).filter((w) => /^--(allow|v8-flags)/.test(w));
  const compile: string = JSON.parse(Deno.readTextFileSync(`${REPO}/deno.json`)).tasks.compile;
  assertEquals(flags(runLine), [...RUNTIME_FLAGS]);
  assertEquals(flags(compile), [...RUNTIME_FLAGS]);
  assertEquals(RUNTIME_FLAGS.slice(0, PERMISSION_FLAGS.length), [...PERMISSION_FLAGS]);
});

Deno.test("worker processes: the server's arguments round-trip; anything else is refused", async () => {
  const a = {
    ctxFd: 3,
    readyFd: 4,
    logLevel: "debug" as const,
    serverPid: 42,
    backend: "venus" as const,
  };
  assertEquals(parseWorkerArgs(workerArgv(a)), a);
  assertEquals(parseWorkerArgs(["--ctx-fd=3", "--server-pid=9"]), {
    ctxFd: 3,
    readyFd: undefined,
    logLevel: "info",
    serverPid: 9,
    backend: undefined,
  });
  for (
    const bad of [
      [],
      ["--ctx-fd=3"],
      ["--ctx-fd=3", "--server-pid=9", "--bogus=1"],
      ["--ctx-fd=3", "--ctx-fd=4", "--server-pid=9"],
      ["--ctx-fd=-1", "--server-pid=9"],
      ["--ctx-fd=99999999999", "--server-pid=9"],
      ["--ctx-fd=3", "--server-pid=9", "--log-level=loud"],
      ["--ctx-fd=3", "--server-pid=9", "--backend=vulkan"],
      ["--ctx-fd", "3", "--server-pid=9"],
    ]
  ) assertThrows(() => parseWorkerArgs(bad), undefined, bad.join(" "));
  // both forms of a worker process refuse them with one line and status 2
  const viaMain = await vesper(["worker", "--ctx-fd=3"]);
  assertEquals(viaMain.code, 2, viaMain.out);
  assert(/--server-pid is required/.test(viaMain.out), viaMain.out);
  const entry = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...RUNTIME_FLAGS, `${REPO}src/render/worker_process.ts`, "--nope=1"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(entry.code, 2);
  assert(/bad worker argument "--nope=1"/.test(new TextDecoder().decode(entry.stderr)));
});

Deno.test("a worker process started through the launcher runs the worker's own entry", () => {
  const cmd = workerCommand(["--ctx-fd=3"]);
  assertEquals(cmd[0], Deno.execPath());
  assertEquals(cmd.slice(1, 3 + RUNTIME_FLAGS.length), [
    "run",
    "--no-prompt",
    ...RUNTIME_FLAGS,
  ]);
  assert(/\/src\/render\/worker_process\.ts$/.test(cmd[cmd.length - 2]), cmd.join(" "));
  assertEquals(cmd[cmd.length - 1], "--ctx-fd=3");
});

Deno.test("the server's own option parser takes what node:util's parseArgs took, strictly", () => {
  const [a, b] = L.socketpair(L.SOCK_SEQPACKET | L.SOCK_CLOEXEC);
  try {
    const fd = String(a);
    const expect = {
      socketFd: a,
      workerMode: "thread",
      logLevel: "warn",
      spareDelayMs: SPARE_AFTER_CONTEXT_MS,
    } as const;
    assertEquals(
      parseServerArgs(["--socket-fd", fd, "--worker", "thread", "--log-level", "warn"]),
      expect,
    );
    assertEquals(
      parseServerArgs([`--socket-fd=${fd}`, "--worker=thread", "--log-level=warn"]),
      expect,
    );
    assertEquals(
      parseServerArgs([`--socket-fd=${fd}`, "--spare-delay", "0"]),
      { socketFd: a, workerMode: "process", logLevel: "info", spareDelayMs: 0 },
    );
    const parsed = parseServerArgs([`--socket-fd=${fd}`, "--spare-delay=250"]);
    assertEquals(typeof parsed === "object" && parsed.spareDelayMs, 250);
    assertEquals(parseServerArgs(["-h"]), "help");
    assertEquals(parseServerArgs(["--socket-fd", fd, "--help"]), "help");
    assertEquals(parseServerArgs(["-V"]), "version");
    const bad: [string[], RegExp][] = [
      [["--socket-fd"], /Option '--socket-fd <value>' argument missing/],
      [["--socket-fd", "--worker=thread"], /argument missing/],
      [["--help=1"], /'--help' does not take an argument/],
      [["-x"], /Unknown option '-x'/],
      [["--nope=1"], /Unknown option '--nope'/],
      [["extra"], /Unexpected argument 'extra'/],
      [["--worker=fast", `--socket-fd=${fd}`], /bad --worker "fast"/],
      [[`--socket-fd=${fd}`, "--spare-delay=1.5"], /bad --spare-delay "1.5"/],
      [[`--socket-fd=${fd}`, "--spare-delay=3600001"], /bad --spare-delay "3600001"/],
    ];
    for (const [args, re] of bad) {
      assertThrows(
        () => parseServerArgs(args),
        (e) => e instanceof UsageError && re.test(e.message),
        args.join(" "),
      );
    }
  } finally {
    L.close(a);
    L.close(b);
  }
});

Deno.test("the launcher's server entry loads no node: module and none of the other jobs' code", async () => {
  assertEquals((await vesper(["--version"])).code, 0); // builds the bundle when stale
  const dir = Deno.readTextFileSync(`${REPO}/.cache/bundle/dir`).trim();
  // everything Deno reads before running the entry: static and literal dynamic imports
  const seen = new Map<string, number>();
  const visit = (path: string) => {
    if (seen.has(path)) return;
    const text = Deno.readTextFileSync(path);
    seen.set(path, text.length);
    for (const m of text.matchAll(/(?:from|import)\s*\(?\s*"([^"]+)"/g)) {
      assert(!m[1].startsWith("node:"), `${path} imports ${m[1]}`);
      visit(new URL(m[1], `file://${path}`).pathname);
    }
  };
  visit(`${dir}/src/server_entry.js`);
  const total = [...seen.values()].reduce((a, b) => a + b, 0);
  // the worker's generated Venus code alone is over 1 MB
  assert(
    total < 256 * 1024,
    `the server entry reads ${total} bytes: ${[...seen.keys()].join(" ")}`,
  );
});

Deno.test("a worker process leaves the modules it loaded in Deno's code cache", async () => {
  // Deno stores the cache only once the entry's evaluation is over and the
  // event loop turned (src/code_cache.ts); a worker that exited from inside
  // it compiled ~1.4 MB from source on every start
  const { DatabaseSync } = await import("node:sqlite");
  for (
    const args of [
      [`${REPO}src/render/worker_process.ts`, "--nope=1"],
      [`${REPO}main.ts`, "worker", "--nope=1"],
    ]
  ) {
    const dir = Deno.makeTempDirSync();
    try {
      const o = await new Deno.Command(Deno.execPath(), {
        args: ["run", ...RUNTIME_FLAGS, ...args],
        env: { DENO_DIR: dir },
        stdout: "piped",
        stderr: "piped",
      }).output();
      assertEquals(o.code, 2, new TextDecoder().decode(o.stderr));
      const db = new DatabaseSync(`${dir}/v8_code_cache_v2`, { readOnly: true });
      const cached =
        (db.prepare("SELECT specifier FROM codecache").all() as { specifier: string }[])
          .map((r) => r.specifier);
      db.close();
      for (const m of ["src/render/worker_main.ts", "src/venus/generated/commands.ts"]) {
        assert(cached.some((s) => s.endsWith(m)), `${args.join(" ")}: ${m} not cached`);
      }
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  }
});

Deno.test("tools/prune_code_cache.ts drops the code cache of launcher bundles that are gone", async () => {
  const { DatabaseSync } = await import("node:sqlite");
  const tmp = Deno.makeTempDirSync();
  try {
    const cache = `${tmp}/cache`;
    Deno.mkdirSync(`${cache}/bundle.1.1/src`, { recursive: true });
    Deno.mkdirSync(`${tmp}/deno`);
    // the table as Deno 2.9 creates it
    const db = new DatabaseSync(`${tmp}/deno/v8_code_cache_v2`);
    db.exec(
      "CREATE TABLE codecache (specifier TEXT NOT NULL, type INTEGER NOT NULL, " +
        "source_hash INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (specifier, type))",
    );
    const specifiers = [
      `file://${cache}/bundle.1.1/chunk-A.js`, // build still there
      `file://${cache}/bundle.1.1/src/server_entry.js`,
      `file://${cache}/bundle.2.2/chunk-A.js`, // build gone
      `file://${cache}/bundle.2.2/src/render/worker_process.js`,
      `file://${tmp}/other/bundle.2.2/chunk-A.js`, // not the launcher's
    ];
    for (const s of specifiers) {
      db.prepare("INSERT INTO codecache VALUES (?, 0, 1, ?)").run(s, new Uint8Array(4));
    }
    db.close();
    const r = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-read",
        "--allow-write",
        `${REPO}tools/prune_code_cache.ts`,
        `${tmp}/deno`,
        cache,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert(r.success, new TextDecoder().decode(r.stderr));
    const after = new DatabaseSync(`${tmp}/deno/v8_code_cache_v2`, { readOnly: true });
    const left = (after.prepare("SELECT specifier FROM codecache ORDER BY specifier").all() as {
      specifier: string;
    }[]).map((row) => row.specifier);
    after.close();
    assertEquals(left, [specifiers[0], specifiers[1], specifiers[4]].sort());
  } finally {
    Deno.removeSync(tmp, { recursive: true });
  }
});
