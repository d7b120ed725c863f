/**
 * Every client and context op of the render protocol, deterministically,
 * through the TypeScript render client — against Vesper in both worker modes
 * and against the C reference server (virglrenderer 1.1.0, in the trixie
 * chroot), so the expectations themselves are known to be right.
 */
import { assert, assertEquals } from "./support/assert.ts";
import { C_SERVER, ensureChroot, inChroot, LVP_ICD } from "../src/harness/chroot.ts";
import {
  type ContextClient,
  fdCount,
  harmlessStream,
  isAlive,
  RenderClient,
  type ServerSpec,
  settled,
  sleep,
  TEST_SPARE_DELAY_MS,
  vesperSpec,
  waitFor,
} from "./support/render_client.ts";
import * as L from "../ffi/libc.ts";
import { OwnedFd } from "../ffi/fd.ts";
import { Mapping } from "../ffi/mmap.ts";
import * as P from "../src/render/protocol.ts";
import {
  SPARE_AFTER_CONTEXT_MS,
  SPARE_AFTER_DESTROY_MS,
  SPARE_BUSY_MAX_MS,
  SPARE_IDLE_WINDOW_MS,
} from "../src/render/spare.ts";
import { WORKER_MALLOC_TUNABLES, workerEnv } from "../src/render/worker.ts";
import { processesMatching, VESPER_CMDLINE } from "../src/harness/vtest.ts";

const root = await ensureChroot();
const servers: ServerSpec[] = [vesperSpec("process"), vesperSpec("thread")];
if (root) {
  servers.push({
    name: "c-reference",
    argv: inChroot(root, [C_SERVER], { VK_ICD_FILENAMES: LVP_ICD }),
  });
}

const SHM_BLOB = { blobId: 0n, blobFlags: P.BLOB_FLAG_USE_MAPPABLE };

async function withServer(spec: ServerSpec, body: (c: RenderClient) => Promise<void>) {
  const c = RenderClient.start(spec);
  try {
    c.init();
    await body(c);
    const st = await c.close();
    assert(st !== null, `${spec.name} did not exit after the client socket closed`);
    assert(await waitFor(() => c.workers().length === 0), "workers left behind");
  } catch (e) {
    console.error(`--- ${spec.name} log ---\n${c.log()}`);
    throw e;
  } finally {
    await c.kill();
  }
}

function makeShm(size: number): OwnedFd {
  const fd = new OwnedFd(L.memfdCreate("test-shm", L.MFD_CLOEXEC | L.MFD_ALLOW_SEALING));
  L.ftruncate(fd.fd, size);
  L.fcntl(fd.fd, L.F_ADD_SEALS, L.F_SEAL_SHRINK | L.F_SEAL_GROW);
  return fd;
}

async function readyContext(c: RenderClient, ctxId: number): Promise<ContextClient> {
  const ctx = c.createContext(ctxId, `test-${ctxId}`);
  assert(ctx, `CREATE_CONTEXT ${ctxId} refused`);
  ctx.init();
  assert(await ctx.roundTrip(1), "first fence did not retire");
  return ctx;
}

for (const spec of servers) {
  Deno.test(`${spec.name}: client ops NOP, INIT, CREATE/DESTROY_CONTEXT, RESET`, async () => {
    await withServer(spec, async (c) => {
      c.nop();
      const a = await readyContext(c, 1);
      const b = await readyContext(c, 2);
      assertEquals(L.socketType(a.fd), L.SOCK_SEQPACKET);
      if (spec.name !== "vesper-thread") {
        const want = 2 + (spec.spares ?? 0);
        assert(
          await waitFor(() => c.workers().length === want),
          `${c.workers().length} workers, want ${want}`,
        );
      }
      c.destroyContext(1);
      assert(await a.waitClosed(), "DESTROY_CONTEXT left the worker running");
      assert(await b.roundTrip(2), "the other context stopped working");
      c.destroyContext(77); // unknown: ignored
      c.nop();
      const d = await readyContext(c, 3);
      c.reset();
      assert(await b.waitClosed(), "RESET left context 2 running");
      assert(await d.waitClosed(), "RESET left context 3 running");
      const e = await readyContext(c, 4); // the server still serves after RESET
      for (const x of [a, b, d, e]) x.close();
    });
  });

  Deno.test(`${spec.name}: context ops INIT, CREATE/IMPORT/DESTROY_RESOURCE, SUBMIT_CMD, SUBMIT_FENCE`, async () => {
    await withServer(spec, async (c) => {
      const ctx = await readyContext(c, 1);
      ctx.send(P.encodeContextNop());

      // SHM blob: a sealable memfd of exactly blob_size, mapped CACHED
      const r = ctx.createResource({ resId: 10, blobSize: 65536n, ...SHM_BLOB });
      assertEquals(r.size, P.CREATE_RESOURCE_REPLY_SIZE);
      assertEquals(r.fdType, 2);
      assertEquals(r.mapInfo, P.MAP_CACHE_CACHED);
      assert(r.fd, "no fd with the SHM blob");
      assertEquals(L.fileSize(r.fd.fd), 65536n);
      assert(L.isMemfd(r.fd.fd));
      // what the proxy does with it: seal, check no write seal, map
      L.fcntl(r.fd.fd, L.F_ADD_SEALS, L.F_SEAL_SEAL | L.F_SEAL_SHRINK | L.F_SEAL_GROW);
      assertEquals(L.fcntl(r.fd.fd, L.F_GET_SEALS) & L.F_SEAL_WRITE, 0);
      const m = Mapping.map(r.fd.fd, 65536);
      m.view.setUint32(0, 0x12345678, true);
      m.unmap();
      r.fd.close();

      // import an SHM resource and a "dma-buf" (any fd) resource
      const shm = makeShm(8192);
      ctx.importResource(11, 2, 8192n, shm.fd);
      shm.close();

      // command streams: inline (16 bytes) and with the overflow message (640 bytes)
      assert(ctx.submitCmd(harmlessStream(1)));
      assert(ctx.submitCmd(harmlessStream(40)));
      assert(await ctx.roundTrip(2), "context died after SUBMIT_CMD");

      ctx.destroyResource(10);
      ctx.destroyResource(11);
      ctx.destroyResource(12345); // unknown: ignored
      assert(await ctx.roundTrip(3));
      assertEquals(ctx.seqno(0), 3);
      ctx.close();
    });
  });

  Deno.test(`${spec.name}: fences retire in order on the CPU timeline, with and without eventfd`, async () => {
    await withServer(spec, async (c) => {
      const a = c.createContext(1)!;
      a.init({ eventfd: false });
      for (let i = 1; i <= 50; i++) a.submitFence(0, i);
      assert(await a.waitSeqno(0, 50), "no eventfd: shmem never reached 50");
      const b = c.createContext(2)!;
      b.init();
      b.submitFence(0, 0xfffffffe);
      // (from 0, 0xfffffffe is "before" in wrap-around order: wait for the exact value)
      const efd = b.eventFd!.fd;
      await waitFor(() => b.seqno(0) === 0xfffffffe);
      assertEquals(b.seqno(0), 0xfffffffe);
      // one retirement, one signal (the server stores the seqno first, then signals)
      assertEquals(await L.pollAsync([{ fd: efd, events: L.POLLIN }], 1000), 1, "no signal");
      assertEquals(L.eventfdRead(efd), 1n, "one signal per retired fence");
      assertEquals(await L.pollAsync([{ fd: efd, events: L.POLLIN }], 50), 0, "signaled again");
      b.submitFence(0, 5); // wraps: 5 is after 0xfffffffe
      assert(await b.waitSeqno(0, 5));
      a.close();
      b.close();
    });
  });

  Deno.test(`${spec.name}: failed CREATE_RESOURCE answers fd_type -1 without fd; context goes on`, async () => {
    await withServer(spec, async (c) => {
      const ctx = await readyContext(c, 1);
      for (
        const req of [
          { resId: 20, blobId: 999n, blobSize: 4096n, blobFlags: 1 }, // no such VkDeviceMemory
          { resId: 21, blobId: 0n, blobSize: 4096n, blobFlags: 3 }, // shm blob with other flags
        ]
      ) {
        const r = ctx.createResource(req);
        assertEquals(r.size, 56);
        assertEquals(r.fdType, -1);
        assertEquals(r.fd, null);
      }
      assert(await ctx.roundTrip(2));
      ctx.close();
    });
  });

  Deno.test(`${spec.name}: an unknown context op ends only that context`, async () => {
    await withServer(spec, async (c) => {
      const a = await readyContext(c, 1);
      const b = await readyContext(c, 2);
      const bad = new Uint8Array(4);
      new DataView(bad.buffer).setUint32(0, 7, true);
      a.send(bad);
      assert(await a.waitClosed(), "worker survived an unknown op");
      assert(await b.roundTrip(2), "the other context was harmed");
      const d = await readyContext(c, 3);
      for (const x of [a, b, d]) x.close();
    });
  });
}

Deno.test("vesper: the server holds no more fds after contexts come and go", async () => {
  for (const mode of ["process", "thread"] as const) {
    const c = RenderClient.start(vesperSpec(mode, "info"));
    try {
      c.init();
      const warm = await readyContext(c, 100); // loads everything once
      warm.close();
      c.destroyContext(100);
      await settled(c); // the next spare, started a while after the context, has loaded
      const base = fdCount(c.pid);
      for (let i = 1; i <= 5; i++) {
        const ctx = await readyContext(c, i);
        ctx.createResource({ resId: 1, blobSize: 4096n, ...SHM_BLOB }).fd?.close();
        ctx.close();
        c.destroyContext(i);
      }
      const spares = mode === "process" ? 1 : 0;
      assert(await waitFor(() => c.workers().length === spares), `${mode}: workers left`);
      assert(
        await waitFor(() => fdCount(c.pid) <= base),
        `${mode}: fds ${fdCount(c.pid)} > ${base}`,
      );
      assert(await c.close() !== null);
    } finally {
      await c.kill();
    }
  }
});

Deno.test("vesper: SIGTERM shuts the server down with its workers", async () => {
  for (const mode of ["process", "thread"] as const) {
    const c = RenderClient.start(vesperSpec(mode, "info"));
    try {
      c.init();
      const ctx = await readyContext(c, 1);
      const workers = c.workers();
      L.kill(c.pid, L.SIGTERM);
      const st = await c.waitExit();
      assert(st !== null && st.code === 0, `${mode}: exit ${JSON.stringify(st)}`);
      assert(/SIGTERM: shutting down/.test(c.log()));
      assert(await ctx.waitClosed(), `${mode}: context still open`);
      assert(await waitFor(() => workers.every((w) => !isAlive(w))), `${mode}: workers left`);
      ctx.close();
    } finally {
      await c.kill();
    }
  }
});

Deno.test("vesper: the next spare starts only a while after a context was created, once loaded", async () => {
  const c = RenderClient.start(vesperSpec("process", "debug"));
  try {
    c.init();
    // the first spare starts with the server
    assert(await waitFor(() => c.workers().length === 1), "no spare at start");
    const t0 = performance.now();
    const ctx = await readyContext(c, 1);
    // the spare became the context's worker; no second worker loads meanwhile
    assertEquals(c.workers().length, 1, "a second worker started right away");
    assert(
      await waitFor(() => c.workers().length === 2, TEST_SPARE_DELAY_MS + 3000),
      "no spare after the delay",
    );
    assert(performance.now() - t0 >= TEST_SPARE_DELAY_MS - 50, "the spare came too early");
    ctx.close();
    c.destroyContext(1);
    assert(await c.close() !== null);
    // every worker signalled that it had loaded before waiting for its context
    assert(/worker \(spare\): DEBUG ready; waiting for a context/.test(c.log()), c.log());
  } finally {
    await c.kill();
  }
});

Deno.test("vesper: by default the next spare waits seconds after a context, but comes soon after one ends", async () => {
  const c = RenderClient.start(vesperSpec("process", "debug", null));
  try {
    c.init();
    assert(await waitFor(() => c.workers().length === 1), "no spare at start");
    const ctx = await readyContext(c, 1);
    const worker = c.workers()[0];
    // a new context is busiest at first: no spare loads beside it for a while
    await sleep(1000);
    assertEquals(c.workers(), [worker], "a spare loaded beside a new context");
    ctx.close();
    c.destroyContext(1);
    const t0 = performance.now();
    assert(
      await waitFor(() => c.workers().length === 1 && c.workers()[0] !== worker, 5000),
      `no spare after the context ended: ${c.workers()}`,
    );
    const after = performance.now() - t0;
    assert(after >= SPARE_AFTER_DESTROY_MS - 50, `the spare came too early (${after} ms)`);
    assert(after < SPARE_AFTER_CONTEXT_MS, `the spare waited as after a creation (${after} ms)`);
    assert(await c.close() !== null);
  } finally {
    await c.kill();
  }
});

Deno.test("vesper: a spare due while its CPU is busy is put off until the CPU idles", async () => {
  // server, workers and a spinning process share CPU 0: no idle time there
  const spec = vesperSpec("process", "debug");
  const c = RenderClient.start({ ...spec, argv: ["/usr/bin/taskset", "-c", "0", ...spec.argv] });
  let spinner: Deno.ChildProcess | null = null;
  try {
    c.init();
    // the first spare is not held back (no context is running yet)
    assert(await waitFor(() => c.workers().length === 1), "no spare at start");
    spinner = new Deno.Command("taskset", {
      args: ["-c", "0", "/bin/sh", "-c", "while :; do :; done"],
      stdout: "null",
      stderr: "null",
    }).spawn();
    const ctx = await readyContext(c, 1);
    const worker = c.workers()[0];
    await sleep(TEST_SPARE_DELAY_MS + 3 * SPARE_IDLE_WINDOW_MS + 300);
    assertEquals(c.workers(), [worker], "a spare loaded beside a busy CPU");
    assert(/spare worker put off: its CPUs were 0\.\d\d idle/.test(c.log()), c.log());
    spinner.kill("SIGKILL");
    await spinner.status;
    spinner = null;
    const t0 = performance.now();
    assert(await waitFor(() => c.workers().length === 2, 5000), "no spare once the CPU idled");
    assert(performance.now() - t0 < SPARE_BUSY_MAX_MS, "the spare waited for the cap");
    ctx.close();
    c.destroyContext(1);
    assert(await c.close() !== null);
  } finally {
    if (spinner) {
      spinner.kill("SIGKILL");
      await spinner.status;
    }
    await c.kill();
  }
});

Deno.test("vesper: worker processes get glibc's malloc cache tuning unless the VMM set its own", async () => {
  assertEquals(workerEnv({ A: "1" }), { A: "1", GLIBC_TUNABLES: WORKER_MALLOC_TUNABLES });
  assertEquals(
    workerEnv({ GLIBC_TUNABLES: "glibc.malloc.arena_max=2" }).GLIBC_TUNABLES,
    `glibc.malloc.arena_max=2:${WORKER_MALLOC_TUNABLES}`,
  );
  const own = { GLIBC_TUNABLES: "glibc.malloc.tcache_count=7" };
  assertEquals(workerEnv(own), own);
  const c = RenderClient.start(vesperSpec("process", "info"));
  try {
    c.init();
    const isWorker = (pid: number) => {
      try {
        const argv = Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0");
        return argv.some((a) => a === "worker" || /\/worker_process\.[jt]s$/.test(a));
      } catch {
        return false;
      }
    };
    assert(await waitFor(() => c.workers().some(isWorker)), "no spare");
    const spare = c.workers().find(isWorker)!;
    const environ = Deno.readTextFileSync(`/proc/${spare}/environ`).split("\0");
    assert(environ.includes(`GLIBC_TUNABLES=${WORKER_MALLOC_TUNABLES}`), environ.join(" "));
    assert(await c.close() !== null);
  } finally {
    await c.kill();
  }
});

Deno.test("vesper: started with SIGCHLD ignored (vtest's forking server leaves it so), workers are still reaped", async () => {
  const sigIgn = (pid: number) =>
    BigInt(
      "0x" +
        (/SigIgn:\s*([0-9a-f]+)/.exec(Deno.readTextFileSync(`/proc/${pid}/status`))?.[1] ?? "0"),
    );
  const CHLD_BIT = 1n << BigInt(L.SIGCHLD - 1);
  for (const mode of ["process", "thread"] as const) {
    const spec = vesperSpec(mode, "debug");
    // perl sets SIGCHLD to SIG_IGN and execs the server, which inherits it
    spec.argv = ["/usr/bin/perl", "-e", '$SIG{CHLD} = "IGNORE"; exec @ARGV or die', ...spec.argv];
    const c = RenderClient.start(spec);
    try {
      c.init();
      const ended = await readyContext(c, 1);
      assertEquals(sigIgn(c.pid) & CHLD_BIT, 0n, `${mode}: SIGCHLD still ignored`);
      // a worker that ends by itself (its context socket closed) is reaped…
      ended.close();
      if (mode === "process") {
        assert(
          await waitFor(() => /worker \d+ \(ctx 1\) exited with 0/.test(c.log())),
          `${mode}: the ended worker was not reaped\n${c.log()}`,
        );
      }
      // …one destroyed by DESTROY_CONTEXT is killed and reaped…
      await readyContext(c, 2);
      c.destroyContext(2);
      // …and the one still running at shutdown too
      const live = await readyContext(c, 3);
      const st = await c.close();
      assert(st !== null && st.code === 0, `${mode}: exit ${JSON.stringify(st)}\n${c.log()}`);
      assert(!/Uncaught|ECHILD/.test(c.log()), c.log());
      if (mode === "process") assert(/SIGCHLD came in ignored/.test(c.log()), c.log());
      // every thread says how it ended: one that ended by itself (1), and destroyed ones,
      // though destroy() terminates them before their last message (2, 3)
      if (mode === "thread") {
        for (const ctx of [1, 2, 3]) {
          assert(new RegExp(`thread worker \\(ctx ${ctx}\\) ended: eof`).test(c.log()), c.log());
        }
      }
      assert(await waitFor(() => c.workers().length === 0), `${mode}: workers left`);
      live.close();
    } finally {
      await c.kill();
    }
  }
});

Deno.test("vesper: the harness's VESPER_CMDLINE finds the server and its workers (leak checks rely on it)", async () => {
  const c = RenderClient.start(vesperSpec("process", "info"));
  try {
    c.init();
    // (the launcher may first rebuild its bundle: bash, then deno bundle, then the server)
    const found = () => processesMatching(VESPER_CMDLINE);
    assert(await waitFor(() => found().includes(c.pid), 15000), `server ${c.pid}: ${found()}`);
    assert(
      await waitFor(() => c.workers().length === 1 && found().includes(c.workers()[0]), 15000),
      `spare worker ${c.workers()} not found: ${found()}`,
    );
    assert(await c.close() !== null);
  } finally {
    await c.kill();
  }
});
