/** Small helpers shared by the generated encoders/decoders. */

/** Exactly `n` bytes from `a` (truncated or zero-padded), for `uint8_t[N]` members. */
export function fit8(a: ArrayLike<number> | null | undefined, n: number): Uint8Array {
  const out = new Uint8Array(n);
  if (a) out.set(a.length > n ? Array.prototype.slice.call(a, 0, n) : a);
  return out;
}

/** Exactly `n` numbers from `a` (truncated or zero-padded). */
export function fit(a: ArrayLike<number> | null | undefined, n: number): number[] {
  const out: number[] = new Array(n).fill(0);
  if (a) { for (let i = 0; i < n && i < a.length; i++) out[i] = a[i]; }
  return out;
}

/** `n` empty objects: output struct array elements the handler fills in. */
export function placeholders(n: number): Record<string, unknown>[] {
  const a: Record<string, unknown>[] = [];
  for (let i = 0; i < n; i++) a.push({});
  return a;
}
