/**
 * Runs the real stack for gpu2d: installs QEMU 10 (bookworm-backports) and
 * builds the pinned 6.1 guest if needed, starts a vhost-user-gpu back-end
 * (ours or QEMU's reference) and QEMU under TCG with shared memfd memory,
 * a QMP socket and hard timeouts, and takes a QMP screendump.
 */
const ROOT = new URL("../../../", import.meta.url).pathname;

export interface Guest {
  kernel: string;
  initrd: string;
}

async function sh(script: string): Promise<string> {
  const out = await new Deno.Command("sh", { args: [script], stdout: "piped", stderr: "piped" })
    .output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(`${script} failed:\n${text}\n${new TextDecoder().decode(out.stderr)}`);
  }
  return text;
}

/** Installs packages (as root, once) and builds the guest; returns its paths. */
export async function prepareGuest(): Promise<Guest> {
  await sh(`${ROOT}tools/gpu2d/install_packages.sh`);
  const out = await sh(`${ROOT}tools/gpu2d/build_guest.sh`);
  const kernel = /KERNEL=(.*)/.exec(out)?.[1];
  const initrd = /INITRD=(.*)/.exec(out)?.[1];
  if (!kernel || !initrd) throw new Error(`build_guest.sh printed no paths:\n${out}`);
  return { kernel, initrd };
}

export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
) {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timeout waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** The vhost-user back-end process listening on `sock`. */
export function startBackend(
  kind: "vesper" | "reference",
  sock: string,
  dir: string,
  opts: { trace?: boolean } = {},
): Deno.ChildProcess {
  const cmd = kind === "vesper"
    ? new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        `${ROOT}tools/gpu2d/vesper_gpu2d.ts`,
        "--socket-path",
        sock,
        ...(opts.trace === false ? [] : ["--trace-file", `${dir}/trace.jsonl`]),
        "--stats-file",
        `${dir}/stats.json`,
      ],
      stdout: "null",
      stderr: "piped",
    })
    : new Deno.Command("/usr/lib/qemu/vhost-user-gpu", {
      args: ["-s", sock],
      stdout: "null",
      stderr: "piped",
    });
  return cmd.spawn();
}

/** The logging proxy (tools/gpu2d/vu_proxy.ts) between QEMU at `listen` and the back-end at `connect`. */
export function startProxy(listen: string, connect: string, log: string): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      `${ROOT}tools/gpu2d/vu_proxy.ts`,
      "--listen",
      listen,
      "--connect",
      connect,
      "--log",
      log,
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
}

/** One display message as the proxy logged it. */
export interface ProxyMsg {
  t: number;
  request: number;
  flags: number;
  size: number;
  words: number[];
}

export function readProxyLog(path: string): ProxyMsg[] {
  const text = Deno.readTextFileSync(path).trim();
  return text ? text.split("\n").map((l) => JSON.parse(l)) : [];
}

export interface QemuRun {
  proc: Deno.ChildProcess;
  serial: string;
  qmp: string;
  timer: ReturnType<typeof setTimeout>;
}

/** Starts QEMU against the back-end socket; killed after `hardTimeoutMs` whatever happens. */
export function startQemu(
  g: Guest,
  backendSock: string,
  dir: string,
  hold = 3,
  hardTimeoutMs = 60_000,
): QemuRun {
  const serial = `${dir}/serial.log`;
  const qmp = `${dir}/qmp.sock`;
  const proc = new Deno.Command("qemu-system-x86_64", {
    args: [
      ...["-accel", "tcg", "-m", "512", "-smp", "1", "-nodefaults", "-no-user-config"],
      ...[
        "-display",
        "none",
        "-serial",
        `file:${serial}`,
        "-qmp",
        `unix:${qmp},server=on,wait=off`,
      ],
      ...[
        "-object",
        "memory-backend-memfd,id=mem,size=512M,share=on",
        "-machine",
        "q35,memory-backend=mem",
      ],
      ...[
        "-chardev",
        `socket,id=vgpu,path=${backendSock}`,
        "-device",
        "vhost-user-gpu-pci,chardev=vgpu",
      ],
      ...["-kernel", g.kernel, "-initrd", g.initrd, "-no-reboot"],
      ...["-append", `console=ttyS0 quiet drmtest=${hold}`],
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => {
    try {
      proc.kill("SIGKILL");
    } catch { /* gone */ }
  }, hardTimeoutMs);
  return { proc, serial, qmp, timer };
}

export function serialText(run: QemuRun): string {
  try {
    return Deno.readTextFileSync(run.serial);
  } catch {
    return "";
  }
}

/** One QMP session: capabilities, then `screendump` to a PPM file. */
export async function screendump(qmpPath: string, file: string): Promise<void> {
  const conn = await Deno.connect({ transport: "unix", path: qmpPath });
  const enc = new TextEncoder();
  const dec = new TextDecoder();
  let buf = "";
  const chunk = new Uint8Array(65536);
  const next = async (): Promise<Record<string, unknown>> => {
    for (;;) {
      const nl = buf.indexOf("\n");
      if (nl >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const m = JSON.parse(line);
        if (m.event) continue;
        return m;
      }
      const n = await conn.read(chunk);
      if (n === null) throw new Error("QMP closed");
      buf += dec.decode(chunk.subarray(0, n));
    }
  };
  try {
    await next(); // greeting
    await conn.write(enc.encode(JSON.stringify({ execute: "qmp_capabilities" }) + "\n"));
    await next();
    await conn.write(
      enc.encode(JSON.stringify({ execute: "screendump", arguments: { filename: file } }) + "\n"),
    );
    const r = await next();
    if (r.error) throw new Error(`screendump: ${JSON.stringify(r.error)}`);
  } finally {
    conn.close();
  }
}

/** Parses a binary PPM (P6) into width, height and RGB bytes. */
export function readPpm(path: string): { w: number; h: number; rgb: Uint8Array } {
  const data = Deno.readFileSync(path);
  const head = new TextDecoder().decode(data.subarray(0, 64));
  const m = /^P6\s+(\d+)\s+(\d+)\s+(\d+)\s/.exec(head);
  if (!m) throw new Error("not a P6 PPM");
  return { w: Number(m[1]), h: Number(m[2]), rgb: data.subarray(m[0].length) };
}
