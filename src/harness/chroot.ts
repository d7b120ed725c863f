/**
 * The trixie chroot with the real client stack (tools/setup-chroot.sh), for
 * the demo, tests and benchmarks: built on first use, then reused.
 */
/** The repository root (where bin/vesper and tools/ are). */
export const REPO = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");

export const LVP_ICD = "/usr/share/vulkan/icd.d/lvp_icd.json";
export const VIRTIO_ICD = "/usr/share/vulkan/icd.d/virtio_icd.json";
export const C_SERVER = "/usr/libexec/virgl_render_server";

let ready: Promise<string | null> | undefined;

/** True when this machine can build the chroot (root, debootstrap or apt). */
export function canBuildChroot(): boolean {
  return Deno.uid() === 0;
}

/**
 * Makes sure the project's own Deno binary is at .tools/deno: bin/vesper
 * uses it, and inside the chroot it is the only Deno there is.
 */
function ensureToolsDeno(): void {
  const target = `${REPO}/.tools/deno`;
  try {
    Deno.statSync(target);
    return;
  } catch { /* missing */ }
  Deno.mkdirSync(`${REPO}/.tools`, { recursive: true });
  Deno.copyFileSync(Deno.execPath(), target);
  Deno.chmodSync(target, 0o755);
}

/** Path of the ready, mounted chroot, or null when it cannot be built here. */
export function ensureChroot(): Promise<string | null> {
  ready ??= (async () => {
    if (!canBuildChroot()) return null;
    ensureToolsDeno();
    const out = await new Deno.Command(`${REPO}/tools/setup-chroot.sh`, {
      args: [REPO],
      stdout: "piped",
      stderr: "inherit",
    }).output();
    if (!out.success) throw new Error("tools/setup-chroot.sh failed");
    return new TextDecoder().decode(out.stdout).trim();
  })();
  return ready;
}

/** A command that runs `argv` inside the chroot with `env` (and nothing else of ours). */
export function inChroot(root: string, argv: string[], env: Record<string, string> = {}): string[] {
  const envArgs = Object.entries({ PATH: "/usr/sbin:/usr/bin:/sbin:/bin", ...env })
    .map(([k, v]) => `${k}=${v}`);
  return ["/usr/sbin/chroot", root, "/usr/bin/env", "-i", ...envArgs, ...argv];
}

/**
 * Builds the Vulkan C programs of `src` into `out` inside the chroot
 * (tools/build-c.sh: only when a source changed since the last build).
 * Both are paths inside the chroot (the repository is mounted at its own
 * path there). Throws with the compiler's output when the build fails.
 */
export async function buildInChroot(root: string, src: string, out: string): Promise<void> {
  const argv = inChroot(root, ["/bin/sh", `${REPO}/tools/build-c.sh`, src, out]);
  const r = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!r.success) {
    const dec = new TextDecoder();
    throw new Error(`building ${src} failed:\n${dec.decode(r.stdout)}${dec.decode(r.stderr)}`);
  }
}
