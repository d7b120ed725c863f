/**
 * Thread-mode worker entry (a Deno Worker). It receives its parameters in
 * one message, serves the context on this thread, signals its done eventfd,
 * reports how it ended and closes itself.
 */
/// <reference lib="deno.worker" />
import { eventfdSignalAndClose } from "../../ffi/libc.ts";
import type { ThreadWorkerParams } from "./worker.ts";
import { runWorker } from "./worker_main.ts";

self.onmessage = (e: MessageEvent<ThreadWorkerParams>) => {
  const { doneFd, ...params } = e.data;
  let how = "failed";
  try {
    how = runWorker(params);
  } finally {
    // the server's destroy() polls this instead of waiting for our message
    eventfdSignalAndClose(doneFd);
  }
  self.postMessage({ how });
  self.close();
};
