/**
 * JIT warm-up before the first front-end connects.
 *
 * A guest's first frames arrive while V8 still interprets the hot paths
 * (descriptor walking, backing gather, banded UPDATE sends): the first few
 * dozen flushes cost several times their steady-state CPU. Running the same
 * code on private memory first (a memfd "guest", a throw-away display
 * socketpair that is drained as it fills) gets it compiled before QEMU
 * connects: a few tens of milliseconds at start-up, off the display path.
 */
import { OwnedFd } from "../../ffi/fd.ts";
import { ftruncate, memfdCreate, MFD_CLOEXEC } from "../../ffi/libc.ts";
import { StreamSocket } from "../../ffi/unix_socket.ts";
import { Logger } from "../log.ts";
import { Gpu2D } from "./device.ts";
import { FORMAT_B8G8R8X8_UNORM } from "./formats.ts";
import { GuestMemory } from "./guest_memory.ts";
import { GpuSocket } from "./gpu_socket.ts";
import { gather, scatter, SplitQueue } from "./virtqueue.ts";
import * as G from "./virtio_gpu.ts";

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

/** Runs the 2D hot paths `rounds` times on private memory; returns the commands run and how many failed. */
export function warmUp(rounds = 200): { commands: number; errors: number } {
  let commands = 0;
  let errors = 0;
  const W = 1280;
  const H = 800;
  const pages = (W * H * 4) / 4096;
  const memSize = (pages + 16) * 4096;
  const fd = new OwnedFd(memfdCreate("gpu2d-warmup", MFD_CLOEXEC));
  ftruncate(fd.fd, memSize);
  const mem = new GuestMemory();
  mem.add({ gpa: 0, size: memSize, uva: 0x10000000, mmapOffset: 0 }, fd);
  const [mine, theirs] = StreamSocket.pair();
  const quiet = new Logger("gpu2d-warmup", "error");
  const disp = new GpuSocket(theirs.handle, quiet);
  disp.protocolFeatures = 0n; // no handshake: nothing answers here
  const dev = new Gpu2D(mem, quiet);
  dev.display = disp;
  const sink = new Uint8Array(new ArrayBuffer(1 << 20));
  const drain = () => {
    while (mine.recvSome(sink) > 0) { /* discard */ }
    disp.onWritable();
  };
  // A 64-entry split ring at gpa 0 (desc 0, avail 1024, used 2048), the
  // request at 4096 and the response at 8192, as a driver would lay them out.
  const UVA = 0x10000000;
  const q = new SplitQueue(0, mem);
  q.num = 64;
  q.eventIdx = true;
  q.setAddrs({ desc: UVA, avail: UVA + 1024, used: UVA + 2048 });
  const ring = new DataView(mem.gpa(0, 4096)!.buffer, 0, 4096);
  const reqArea = mem.gpa(4096, 4096)!;
  const req = new Uint8Array(new ArrayBuffer(32 + pages * 16));
  let avail = 0;
  const run = (c: Uint8Array<ArrayBuffer>) => {
    let chain;
    if (c.byteLength <= 4096) {
      reqArea.set(c);
      ring.setBigUint64(0, 4096n, true);
      ring.setUint32(8, c.byteLength, true);
      ring.setUint16(12, 1, true); // NEXT
      ring.setUint16(14, 1, true);
      ring.setBigUint64(16, 8192n, true);
      ring.setUint32(24, 64, true);
      ring.setUint16(28, 2, true); // WRITE
      ring.setUint16(1024 + 4 + 2 * (avail % 64), 0, true);
      avail = (avail + 1) & 0xffff;
      ring.setUint16(1024 + 2, avail, true);
      chain = q.pop()!;
    } else {
      chain = { head: 0, readable: [c], writable: [mem.gpa(8192, 64)!] };
    }
    const n = gather(chain.readable, req);
    dev.execute(req.subarray(0, n), (b) => {
      commands++;
      if (new DataView(b.buffer, b.byteOffset).getUint32(0, true) >= G.RESP_ERR_UNSPEC) errors++;
      const w = scatter(b, chain.writable);
      if (c.byteLength <= 4096) q.push(chain.head, w);
    });
    q.needsNotify();
    q.enableNotifications();
    drain();
  };
  try {
    run(cmd(G.CMD_RESOURCE_CREATE_2D, 40, (dv) => {
      dv.setUint32(24, 1, true);
      dv.setUint32(28, FORMAT_B8G8R8X8_UNORM, true);
      dv.setUint32(32, W, true);
      dv.setUint32(36, H, true);
    }));
    run(cmd(G.CMD_RESOURCE_ATTACH_BACKING, 32 + pages * 16, (dv) => {
      dv.setUint32(24, 1, true);
      dv.setUint32(28, pages, true);
      for (let i = 0; i < pages; i++) {
        dv.setBigUint64(32 + 16 * i, BigInt((pages - i + 8) * 4096), true); // scattered, like shmem
        dv.setUint32(40 + 16 * i, 4096, true);
      }
    }));
    run(cmd(G.CMD_SET_SCANOUT, 48, (dv) => {
      rect(dv, 24, 0, 0, W, H);
      dv.setUint32(44, 1, true);
    }));
    for (let i = 0; i < rounds; i++) {
      const full = i % 20 === 0;
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
    disp.close();
    mine.close();
    mem.clear();
  }
  return { commands, errors };
}
