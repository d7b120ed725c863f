/**
 * Command line of the `vesper` executable.
 *
 *   vesper --socket-fd N [--worker=process|thread] [--log-level L] [--spare-delay MS]
 *                                                                     render server
 *   vesper demo | replay FILE | gpu2d ...                             other jobs
 *   vesper worker ...                                                 internal: one context
 *
 * Usage errors print one clear line and a hint and exit with status 2.
 */
import { fdKind, SOCK_SEQPACKET, socketType } from "../ffi/libc.ts";
import { isLevel, type Level, LEVELS, Logger } from "./log.ts";
import { VERSION } from "./version.ts";
import { MAX_SPARE_DELAY_MS, SPARE_AFTER_CONTEXT_MS, SPARE_BUSY_MAX_MS } from "./render/spare.ts";

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
  --spare-delay MS          after a context is created, wait MS before loading the next
                            spare worker (default: ${SPARE_AFTER_CONTEXT_MS}, or $VESPER_SPARE_DELAY_MS),
                            and longer while the CPUs are busy (at most ${
  SPARE_BUSY_MAX_MS / 1000
} s more)
  -h, --help                this text
  -V, --version             print the version

Environment:
  VESPER_LOG_LEVEL          default log level (useful when a VMM starts Vesper)
  VESPER_WORKER             default worker mode
  VESPER_SPARE_DELAY_MS     default --spare-delay
  VESPER_LOG_TIMESTAMPS=1   start each log line with the time (s since the epoch, µs)
`;

export class UsageError extends Error {
  override name = "UsageError";
}

export interface ServerArgs {
  socketFd: number;
  workerMode: "process" | "thread";
  logLevel: Level;
  spareDelayMs: number;
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

/** A whole number written in decimal digits, at most `max`. */
function isWhole(s: string, max: number): boolean {
  return /^\d+$/.test(s) && Number(s) <= max;
}

/** `--spare-delay` (or $VESPER_SPARE_DELAY_MS): whole milliseconds. */
export function parseSpareDelay(s: string | undefined): number {
  if (s === undefined) return SPARE_AFTER_CONTEXT_MS;
  if (!isWhole(s, MAX_SPARE_DELAY_MS)) {
    throw new UsageError(`bad --spare-delay "${s}" (milliseconds, 0 to ${MAX_SPARE_DELAY_MS})`);
  }
  return Number(s);
}

export function parseFd(s: string | undefined, flag: string): number {
  if (s === undefined) throw new UsageError(`${flag} is required`);
  if (!isWhole(s, 0x7fffffff)) throw new UsageError(`bad ${flag} "${s}"`);
  return Number(s);
}

const SERVER_OPTIONS: Record<string, "string" | "boolean"> = {
  "socket-fd": "string",
  worker: "string",
  "log-level": "string",
  "spare-delay": "string",
  help: "boolean",
  version: "boolean",
};
const SHORT: Record<string, string> = { h: "help", V: "version" };

/**
 * The server's options, strictly: `--name=value`, `--name value`, `-h`, `-V`,
 * no positionals; the same messages as node:util's parseArgs. Written out
 * rather than taken from node:util because importing any node: module loads
 * Deno's Node compatibility layer, about 11 ms of every server's start-up
 * (measured: `deno run` of a file importing node:util, 35 ms against 24 ms).
 */
function parseServerOptions(args: readonly string[]): Record<string, string | boolean> {
  const out: Record<string, string | boolean> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    let name: string, value: string | undefined;
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      value = eq < 0 ? undefined : arg.slice(eq + 1);
    } else if (/^-[A-Za-z]$/.test(arg)) {
      name = SHORT[arg[1]] ?? arg;
    } else {
      throw new UsageError(
        `Unexpected argument '${arg}'. This command does not take positional arguments`,
      );
    }
    const type = SERVER_OPTIONS[name];
    if (!type) throw new UsageError(`Unknown option '${arg.split("=")[0]}'`);
    if (type === "boolean") {
      if (value !== undefined) throw new UsageError(`Option '--${name}' does not take an argument`);
      out[name] = true;
      continue;
    }
    if (value === undefined) {
      value = args[i + 1];
      if (value === undefined || value.startsWith("-")) {
        throw new UsageError(`Option '--${name} <value>' argument missing`);
      }
      i++;
    }
    out[name] = value;
  }
  return out;
}

/** Parses the server's command line; null when --help/--version was handled. */
export function parseServerArgs(args: string[]): ServerArgs | "help" | "version" {
  const v = parseServerOptions(args) as {
    "socket-fd"?: string;
    worker?: string;
    "log-level"?: string;
    "spare-delay"?: string;
    help?: boolean;
    version?: boolean;
  };
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
  return {
    socketFd,
    workerMode: mode,
    logLevel: parseLevel(v["log-level"]),
    spareDelayMs: parseSpareDelay(
      v["spare-delay"] ?? (Deno.env.get("VESPER_SPARE_DELAY_MS") || undefined),
    ),
  };
}

/** Prints a usage error the same way everywhere; returns exit status 2. */
export function usageError(e: UsageError, log = new Logger("vesper", "error")): number {
  log.error(e.message);
  console.error("Try 'vesper --help'.");
  return 2;
}
