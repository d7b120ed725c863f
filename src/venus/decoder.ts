/**
 * The Venus command-stream decoder: decodes back-to-back commands straight
 * from a caller's bytes (venus-wire.md §1, §7) and dispatches each one to a
 * {@link VenusHandlers} object through the generated per-command code.
 *
 *   const dec = new VenusDecoder({ objects, handlers, log, name: "ctx 1" });
 *   dec.decodeRange(bytes, start, end)   // false once the context is fatal
 *
 * Errors (venus-wire.md §9): a malformed command, an unknown command type, a
 * command without handler, a missing/overflowing reply stream, an unknown
 * object id … put the decoder into the sticky fatal state shared with the
 * other decoders of the context ({@link FatalState}); one log line names the
 * command, its type and the byte offsets. No handler runs for a command that
 * failed to decode, and nothing after it is decoded. Nothing here throws.
 */
import type { Logger } from "../log.ts";
import { COMMAND_FNS, type CommandDispatch, type CommandFn } from "./generated/commands.ts";
import type { VenusHandlers } from "./generated/handlers.ts";
import { COMMAND_NAME } from "./generated/types.ts";
import type { ObjectTable } from "./object_table.ts";
import { VenusReader } from "./reader.ts";
import { ReplyStream } from "./reply_stream.ts";
import type { VenusWriter } from "./writer.ts";
import { Span, type SpanKind } from "./span.ts";

/** The per-context sticky fatal flag shared by the context stream and every ring. */
export class FatalState {
  fatal = false;
  reason = "";

  set(reason: string): void {
    if (!this.fatal) {
      this.fatal = true;
      this.reason = reason;
    }
  }
}

export interface DecoderOptions {
  objects: ObjectTable;
  handlers: VenusHandlers;
  log: Logger;
  /** prefix of log lines, e.g. "ctx 3" or "ctx 3 ring 0x55aa00001000" */
  name: string;
  fatal?: FatalState;
  reply?: ReplyStream;
}

const HEX = (n: number) => `0x${n.toString(16)}`;

export class VenusDecoder implements CommandDispatch {
  readonly r: VenusReader;
  h: VenusHandlers;
  readonly reply: ReplyStream;
  readonly fatalState: FatalState;
  readonly log: Logger;
  name: string;
  /** commands dispatched so far */
  commands = 0;
  /** stream bytes decoded so far */
  bytes = 0;
  /** called after each successfully executed command with the reader position */
  afterCommand: ((pos: number) => void) | null = null;
  /**
   * When the last decodeRange stopped on a command cut short by the end of
   * the range and `allowIncomplete` was set: that command's start; else -1.
   */
  incompleteAt = -1;
  /** set by a handler to stop the stream before the current command (it is retried later) */
  yieldRequested = false;

  #table: (CommandFn | undefined)[] = [];
  readonly #spans: Span<unknown>[] = [];

  constructor(opts: DecoderOptions) {
    this.r = new VenusReader(opts.objects);
    this.h = opts.handlers;
    this.log = opts.log;
    this.name = opts.name;
    this.fatalState = opts.fatal ?? new FatalState();
    this.reply = opts.reply ?? new ReplyStream();
    this.setHandlers(opts.handlers);
  }

  get fatal(): boolean {
    return this.fatalState.fatal;
  }

  /** Installs a handler object; commands it has no method for become fatal. */
  setHandlers(h: VenusHandlers): void {
    this.h = h;
    const rec = h as unknown as Record<string, unknown>;
    this.#table = COMMAND_FNS.map((fn, id) => {
      const name = COMMAND_NAME[id];
      return fn && name && typeof rec[name] === "function" ? fn : undefined;
    });
  }

  // CommandDispatch
  span<T>(
    slot: number,
    stride: number,
    kind: SpanKind,
    elem: ((r: VenusReader) => T) | null,
  ): Span<T> {
    return (this.#spans[slot] ??= new Span(stride, kind, elem)) as Span<T>;
  }
  hasReply(): boolean {
    return this.reply.active;
  }
  replyBegin(): VenusWriter | null {
    // a yielding command is retried later: it replies then, not now
    if (this.yieldRequested) return null;
    const w = this.reply.begin();
    if (w === null) this.r.fail("reply requested without a reply stream");
    return w;
  }
  replyEnd(w: VenusWriter): void {
    if (!this.reply.end(w)) this.r.fail("reply overflows the reply resource");
  }

  /** Fails the current command from a handler (protocol misuse); the context becomes fatal. */
  fail(msg: string): void {
    this.r.fail(msg);
  }

  /**
   * Decodes and executes the commands in `u8[start, end)`. Returns false when
   * the context is (or becomes) fatal. With `allowIncomplete`, a command cut
   * short by `end` is not fatal: decoding stops before it and `incompleteAt`
   * tells where (used for ring batches that wrap around).
   */
  decodeRange(u8: Uint8Array, start = 0, end = u8.byteLength, allowIncomplete = false): boolean {
    this.incompleteAt = -1;
    if (this.fatalState.fatal) return false;
    if (start < 0 || end > u8.byteLength || start > end) {
      this.fatalState.set(`bad stream range [${start}, ${end})`);
      this.log.error(`${this.name}: fatal: bad stream range [${start}, ${end})`);
      return false;
    }
    const r = this.r;
    r.reset(u8, start, end);
    // reset() may have moved an unaligned range into an aligned copy
    u8 = r.u8;
    start = r.base;
    end = r.end;
    const table = this.#table;
    let n = 0;
    let at = start;
    try {
      while (r.pos < end) {
        at = r.pos;
        let type: number, flags: number;
        if (at + 8 <= end) {
          const i = (at + r.u8off) >> 2;
          type = r.i32v[i];
          flags = r.w32[i + 1];
          r.pos = at + 8;
        } else {
          type = r.i32();
          flags = r.u32();
        }
        if (r.bad) break;
        const fn = type >= 0 && type < table.length ? table[type] : undefined;
        if (fn === undefined) {
          r.fail(
            COMMAND_FNS[type] === undefined || type < 0
              ? `unknown command type ${type}`
              : `no handler for ${COMMAND_NAME[type]}`,
          );
          break;
        }
        fn(this, flags);
        if (r.bad) break;
        if (this.yieldRequested) {
          this.yieldRequested = false;
          r.pos = at;
          break;
        }
        n++;
        if (this.afterCommand !== null) this.afterCommand(r.pos);
      }
    } catch (e) {
      // a handler threw (or a decoder bug): same as a protocol error
      r.fail(`exception: ${e instanceof Error ? e.message : String(e)}`);
    }
    this.commands += n;
    if (!r.bad) {
      this.bytes += r.pos - start;
      return true;
    }
    this.bytes += at - start;
    if (allowIncomplete && r.overrun) {
      this.incompleteAt = at;
      return true;
    }
    const type = at + 4 <= end ? r.i32v[(at + r.u8off) >> 2] : -1;
    const name = type >= 0 && type < COMMAND_NAME.length ? COMMAND_NAME[type] ?? "?" : "?";
    const msg = `${name} (${type}) at offset ${HEX(at - start)}, error at ${
      HEX(r.errorOffset)
    }: ${r.error}`;
    this.fatalState.set(msg);
    this.log.error(`${this.name}: fatal: ${msg}`);
    return false;
  }
}
