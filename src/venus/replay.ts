/**
 * Offline replay of a capture file (see capture.ts) into the no-op backend:
 * every record is decoded and dispatched exactly as a live context would —
 * submits on the context stream, ring batches on one stream per ring id, each
 * with its own reply stream — so a capture that made a context fatal fails
 * here too, with the same log line.
 *
 *   const r = await replayCapture("ctx1.vcap", log);  // {commands, bytes, fatal}
 *
 * Differences to a live context: SHM resources do not exist offline, so reply
 * streams write into a scratch buffer (any resource id, up to 16 MiB), the
 * ring-management commands (create/destroy/notify/seqnos) only run their
 * decoders, and vkExecuteCommandStreamsMESA does not execute anything (a
 * capturing backend records executed streams as separate records of the
 * executing stream). `vesper replay FILE` wraps this.
 */
import type { Logger } from "../log.ts";
import { CaptureReader } from "./capture.ts";
import { FatalState, VenusDecoder } from "./decoder.ts";
import { NoopHandlers } from "./generated/noop.ts";
import type { VkCommandStreamDescriptionMESA } from "./generated/types.ts";
import { ObjectTable } from "./object_table.ts";
import type { U64 } from "./reader.ts";

export interface ReplayResult {
  /** commands dispatched */
  commands: number;
  /** command-stream bytes decoded */
  bytes: number;
  /** the context ended fatal (malformed or illegal stream) */
  fatal: boolean;
}

const SCRATCH_BYTES = 16 << 20;

/** No-op handlers plus offline stand-ins for the MESA runtime commands. */
class ReplayHandlers extends NoopHandlers {
  decoder!: VenusDecoder;

  constructor(objects: ObjectTable, readonly scratch: () => Uint8Array) {
    super(objects, (m) => this.decoder.fail(m));
  }
  override vkSetReplyCommandStreamMESA(pStream: VkCommandStreamDescriptionMESA | null): void {
    const err = this.decoder.reply.set(pStream, () => this.scratch());
    if (err) this.decoder.fail(err);
  }
  override vkSeekReplyCommandStreamMESA(position: U64): void {
    const err = this.decoder.reply.seek(position);
    if (err) this.decoder.fail(err);
  }
}

export function replayCaptureBytes(data: Uint8Array, log: Logger): ReplayResult {
  const reader = new CaptureReader(data);
  const objects = new ObjectTable();
  const fatal = new FatalState();
  let scratch: Uint8Array | null = null;
  const getScratch = () => scratch ??= new Uint8Array(SCRATCH_BYTES);
  const streams = new Map<string, VenusDecoder>();
  const stream = (key: string, name: string): VenusDecoder => {
    let dec = streams.get(key);
    if (!dec) {
      const h = new ReplayHandlers(objects, getScratch);
      dec = new VenusDecoder({ objects, handlers: h, log, name, fatal });
      h.decoder = dec;
      streams.set(key, dec);
    }
    return dec;
  };
  let records = 0;
  for (const rec of reader) {
    records++;
    const dec = rec.kind === "submit"
      ? stream("ctx", "replay ctx")
      : stream(`ring ${rec.ringId}`, `replay ring 0x${rec.ringId.toString(16)}`);
    if (!dec.decodeRange(rec.bytes)) break;
  }
  if (reader.truncated) {
    log.warn(`replay: capture ends with a truncated record after ${records} records`);
  }
  let commands = 0, bytes = 0;
  for (const d of streams.values()) {
    commands += d.commands;
    bytes += d.bytes;
  }
  log.info(
    `replay: ${records} records, ${commands} commands, ${bytes} bytes${
      fatal.fatal ? ", FATAL" : ""
    }`,
  );
  return { commands, bytes, fatal: fatal.fatal };
}

/** Replays the capture at `path` into the no-op backend. */
export async function replayCapture(path: string, log: Logger): Promise<ReplayResult> {
  return replayCaptureBytes(await Deno.readFile(path), log);
}
