/**
 * `vesper gpu2d`: the vhost-user-gpu back-end process. QEMU connects to
 * `--socket-path PATH` (we listen, accept one front-end, and exit when it
 * disconnects), or the socket is inherited as `--fd N`.
 */
import { parseArgs } from "node:util";
import { SOCK_STREAM, socketType } from "../../ffi/libc.ts";
import { StreamSocket, UnixListener } from "../../ffi/unix_socket.ts";
import type { Logger } from "../log.ts";
import { VhostUserGpuBackend } from "./backend.ts";
import { DEFAULT_LIMITS, type DeviceEvent, MAX_UPDATE_BYTES } from "./device.ts";
import { warmUp } from "./warmup.ts";

const USAGE = `usage: vesper gpu2d (--socket-path PATH | --fd N) [options]

A vhost-user-gpu back-end (virtio-gpu 2D) for QEMU's vhost-user-gpu-pci device.

  --socket-path PATH   listen on PATH and serve the first front-end that connects
  --fd N               serve the already connected vhost-user socket N
  --stats-file PATH    keep per-scanout damage counters (flushes, rects, bytes) and
                       kick-to-UPDATE latency as JSON in PATH (every second and at exit)
  --trace-file PATH    write every 2D command and display message as JSON lines
  --num-scanouts N     scanouts to report (1-16, default 1)
  --max-update-bytes N largest UPDATE message (default 262144): bigger damage rects go out
                       as whole-row bands, because QEMU drops a display message it cannot
                       read in 11 partial reads; 0 sends one message per rect
  --no-warmup          skip compiling the hot paths on private memory at start-up
  --help               show this help
`;

const enc = new TextEncoder();

export async function gpu2dMain(args: string[], log: Logger): Promise<number> {
  let opts;
  try {
    opts = parseArgs({
      args,
      options: {
        "socket-path": { type: "string" },
        fd: { type: "string" },
        "stats-file": { type: "string" },
        "trace-file": { type: "string" },
        "num-scanouts": { type: "string" },
        "no-warmup": { type: "boolean" },
        "max-update-bytes": { type: "string" },
        help: { type: "boolean" },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (e) {
    log.error(`gpu2d: ${(e as Error).message}`);
    await Deno.stderr.write(enc.encode(USAGE));
    return 2;
  }
  if (opts.help) {
    await Deno.stdout.write(enc.encode(USAGE));
    return 0;
  }
  const path = opts["socket-path"];
  const fdArg = opts.fd;
  if ((path === undefined) === (fdArg === undefined)) {
    log.error("gpu2d: give exactly one of --socket-path PATH or --fd N");
    await Deno.stderr.write(enc.encode(USAGE));
    return 2;
  }
  const numScanouts = Number(opts["num-scanouts"] ?? "1");
  if (!Number.isInteger(numScanouts) || numScanouts < 1 || numScanouts > 16) {
    log.error(`gpu2d: --num-scanouts must be 1..16, not ${opts["num-scanouts"]}`);
    return 2;
  }

  const mub = opts["max-update-bytes"];
  const maxUpdateBytes = mub === undefined ? MAX_UPDATE_BYTES : Number(mub);
  if (!Number.isSafeInteger(maxUpdateBytes) || (maxUpdateBytes !== 0 && maxUpdateBytes < 4096)) {
    log.error(`gpu2d: --max-update-bytes must be 0 or at least 4096, not ${mub}`);
    return 2;
  }

  // the arguments first: a bad one must not cost the warm-up
  const fd = fdArg === undefined ? -1 : Number(fdArg);
  if (fdArg !== undefined) {
    if (!/^\d+$/.test(fdArg) || fd < 3) {
      log.error(`gpu2d: --fd needs a descriptor number >= 3, not ${fdArg}`);
      return 2;
    }
    const t = socketType(fd);
    if (t !== SOCK_STREAM) {
      log.error(
        `gpu2d: fd ${fd} is ${
          t === null ? "not a socket" : `a socket of type ${t}, not SOCK_STREAM`
        }`,
      );
      return 2;
    }
  }

  if (!opts["no-warmup"]) {
    const t0 = performance.now();
    const w = warmUp();
    log.debug(
      `gpu2d: warm-up ran ${w.commands} commands in ${(performance.now() - t0).toFixed(1)} ms`,
    );
    if (w.errors) log.warn(`gpu2d: ${w.errors} of ${w.commands} warm-up commands failed`);
  }

  let sock: StreamSocket;
  if (fdArg !== undefined) {
    sock = new StreamSocket(fd);
  } else {
    let l: UnixListener;
    try {
      l = UnixListener.listen(path!);
    } catch (e) {
      log.error(`gpu2d: cannot listen on ${path}: ${(e as Error).message}`);
      return 1;
    }
    log.info(`gpu2d: listening on ${path}`);
    sock = l.accept(); // one front-end, like QEMU's own back-ends
    l.close();
  }
  log.info("gpu2d: front-end connected");

  const backend = new VhostUserGpuBackend(sock, log, {
    numScanouts,
    limits: { ...DEFAULT_LIMITS, maxUpdateBytes },
  });
  const traceFile = opts["trace-file"];
  const trace: string[] = [];
  const flushTrace = () => {
    if (traceFile && trace.length) {
      Deno.writeTextFileSync(traceFile, trace.join("\n") + "\n", { append: true });
      trace.length = 0;
    }
  };
  if (traceFile) {
    Deno.writeTextFileSync(traceFile, "");
    const t0 = performance.now();
    backend.device.observer = (e: DeviceEvent) => {
      trace.push(JSON.stringify({ t: +(performance.now() - t0).toFixed(3), ...e }));
      if (trace.length >= 512) flushTrace();
    };
  }
  const statsFile = opts["stats-file"];
  const writeStats = () => {
    if (statsFile) {
      Deno.writeTextFileSync(statsFile, JSON.stringify(backend.device.stats(), null, 1) + "\n");
    }
  };
  try {
    if (statsFile) {
      let last = performance.now();
      while (backend.pollOnce(1000)) {
        const now = performance.now();
        if (now - last >= 1000) {
          writeStats();
          last = now;
        }
      }
    } else {
      backend.run();
    }
  } catch (e) {
    log.error(`gpu2d: ${(e as Error).stack ?? e}`);
    backend.close();
    flushTrace();
    writeStats();
    return 1;
  }
  flushTrace();
  writeStats();
  for (const s of backend.device.scanouts) {
    const c = s.counters;
    log.info(
      `gpu2d: scanout ${s.id}: ${c.flushes} flushes, ${c.rects} rects, ${c.pixelBytes} pixel bytes`,
    );
  }
  const l = backend.device.latency.toJSON();
  log.info(
    `gpu2d: kick->UPDATE ${l.count} samples, mean ${l.meanMs.toFixed(3)} ms, p99 ${
      l.p99Ms.toFixed(3)
    } ms`,
  );
  return 0;
}
