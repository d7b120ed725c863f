/** src/demo/png.ts: CRC-32 and a PNG decoded back by an independent reader here. */
import { inflateSync } from "node:zlib";
import { assert, assertEquals, assertThrows } from "./support/assert.ts";
import { crc32, encodePng } from "../src/demo/png.ts";

const ascii = (s: string) => new TextEncoder().encode(s);

/** Bitwise CRC-32, no table: the reference for the table-driven one. */
function slowCrc(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of data) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return (c ^ 0xffffffff) >>> 0;
}

interface Decoded {
  width: number;
  height: number;
  colorType: number;
  pixels: Uint8Array;
  chunks: string[];
}

/** Reads a non-interlaced 8-bit RGB/RGBA PNG, checking every chunk's CRC. */
function decodePng(png: Uint8Array): Decoded {
  assertEquals([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const chunks: string[] = [];
  const idat: Uint8Array[] = [];
  let width = 0, height = 0, colorType = 0;
  for (let at = 8; at < png.length;) {
    const len = view.getUint32(at);
    const type = new TextDecoder().decode(png.subarray(at + 4, at + 8));
    const data = png.subarray(at + 8, at + 8 + len);
    assertEquals(view.getUint32(at + 8 + len), slowCrc(png.subarray(at + 4, at + 8 + len)), type);
    chunks.push(type);
    if (type === "IHDR") {
      width = view.getUint32(at + 8);
      height = view.getUint32(at + 12);
      assertEquals([...data.subarray(8)], [8, data[9], 0, 0, 0]);
      colorType = data[9];
    } else if (type === "IDAT") idat.push(data);
    at += 12 + len;
  }
  const bpp = colorType === 6 ? 4 : 3;
  const raw = new Uint8Array(inflateSync(new Uint8Array(idat.flatMap((d) => [...d]))));
  const stride = width * bpp;
  assertEquals(raw.length, (stride + 1) * height);
  const pixels = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    for (let i = 0; i < stride; i++) {
      const v = raw[y * (stride + 1) + 1 + i];
      const up = y > 0 ? pixels[(y - 1) * stride + i] : 0;
      if (filter === 0) pixels[y * stride + i] = v;
      else if (filter === 2) pixels[y * stride + i] = (v + up) & 0xff;
      else throw new Error(`filter ${filter} not expected`);
    }
  }
  return { width, height, colorType, pixels, chunks };
}

function testImage(w: number, h: number, channels: number): Uint8Array {
  const px = new Uint8Array(w * h * channels);
  for (let i = 0; i < px.length; i++) px[i] = (i * 37 + (i >> 5) * 11) & 0xff;
  return px;
}

Deno.test("crc32: the standard check value and the bitwise reference", () => {
  assertEquals(crc32(ascii("123456789")), 0xcbf43926);
  assertEquals(crc32(new Uint8Array(0)), 0);
  assertEquals(crc32(ascii("IEND")), 0xae426082); // every PNG ends with it
  const data = testImage(97, 13, 3);
  assertEquals(crc32(data), slowCrc(data));
  // incremental
  assertEquals(crc32(data.subarray(500), crc32(data.subarray(0, 500))), crc32(data));
});

for (const channels of [4, 3] as const) {
  for (const filter of ["none", "up"] as const) {
    Deno.test(`encodePng: ${channels} channels, filter ${filter} round-trips`, () => {
      const w = 33, h = 17;
      const px = testImage(w, h, channels);
      const d = decodePng(encodePng(w, h, px, { channels, filter }));
      assertEquals([d.width, d.height, d.colorType], [w, h, channels === 4 ? 6 : 2]);
      assertEquals(d.chunks, ["IHDR", "IDAT", "IEND"]);
      assert(d.pixels.every((v, i) => v === px[i]), "pixels differ after decoding");
    });
  }
}

Deno.test("encodePng: a 1x1 image, exact bytes of the framing", () => {
  const png = encodePng(1, 1, new Uint8Array([255, 0, 0, 255]));
  // IHDR: length 13, then "IHDR", 1, 1, depth 8, RGBA
  assertEquals([...png.subarray(8, 16)], [0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
  assertEquals([...png.subarray(16, 29)], [0, 0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0]);
  const iend = [0, 0, 0, 0, ...ascii("IEND"), 0xae, 0x42, 0x60, 0x82];
  assertEquals([...png.subarray(png.length - 12)], iend);
  assertEquals([...decodePng(png).pixels], [255, 0, 0, 255]);
});

Deno.test("encodePng: rejects sizes that do not match the pixels", () => {
  assertThrows(() => encodePng(2, 2, new Uint8Array(15)), RangeError);
  assertThrows(() => encodePng(0, 1, new Uint8Array(0)), RangeError);
  assertThrows(() => encodePng(2, 2, new Uint8Array(16), { channels: 3 }), RangeError);
});
