/**
 * Capture files of Venus command streams, for offline replay and debugging.
 *
 *   const cap = CaptureWriter.open("/tmp/ctx1.vcap");
 *   cap.record("submit", bytes);            // a SUBMIT_CMD payload
 *   cap.record("ring", batch, ringId);      // a ring batch (head..tail)
 *   cap.close();
 *   for (const rec of CaptureReader.open(path)) …
 *
 * Format (all little endian):
 *
 *   header (16 bytes): magic "VSPRCAP\0" | u32 version (1) | u32 flags (0)
 *   record (24-byte header + payload, back to back until EOF):
 *     u32 kind        0 = submit (context stream), 1 = ring batch
 *     u32 length      payload bytes
 *     u64 time_ns     monotonic nanoseconds since the capture was opened
 *     u64 ring_id     the ring's id (vkCreateRingMESA `ring`), 0 for submits
 *     payload         `length` bytes of command stream, unpadded
 *
 * A record cut short by the end of the file (a crashed writer) ends the
 * capture; the reader reports it as `truncated`.
 */

export const CAPTURE_MAGIC = "VSPRCAP\0";
export const CAPTURE_VERSION = 1;
const HEADER = 16;
const RECORD = 24;

export type CaptureKind = "submit" | "ring";

export interface CaptureRecord {
  kind: CaptureKind;
  /** 0 for submits */
  ringId: bigint;
  timeNs: bigint;
  bytes: Uint8Array;
}

const enc = new TextEncoder();

export class CaptureWriter {
  #file: Deno.FsFile | null;
  #t0: number;
  #last = 0n;
  records = 0;
  bytes = 0;

  private constructor(file: Deno.FsFile, readonly now: () => number) {
    this.#file = file;
    this.#t0 = now();
    const h = new Uint8Array(HEADER);
    h.set(enc.encode(CAPTURE_MAGIC));
    const dv = new DataView(h.buffer);
    dv.setUint32(8, CAPTURE_VERSION, true);
    dv.setUint32(12, 0, true);
    this.#write(h);
  }

  /** Creates (or truncates) `path` and writes the header; `now` (ms) is for deterministic tests. */
  static open(path: string, now: () => number = () => performance.now()): CaptureWriter {
    return new CaptureWriter(
      Deno.openSync(path, { write: true, create: true, truncate: true }),
      now,
    );
  }

  #write(b: Uint8Array): void {
    let off = 0;
    while (off < b.length) off += this.#file!.writeSync(b.subarray(off));
  }

  /** Appends one record (synchronously, so a crash loses at most the record being written). */
  record(kind: CaptureKind, bytes: Uint8Array, ringId: number | bigint = 0): void {
    if (!this.#file) throw new Error("capture closed");
    let t = BigInt(Math.round((this.now() - this.#t0) * 1e6));
    if (t < this.#last) t = this.#last;
    this.#last = t;
    const h = new Uint8Array(RECORD);
    const dv = new DataView(h.buffer);
    dv.setUint32(0, kind === "submit" ? 0 : 1, true);
    dv.setUint32(4, bytes.length, true);
    dv.setBigUint64(8, t, true);
    dv.setBigUint64(16, BigInt.asUintN(64, BigInt(ringId)), true);
    this.#write(h);
    this.#write(bytes);
    this.records++;
    this.bytes += bytes.length;
  }

  close(): void {
    this.#file?.close();
    this.#file = null;
  }
}

export class CaptureReader implements Iterable<CaptureRecord> {
  /** set when the last record was cut short */
  truncated = false;

  constructor(readonly data: Uint8Array) {
    const magic = new TextDecoder().decode(data.subarray(0, 8));
    if (data.length < HEADER || magic !== CAPTURE_MAGIC) {
      throw new Error("not a Vesper capture (bad magic)");
    }
    const v = new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(8, true);
    if (v !== CAPTURE_VERSION) throw new Error(`unsupported capture version ${v}`);
  }

  static open(path: string): CaptureReader {
    return new CaptureReader(Deno.readFileSync(path));
  }

  *[Symbol.iterator](): Iterator<CaptureRecord> {
    const d = this.data;
    const dv = new DataView(d.buffer, d.byteOffset, d.byteLength);
    let p = HEADER;
    this.truncated = false;
    while (p < d.length) {
      if (p + RECORD > d.length) {
        this.truncated = true;
        return;
      }
      const kind = dv.getUint32(p, true);
      const len = dv.getUint32(p + 4, true);
      if (p + RECORD + len > d.length || kind > 1) {
        this.truncated = true;
        return;
      }
      yield {
        kind: kind === 0 ? "submit" : "ring",
        timeNs: dv.getBigUint64(p + 8, true),
        ringId: dv.getBigUint64(p + 16, true),
        bytes: d.subarray(p + RECORD, p + RECORD + len),
      };
      p += RECORD + len;
    }
  }
}
