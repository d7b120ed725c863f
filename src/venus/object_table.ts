/**
 * A context's Venus object table (venus-runtime.md §5): guest-chosen u64
 * object ids → {VkObjectType, host object}. One table per context, shared by
 * the context stream and every ring.
 *
 * Creating an object with id 0 or an id already present fails; looking up an
 * unknown id, or an id of another object type, fails. Failures are reported
 * to the caller (the decoder/handlers turn them into the fatal state).
 */
export interface ObjectEntry {
  readonly type: number;
  /** whatever the backend binds to the id (a native handle, a JS object) */
  host: unknown;
  /** id of the object it was created from (device, pool, instance), 0 if none */
  readonly parent: number;
  /** the host handle as a BigInt, cached by the backend (FFI arguments) */
  big: bigint | null;
}

export class ObjectTable {
  #map = new Map<number, ObjectEntry>();
  // per-type one-entry lookup cache (core object types < 64): command streams
  // keep naming the same command buffer, pipeline, layout …
  /** per-type last successful lookup (read by the decoder's fast path); -1 = none */
  readonly recent = new Float64Array(64).fill(-1);

  get size(): number {
    return this.#map.size;
  }

  /** True when `id` exists with object type `type`. */
  has(id: number, type: number): boolean {
    const small = type >= 0 && type < 64;
    if (small && this.recent[type] === id) return true;
    const e = this.#map.get(id);
    if (e === undefined || e.type !== type) return false;
    if (small) this.recent[type] = id;
    return true;
  }

  // two recently used entries (a command names its command buffer and one or
  // two other objects again and again), replaced in turn on a miss (a hit
  // writes nothing); an entry is dropped when its object is destroyed
  #id0 = -1;
  #e0: ObjectEntry | undefined = undefined;
  #id1 = -1;
  #e1: ObjectEntry | undefined = undefined;
  #replace1 = false;

  get(id: number): ObjectEntry | undefined {
    if (id === this.#id0) return this.#e0;
    if (id === this.#id1) return this.#e1;
    const e = this.#map.get(id);
    if (e !== undefined) {
      if (this.#replace1) {
        this.#id1 = id;
        this.#e1 = e;
      } else {
        this.#id0 = id;
        this.#e0 = e;
      }
      this.#replace1 = !this.#replace1;
    }
    return e;
  }

  /** The host object bound to `id`, or undefined. */
  host(id: number): unknown {
    return this.get(id)?.host;
  }

  #forget(id: number): void {
    if (id === this.#id0) {
      this.#id0 = -1;
      this.#e0 = undefined;
    }
    if (id === this.#id1) {
      this.#id1 = -1;
      this.#e1 = undefined;
    }
  }

  /** Registers a new object; returns an error message on id 0 or a duplicate id. */
  create(type: number, id: number, host: unknown = null, parent = 0): string | null {
    if (id === 0 || !Number.isSafeInteger(id) || id < 0) return `invalid object id ${id}`;
    if (this.#map.has(id)) return `invalid object id ${id} (already in use)`;
    this.#map.set(id, { type, host, parent, big: null });
    return null;
  }

  /** Ids of the objects created from `parent` (direct children), in creation order. */
  children(parent: number): number[] {
    const out: number[] = [];
    for (const [id, e] of this.#map) if (e.parent === parent) out.push(id);
    return out;
  }

  /** Every [id, entry], in creation order. */
  entries(): IterableIterator<[number, ObjectEntry]> {
    return this.#map.entries();
  }

  /** Removes an object; returns an error message when it is unknown or of another type. */
  destroy(type: number, id: number): string | null {
    const e = this.#map.get(id);
    if (e === undefined || e.type !== type) return `destroy of unknown object id ${id}`;
    this.#map.delete(id);
    this.#forget(id);
    if (type >= 0 && type < 64 && this.recent[type] === id) this.recent[type] = -1;
    return null;
  }

  clear(): void {
    this.#map.clear();
    this.#id0 = this.#id1 = -1;
    this.#e0 = this.#e1 = undefined;
    this.recent.fill(-1);
  }
}
