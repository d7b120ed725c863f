/**
 * The permissions Vesper runs with, in one place: `deno task compile` bakes
 * them into the binary, `bin/vesper` passes them to `deno run`, and a server
 * started through the launcher passes them on to its worker processes.
 * tests/cli_test.ts checks that all three agree.
 *
 * --allow-ffi: libc, libvulkan (FFI can do anything; the others keep Deno's
 * own APIs honest); --allow-read: /proc/self/fd and ICD manifests;
 * --allow-write: capture files; --allow-env: ICD and logging variables.
 */
export const PERMISSION_FLAGS = [
  "--allow-ffi",
  "--allow-read",
  "--allow-write",
  "--allow-env",
] as const;

/**
 * A worker entry module (src/render/<name>): `.ts` beside the sources (also
 * in the compiled binary, which embeds them), or the `.js` entry under
 * src/render/ of the launcher's bundle, whose root holds the chunk with this
 * module.
 */
export function workerEntry(name: "worker_thread" | "worker_process"): URL {
  return import.meta.url.endsWith(".ts")
    ? new URL(`./render/${name}.ts`, import.meta.url)
    : new URL(`./src/render/${name}.js`, import.meta.url);
}

/**
 * The command that starts a worker process with `args`: the compiled binary
 * itself (`vesper worker …`), or, when running through the launcher,
 * `deno run <permissions>` on the worker's own entry
 * (src/render/worker_process: in the sources, or under src/render/ of the
 * launcher's bundle), which loads only the worker's code.
 */
export function workerCommand(args: readonly string[]): string[] {
  const exe = Deno.execPath();
  const base = exe.slice(exe.lastIndexOf("/") + 1);
  if (base !== "deno") return [exe, "worker", ...args];
  const entry = workerEntry("worker_process");
  return [
    exe,
    "run",
    "--no-prompt",
    ...PERMISSION_FLAGS,
    decodeURIComponent(entry.pathname),
    ...args,
  ];
}
