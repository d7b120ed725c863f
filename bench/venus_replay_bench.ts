/**
 * Replay throughput of Venus captures: every *.vcap under tests/fixtures/captures/
 * (subfolders too, picked up automatically as captures are added) replayed
 * through the Venus decoder into the no-op backend, exactly as `vesper replay`
 * does (src/venus/replay.ts); the same decode with one reply scratch buffer
 * shared by all iterations (replayCaptureBytes allocates a fresh 16 MiB one
 * per call, which dominates small captures); and only walking the capture's
 * records (CaptureReader) as the framing cost.
 *
 *   deno bench -A bench/venus_replay_bench.ts          # per-iteration times
 *   deno run -A bench/venus_replay_bench.ts            # commands/s and bytes/s per capture
 *
 * A capture that ends fatal (e.g. fatal.vcap) is replayed up to its fatal
 * command, as a live context would be; its name says so.
 */
import { Logger } from "../src/log.ts";
import { CaptureReader } from "../src/venus/capture.ts";
import { FatalState, VenusDecoder } from "../src/venus/decoder.ts";
import { NoopHandlers } from "../src/venus/generated/noop.ts";
import type { VkCommandStreamDescriptionMESA } from "../src/venus/generated/types.ts";
import { ObjectTable } from "../src/venus/object_table.ts";
import type { U64 } from "../src/venus/reader.ts";
import { replayCaptureBytes, type ReplayResult } from "../src/venus/replay.ts";

const DIR = new URL("../tests/fixtures/captures/", import.meta.url).pathname;

function findCaptures(dir: string): string[] {
  const out: string[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(dir)];
  } catch {
    return out;
  }
  for (const e of entries) {
    const p = `${dir}${e.name}`;
    if (e.isDirectory) out.push(...findCaptures(`${p}/`));
    else if (e.isFile && e.name.endsWith(".vcap")) out.push(p);
  }
  return out.sort();
}

/** Fatal captures log an error line per replay: keep it out of the bench output. */
const log = new Logger("replay-bench", "error", () => {});

interface Capture {
  name: string;
  data: Uint8Array;
  result: ReplayResult;
  records: number;
}

const captures: Capture[] = findCaptures(DIR).map((path) => {
  const data = Deno.readFileSync(path);
  let records = 0;
  for (const _ of new CaptureReader(data)) records++;
  return { name: path.slice(DIR.length), data, result: replayCaptureBytes(data, log), records };
});

function replay(c: Capture): void {
  const r = replayCaptureBytes(c.data, log);
  if (r.commands !== c.result.commands) {
    throw new Error(`${c.name}: ${r.commands} commands, first replay had ${c.result.commands}`);
  }
}

/** replay.ts's ReplayHandlers, with a reply scratch buffer that outlives one replay. */
class SharedScratchHandlers extends NoopHandlers {
  decoder!: VenusDecoder;
  constructor(objects: ObjectTable) {
    super(objects, (m) => this.decoder.fail(m));
  }
  override vkSetReplyCommandStreamMESA(pStream: VkCommandStreamDescriptionMESA | null): void {
    const err = this.decoder.reply.set(pStream, () => SCRATCH);
    if (err) this.decoder.fail(err);
  }
  override vkSeekReplyCommandStreamMESA(position: U64): void {
    const err = this.decoder.reply.seek(position);
    if (err) this.decoder.fail(err);
  }
}
const SCRATCH = new Uint8Array(16 << 20);

/** The decode of replay.ts (one decoder per stream, fresh objects), without its allocation. */
function decode(c: Capture): void {
  const objects = new ObjectTable();
  const fatal = new FatalState();
  const streams = new Map<bigint, VenusDecoder>();
  let commands = 0;
  for (const rec of new CaptureReader(c.data)) {
    const key = rec.kind === "submit" ? -1n : rec.ringId;
    let dec = streams.get(key);
    if (!dec) {
      const h = new SharedScratchHandlers(objects);
      dec = new VenusDecoder({ objects, handlers: h, log, name: "bench", fatal });
      h.decoder = dec;
      streams.set(key, dec);
    }
    if (!dec.decodeRange(rec.bytes)) break;
  }
  for (const d of streams.values()) commands += d.commands;
  if (commands !== c.result.commands) {
    throw new Error(`${c.name}: decoded ${commands} commands, replay had ${c.result.commands}`);
  }
}

function walk(c: Capture): void {
  let n = 0;
  for (const rec of new CaptureReader(c.data)) n += rec.bytes.length;
  if (n < 0) throw new Error("unreachable");
}

for (const c of captures) {
  const { commands, bytes, fatal } = c.result;
  Deno.bench({
    name: `${c.name}: replay ${commands} commands, ${bytes} bytes, ${c.records} records${
      fatal ? " (ends fatal)" : ""
    }`,
    group: c.name,
    fn: () => replay(c),
  });
  Deno.bench({
    name: `${c.name}: decode with a shared reply scratch buffer`,
    group: c.name,
    fn: () => decode(c),
  });
  Deno.bench({
    name: `${c.name}: records only`,
    group: c.name,
    baseline: true,
    fn: () => walk(c),
  });
}

function measure(fn: () => void, minMs = 1000): number {
  for (let i = 0; i < 20; i++) fn();
  let iters = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < minMs) {
    for (let i = 0; i < 5; i++) fn();
    iters += 5;
    t = performance.now();
  }
  return (t - t0) / 1000 / iters;
}

if (import.meta.main) {
  if (!captures.length) console.log(`no captures under ${DIR}`);
  for (const c of captures) {
    const { commands, bytes, fatal } = c.result;
    const tr = measure(() => replay(c));
    const td = measure(() => decode(c));
    console.log(
      `${c.name} (${commands} commands, ${bytes} bytes, ${c.records} records${
        fatal ? ", ends fatal" : ""
      }): replay ${(tr * 1e6).toFixed(1)} µs; decode ${(td * 1e6).toFixed(1)} µs = ${
        (commands / td / 1e6).toFixed(2)
      } M commands/s, ${(bytes / td / 1e6).toFixed(0)} MB/s`,
    );
  }
}
