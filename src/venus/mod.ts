/**
 * The Venus protocol layer (capset 4): what the render layer and main.ts use.
 *
 * - {@link VenusContextBackend} — the ContextBackend for Venus contexts
 *   (`new VenusContextBackend(host)`; `backend.capture = CaptureWriter.open(path)`
 *   to record streams, e.g. from VESPER_CAPTURE; `pollRings()` /
 *   `refreshAlive()` for the worker loop).
 * - {@link replayCapture} — offline replay of a capture (`vesper replay FILE`).
 * - {@link VenusDecoder}, {@link NoopHandlers}, {@link ObjectTable},
 *   {@link ReplyStream} — the decoder and its parts, for a later Vulkan backend
 *   (implement {@link VenusHandlers}).
 */
export { StreamHandlers, VenusContextBackend } from "./backend.ts";
export { CaptureReader, type CaptureRecord, CaptureWriter } from "./capture.ts";
export { FatalState, VenusDecoder } from "./decoder.ts";
export type { VenusHandlers } from "./generated/handlers.ts";
export { NoopHandlers } from "./generated/noop.ts";
export { ObjectTable } from "./object_table.ts";
export type { Ref, U64 } from "./reader.ts";
export { replayCapture, replayCaptureBytes, type ReplayResult } from "./replay.ts";
export { ReplyStream } from "./reply_stream.ts";
export { Span } from "./span.ts";
