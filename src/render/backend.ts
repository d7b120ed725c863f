/**
 * The context backend: what a worker's context hands the guest's command
 * streams, blob requests and queue fences to.
 *
 * The render layer (src/render/) owns the socket, the resource table and the
 * fence timelines; a backend only sees validated requests. The Venus backend
 * implements this interface; {@link NullBackend} accepts every stream without
 * decoding it (used until a capset's backend exists, and by protocol tests).
 */
import type { Logger } from "../log.ts";
import type { ResourceTable } from "./resources.ts";

/** What a context gives its backend at creation. */
export interface BackendHost {
  readonly ctxId: number;
  readonly name: string;
  readonly log: Logger;
  /** the context's resources (SHM blobs and imported fds), by res_id */
  readonly resources: ResourceTable;
  /**
   * Retires fence `seqno` on timeline `ring` (writes the shmem slot, signals
   * the eventfd). Backends call this for queue timelines once the GPU work
   * queued before the fence has completed, in order per timeline.
   */
  retire(ring: number, seqno: number): void;
  /**
   * Blocks the context up to `ms` (fractional) without serving its socket,
   * for a backend that must wait in place (vkWaitRingSeqnoMESA). Returns
   * false when the context socket hung up: give up, the context is ending.
   */
  wait?(ms: number): boolean;
}

/** Result of exporting a backend object (e.g. a VkDeviceMemory) as a blob. */
export interface ExportedBlob {
  /** render-protocol fd type: 0 DMABUF, 1 OPAQUE, 2 SHM */
  fdType: number;
  /** VIRGL_RENDERER_MAP_* cache flags */
  mapInfo: number;
  /** the exported fd; ownership passes to the caller */
  fd: number;
  /** 48-byte virgl_resource_vulkan_info, only for OPAQUE */
  vulkanInfo?: Uint8Array;
}

export interface ContextBackend {
  /**
   * Decodes and runs one command stream from SUBMIT_CMD. The bytes are only
   * valid during the call. Returns false when the context became fatal; the
   * backend logs the one error line saying why (command, offset).
   */
  submitCmd(stream: Uint8Array): boolean;

  /**
   * CREATE_RESOURCE with a non-zero blob_id. Returns null when the object
   * cannot be exported (the guest gets fd_type = -1 and the context goes on).
   */
  exportBlob(resId: number, blobId: bigint, size: bigint, flags: number): ExportedBlob | null;

  /**
   * SUBMIT_FENCE on queue timeline `ring` (1..63). Returns false when the ring
   * is not bound to a queue of this context (fatal for the context; the
   * context logs it).
   */
  submitFence(ring: number, seqno: number, flags: number): boolean;

  /** A resource is about to go away: stop using it. */
  resourceDestroyed(resId: number): void;

  /**
   * The context loop's hook between messages (the backend's own scheduling:
   * rings, pollers, monitors; see src/render/context.ts). Called before
   * every wait for the next message, with performance.now(). Returns the
   * delay in ms (fractional allowed) until it wants to run again even if no
   * message arrives: 0 = at once, -1 = only after the next message. It
   * should return within a couple of milliseconds. false: the context
   * became fatal (the backend logged why).
   */
  tick(nowMs: number): number | false;

  /**
   * True when the last tick returned 0 only to busy-poll (a ring in the
   * first phase of its back-off, no work pending): the loop then yields the
   * CPU and looks at the socket only every few polls, so a poll costs one
   * syscall (as vkr's ring thread) instead of two.
   */
  readonly spinning?: boolean;

  /** Counters for logs and the demo's stats line. */
  stats(): Record<string, number>;

  /** Frees everything the backend owns; the context is going away. */
  destroy(): void;
}

/** Accepts streams without decoding them; knows no queues and exports nothing. */
export class NullBackend implements ContextBackend {
  #streams = 0;
  #bytes = 0;

  constructor(private readonly host: BackendHost) {}

  submitCmd(stream: Uint8Array): boolean {
    this.#streams++;
    this.#bytes += stream.byteLength;
    return true;
  }

  exportBlob(resId: number, blobId: bigint): ExportedBlob | null {
    this.host.log.warn(
      `ctx ${this.host.ctxId}: CREATE_RESOURCE res ${resId}: no object with blob id ${blobId}`,
    );
    return null;
  }

  submitFence(): boolean {
    return false;
  }

  resourceDestroyed(): void {}

  tick(): number {
    return -1;
  }

  stats(): Record<string, number> {
    return { streams: this.#streams, streamBytes: this.#bytes };
  }

  destroy(): void {}
}
