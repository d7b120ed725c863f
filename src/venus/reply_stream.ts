/**
 * The reply stream state of one dispatch context (venus-runtime.md §3.1):
 * set by vkSetReplyCommandStreamMESA, moved by vkSeekReplyCommandStreamMESA,
 * appended to by every command that carries VK_COMMAND_GENERATE_REPLY_BIT_EXT.
 *
 * Replies are encoded directly into the SHM resource's mapping. Writes are
 * bounds-checked against the end of the *resource* (as vkr does), not
 * against `offset + size`.
 */
import type { U64 } from "./reader.ts";
import { VenusWriter } from "./writer.ts";

/** Finds the bytes of an SHM resource by res_id (null: unknown or not SHM). */
export type ShmLookup = (resId: number) => Uint8Array | null;

export interface StreamDescription {
  resourceId: number;
  offset: U64;
  size: U64;
}

export class ReplyStream {
  #u8: Uint8Array | null = null;
  #resId = 0;
  #offset = 0;
  #size = 0;
  #cursor = 0;
  readonly #writer = new VenusWriter(new Uint8Array(0), 0, 0, false);

  get active(): boolean {
    return this.#u8 !== null;
  }
  get resourceId(): number {
    return this.#resId;
  }
  /** absolute byte position of the next reply inside the resource */
  get cursor(): number {
    return this.#cursor;
  }

  /** vkSetReplyCommandStreamMESA; returns an error (fatal) or null. */
  set(desc: StreamDescription | null, lookup: ShmLookup): string | null {
    if (!desc) return "vkSetReplyCommandStreamMESA without a stream";
    const u8 = lookup(desc.resourceId);
    if (!u8) return `reply stream resource ${desc.resourceId} is not an SHM resource`;
    const off = desc.offset, size = desc.size;
    if (typeof off !== "number" || typeof size !== "number" || off + size > u8.byteLength) {
      return `reply stream [${off}, +${size}) outside resource ${desc.resourceId} (${u8.byteLength} bytes)`;
    }
    this.#u8 = u8;
    this.#resId = desc.resourceId;
    this.#offset = off;
    this.#size = size;
    this.#cursor = off;
    return null;
  }

  /** vkSeekReplyCommandStreamMESA; returns an error (fatal) or null. */
  seek(position: U64): string | null {
    if (!this.#u8) return "seek without a reply stream";
    if (typeof position !== "number" || position > this.#size) {
      return `reply seek to ${position} beyond the stream size ${this.#size}`;
    }
    this.#cursor = this.#offset + position;
    return null;
  }

  unset(): void {
    this.#u8 = null;
    this.#resId = 0;
  }

  /** DESTROY_RESOURCE of the current reply resource silently unsets the stream. */
  resourceDestroyed(resId: number): void {
    if (this.#u8 && this.#resId === resId) this.unset();
  }

  /** A writer at the cursor, bounded by the end of the resource; null without a stream. */
  begin(): VenusWriter | null {
    const u8 = this.#u8;
    if (!u8) return null;
    this.#writer.reset(u8, this.#cursor, u8.byteLength);
    return this.#writer;
  }

  /** Commits a reply; false when it did not fit (fatal). */
  end(w: VenusWriter): boolean {
    if (w.overflow) return false;
    this.#cursor = w.pos;
    return true;
  }
}
