/**
 * JIT warm-up before the first front-end connects.
 *
 * A guest's first frames arrive while V8 still interprets the hot paths
 * (the poll loop, descriptor walking, backing gather, UPDATE sends): the
 * first few hundred commands cost several times their steady-state CPU
 * and latency. Here a back-end is driven on private memory first, the way
 * QEMU and a guest driver would drive it (a vhost-user socketpair, a memfd
 * "guest" with a split ring, kick and call eventfds, a display socketpair
 * answered and drained here), so the code is compiled before QEMU connects:
 * tens of milliseconds at start-up, off the display path.
 */
import { OwnedFd } from "../../ffi/fd.ts";
import {
  EFD_CLOEXEC,
  EFD_NONBLOCK,
  eventfd,
  eventfdRead,
  eventfdWrite,
  ftruncate,
  memfdCreate,
  MFD_CLOEXEC,
} from "../../ffi/libc.ts";
import { StreamSocket } from "../../ffi/unix_socket.ts";
import { Logger } from "../log.ts";
import { VhostUserGpuBackend } from "./backend.ts";
import { FORMAT_B8G8R8X8_UNORM } from "./formats.ts";
import * as G from "./virtio_gpu.ts";
import * as V from "./vhost_user.ts";

const NUM = 64;
const UVA = 0x10000000;
// Guest layout: ring (desc 0, avail 1024, used 2048), request 4096, response 8192,
// framebuffer pages from 16 KiB on.
const REQ_GPA = 4096;
const RESP_GPA = 8192;
const FB_GPA = 16384;

function cmd(type: number, size: number, fill: (dv: DataView) => void): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(new ArrayBuffer(size));
  const dv = new DataView(b.buffer);
  dv.setUint32(0, type, true);
  fill(dv);
  return b;
}

function rect(dv: DataView, off: number, x: number, y: number, w: number, h: number): void {
  dv.setUint32(off, x, true);
  dv.setUint32(off + 4, y, true);
  dv.setUint32(off + 8, w, true);
  dv.setUint32(off + 12, h, true);
}

/** A vhost_vring_state payload {index, num}. */
function pair(a: number, b: number): Uint8Array<ArrayBuffer> {
  const p = new Uint8Array(new ArrayBuffer(8));
  const dv = new DataView(p.buffer);
  dv.setUint32(0, a, true);
  dv.setUint32(4, b, true);
  return p;
}

/**
 * Runs a back-end through start-up and `rounds` transfer+flush pairs (every
 * 100th a full 1280x800 frame, the rest 64x48). Returns the commands run
 * and how many failed.
 */
export function warmUp(rounds = 600): { commands: number; errors: number } {
  const W = 1280;
  const H = 800;
  const pages = (W * H * 4) / 4096;
  const memSize = FB_GPA + pages * 4096 + 4096;
  const memfd = new OwnedFd(memfdCreate("gpu2d-warmup", MFD_CLOEXEC));
  ftruncate(memfd.fd, memSize);
  const [fe, beEnd] = StreamSocket.pair();
  const [gpuFe, gpuBe] = StreamSocket.pair();
  const kick = new OwnedFd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  const call = new OwnedFd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  const be = new VhostUserGpuBackend(beEnd, new Logger("gpu2d-warmup", "error"));
  const hdr = new Uint8Array(new ArrayBuffer(12));
  const hv = new DataView(hdr.buffer);
  const send = (req: number, payload: Uint8Array, fds: number[] = []) => {
    hv.setUint32(0, req, true);
    hv.setUint32(4, V.VERSION, true);
    hv.setUint32(8, payload.byteLength, true);
    fe.send([hdr, payload], fds);
    be.pollOnce(0);
  };
  const sink = new Uint8Array(new ArrayBuffer(1 << 20));
  const featuresReply = new Uint8Array(new ArrayBuffer(20));
  const fv = new DataView(featuresReply.buffer);
  fv.setUint32(0, 1, true); // VHOST_USER_GPU_GET_PROTOCOL_FEATURES
  fv.setUint32(4, 0x4, true); // reply
  fv.setUint32(8, 8, true);
  fv.setBigUint64(12, 1n, true); // EDID
  const serveDisplay = () => {
    // Answer the protocol-feature query as QEMU does; drop everything else.
    for (;;) {
      const n = gpuFe.recvSome(sink);
      if (n <= 0) return;
      const dv = new DataView(sink.buffer);
      if (n === 12 && dv.getUint32(0, true) === 1) gpuFe.send([featuresReply]);
    }
  };
  let commands = 0;
  let errors = 0;
  try {
    const bit = (n: number) => 1n << BigInt(n);
    send(
      V.REQ.SET_FEATURES,
      V.u64Payload(
        bit(G.VIRTIO_F_VERSION_1) | bit(V.F_PROTOCOL_FEATURES) | bit(G.VIRTIO_RING_F_EVENT_IDX),
      ),
    );
    const region = new Uint8Array(new ArrayBuffer(40));
    const rv = new DataView(region.buffer);
    rv.setBigUint64(16, BigInt(memSize), true);
    rv.setBigUint64(24, BigInt(UVA), true);
    send(V.REQ.ADD_MEM_REG, region, [memfd.fd]);
    memfd.close();
    send(V.REQ.SET_VRING_NUM, pair(0, NUM));
    send(V.REQ.SET_VRING_BASE, pair(0, 0));
    const addr = new Uint8Array(new ArrayBuffer(40));
    const av = new DataView(addr.buffer);
    av.setBigUint64(8, BigInt(UVA), true); // desc
    av.setBigUint64(16, BigInt(UVA + 2048), true); // used
    av.setBigUint64(24, BigInt(UVA + 1024), true); // avail
    send(V.REQ.SET_VRING_ADDR, addr);
    send(V.REQ.SET_VRING_CALL, V.u64Payload(0n), [call.fd]);
    send(V.REQ.SET_VRING_KICK, V.u64Payload(0n), [kick.fd]);
    send(V.REQ.GPU_SET_SOCKET, new Uint8Array(0), [gpuBe.fd]);
    gpuBe.close();
    send(V.REQ.SET_VRING_ENABLE, pair(0, 1));
    for (let i = 0; i < 4; i++) {
      serveDisplay();
      be.pollOnce(0);
    }
    const ram = be.mem.gpa(0, memSize)!;
    const ring = new DataView(ram.buffer, ram.byteOffset, memSize);
    let avail = 0;
    const run = (c: Uint8Array<ArrayBuffer>) => {
      ram.set(c, REQ_GPA);
      ring.setBigUint64(0, BigInt(REQ_GPA), true);
      ring.setUint32(8, c.byteLength, true);
      ring.setUint16(12, 1, true); // NEXT
      ring.setUint16(14, 1, true);
      ring.setBigUint64(16, BigInt(RESP_GPA), true);
      ring.setUint32(24, 64, true);
      ring.setUint16(28, 2, true); // WRITE
      ring.setUint16(1024 + 4 + 2 * (avail % NUM), 0, true);
      avail = (avail + 1) & 0xffff;
      ring.setUint16(1024 + 2, avail, true);
      ring.setUint16(1024 + 4 + 2 * NUM, (avail - 1) & 0xffff, true); // used_event
      eventfdWrite(kick.fd, 1n);
      for (let i = 0; i < 3 && ring.getUint16(2048 + 2, true) !== avail; i++) be.pollOnce(0);
      serveDisplay();
      eventfdRead(call.fd);
      commands++;
      if (
        ring.getUint16(2048 + 2, true) !== avail ||
        ring.getUint32(RESP_GPA, true) >= G.RESP_ERR_UNSPEC
      ) {
        errors++;
      }
    };
    run(cmd(G.CMD_RESOURCE_CREATE_2D, 40, (dv) => {
      dv.setUint32(24, 1, true);
      dv.setUint32(28, FORMAT_B8G8R8X8_UNORM, true);
      dv.setUint32(32, W, true);
      dv.setUint32(36, H, true);
    }));
    // The request must fit its 4 KiB area: 254 single pages in reverse
    // order (scattered, like shmem), then the rest as one entry.
    run(cmd(G.CMD_RESOURCE_ATTACH_BACKING, 32 + 255 * 16, (dv) => {
      dv.setUint32(24, 1, true);
      dv.setUint32(28, 255, true);
      for (let i = 0; i < 254; i++) {
        dv.setBigUint64(32 + 16 * i, BigInt(FB_GPA + (253 - i) * 4096), true);
        dv.setUint32(40 + 16 * i, 4096, true);
      }
      dv.setBigUint64(32 + 16 * 254, BigInt(FB_GPA + 254 * 4096), true);
      dv.setUint32(40 + 16 * 254, (pages - 254) * 4096, true);
    }));
    run(cmd(G.CMD_SET_SCANOUT, 48, (dv) => {
      rect(dv, 24, 0, 0, W, H);
      dv.setUint32(44, 1, true);
    }));
    for (let i = 0; i < rounds; i++) {
      const full = i % 100 === 0;
      const [x, y, w, h] = full ? [0, 0, W, H] : [(i * 64) % (W - 64), (i * 48) % (H - 48), 64, 48];
      run(cmd(G.CMD_TRANSFER_TO_HOST_2D, 56, (dv) => {
        rect(dv, 24, x, y, w, h);
        dv.setBigUint64(40, BigInt(y * W * 4 + x * 4), true);
        dv.setUint32(48, 1, true);
      }));
      run(cmd(G.CMD_RESOURCE_FLUSH, 48, (dv) => {
        rect(dv, 24, x, y, w, h);
        dv.setUint32(40, 1, true);
      }));
    }
  } finally {
    be.close();
    fe.close();
    gpuFe.close();
    kick.close();
    call.close();
  }
  return { commands, errors };
}
