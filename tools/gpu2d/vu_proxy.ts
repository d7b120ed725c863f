/**
 * A logging vhost-user proxy for vhost-user-gpu, used by the gpu2d e2e test
 * and benchmarks to see what QEMU's display really received, whichever
 * back-end serves the device.
 *
 *   deno run -A tools/gpu2d/vu_proxy.ts --listen QEMU_SIDE.sock --connect BACKEND.sock --log OUT.jsonl
 *
 * QEMU connects to --listen; the proxy connects to the back-end at
 * --connect and relays every vhost-user message both ways (fds included).
 * On VHOST_USER_GPU_SET_SOCKET it puts itself between the two ends of the
 * GPU socket too, and logs each back-end -> QEMU display message as one JSON
 * line: {t (ms), request, flags, size, words (first 5 payload u32)}.
 * A blocking poll loop: this is a test tool and has nothing else to do.
 */
import { parseArgs } from "node:util";
import type { OwnedFd } from "../../ffi/fd.ts";
import {
  poll,
  type PollFd,
  POLLIN,
  setSockOptInt,
  SO_SNDBUFFORCE,
  SOL_SOCKET,
} from "../../ffi/libc.ts";
import { StreamSocket, UnixListener } from "../../ffi/unix_socket.ts";
import * as V from "../../src/gpu2d/vhost_user.ts";

const a = parseArgs({
  args: Deno.args,
  options: { listen: { type: "string" }, connect: { type: "string" }, log: { type: "string" } },
}).values;
if (!a.listen || !a.connect || !a.log) {
  console.error("usage: vu_proxy.ts --listen PATH --connect PATH --log FILE");
  Deno.exit(2);
}
const lines: string[] = [];
const t0 = performance.now();
const flushLog = () => {
  Deno.writeTextFileSync(a.log!, lines.join("\n") + (lines.length ? "\n" : ""));
};

const listener = UnixListener.listen(a.listen);
const qemu = listener.accept();
listener.close();
const be = StreamSocket.connect(a.connect);
let gpuQemu: StreamSocket | null = null;
let gpuBe: StreamSocket | null = null;

function forward(to: StreamSocket, m: V.Message): void {
  const h = new Uint8Array(new ArrayBuffer(12));
  const dv = new DataView(h.buffer);
  dv.setUint32(0, m.request, true);
  dv.setUint32(4, m.flags, true);
  dv.setUint32(8, m.payload.byteLength, true);
  to.send([h, m.payload], m.fds.map((f) => f.fd));
  m.fds.forEach((f) => f.close());
}

/** Relays one display message; false at EOF. */
function relayGpu(from: StreamSocket, to: StreamSocket, log: boolean): boolean {
  const h = new Uint8Array(new ArrayBuffer(12));
  const fds: OwnedFd[] = [];
  if (!from.recvExact(h, fds)) return false;
  const dv = new DataView(h.buffer);
  const size = dv.getUint32(8, true);
  const p = new Uint8Array(new ArrayBuffer(size));
  if (size) from.recvExact(p, fds);
  if (log) {
    const pv = new DataView(p.buffer);
    const words: number[] = [];
    for (let o = 0; o + 4 <= Math.min(20, size); o += 4) words.push(pv.getUint32(o, true));
    lines.push(JSON.stringify({
      t: +(performance.now() - t0).toFixed(3),
      request: dv.getUint32(0, true),
      flags: dv.getUint32(4, true),
      size,
      words,
    }));
  }
  to.send([h, p], fds.map((f) => f.fd));
  fds.forEach((f) => f.close());
  return true;
}

function closeGpu(): void {
  gpuQemu?.close();
  gpuBe?.close();
  gpuQemu = gpuBe = null;
}

loop: for (;;) {
  const fds: PollFd[] = [{ fd: qemu.fd, events: POLLIN }, { fd: be.fd, events: POLLIN }];
  if (gpuQemu && gpuBe) {
    fds.push({ fd: gpuBe.fd, events: POLLIN }, { fd: gpuQemu.fd, events: POLLIN });
  }
  poll(fds, -1);
  if (fds[2]?.revents && !relayGpu(gpuBe!, gpuQemu!, true)) closeGpu();
  if (fds[3]?.revents && gpuQemu && !relayGpu(gpuQemu, gpuBe!, false)) closeGpu();
  if (fds[0].revents) {
    const m = V.readMessage(qemu);
    if (!m) break loop;
    if (m.request === V.REQ.GPU_SET_SOCKET && m.fds.length === 1) {
      closeGpu();
      gpuQemu = new StreamSocket(m.fds[0]);
      try {
        setSockOptInt(gpuQemu.fd, SOL_SOCKET, SO_SNDBUFFORCE, 16 << 20);
      } catch { /* not root: default buffer */ }
      const [mine, theirs] = StreamSocket.pair();
      gpuBe = mine;
      m.fds = [theirs.handle];
    }
    forward(be, m);
  }
  if (fds[1].revents) {
    const m = V.readMessage(be);
    if (!m) break loop;
    forward(qemu, m);
  }
}
closeGpu();
qemu.close();
be.close();
flushLog();
