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
 * The command that starts this same program again (for worker processes):
 * the compiled binary itself, or `deno run <permissions> <main module>` when
 * running through the launcher.
 */
export function selfCommand(): string[] {
  const exe = Deno.execPath();
  const base = exe.slice(exe.lastIndexOf("/") + 1);
  if (base !== "deno") return [exe];
  const main = new URL(Deno.mainModule);
  return [exe, "run", "--no-prompt", ...PERMISSION_FLAGS, decodeURIComponent(main.pathname)];
}
