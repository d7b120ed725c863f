/**
 * Thread-mode worker entry (a Deno Worker). It receives its parameters in
 * one message, serves the context on this thread, reports how it ended and
 * closes itself.
 */
/// <reference lib="deno.worker" />
import { runWorker, type WorkerParams } from "./worker_main.ts";

self.onmessage = (e: MessageEvent<WorkerParams>) => {
  const how = runWorker(e.data);
  self.postMessage({ how });
  self.close();
};
