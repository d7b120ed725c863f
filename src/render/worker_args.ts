/**
 * The command line of a worker process (internal: only the server writes
 * it): `--ctx-fd=N --ready-fd=N --log-level=L --server-pid=N [--backend=B]`,
 * each exactly once, nothing else.
 */
import { isLevel } from "../log.ts";
import { type BackendKind, isBackendKind } from "./backend_kind.ts";
import type { WorkerParams } from "./worker_main.ts";

/** What a worker process is started with: a worker's parameters and its server's pid. */
export type WorkerArgs = WorkerParams & { serverPid: number };

/** The worker arguments the server passes (see ProcessWorker), in order. */
export function workerArgv(a: WorkerArgs): string[] {
  return [
    `--ctx-fd=${a.ctxFd}`,
    ...(a.readyFd === undefined ? [] : [`--ready-fd=${a.readyFd}`]),
    `--log-level=${a.logLevel}`,
    `--server-pid=${a.serverPid}`,
    ...(a.backend ? [`--backend=${a.backend}`] : []),
  ];
}

const NUMBER = /^\d{1,10}$/;

/** Parses what {@link workerArgv} wrote; throws on anything else. */
export function parseWorkerArgs(args: readonly string[]): WorkerArgs {
  const v = new Map<string, string>();
  for (const arg of args) {
    const m = /^--([a-z-]+)=(.*)$/.exec(arg);
    if (!m || !["ctx-fd", "ready-fd", "log-level", "server-pid", "backend"].includes(m[1])) {
      throw new Error(`bad worker argument "${arg}"`);
    }
    if (v.has(m[1])) throw new Error(`worker argument --${m[1]} given twice`);
    v.set(m[1], m[2]);
  }
  const num = (k: string, required: boolean): number | undefined => {
    const s = v.get(k);
    if (s === undefined) {
      if (required) throw new Error(`worker argument --${k} is required`);
      return undefined;
    }
    if (!NUMBER.test(s) || Number(s) > 0x7fffffff) throw new Error(`bad --${k} "${s}"`);
    return Number(s);
  };
  const level = v.get("log-level") ?? "info";
  if (!isLevel(level)) throw new Error(`bad --log-level "${level}"`);
  const backend = v.get("backend");
  if (backend !== undefined && !isBackendKind(backend)) {
    throw new Error(`bad --backend "${backend}"`);
  }
  return {
    ctxFd: num("ctx-fd", true)!,
    readyFd: num("ready-fd", false),
    logLevel: level,
    serverPid: num("server-pid", true)!,
    backend: backend as BackendKind | undefined,
  };
}
