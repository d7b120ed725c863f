/**
 * The vhost-user base protocol as the back-end sees it: request numbers,
 * feature bits, and reading/writing framed messages on the front-end's
 * stream socket (`u32 request, u32 flags, u32 size`, then the payload; fds
 * ride on the same sendmsg as SCM_RIGHTS).
 */
import type { OwnedFd } from "../../ffi/fd.ts";
import type { StreamSocket } from "../../ffi/unix_socket.ts";

export const REQ = {
  GET_FEATURES: 1,
  SET_FEATURES: 2,
  SET_OWNER: 3,
  RESET_OWNER: 4,
  SET_MEM_TABLE: 5,
  SET_LOG_BASE: 6,
  SET_LOG_FD: 7,
  SET_VRING_NUM: 8,
  SET_VRING_ADDR: 9,
  SET_VRING_BASE: 10,
  GET_VRING_BASE: 11,
  SET_VRING_KICK: 12,
  SET_VRING_CALL: 13,
  SET_VRING_ERR: 14,
  GET_PROTOCOL_FEATURES: 15,
  SET_PROTOCOL_FEATURES: 16,
  GET_QUEUE_NUM: 17,
  SET_VRING_ENABLE: 18,
  SET_BACKEND_REQ_FD: 21,
  GET_CONFIG: 24,
  SET_CONFIG: 25,
  GPU_SET_SOCKET: 33,
  RESET_DEVICE: 34,
  GET_MAX_MEM_SLOTS: 36,
  ADD_MEM_REG: 37,
  REM_MEM_REG: 38,
} as const;

const REQ_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(REQ).map(([k, v]) => [v, k]),
);

export function requestName(r: number): string {
  return REQ_NAMES[r] ?? `request ${r}`;
}

export const VERSION = 0x1;
export const FLAG_VERSION_MASK = 0x3;
export const FLAG_REPLY = 0x4;
export const FLAG_NEED_REPLY = 0x8;

/** VHOST_USER_F_PROTOCOL_FEATURES, a virtio feature bit. */
export const F_PROTOCOL_FEATURES = 30;

export const PROTOCOL_F_REPLY_ACK = 3;
export const PROTOCOL_F_CONFIG = 9;
export const PROTOCOL_F_RESET_DEVICE = 13;
export const PROTOCOL_F_CONFIGURE_MEM_SLOTS = 15;

/** In the u64 of SET_VRING_KICK/CALL/ERR: low byte = queue index, bit 8 = no fd. */
export const VRING_IDX_MASK = 0xff;
export const VRING_NOFD_MASK = 0x100;

export const HDR_SIZE = 12;
/** Largest payload we accept (a full SET_MEM_TABLE is 8 + 8×32 = 264 bytes; config ≤ 256). */
export const MAX_PAYLOAD = 4096;
/** Regions in one SET_MEM_TABLE. */
export const MAX_TABLE_REGIONS = 8;

export interface Message {
  request: number;
  flags: number;
  payload: Uint8Array<ArrayBuffer>;
  view: DataView<ArrayBuffer>;
  fds: OwnedFd[];
}

/** The front-end sent something that is not vhost-user. */
export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ProtocolError";
  }
}

/** Reads one message; null on EOF between messages. */
export function readMessage(sock: StreamSocket): Message | null {
  const hdr = new Uint8Array(new ArrayBuffer(HDR_SIZE));
  const fds: OwnedFd[] = [];
  if (!sock.recvExact(hdr, fds)) return null;
  const dv = new DataView(hdr.buffer);
  const request = dv.getUint32(0, true);
  const flags = dv.getUint32(4, true);
  const size = dv.getUint32(8, true);
  const fail = (why: string) => {
    fds.forEach((f) => f.close());
    throw new ProtocolError(why);
  };
  if ((flags & FLAG_VERSION_MASK) !== VERSION) fail(`bad version in flags 0x${flags.toString(16)}`);
  if (size > MAX_PAYLOAD) fail(`${requestName(request)}: payload of ${size} bytes is too large`);
  const payload = new Uint8Array(new ArrayBuffer(size));
  if (size > 0 && !sock.recvExact(payload, fds)) fail("EOF inside a message");
  return { request, flags, payload, view: new DataView(payload.buffer), fds };
}

/** Sends a reply to `request` with `payload`. */
export function sendReply(sock: StreamSocket, request: number, payload: Uint8Array): boolean {
  const hdr = new Uint8Array(new ArrayBuffer(HDR_SIZE));
  const dv = new DataView(hdr.buffer);
  dv.setUint32(0, request, true);
  dv.setUint32(4, VERSION | FLAG_REPLY, true);
  dv.setUint32(8, payload.byteLength, true);
  return sock.send([hdr, payload]);
}

export function u64Payload(v: bigint): Uint8Array<ArrayBuffer> {
  const p = new Uint8Array(new ArrayBuffer(8));
  new DataView(p.buffer).setBigUint64(0, v, true);
  return p;
}
