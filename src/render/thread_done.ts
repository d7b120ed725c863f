/**
 * How a thread worker tells the server it has ended (worker_thread.ts →
 * ThreadWorker in worker.ts): the value it adds to its done eventfd. A module
 * of its own because both sides import it: the thread must not load the
 * server's worker module, nor the server the context's.
 */

/**
 * What a thread adds to its done eventfd, one bit per way of ending, so that
 * destroy() can say how the thread ended even when it terminates the Worker
 * before the thread's last message arrives. {@link THREAD_WAKE} is the
 * server's own wake-up (a worker that died); counters add, bits stay apart.
 */
export const THREAD_DONE = { eof: 1n, fatal: 2n, unused: 4n, failed: 8n } as const;
export const THREAD_WAKE = 16n;

/** How a thread ended, read back from its done eventfd's counter; null when it did not say. */
export function threadDoneHow(counter: bigint): string | null {
  for (const [how, bit] of Object.entries(THREAD_DONE)) if (counter & bit) return how;
  return null;
}
