/**
 * The 2D pixel formats of virtio-gpu and their conversion into the
 * x8r8g8b8 pixels (PIXMAN_x8r8g8b8 on a little-endian host: bytes B, G, R, X
 * in memory) that VHOST_USER_GPU_UPDATE and CURSOR_UPDATE carry.
 *
 * virtio-gpu names its formats by byte order in memory (B8G8R8X8 = bytes
 * B, G, R, X). Every format is 32 bits per pixel, so a conversion is a fixed
 * permutation of the 4 bytes of each pixel. The fourth output byte carries
 * the source's alpha (or padding) byte: x8r8g8b8 ignores it and the cursor
 * (a8r8g8b8) needs it.
 */

export const FORMAT_B8G8R8A8_UNORM = 1;
export const FORMAT_B8G8R8X8_UNORM = 2;
export const FORMAT_A8R8G8B8_UNORM = 3;
export const FORMAT_X8R8G8B8_UNORM = 4;
export const FORMAT_R8G8B8A8_UNORM = 67;
export const FORMAT_X8B8G8R8_UNORM = 68;
export const FORMAT_A8B8G8R8_UNORM = 121;
export const FORMAT_R8G8B8X8_UNORM = 134;

/** How the 4 bytes of a pixel must be moved (as one little-endian u32). */
export const enum Swizzle {
  /** bytes already B, G, R, A/X */
  None,
  /** bytes A/X, R, G, B: reverse all four */
  Reverse,
  /** bytes R, G, B, A/X: swap bytes 0 and 2 */
  SwapRB,
  /** bytes A/X, B, G, R: rotate by one byte */
  Rotate,
}

export interface FormatInfo {
  name: string;
  swizzle: Swizzle;
}

export const FORMATS: ReadonlyMap<number, FormatInfo> = new Map([
  [FORMAT_B8G8R8A8_UNORM, { name: "B8G8R8A8_UNORM", swizzle: Swizzle.None }],
  [FORMAT_B8G8R8X8_UNORM, { name: "B8G8R8X8_UNORM", swizzle: Swizzle.None }],
  [FORMAT_A8R8G8B8_UNORM, { name: "A8R8G8B8_UNORM", swizzle: Swizzle.Reverse }],
  [FORMAT_X8R8G8B8_UNORM, { name: "X8R8G8B8_UNORM", swizzle: Swizzle.Reverse }],
  [FORMAT_R8G8B8A8_UNORM, { name: "R8G8B8A8_UNORM", swizzle: Swizzle.SwapRB }],
  [FORMAT_R8G8B8X8_UNORM, { name: "R8G8B8X8_UNORM", swizzle: Swizzle.SwapRB }],
  [FORMAT_A8B8G8R8_UNORM, { name: "A8B8G8R8_UNORM", swizzle: Swizzle.Rotate }],
  [FORMAT_X8B8G8R8_UNORM, { name: "X8B8G8R8_UNORM", swizzle: Swizzle.Rotate }],
]);

/** Every 2D format is 4 bytes per pixel. */
export const BYTES_PER_PIXEL = 4;

/**
 * Converts `count` pixels in place, starting at u32 index `start` of `px`
 * (host pixel memory, 4-byte aligned).
 */
export function convertInPlace(px: Uint32Array, start: number, count: number, sw: Swizzle): void {
  const end = start + count;
  switch (sw) {
    case Swizzle.None:
      return;
    case Swizzle.Reverse:
      for (let i = start; i < end; i++) {
        const v = px[i];
        px[i] = (v >>> 24) | ((v >>> 8) & 0xff00) | ((v << 8) & 0xff0000) | (v << 24);
      }
      return;
    case Swizzle.SwapRB:
      for (let i = start; i < end; i++) {
        const v = px[i];
        px[i] = (v & 0xff00ff00) | ((v >>> 16) & 0xff) | ((v & 0xff) << 16);
      }
      return;
    case Swizzle.Rotate:
      for (let i = start; i < end; i++) {
        const v = px[i];
        px[i] = (v >>> 8) | (v << 24);
      }
      return;
  }
}
