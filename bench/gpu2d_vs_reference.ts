/**
 * gpu2d benchmark: `vesper gpu2d` against QEMU's reference back-end
 * (/usr/lib/qemu/vhost-user-gpu, package qemu-system-gui), both driven by
 * the same front-end double in the same run (tests/gpu2d/support/frontend.ts:
 * real vhost-user socket, memfd guest RAM with a page-scattered framebuffer
 * as a Linux guest's dumb buffer has, kick/call eventfds, GPU socket).
 *
 * Per back-end and size (1280x800, 1920x1080):
 *  - latency from the kick (eventfd write) of TRANSFER_TO_HOST_2D +
 *    RESOURCE_FLUSH to the complete VHOST_USER_GPU_UPDATE arriving on the
 *    display socket, for a 64x48 damage rect and for a full frame;
 *  - bytes on the display socket per flush (64x48 and full frame);
 *  - back-end CPU time per full-frame transfer+flush (all its threads,
 *    from /proc/<pid>/task/∗/schedstat, nanoseconds; median per cycle).
 *
 *   deno run -A bench/gpu2d_vs_reference.ts [--iterations N] [--json FILE] [--max-update-bytes N]
 *
 * (--max-update-bytes is passed to vesper: 0 sends every rect as one UPDATE,
 * byte for byte what the reference sends.)
 */
import { parseArgs } from "node:util";
import { StreamSocket } from "../ffi/unix_socket.ts";
import { FORMAT_B8G8R8X8_UNORM } from "../src/gpu2d/formats.ts";
import {
  attachBacking,
  create2d,
  flush,
  FrontendDouble,
  GPU_MSG,
  setScanout,
  transfer,
} from "../tests/gpu2d/support/frontend.ts";
import { GuestFb } from "../tests/gpu2d/support/harness.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const args = parseArgs({
  args: Deno.args,
  options: {
    iterations: { type: "string" },
    json: { type: "string" },
    "max-update-bytes": { type: "string" },
  },
}).values;
const N = Number(args.iterations ?? "200");

function cpuNs(pid: number): number {
  let total = 0;
  for (const t of Deno.readDirSync(`/proc/${pid}/task`)) {
    try {
      total += Number(Deno.readTextFileSync(`/proc/${pid}/task/${t.name}/schedstat`).split(" ")[0]);
    } catch { /* thread gone */ }
  }
  return total;
}

function stats(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return {
    n: s.length,
    median: q(0.5),
    p90: q(0.9),
    min: s[0],
    mean: s.reduce((a, b) => a + b, 0) / s.length,
  };
}

async function startBackend(kind: string, sock: string): Promise<Deno.ChildProcess> {
  try {
    Deno.removeSync(sock);
  } catch { /* none */ }
  const cmd = kind === "vesper"
    ? new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        `${ROOT}tools/gpu2d/vesper_gpu2d.ts`,
        "--socket-path",
        sock,
        ...(args["max-update-bytes"] ? ["--max-update-bytes", args["max-update-bytes"]] : []),
      ],
      env: { VESPER_LOG: "warn" },
      stderr: "inherit",
      stdout: "null",
    })
    : new Deno.Command("/usr/lib/qemu/vhost-user-gpu", {
      args: ["-s", sock],
      stderr: "null",
      stdout: "null",
    });
  const p = cmd.spawn();
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      if (Deno.statSync(sock).isSocket) break;
    } catch { /* not yet */ }
    if (Date.now() > deadline) throw new Error(`${kind} did not listen`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return p;
}

function waitUpdates(fe: FrontendDouble, count: number): void {
  const deadline = performance.now() + 10_000;
  while (fe.gpuLog.filter((m) => m.request === GPU_MSG.UPDATE).length < count) {
    fe.serviceGpu(100);
    if (performance.now() > deadline) throw new Error("no UPDATE");
  }
}

interface SizeResult {
  size: string;
  smallLatencyMs: ReturnType<typeof stats>;
  fullLatencyMs: ReturnType<typeof stats>;
  bytesPerSmallFlush: number;
  bytesPerFullFlush: number;
  cpuMsPerFullFlush: number;
  cpuMsPerFullFlushP90: number;
}

/** One back-end with its own front-end double, set up for a frame size. */
interface Rig {
  kind: string;
  proc: Deno.ChildProcess;
  fe: FrontendDouble;
  fb: GuestFb;
  id: number;
  w: number;
  h: number;
  small: number[];
  smallBytes: number;
  fullLat: number[];
  fullCpu: number[];
  fullBytes: number;
}

async function connect(kind: string): Promise<{ proc: Deno.ChildProcess; fe: FrontendDouble }> {
  const sock = `/tmp/vesper-gpu2d-bench-${kind}-${Deno.pid}.sock`;
  const proc = await startBackend(kind, sock);
  const fe = new FrontendDouble({ memSize: 256 * 1024 * 1024 }, StreamSocket.connect(sock));
  fe.handshake();
  return { proc, fe };
}

function setup(
  r: { kind: string; proc: Deno.ChildProcess; fe: FrontendDouble },
  id: number,
  w: number,
  h: number,
): Rig {
  const fe = r.fe;
  const fb = new GuestFb(fe, w, h);
  const full = { x: 0, y: 0, w, h };
  fe.command([create2d(id, FORMAT_B8G8R8X8_UNORM, w, h)]);
  fe.command([attachBacking(id, fb.entries())]);
  fe.command([setScanout(0, id, full)]);
  fb.fill(0, 0, w, h, (x, y) => (x * 7) ^ (y << 8));
  return { ...r, fb, id, w, h, small: [], smallBytes: 0, fullLat: [], fullCpu: [], fullBytes: 0 };
}

/** One TRANSFER_TO_HOST_2D + RESOURCE_FLUSH of `r`, kicked once; latency to the first UPDATE. */
function cycle(
  g: Rig,
  r: { x: number; y: number; w: number; h: number },
): { lat: number; bytes: number } {
  const fe = g.fe;
  const before = fe.gpuLog.length;
  const nUpd = fe.gpuLog.filter((m) => m.request === GPU_MSG.UPDATE).length;
  fe.submit(0, [transfer(g.id, r, r.y * g.fb.stride + r.x * 4)], 24, false);
  fe.submit(0, [flush(g.id, r)], 24, false);
  const t0 = performance.now();
  fe.kick(0);
  waitUpdates(fe, nUpd + 1);
  const upd = fe.gpuLog.slice(before).find((m) => m.request === GPU_MSG.UPDATE)!;
  fe.waitUsed(0, 2);
  fe.serviceGpu(0);
  const bytes = fe.gpuLog.slice(before).reduce((a, m) => a + 12 + m.size, 0);
  fe.gpuLog.length = 0;
  return { lat: upd.recvTime - t0, bytes };
}

// Both back-ends run side by side and the measurements alternate between
// them, so a noisy neighbour on this shared machine hits both alike.
const conns = [await connect("reference"), await connect("vesper")].map((c, i) => ({
  kind: ["reference", "vesper"][i],
  ...c,
}));
const results: Record<string, SizeResult[]> = { reference: [], vesper: [] };
let nextId = 1;
try {
  for (const [w, h] of [[1280, 800], [1920, 1080]]) {
    const id = nextId++;
    const rigs = conns.map((c) => setup(c, id, w, h));
    const full = { x: 0, y: 0, w, h };
    for (const g of rigs) for (let i = 0; i < 5; i++) cycle(g, full); // warm-up: SCANOUT, page faults
    for (let i = 0; i < N; i++) {
      const r = { x: (i * 64) % (w - 64), y: (i * 48) % (h - 48), w: 64, h: 48 };
      for (const g of rigs) {
        g.fb.fill(r.x, r.y, 1, 1, () => i);
        const c = cycle(g, r);
        g.small.push(c.lat);
        g.smallBytes = c.bytes;
      }
    }
    const nFull = Math.max(20, Math.floor(N / 4));
    for (let i = 0; i < nFull; i++) {
      for (const g of rigs) {
        // The back-end sleeps in poll between cycles, so its threads' run
        // times are exact here; the median drops the odd GC or noisy neighbour.
        const cpu0 = cpuNs(g.proc.pid);
        const c = cycle(g, full);
        g.fullCpu.push((cpuNs(g.proc.pid) - cpu0) / 1e6);
        g.fullLat.push(c.lat);
        g.fullBytes = c.bytes;
      }
    }
    for (const g of rigs) {
      const cpu = stats(g.fullCpu);
      results[g.kind].push({
        size: `${w}x${h}`,
        smallLatencyMs: stats(g.small),
        fullLatencyMs: stats(g.fullLat),
        bytesPerSmallFlush: g.smallBytes,
        bytesPerFullFlush: g.fullBytes,
        cpuMsPerFullFlush: cpu.median,
        cpuMsPerFullFlushP90: cpu.p90,
      });
    }
  }
} finally {
  for (const c of conns) {
    c.fe.close();
    const t = setTimeout(() => c.proc.kill("SIGKILL"), 5000);
    await c.proc.status;
    clearTimeout(t);
  }
}
const f = (x: number) => x.toFixed(3);
console.log(`gpu2d vs reference, ${N} small flushes per size (medians; p90 in brackets)`);
console.log(
  "backend    size        kick->UPDATE 64x48      kick->UPDATE full       bytes/64x48  bytes/full   CPU ms/full flush [p90]",
);
for (const [kind, rs] of Object.entries(results)) {
  for (const r of rs) {
    console.log(
      `${kind.padEnd(10)} ${r.size.padEnd(11)} ${f(r.smallLatencyMs.median)} ms [${
        f(r.smallLatencyMs.p90)
      }]`.padEnd(48) +
        `${f(r.fullLatencyMs.median)} ms [${f(r.fullLatencyMs.p90)}]`.padEnd(24) +
        `${String(r.bytesPerSmallFlush).padEnd(13)}${String(r.bytesPerFullFlush).padEnd(13)}` +
        `${f(r.cpuMsPerFullFlush)} [${f(r.cpuMsPerFullFlushP90)}]`,
    );
  }
}
if (args.json) Deno.writeTextFileSync(args.json, JSON.stringify(results, null, 1));
