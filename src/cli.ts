/**
 * Command line of the `vesper` executable.
 *
 *   vesper --socket-fd N [--worker=process|thread] [--log-level L]   render server
 *   vesper demo | replay FILE | gpu2d ...                             other jobs
 *   vesper worker ...                                                 internal: one context
 *
 * Usage errors print one clear line and a hint and exit with status 2.
 */
import { parseArgs } from "node:util";
import { fdKind, SOCK_SEQPACKET, socketType } from "../ffi/libc.ts";
import { isLevel, type Level, LEVELS, Logger } from "./log.ts";
import { VERSION } from "./version.ts";

export const USAGE = `vesper ${VERSION} — a Venus render server (drop-in for virgl_render_server)

Usage:
  vesper --socket-fd N [options]     serve the render protocol on fd N (as crosvm and
                                     libvirglrenderer start it)
  vesper demo                        run a real Vulkan client through Vesper and show it
  vesper replay FILE                 decode a Venus capture offline
  vesper gpu2d [options]             vhost-user-gpu 2D backend for QEMU (see vesper gpu2d --help)

Options:
  --socket-fd N             the connected SOCK_SEQPACKET client socket (required to serve)
  --worker=process|thread   run each guest context in a process (default) or a thread
  --log-level LEVEL         ${LEVELS.join(", ")} (default: info, or $VESPER_LOG_LEVEL)
  -h, --help                this text
  -V, --version             print the version

Environment:
  VESPER_LOG_LEVEL          default log level (useful when a VMM starts Vesper)
  VESPER_WORKER             default worker mode
  VESPER_LOG_TIMESTAMPS=1   start each log line with the time (s since the epoch, µs)
`;

export class UsageError extends Error {
  override name = "UsageError";
}

export interface ServerArgs {
  socketFd: number;
  workerMode: "process" | "thread";
  logLevel: Level;
}

export function defaultLevel(): Level {
  const env = Deno.env.get("VESPER_LOG_LEVEL");
  return env && isLevel(env) ? env : "info";
}

export function parseLevel(s: string | undefined): Level {
  if (s === undefined) return defaultLevel();
  if (!isLevel(s)) throw new UsageError(`bad --log-level "${s}" (one of ${LEVELS.join(", ")})`);
  return s;
}

export function parseFd(s: string | undefined, flag: string): number {
  if (s === undefined) throw new UsageError(`${flag} is required`);
  if (!/^\d+$/.test(s) || Number(s) > 0x7fffffff) throw new UsageError(`bad ${flag} "${s}"`);
  return Number(s);
}

/** Parses the server's command line; null when --help/--version was handled. */
export function parseServerArgs(args: string[]): ServerArgs | "help" | "version" {
  let v;
  try {
    v = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        "socket-fd": { type: "string" },
        worker: { type: "string" },
        "log-level": { type: "string" },
        help: { type: "boolean", short: "h" },
        version: { type: "boolean", short: "V" },
      },
    }).values;
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (v.help) return "help";
  if (v.version) return "version";
  const socketFd = parseFd(v["socket-fd"], "--socket-fd");
  const mode = v.worker ?? Deno.env.get("VESPER_WORKER") ?? "process";
  if (mode !== "process" && mode !== "thread") {
    throw new UsageError(`bad --worker "${mode}" (process or thread)`);
  }
  const type = socketType(socketFd);
  if (type !== SOCK_SEQPACKET) {
    const kind = fdKind(socketFd);
    throw new UsageError(
      kind === null
        ? `--socket-fd ${socketFd} is not an open fd`
        : type === null
        ? `--socket-fd ${socketFd} is not a socket (${kind})`
        : `--socket-fd ${socketFd} is not a SOCK_SEQPACKET socket (type ${type})`,
    );
  }
  return { socketFd, workerMode: mode, logLevel: parseLevel(v["log-level"]) };
}

/** Prints a usage error the same way everywhere; returns exit status 2. */
export function usageError(e: UsageError, log = new Logger("vesper", "error")): number {
  log.error(e.message);
  console.error("Try 'vesper --help'.");
  return 2;
}
