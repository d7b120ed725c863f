/**
 * The render protocol of virglrenderer 1.1.0 (identical in 1.3.0 on Linux):
 * op numbers, exact x86_64 message sizes and fd limits, and the byte layouts
 * of every message, as encode/decode helpers shared by the server, the
 * worker and the protocol-level test client.
 */

// ---- client socket (proxy → server) -----------------------------------------
export const ClientOp = {
  NOP: 0,
  INIT: 1,
  RESET: 2,
  CREATE_CONTEXT: 3,
  DESTROY_CONTEXT: 4,
} as const;

export const CLIENT_OP_NAMES = ["NOP", "INIT", "RESET", "CREATE_CONTEXT", "DESTROY_CONTEXT"];

/** Exact request size of each client op, by op number. */
export const CLIENT_OP_SIZES = [4, 8, 4, 40, 8];

/** Size of the largest client request (the receive buffer). */
export const CLIENT_MAX_REQUEST = 40;

export const CTX_NAME_SIZE = 32;

// ---- context socket (proxy → worker) ----------------------------------------
export const ContextOp = {
  NOP: 0,
  INIT: 1,
  CREATE_RESOURCE: 2,
  IMPORT_RESOURCE: 3,
  DESTROY_RESOURCE: 4,
  SUBMIT_CMD: 5,
  SUBMIT_FENCE: 6,
} as const;

export const CONTEXT_OP_NAMES = [
  "NOP",
  "INIT",
  "CREATE_RESOURCE",
  "IMPORT_RESOURCE",
  "DESTROY_RESOURCE",
  "SUBMIT_CMD",
  "SUBMIT_FENCE",
];

/** Exact request size of each context op. */
export const CONTEXT_OP_SIZES = [4, 16, 32, 24, 8, 264, 16];
/** [min, max] fds each context op carries. */
export const CONTEXT_OP_FDS: readonly (readonly [number, number])[] = [
  [0, 0],
  [1, 2],
  [0, 0],
  [1, 1],
  [0, 0],
  [0, 0],
  [0, 0],
];

/** Size of the largest context request (the receive buffer). */
export const CONTEXT_MAX_REQUEST = 264;
/** Bytes of a SUBMIT_CMD stream carried inline in the first message. */
export const SUBMIT_CMD_INLINE = 256;

export const CREATE_RESOURCE_REPLY_SIZE = 56;
export const VULKAN_INFO_SIZE = 48;

// ---- constants --------------------------------------------------------------
export const VIRGL_RENDERER_VENUS = 0x40;
export const VIRGL_RENDERER_NO_VIRGL = 0x80;
export const VIRGL_RENDERER_CAPSET_VENUS = 4;
export const CONTEXT_FLAG_CAPSET_ID_MASK = 0xff;
export const BLOB_FLAG_USE_MAPPABLE = 0x1;
export const BLOB_FLAG_USE_SHAREABLE = 0x2;
export const BLOB_FLAG_USE_CROSS_DEVICE = 0x4;
export const MAP_CACHE_NONE = 0x0;
export const MAP_CACHE_CACHED = 0x1;
export const MAP_CACHE_WC = 0x3;
/** Timelines in the proxy's shmem (PROXY_CONTEXT_TIMELINE_COUNT). */
export const PROXY_TIMELINE_COUNT = 64;
/** Most workers the reference server runs at once. */
export const MAX_WORKERS = 256;

// ---- server → worker (Vesper's own, never seen by the proxy) -----------------
/**
 * The first message on a context socket, written by the server into the
 * proxy's end before it hands that end over: it tells a pre-started worker
 * which context it now serves. 40 bytes: magic, ctx_id, name[32].
 */
export const ASSIGN_MAGIC = 0x52505356; // "VSPR"
export const ASSIGN_SIZE = 40;

export function encodeAssign(ctxId: number, name: string): Uint8Array<ArrayBuffer> {
  const [b, v] = msg(ASSIGN_SIZE, ASSIGN_MAGIC);
  v.setUint32(4, ctxId, true);
  b.set(enc.encode(name).subarray(0, CTX_NAME_SIZE - 1), 8);
  return b;
}

// ---- decoded requests -------------------------------------------------------
export interface CreateContextRequest {
  ctxId: number;
  name: string;
}

export interface ContextInitRequest {
  flags: number;
  shmemSize: bigint;
}

export interface CreateResourceRequest {
  resId: number;
  blobId: bigint;
  blobSize: bigint;
  blobFlags: number;
}

export interface ImportResourceRequest {
  resId: number;
  fdType: number;
  size: bigint;
}

export interface SubmitFenceRequest {
  flags: number;
  ringIndex: number;
  seqno: number;
}

const dec = new TextDecoder();
const enc = new TextEncoder();

/** NUL-terminated name of at most 31 bytes from a char[32]. */
export function decodeCtxName(bytes: Uint8Array): string {
  const field = bytes.subarray(0, CTX_NAME_SIZE - 1);
  const nul = field.indexOf(0);
  return dec.decode(nul >= 0 ? field.subarray(0, nul) : field);
}

export function decodeCreateContext(v: DataView): CreateContextRequest {
  return {
    ctxId: v.getUint32(4, true),
    name: decodeCtxName(new Uint8Array(v.buffer, v.byteOffset + 8, CTX_NAME_SIZE)),
  };
}

export function decodeContextInit(v: DataView): ContextInitRequest {
  return { flags: v.getUint32(4, true), shmemSize: v.getBigUint64(8, true) };
}

export function decodeCreateResource(v: DataView): CreateResourceRequest {
  return {
    resId: v.getUint32(4, true),
    blobId: v.getBigUint64(8, true),
    blobSize: v.getBigUint64(16, true),
    blobFlags: v.getUint32(24, true),
  };
}

export function decodeImportResource(v: DataView): ImportResourceRequest {
  return {
    resId: v.getUint32(4, true),
    fdType: v.getInt32(8, true),
    size: v.getBigUint64(16, true),
  };
}

export function decodeSubmitFence(v: DataView): SubmitFenceRequest {
  return {
    flags: v.getUint32(4, true),
    ringIndex: v.getUint32(8, true),
    seqno: v.getUint32(12, true),
  };
}

// ---- encoders (client side, used by tests and benchmarks; replies by the server) ----

function msg(size: number, op: number): [Uint8Array<ArrayBuffer>, DataView] {
  const b = new Uint8Array(size);
  const v = new DataView(b.buffer);
  v.setUint32(0, op, true);
  return [b, v];
}

export function encodeClientNop(): Uint8Array<ArrayBuffer> {
  return msg(4, ClientOp.NOP)[0];
}

export function encodeClientInit(flags: number): Uint8Array<ArrayBuffer> {
  const [b, v] = msg(8, ClientOp.INIT);
  v.setUint32(4, flags, true);
  return b;
}

export function encodeClientReset(): Uint8Array<ArrayBuffer> {
  return msg(4, ClientOp.RESET)[0];
}

export function encodeCreateContext(ctxId: number, name: string): Uint8Array<ArrayBuffer> {
  const [b, v] = msg(40, ClientOp.CREATE_CONTEXT);
  v.setUint32(4, ctxId, true);
  b.set(enc.encode(name).subarray(0, CTX_NAME_SIZE - 1), 8);
  return b;
}

export function encodeDestroyContext(ctxId: number): Uint8Array<ArrayBuffer> {
  const [b, v] = msg(8, ClientOp.DESTROY_CONTEXT);
  v.setUint32(4, ctxId, true);
  return b;
}

export function encodeContextNop(): Uint8Array<ArrayBuffer> {
  return msg(4, ContextOp.NOP)[0];
}

export function encodeContextInit(flags: number, shmemSize: number): Uint8Array<ArrayBuffer> {
  const [b, v] = msg(16, ContextOp.INIT);
  v.setUint32(4, flags, true);
  v.setBigUint64(8, BigInt(shmemSize), true);
  return b;
}

export function encodeCreateResource(r: CreateResourceRequest): Uint8Array<ArrayBuffer> {
  const [b, v] = msg(32, ContextOp.CREATE_RESOURCE);
  v.setUint32(4, r.resId, true);
  v.setBigUint64(8, r.blobId, true);
  v.setBigUint64(16, r.blobSize, true);
  v.setUint32(24, r.blobFlags, true);
  return b;
}

export function encodeImportResource(r: ImportResourceRequest): Uint8Array<ArrayBuffer> {
  const [b, v] = msg(24, ContextOp.IMPORT_RESOURCE);
  v.setUint32(4, r.resId, true);
  v.setInt32(8, r.fdType, true);
  v.setBigUint64(16, r.size, true);
  return b;
}

export function encodeDestroyResource(resId: number): Uint8Array<ArrayBuffer> {
  const [b, v] = msg(8, ContextOp.DESTROY_RESOURCE);
  v.setUint32(4, resId, true);
  return b;
}

/** The SUBMIT_CMD message(s): the 264-byte header and, past 256 bytes, the overflow. */
export function encodeSubmitCmd(stream: Uint8Array): Uint8Array<ArrayBuffer>[] {
  const [b, v] = msg(CONTEXT_MAX_REQUEST, ContextOp.SUBMIT_CMD);
  v.setUint32(4, stream.byteLength, true);
  b.set(stream.subarray(0, SUBMIT_CMD_INLINE), 8);
  if (stream.byteLength <= SUBMIT_CMD_INLINE) return [b];
  return [b, stream.slice(SUBMIT_CMD_INLINE)];
}

export function encodeSubmitFence(r: SubmitFenceRequest): Uint8Array<ArrayBuffer> {
  const [b, v] = msg(16, ContextOp.SUBMIT_FENCE);
  v.setUint32(4, r.flags, true);
  v.setUint32(8, r.ringIndex, true);
  v.setUint32(12, r.seqno, true);
  return b;
}

/** The 56-byte CREATE_RESOURCE reply. */
export function encodeCreateResourceReply(
  fdType: number,
  mapInfo: number,
  vulkanInfo?: Uint8Array,
): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(CREATE_RESOURCE_REPLY_SIZE);
  const v = new DataView(b.buffer);
  v.setInt32(0, fdType, true);
  v.setUint32(4, mapInfo, true);
  if (vulkanInfo) b.set(vulkanInfo.subarray(0, VULKAN_INFO_SIZE), 8);
  return b;
}

export function decodeCreateResourceReply(b: Uint8Array): { fdType: number; mapInfo: number } {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return { fdType: v.getInt32(0, true), mapInfo: v.getUint32(4, true) };
}
