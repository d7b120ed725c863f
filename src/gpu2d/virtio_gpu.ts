/**
 * virtio-gpu wire constants and the byte layout of the 2D commands
 * (virtio spec 1.2, section 5.7). All fields are little-endian.
 */

// ---- feature bits -----------------------------------------------------------
export const VIRTIO_GPU_F_EDID = 1;
export const VIRTIO_RING_F_INDIRECT_DESC = 28;
export const VIRTIO_RING_F_EVENT_IDX = 29;
export const VIRTIO_F_VERSION_1 = 32;

// ---- control queue commands ---------------------------------------------------
export const CMD_GET_DISPLAY_INFO = 0x0100;
export const CMD_RESOURCE_CREATE_2D = 0x0101;
export const CMD_RESOURCE_UNREF = 0x0102;
export const CMD_SET_SCANOUT = 0x0103;
export const CMD_RESOURCE_FLUSH = 0x0104;
export const CMD_TRANSFER_TO_HOST_2D = 0x0105;
export const CMD_RESOURCE_ATTACH_BACKING = 0x0106;
export const CMD_RESOURCE_DETACH_BACKING = 0x0107;
export const CMD_GET_CAPSET_INFO = 0x0108;
export const CMD_GET_CAPSET = 0x0109;
export const CMD_GET_EDID = 0x010a;
// ---- cursor queue commands ------------------------------------------------------
export const CMD_UPDATE_CURSOR = 0x0300;
export const CMD_MOVE_CURSOR = 0x0301;

// ---- responses ------------------------------------------------------------------
export const RESP_OK_NODATA = 0x1100;
export const RESP_OK_DISPLAY_INFO = 0x1101;
export const RESP_OK_EDID = 0x1104;
export const RESP_ERR_UNSPEC = 0x1200;
export const RESP_ERR_OUT_OF_MEMORY = 0x1201;
export const RESP_ERR_INVALID_SCANOUT_ID = 0x1202;
export const RESP_ERR_INVALID_RESOURCE_ID = 0x1203;
export const RESP_ERR_INVALID_CONTEXT_ID = 0x1204;
export const RESP_ERR_INVALID_PARAMETER = 0x1205;

export const FLAG_FENCE = 1;
export const FLAG_INFO_RING_IDX = 2;

// ---- sizes ----------------------------------------------------------------------
/** struct virtio_gpu_ctrl_hdr { le32 type, flags; le64 fence_id; le32 ctx_id; u8 ring_idx; u8 padding[3]; } */
export const HDR_SIZE = 24;
export const MAX_SCANOUTS = 16;
/** struct virtio_gpu_resp_display_info: header + 16 × { rect r; le32 enabled; le32 flags; } */
export const DISPLAY_INFO_SIZE = HDR_SIZE + MAX_SCANOUTS * 24;
/** struct virtio_gpu_resp_edid: header + le32 size + le32 padding + u8 edid[1024] */
export const EDID_RESP_SIZE = HDR_SIZE + 8 + 1024;
/** struct virtio_gpu_config { le32 events_read, events_clear, num_scanouts, num_capsets; } */
export const CONFIG_SIZE = 16;
/** Cursor images are 64×64 pixels. */
export const CURSOR_DIM = 64;

/** Request sizes (header included) that each command needs at least. */
export const REQUEST_SIZE: Record<number, number> = {
  [CMD_GET_DISPLAY_INFO]: HDR_SIZE,
  [CMD_GET_EDID]: HDR_SIZE + 8, // le32 scanout, padding
  [CMD_RESOURCE_CREATE_2D]: HDR_SIZE + 16, // resource_id, format, width, height
  [CMD_RESOURCE_UNREF]: HDR_SIZE + 8, // resource_id, padding
  [CMD_SET_SCANOUT]: HDR_SIZE + 24, // rect, scanout_id, resource_id
  [CMD_RESOURCE_FLUSH]: HDR_SIZE + 24, // rect, resource_id, padding
  [CMD_TRANSFER_TO_HOST_2D]: HDR_SIZE + 32, // rect, le64 offset, resource_id, padding
  [CMD_RESOURCE_ATTACH_BACKING]: HDR_SIZE + 8, // resource_id, nr_entries (+ entries)
  [CMD_RESOURCE_DETACH_BACKING]: HDR_SIZE + 8, // resource_id, padding
  [CMD_UPDATE_CURSOR]: HDR_SIZE + 32, // pos{scanout,x,y,pad}, resource_id, hot_x, hot_y, pad
  [CMD_MOVE_CURSOR]: HDR_SIZE + 32,
};

/** struct virtio_gpu_mem_entry { le64 addr; le32 length; le32 padding; } */
export const MEM_ENTRY_SIZE = 16;

const NAMES: Record<number, string> = {
  [CMD_GET_DISPLAY_INFO]: "GET_DISPLAY_INFO",
  [CMD_RESOURCE_CREATE_2D]: "RESOURCE_CREATE_2D",
  [CMD_RESOURCE_UNREF]: "RESOURCE_UNREF",
  [CMD_SET_SCANOUT]: "SET_SCANOUT",
  [CMD_RESOURCE_FLUSH]: "RESOURCE_FLUSH",
  [CMD_TRANSFER_TO_HOST_2D]: "TRANSFER_TO_HOST_2D",
  [CMD_RESOURCE_ATTACH_BACKING]: "RESOURCE_ATTACH_BACKING",
  [CMD_RESOURCE_DETACH_BACKING]: "RESOURCE_DETACH_BACKING",
  [CMD_GET_CAPSET_INFO]: "GET_CAPSET_INFO",
  [CMD_GET_CAPSET]: "GET_CAPSET",
  [CMD_GET_EDID]: "GET_EDID",
  [CMD_UPDATE_CURSOR]: "UPDATE_CURSOR",
  [CMD_MOVE_CURSOR]: "MOVE_CURSOR",
  [RESP_OK_NODATA]: "OK_NODATA",
  [RESP_OK_DISPLAY_INFO]: "OK_DISPLAY_INFO",
  [RESP_OK_EDID]: "OK_EDID",
  [RESP_ERR_UNSPEC]: "ERR_UNSPEC",
  [RESP_ERR_OUT_OF_MEMORY]: "ERR_OUT_OF_MEMORY",
  [RESP_ERR_INVALID_SCANOUT_ID]: "ERR_INVALID_SCANOUT_ID",
  [RESP_ERR_INVALID_RESOURCE_ID]: "ERR_INVALID_RESOURCE_ID",
  [RESP_ERR_INVALID_CONTEXT_ID]: "ERR_INVALID_CONTEXT_ID",
  [RESP_ERR_INVALID_PARAMETER]: "ERR_INVALID_PARAMETER",
};

export function commandName(type: number): string {
  return NAMES[type] ?? `0x${type.toString(16)}`;
}

/** A rectangle in resource or scanout coordinates. */
export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** struct virtio_gpu_rect { le32 x, y, width, height; } at `off`. */
export function readRect(dv: DataView, off: number): Rect {
  return {
    x: dv.getUint32(off, true),
    y: dv.getUint32(off + 4, true),
    w: dv.getUint32(off + 8, true),
    h: dv.getUint32(off + 12, true),
  };
}

/** True when `r` lies inside a width×height area (no 32-bit wrap: JS numbers). */
export function rectInside(r: Rect, width: number, height: number): boolean {
  return r.x + r.w <= width && r.y + r.h <= height;
}

export function rectString(r: Rect): string {
  return `${r.w}x${r.h}+${r.x}+${r.y}`;
}

/** Intersection of two rects, or null when empty. */
export function intersect(a: Rect, b: Rect): Rect | null {
  const x0 = Math.max(a.x, b.x);
  const y0 = Math.max(a.y, b.y);
  const x1 = Math.min(a.x + a.w, b.x + b.w);
  const y1 = Math.min(a.y + a.h, b.y + b.h);
  if (x1 <= x0 || y1 <= y0) return null;
  return { x: x0, y: y0, w: x1 - x0, h: y1 - y0 };
}
