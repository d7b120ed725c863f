/**
 * A small PNG encoder: 8-bit RGBA or RGB, not interlaced, rows filtered with
 * None or (`filter: "up"`) Up. The zlib stream comes from node:zlib's
 * deflateSync; the chunk CRC-32 is our own.
 */
import { deflateSync } from "node:zlib";

const SIGNATURE = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

let table: Uint32Array | undefined;

/** CRC-32 (ISO-HDLC, reflected polynomial 0xEDB88320), as PNG chunks use it. */
export function crc32(data: Uint8Array, crc = 0): number {
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let c = ~crc >>> 0;
  for (let i = 0; i < data.length; i++) c = table[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

export interface PngOptions {
  /** Bytes per pixel of `pixels`: 4 (RGBA, the default) or 3 (RGB). */
  channels?: 3 | 4;
  /** Row filter: "none" (default) or "up" (often smaller for smooth images). */
  filter?: "none" | "up";
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/** Encodes `pixels` (rows top to bottom, tightly packed) as a PNG file. */
export function encodePng(
  width: number,
  height: number,
  pixels: Uint8Array,
  opts: PngOptions = {},
): Uint8Array {
  const channels = opts.channels ?? 4;
  const stride = width * channels;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`bad PNG size ${width}x${height}`);
  }
  if (pixels.length !== stride * height) {
    throw new RangeError(`${pixels.length} bytes of pixels for ${width}x${height}x${channels}`);
  }
  const up = opts.filter === "up";
  const raw = new Uint8Array((stride + 1) * height);
  for (let y = 0; y < height; y++) {
    const row = pixels.subarray(y * stride, (y + 1) * stride);
    const at = y * (stride + 1);
    if (up && y > 0) {
      raw[at] = 2;
      for (let i = 0; i < stride; i++) raw[at + 1 + i] = row[i] - pixels[(y - 1) * stride + i];
    } else {
      raw[at] = 0;
      raw.set(row, at + 1);
    }
  }
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, width);
  v.setUint32(4, height);
  ihdr[8] = 8; // bit depth
  ihdr[9] = channels === 4 ? 6 : 2; // color type: RGBA or RGB
  // compression, filter method, interlace: all 0
  const parts = [
    SIGNATURE,
    chunk("IHDR", ihdr),
    chunk("IDAT", new Uint8Array(deflateSync(raw, { level: 9 }))),
    chunk("IEND", new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
