/**
 * Scanouts (the guest's displays), what QEMU currently shows for each, and
 * the damage counters the user can read: per scanout, how many
 * RESOURCE_FLUSHes touched it, how many rects (UPDATE messages) went out and
 * how many bytes they carried; plus the host-side latency from the kick
 * that brought a command to the UPDATE that answered it.
 */
import type { Rect } from "./virtio_gpu.ts";

export interface ScanoutCounters {
  /** RESOURCE_FLUSH commands that intersected this scanout */
  flushes: number;
  /** damage rects sent (one per flush that touched the scanout) */
  rects: number;
  /** UPDATE messages they took (a big rect goes out in bands) */
  messages: number;
  /** pixel bytes in those UPDATEs */
  pixelBytes: number;
  /** bytes written to the display socket for them (headers included) */
  bytes: number;
  /** SCANOUT messages sent */
  scanouts: number;
}

export class Scanout {
  /** resource shown, 0 when disabled */
  resourceId = 0;
  /** the part of the resource shown (resource coordinates) */
  rect: Rect = { x: 0, y: 0, w: 0, h: 0 };
  /** the surface size QEMU has for this scanout (0×0: none) */
  shownW = 0;
  shownH = 0;
  /** QEMU's surface is fresh (blank): the next flush must paint all of it */
  needsFull = false;
  counters: ScanoutCounters = {
    flushes: 0,
    rects: 0,
    messages: 0,
    pixelBytes: 0,
    bytes: 0,
    scanouts: 0,
  };

  constructor(readonly id: number) {}
}

/** Running latency statistics in milliseconds (count, mean, min, max, and a sample window). */
export class LatencyStats {
  count = 0;
  sum = 0;
  min = Infinity;
  max = 0;
  #window: number[] = [];

  constructor(readonly windowSize = 4096) {}

  add(ms: number): void {
    this.count++;
    this.sum += ms;
    if (ms < this.min) this.min = ms;
    if (ms > this.max) this.max = ms;
    if (this.#window.length < this.windowSize) this.#window.push(ms);
    else this.#window[this.count % this.windowSize] = ms;
  }

  /** Percentile of the sample window (0..100). */
  percentile(p: number): number {
    if (this.#window.length === 0) return 0;
    const s = [...this.#window].sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
  }

  toJSON(): Record<string, number> {
    return {
      count: this.count,
      meanMs: this.count ? this.sum / this.count : 0,
      minMs: this.count ? this.min : 0,
      p50Ms: this.percentile(50),
      p99Ms: this.percentile(99),
      maxMs: this.max,
    };
  }
}
