/** In-process back-end + front-end double, and guest framebuffer helpers. */
import { Logger } from "../../../src/log.ts";
import { type BackendOptions, VhostUserGpuBackend } from "../../../src/gpu2d/backend.ts";
import { FrontendDouble, type FrontendOptions } from "./frontend.ts";

export interface Rig extends Disposable {
  fe: FrontendDouble;
  be: VhostUserGpuBackend;
  logs: string[];
}

export function rig(
  feOpts: FrontendOptions = {},
  beOpts: BackendOptions = {},
  handshake = true,
): Rig {
  const logs: string[] = [];
  const log = new Logger("gpu2d-test", "info", (l) => logs.push(l));
  let be: VhostUserGpuBackend | null = null;
  const fe = new FrontendDouble({
    ...feOpts,
    pump: () => {
      for (let i = 0; i < 4 && be && !be.closed; i++) be.pollOnce(0);
    },
  });
  be = new VhostUserGpuBackend(fe.backendEnd!, log, beOpts);
  fe.backendEnd = null; // owned by the back-end now
  if (handshake) fe.handshake();
  return {
    fe,
    be,
    logs,
    [Symbol.dispose]() {
      be!.close();
      fe.close();
    },
  };
}

/** A guest framebuffer: backing pages scattered over guest memory (in reverse order). */
export class GuestFb {
  readonly pages: number[] = [];
  readonly stride: number;

  constructor(readonly fe: FrontendDouble, readonly w: number, readonly h: number, scatter = true) {
    this.stride = w * 4;
    const size = this.stride * h;
    const n = Math.ceil(size / 4096);
    if (scatter) {
      const tmp: number[] = [];
      for (let i = 0; i < n; i++) tmp.push(fe.alloc(4096));
      this.pages = tmp.reverse();
    } else {
      const base = fe.alloc(n * 4096);
      for (let i = 0; i < n; i++) this.pages.push(base + i * 4096);
    }
  }

  entries(): [number, number][] {
    return this.pages.map((p) => [p, 4096]);
  }

  setByte(off: number, v: number): void {
    this.fe.mem.bytes[this.pages[Math.floor(off / 4096)] + (off % 4096)] = v;
  }

  /** Writes the 4 bytes of pixel (x, y) as given (memory order). */
  setPixel(x: number, y: number, b: [number, number, number, number]): void {
    const off = y * this.stride + x * 4;
    for (let i = 0; i < 4; i++) this.setByte(off + i, b[i]);
  }

  /** Fills a rect with a pixel function returning x8r8g8b8 as u32 (written B,G,R,X). */
  fill(x0: number, y0: number, w: number, h: number, f: (x: number, y: number) => number): void {
    const mem = this.fe.mem.bytes;
    for (let y = y0; y < y0 + h; y++) {
      for (let x = x0; x < x0 + w; x++) {
        const v = f(x, y);
        const off = y * this.stride + x * 4;
        const p = this.pages[off >> 12] + (off & 4095);
        mem[p] = v & 0xff;
        mem[p + 1] = (v >>> 8) & 0xff;
        mem[p + 2] = (v >>> 16) & 0xff;
        mem[p + 3] = (v >>> 24) & 0xff;
      }
    }
  }
}

export const pattern = (x: number, y: number) =>
  ((x * 3) & 0xff) | (((y * 5) & 0xff) << 8) | (((x ^ y) & 0xff) << 16);
