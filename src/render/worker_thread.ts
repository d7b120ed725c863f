/**
 * Thread-mode worker entry (a Deno Worker). It receives its parameters in
 * one message, serves the context on this thread, adds how it ended to its
 * done eventfd, tells the server it is over and closes itself.
 */
/// <reference lib="deno.worker" />
import { eventfdSignalAndClose } from "../../ffi/libc.ts";
import { THREAD_DONE } from "./thread_done.ts";
import type { ThreadWorkerParams } from "./worker.ts";
import { runWorker } from "./worker_main.ts";

self.onmessage = (e: MessageEvent<ThreadWorkerParams>) => {
  const { doneFd, ...params } = e.data;
  let how: keyof typeof THREAD_DONE = "failed";
  try {
    how = runWorker(params);
  } finally {
    // the server's destroy() polls this instead of waiting for our message
    eventfdSignalAndClose(doneFd, THREAD_DONE[how]);
  }
  self.postMessage(null); // how: in the eventfd, which the server reads either way
  self.close();
};
