/**
 * Which context backend a worker runs (VESPER_BACKEND, --backend): a module
 * of its own so the server process can validate it without loading the
 * backends themselves (the server starts faster; only workers load Venus).
 */
export type BackendKind = "null" | "venus";

/** Workers decode the Venus protocol unless VESPER_BACKEND=null. */
export const DEFAULT_BACKEND: BackendKind = "venus";

export function isBackendKind(s: string | undefined): s is BackendKind {
  return s === "null" || s === "venus";
}
