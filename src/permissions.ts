/**
 * The permissions and V8 flags Vesper runs with, in one place: `deno task
 * compile` bakes them into the binary, `bin/vesper` passes them to `deno
 * run`, and a server started through the launcher passes them on to its
 * worker processes. tests/cli_test.ts checks that all three agree.
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
 * --no-lazy: V8 compiles every function when it compiles its module, not on
 * its first call, so Deno's code cache (which holds only what was compiled
 * with the module) has all of them. Without it, every worker compiled the
 * few hundred decoders, marshallers and handlers its client reaches from
 * source as it first reached them, a fifth of a vulkaninfo worker's CPU;
 * with it that comes from the cache, against about 3 MB more memory per
 * process. Measured through the real client (CPU 0, 20 interleaved runs):
 * vulkaninfo 146 → 128 ms, vkbench init 368 → 335 ms.
 */
export const V8_FLAGS = ["--no-lazy"] as const;

/** Deno's options for them: the permissions and `--v8-flags=…`. */
export const RUNTIME_FLAGS = [...PERMISSION_FLAGS, `--v8-flags=${V8_FLAGS.join(",")}`] as const;

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
    ...RUNTIME_FLAGS,
    decodeURIComponent(entry.pathname),
    ...args,
  ];
}
