/**
 * Leveled logging to stderr, one line per message:
 * `vesper[<pid>] <role>: <LEVEL> <message>`.
 *
 * Writes are synchronous so that a line is out before a process exits or a
 * worker is killed.
 */
export const LEVELS = ["error", "warn", "info", "debug", "trace"] as const;
export type Level = typeof LEVELS[number];

export function isLevel(s: string): s is Level {
  return (LEVELS as readonly string[]).includes(s);
}

const enc = new TextEncoder();

/**
 * With VESPER_LOG_TIMESTAMPS=1 every line starts with the wall-clock time in
 * seconds since the epoch, to the microsecond (to line up the server's,
 * workers' and the proxy's events). Read once per process or thread.
 */
const TIMESTAMPS = (() => {
  try {
    return Deno.env.get("VESPER_LOG_TIMESTAMPS") === "1";
  } catch {
    return false; // no env permission: plain lines
  }
})();

function stamp(): string {
  return `${((performance.timeOrigin + performance.now()) / 1000).toFixed(6)} `;
}

export class Logger {
  #rank: number;

  constructor(
    readonly role: string,
    level: Level = "info",
    readonly sink?: (line: string) => void,
  ) {
    this.#rank = LEVELS.indexOf(level);
  }

  get level(): Level {
    return LEVELS[this.#rank];
  }

  enabled(level: Level): boolean {
    return LEVELS.indexOf(level) <= this.#rank;
  }

  /** A logger with the same level and sink for another role (e.g. `worker 3`). */
  child(role: string): Logger {
    return new Logger(role, this.level, this.sink);
  }

  #write(level: Level, msg: string): void {
    if (LEVELS.indexOf(level) > this.#rank) return;
    const line = `${
      TIMESTAMPS ? stamp() : ""
    }vesper[${Deno.pid}] ${this.role}: ${level.toUpperCase()} ${msg}\n`;
    if (this.sink) return this.sink(line);
    try {
      Deno.stderr.writeSync(enc.encode(line));
    } catch { /* stderr gone: nothing left to tell */ }
  }

  error(msg: string): void {
    this.#write("error", msg);
  }
  warn(msg: string): void {
    this.#write("warn", msg);
  }
  info(msg: string): void {
    this.#write("info", msg);
  }
  debug(msg: string): void {
    this.#write("debug", msg);
  }
  trace(msg: string): void {
    this.#write("trace", msg);
  }
}
