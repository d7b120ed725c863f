/**
 * gpu2d on the real stack: the same Debian 6.1 guest and drmtest
 * (tools/gpu2d/guest/) under QEMU 10 TCG, served once by QEMU's reference
 * back-end (/usr/lib/qemu/vhost-user-gpu) and once by `vesper gpu2d`, in
 * one run. A logging proxy (tools/gpu2d/vu_proxy.ts) on the vhost-user and
 * display sockets records what QEMU's display received.
 *
 * Reports per back-end: bytes QEMU received per DIRTYFB (one 64x48 clip,
 * and full frame), the span of the 20 one-clip UPDATEs, back-end CPU time
 * over the guest's run, whether the screendump is right, and for Vesper its
 * own host-side kick->UPDATE latency (the reference has no such counter;
 * bench/gpu2d_vs_reference.ts measures both from outside).
 *
 *   deno run -A bench/gpu2d_guest_vs_reference.ts [--runs N]
 */
import { parseArgs } from "node:util";
import * as Q from "../tests/gpu2d/support/qemu.ts";

const runs = Number(
  parseArgs({ args: Deno.args, options: { runs: { type: "string" } } }).values.runs ?? "1",
);

function cpuNs(pid: number): number {
  let total = 0;
  try {
    for (const t of Deno.readDirSync(`/proc/${pid}/task`)) {
      total += Number(Deno.readTextFileSync(`/proc/${pid}/task/${t.name}/schedstat`).split(" ")[0]);
    }
  } catch { /* exited */ }
  return total;
}

const gradient = (x: number, y: number) =>
  ((Math.floor(x * 255 / 1279) & 0xff) << 16) | ((Math.floor(y * 255 / 799) & 0xff) << 8) |
  ((x + y) & 0xff);
const boxColor = (i: number) => ((0x00ff0000 >>> (i % 3 * 8)) | ((i * 12) << 8)) >>> 0;
function expected(x: number, y: number): number {
  for (let i = 19; i >= 0; i--) {
    const bx = 20 + (i % 10) * 120, by = 100 + Math.floor(i / 10) * 300;
    if (x >= bx && x < bx + 64 && y >= by && y < by + 48) return boxColor(i);
  }
  if (x < 16 && y < 16) return 0xffffff;
  if (x >= 1264 && y >= 784) return 0xffff00;
  return gradient(x, y);
}

async function once(kind: "reference" | "vesper", guest: Q.Guest) {
  const dir = Deno.makeTempDirSync({ prefix: `vesper-gpu2d-bench-${kind}-` });
  const beSock = `${dir}/be.sock`;
  const sock = `${dir}/vu.sock`;
  const be = Q.startBackend(kind, beSock, dir, { trace: false });
  await Q.waitFor(() => Q.exists(beSock), 15_000, "back-end socket");
  const proxy = Q.startProxy(sock, beSock, `${dir}/proxy.jsonl`);
  await Q.waitFor(() => Q.exists(sock), 15_000, "proxy socket");
  const cpu0 = cpuNs(be.pid);
  const run = Q.startQemu(guest, sock, dir, 3);
  const qemuErr = new Response(run.proc.stderr).text();
  await Q.waitFor(() => /DRMTEST (DONE|FAIL)/.test(Q.serialText(run)), 50_000, "DRMTEST DONE");
  const cpu = cpuNs(be.pid) - cpu0;
  await new Promise((ok) => setTimeout(ok, 1000));
  await Q.screendump(run.qmp, `${dir}/screen.ppm`);
  await run.proc.status;
  clearTimeout(run.timer);
  await proxy.status;
  const t = setTimeout(() => be.kill("SIGKILL"), 5000);
  await be.status;
  clearTimeout(t);
  await be.stderr.cancel();
  await proxy.stderr.cancel();
  const err = await qemuErr;
  const msgs = Q.readProxyLog(`${dir}/proxy.jsonl`);
  const upd = msgs.filter((m) => m.request === 8);
  const small = upd.filter((m) => m.words[3] === 64 && m.words[4] === 48);
  // Full-frame flushes: messages that together cover 1280x800 starting at y=0.
  const frames: number[] = [];
  let acc = 0, rows = 0;
  for (const m of upd) {
    if (m.words[3] !== 1280) continue;
    if (m.words[2] === 0) acc = rows = 0;
    acc += 12 + m.size;
    rows += m.words[4];
    if (rows === 800) frames.push(acc);
  }
  const img = Q.readPpm(`${dir}/screen.ppm`);
  let bad = 0;
  for (let y = 0; y < 800; y++) {
    for (let x = 0; x < 1280; x++) {
      const o = (y * 1280 + x) * 3;
      if (((img.rgb[o] << 16) | (img.rgb[o + 1] << 8) | img.rgb[o + 2]) !== expected(x, y)) bad++;
    }
  }
  let latency = null;
  if (kind === "vesper") {
    latency = JSON.parse(Deno.readTextFileSync(`${dir}/stats.json`)).kickToUpdate;
  }
  Deno.removeSync(dir, { recursive: true });
  return {
    kind,
    bytesPerOneClipDirtyFB: small.length ? (12 + small[0].size) : 0,
    oneClipUpdates: small.length,
    oneClipSpanMs: small.length ? small[small.length - 1].t - small[0].t : 0,
    bytesPerFullFrameDirtyFB: frames.length ? frames[frames.length - 1] : 0,
    fullFrames: frames.length,
    backendCpuMsDuringGuestRun: cpu / 1e6,
    screendumpPixelsWrong: bad,
    qemuLostMessages: /failed to read msg/.test(err),
    vesperKickToUpdate: latency,
  };
}

const guest = await Q.prepareGuest();
for (let i = 0; i < runs; i++) {
  for (const kind of ["reference", "vesper"] as const) {
    console.log(JSON.stringify(await once(kind, guest)));
  }
}
