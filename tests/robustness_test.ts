/**
 * Robustness (issue 5, item 7): a misbehaving guest or client costs at most
 * its own context — the server survives, the context is cleaned up, and
 * nothing leaks (processes, fds, memfds).
 *
 * Through the real chain (Mesa venus → virgl_test_server → Vesper, in the
 * trixie chroot; programs in tests/robustness/*.c), both worker modes:
 *
 * 1. a client SIGKILLed while it submits work (submit_loop): every process
 *    of that client is gone afterwards (all processes started under the
 *    virgl_test_server carry a tag in their environment), the long-lived
 *    virgl_test_server keeps its fd count and holds no memfd, and the next
 *    client works;
 * 4. objects created and destroyed in a loop, devices and instances (= new
 *    contexts) recreated (object_churn);
 * 5. a guest asking for far more memory than the host has (oom: 1 TiB, then
 *    256 MiB chunks until refused): VK_ERROR_OUT_OF_HOST/DEVICE_MEMORY, no
 *    crash, the program frees and exits 0, and the render server holds no
 *    vesper-memory memfd once it freed. That needs VN_PERF=no_async_mem_alloc:
 *    by default Mesa allocates asynchronously, the app sees VK_SUCCESS, and
 *    its vkFreeMemory of the never-created id ends the context (a clear log
 *    line; the C server loses such a client too) — also tested: only that
 *    client is lost. The oracle (lavapipe directly) grants all of it (1 TiB
 *    and 128 GiB of chunks): it allocates lazily and has no limit.
 *
 * At the protocol level (tests/support/render_client.ts):
 *
 * 2. a guest that never reads its replies: a reply stream that fills up
 *    (no seek back), replies without a reply stream, a reply stream whose
 *    resource was destroyed → that context ends with a clear log line while
 *    another context keeps working; and a proxy that never reads its
 *    CREATE_RESOURCE replies (the worker blocks in sendmsg) — DESTROY_CONTEXT
 *    still ends it, and nothing stays behind;
 * 4. (TS, with Vesper run inside the chroot so that it has lavapipe) an
 *    object id reused after destroy is fine; creating a live id again is
 *    fatal for that context only.
 *
 * 3. A ring full of garbage going FATAL without affecting another context is
 *    covered by tests/venus_ring_service_test.ts ("a garbage ring goes FATAL
 *    and ends only its own context"; process workers only).
 */
import { assert, assertEquals } from "./support/assert.ts";
import {
  type ContextClient,
  fdTargets,
  isAlive,
  memfdMappings,
  RenderClient,
  type ServerSpec,
  settled,
  sleep,
  VESPER,
  vesperSpec,
} from "./support/render_client.ts";
import { buildInChroot, ensureChroot, inChroot, LVP_ICD, REPO } from "../src/harness/chroot.ts";
import { startVtest, venusClientEnv, type VtestServer, waitFor } from "../src/harness/vtest.ts";
import { fdCount, type Proc, processesWithEnv } from "../src/harness/vulkaninfo.ts";
import { Mapping } from "../ffi/mmap.ts";
import type { OwnedFd } from "../ffi/fd.ts";
import * as L from "../ffi/libc.ts";
import * as P from "../src/render/protocol.ts";
import { FD_TYPE_SHM } from "../src/render/resources.ts";
import { VenusReader } from "../src/venus/reader.ts";
import { REPLY_DECODERS } from "../src/venus/generated/tools.ts";
import { encode } from "./venus/helpers.ts";

const root = await ensureChroot();
const MODES = ["process", "thread"] as const;
type Mode = typeof MODES[number];

/** Where the programs are built: inside the chroot, outside the repository. */
const BUILD = "/tmp/vesper-robustness";
const TAG_KEY = "VESPER_ROBUST_TAG";
/** how long a client's render server and workers may take to go */
const LEFTOVER_MS = 10000;
/** what must never appear in a server log */
const CRASH = /Uncaught|panicked|Segmentation fault|SIGSEGV|core dumped|RangeError|TypeError/;

let built: Promise<void> | undefined;
function buildPrograms(): Promise<void> {
  return built ??= buildInChroot(root!, `${REPO}/tests/robustness`, BUILD);
}

// ---------------------------------------------------------------------------
// The real chain

/** Open fds of `pid` that are memfds, with their names (e.g. "memfd:vesper-memory (deleted)"). */
function memfds(pid: number): string[] {
  return fdTargets(pid).filter((t) => t.startsWith("/memfd:"));
}

/** A Vulkan program on Mesa venus, streaming its stdout lines. */
class Client {
  readonly child: Deno.ChildProcess;
  readonly lines: string[] = [];
  stderr = "";
  readonly done: Promise<Deno.CommandStatus>;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;

  constructor(argv: string[], env: Record<string, string>, timeoutS = 120) {
    const cmd = inChroot(root!, ["timeout", "-s", "KILL", String(timeoutS), ...argv], env);
    const child = this.child = new Deno.Command(cmd[0], {
      args: cmd.slice(1),
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const stdin = this.#stdin = child.stdin.getWriter();
    const out = (async () => {
      let rest = "";
      for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
        rest += chunk;
        const parts = rest.split("\n");
        rest = parts.pop()!;
        this.lines.push(...parts);
      }
      if (rest) this.lines.push(rest);
    })();
    const err = (async () => {
      for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
        this.stderr += chunk;
      }
    })();
    this.done = (async () => {
      const st = await child.status;
      await Promise.all([out, err]);
      await stdin.close().catch(() => {});
      return st;
    })();
  }

  waitLine(re: RegExp, timeoutMs: number): Promise<boolean> {
    return waitFor(() => this.lines.some((l) => re.test(l)), timeoutMs);
  }

  async writeLine(s: string): Promise<void> {
    await this.#stdin.write(new TextEncoder().encode(s + "\n"));
  }

  describe(): string {
    return `stdout:\n${this.lines.join("\n")}\nstderr:\n${this.stderr}`;
  }
}

/** A virgl_test_server whose render server is Vesper, every process under it tagged. */
class Chain {
  readonly tag = `${Deno.pid}-${Math.random().toString(36).slice(2)}`;
  vtest!: VtestServer;
  /** processes that live as long as the chain (after the warm-up client) */
  long = new Set<number>();
  baseFds = 0;
  problems: string[] = [];
  #clientSerial = 0;

  constructor(readonly mode: Mode, readonly serverEnv: Record<string, string> = {}) {}

  async start(): Promise<void> {
    this.vtest = await startVtest(
      root!,
      VESPER,
      {
        VESPER_WORKER: this.mode,
        VESPER_LOG_LEVEL: "info",
        [TAG_KEY]: this.tag,
        ...this.serverEnv,
      },
      ["--multi-clients"],
    );
  }

  tagged(): Proc[] {
    return processesWithEnv(TAG_KEY, this.tag);
  }

  /** Render servers and workers of the clients (everything tagged that is not long-lived). */
  clientProcs(): Proc[] {
    return this.tagged().filter((p) => !this.long.has(p.pid));
  }

  client(argv: string[], env: Record<string, string> = {}, timeoutS = 120): Client {
    return new Client(argv, {
      ...env,
      ...venusClientEnv(this.vtest),
      VESPER_ROBUST_CLIENT: `${this.tag}-${this.#clientSerial++}`,
    }, timeoutS);
  }

  /** Runs a program to its end; asserts exit 0. */
  async run(argv: string[], timeoutS = 120): Promise<Client> {
    const c = this.client(argv, {}, timeoutS);
    const st = await c.done;
    assert(
      st.code === 0,
      `${argv.join(" ")} exited with ${st.code}\n${c.describe()}\n--- server log:\n${
        this.log().split("\n").slice(-60).join("\n")
      }`,
    );
    return c;
  }

  /** After the warm-up client: what is tagged now lives long (only virgl_test_server). */
  async settleFirst(): Promise<void> {
    assert(
      await waitFor(() => this.tagged().length <= 1, LEFTOVER_MS),
      `after the warm-up: ${this.tagged().map((p) => p.cmdline).join("; ")}`,
    );
    this.long = new Set(this.tagged().map((p) => p.pid));
    assert(this.long.has(this.vtest.child.pid), "virgl_test_server not found by its tag");
    this.baseFds = fdCount(this.vtest.child.pid);
  }

  /** Checks that the clients left nothing behind (records problems). */
  async settle(after: string): Promise<void> {
    if (!await waitFor(() => this.clientProcs().length === 0, LEFTOVER_MS)) {
      this.problems.push(
        `${after}: left behind: ${
          this.clientProcs().map((p) => `${p.pid} ${p.comm} ${p.cmdline}`).join("; ")
        }`,
      );
    }
    const pid = this.vtest.child.pid;
    if (!isAlive(pid)) {
      this.problems.push(`${after}: virgl_test_server died`);
      return;
    }
    // fds of a client's connection may take a moment to close
    await waitFor(() => fdCount(pid) === this.baseFds, 2000);
    const n = fdCount(pid);
    if (n !== this.baseFds) {
      this.problems.push(`${after}: virgl_test_server has ${n} fds, ${this.baseFds} before`);
    }
    const m = memfds(pid);
    if (m.length) this.problems.push(`${after}: virgl_test_server holds memfds: ${m.join(", ")}`);
  }

  log(): string {
    return this.vtest.log();
  }

  async stop(): Promise<void> {
    for (const p of this.clientProcs()) L.kill(p.pid, L.SIGKILL);
    await this.vtest.stop();
  }

  finish(): void {
    const crash = this.log().split("\n").filter((l) => CRASH.test(l));
    if (crash.length) this.problems.push(`server log shows a crash:\n${crash.join("\n")}`);
    assert(this.problems.length === 0, `${this.problems.join("\n")}\n--- log ---\n${this.log()}`);
  }
}

async function withChain(
  mode: Mode,
  body: (chain: Chain) => Promise<void>,
  serverEnv: Record<string, string> = {},
): Promise<void> {
  await buildPrograms();
  const chain = new Chain(mode, serverEnv);
  await chain.start();
  try {
    await body(chain);
  } catch (e) {
    console.error(`--- ${mode} server log ---\n${chain.log()}`);
    throw e;
  } finally {
    await chain.stop();
  }
  chain.finish();
}

for (const mode of MODES) {
  Deno.test({
    name: `chain, ${mode}: a client SIGKILLed while submitting leaves nothing behind`,
    ignore: !root,
    async fn() {
      await withChain(mode, async (chain) => {
        await chain.run([`${BUILD}/submit_loop`, "50"]);
        await chain.settleFirst();
        for (let round = 1; round <= 3; round++) {
          const c = chain.client([`${BUILD}/submit_loop`, "0"]);
          assert(
            await c.waitLine(/^READY$/, 30000),
            `round ${round}: never READY\n${c.describe()}`,
          );
          // a little more work in flight, at a different point each round
          await sleep(50 * round + Math.floor(Math.random() * 50));
          const me = processesWithEnv("VESPER_ROBUST_CLIENT", `${chain.tag}-${round}`)
            .filter((p) => p.comm === "submit_loop");
          assertEquals(me.length, 1, `round ${round}: the client process`);
          const servers = chain.clientProcs();
          assert(servers.length >= 1, `round ${round}: no render server while the client runs`);
          L.kill(me[0].pid, L.SIGKILL);
          const st = await c.done;
          assertEquals(st.signal, "SIGKILL");
          await chain.settle(`kill ${round}`);
        }
        const next = await chain.run([`${BUILD}/submit_loop`, "200"]);
        assert(next.lines.includes("RESULT submit_loop iterations=200 ok"), next.describe());
        await chain.settle("the client after the kills");
      });
    },
  });

  Deno.test({
    name: `chain, ${mode}: objects, devices and instances created and destroyed in a loop`,
    ignore: !root,
    async fn() {
      await withChain(mode, async (chain) => {
        await chain.run([`${BUILD}/object_churn`, "1", "1", "1"]);
        await chain.settleFirst();
        const c = await chain.run([`${BUILD}/object_churn`, "16", "4", "3"]);
        assert(c.lines.includes("RESULT object_churn rounds=192 ok"), c.describe());
        await chain.settle("object_churn");
        // the server stayed quiet: no fatal context, no refusal
        const bad = chain.log().split("\n").filter((l) => /fatal:|ending context|ERROR/.test(l));
        assertEquals(bad, [], "server log");
      });
    },
  });

  Deno.test({
    name: `chain, ${mode}: a guest asking for far more memory than the host has`,
    ignore: !root,
    async fn() {
      await withChain(mode, async (chain) => {
        await chain.run([`${BUILD}/submit_loop`, "10"]);
        await chain.settleFirst();
        // synchronous allocations (VN_PERF=no_async_mem_alloc): the guest sees the refusals
        const c = chain.client([`${BUILD}/oom`, "--pause"], { VN_PERF: "no_async_mem_alloc" });
        const freed = await c.waitLine(/^FREED$/, 120000);
        assert(freed, `oom did not get to FREED\n${c.describe()}`);
        const huge = c.lines.find((l) => l.startsWith("INFO 1TiB="));
        assert(/OUT_OF_(HOST|DEVICE)_MEMORY/.test(huge ?? ""), `1 TiB: ${huge}`);
        const chunks = c.lines.find((l) => l.startsWith("INFO chunks="));
        assert(/stop=VK_ERROR_OUT_OF_(HOST|DEVICE)_MEMORY/.test(chunks ?? ""), `chunks: ${chunks}`);
        // the render server (and its worker) hold none of the freed memory
        const procs = chain.clientProcs();
        assert(procs.length >= 1, "no render server");
        const held = procs.flatMap((p) => memfds(p.pid).filter((m) => m.includes("vesper-memory")));
        assertEquals(held, [], "vesper-memory memfds after vkFreeMemory");
        await c.writeLine("go");
        const st = await c.done;
        assertEquals(st.code, 0, c.describe());
        assert(c.lines.some((l) => l.startsWith("RESULT oom huge=refused")), c.describe());
        assert(chain.log().includes("refused: context limit"), "the refusal is logged");
        await chain.settle("oom");
        // and the next client works
        await chain.run([`${BUILD}/submit_loop`, "20"]);
        await chain.settle("the client after oom");
      });
    },
  });

  Deno.test({
    name: `chain, ${mode}: a refused asynchronous allocation costs only that context`,
    ignore: !root,
    async fn() {
      await withChain(mode, async (chain) => {
        await chain.run([`${BUILD}/submit_loop`, "10"]);
        await chain.settleFirst();
        // Mesa's default: vkAllocateMemory is asynchronous and returns VK_SUCCESS; the
        // host refuses, and the guest's later vkFreeMemory names an id that never
        // existed — fatal for the context (as a lookup of an unknown id is in vkr)
        const c = chain.client([`${BUILD}/oom`]);
        const fatal = () => /fatal: vkFreeMemory .*unknown object id/.test(chain.log());
        const ended = await waitFor(
          () => fatal() || c.lines.some((l) => l.startsWith("RESULT")),
          60000,
        );
        assert(ended, `neither fatal nor done\n${c.describe()}\n${chain.log()}`);
        // the guest's vkFreeMemory is asynchronous too: the program may print its
        // RESULT before the worker has decoded it
        assert(
          await waitFor(fatal, 10000),
          `the context did not end with a fatal vkFreeMemory\n${c.describe()}\n${chain.log()}`,
        );
        assert(chain.log().includes("refused: context limit"), "the refusal is logged");
        // Mesa waits forever on a context that is gone, or aborts
        await sleep(1000);
        try {
          c.child.kill("SIGTERM"); // timeout(1) KILLs the program
        } catch { /* already gone */ }
        await c.done;
        await chain.settle("async oom");
        await chain.run([`${BUILD}/submit_loop`, "20"]);
        await chain.settle("the client after async oom");
      });
    },
  });
}

Deno.test({
  name: "oracle: the oom program directly on lavapipe",
  ignore: !root,
  async fn() {
    await buildPrograms();
    const c = new Client([`${BUILD}/oom`], { VK_ICD_FILENAMES: LVP_ICD });
    const st = await c.done;
    assertEquals(st.code, 0, c.describe());
    // lavapipe allocates lazily and enforces no limit: it grants even 1 TiB
    console.log(c.lines.filter((l) => /^(INFO|RESULT)/.test(l)).join("\n"));
  },
});

// ---------------------------------------------------------------------------
// Protocol level: a test client acting as proxy and guest

const API_VERSION = (1 << 22) | (3 << 12) | 269;

/** One context as the guest drives it: a reply buffer (an SHM blob of the context). */
class Guest {
  readonly reply: Mapping;
  readonly replyFd: OwnedFd;
  #seqno = 0;

  /** CREATE_CONTEXT + INIT + the reply resource. */
  static open(c: RenderClient, ctxId: number, name: string, replyRes = 1, replySize = 65536) {
    const ctx = c.createContext(ctxId, name);
    assert(ctx, `CREATE_CONTEXT ${ctxId} refused`);
    ctx.init();
    return new Guest(ctx, replyRes, replySize);
  }

  constructor(
    readonly ctx: ContextClient,
    readonly replyRes = 1,
    readonly replySize = 65536,
  ) {
    const r = ctx.createResource({
      resId: replyRes,
      blobId: 0n,
      blobSize: BigInt(replySize),
      blobFlags: P.BLOB_FLAG_USE_MAPPABLE,
    });
    assertEquals(r.fdType, FD_TYPE_SHM);
    this.replyFd = r.fd!;
    this.reply = Mapping.map(this.replyFd.fd, replySize);
  }

  setReply(offset = 0, size = this.replySize - offset): Uint8Array {
    return encode("vkSetReplyCommandStreamMESA", {
      pStream: { resourceId: this.replyRes, offset, size },
    });
  }

  submit(...cmds: Uint8Array[]): boolean {
    const len = cmds.reduce((n, c) => n + c.length, 0);
    const s = new Uint8Array(len);
    let o = 0;
    for (const c of cmds) s.set(c, o), o += c.length;
    return this.ctx.submitCmd(s);
  }

  /** A fence round trip: true when the worker handled everything before it. */
  sync(): Promise<boolean> {
    return this.ctx.roundTrip(++this.#seqno);
  }

  /** Replies from `offset`, decoded in order. */
  replies(names: string[], offset = 0): Record<string, unknown>[] {
    const r = new VenusReader(null);
    r.reset(this.reply.bytes, offset);
    return names.map((n) => {
      const out = REPLY_DECODERS[n](r);
      if (r.bad) throw new Error(`reply ${n}: ${r.error}`);
      return out;
    });
  }

  /** vkEnumerateInstanceVersion round trip (no Vulkan needed): the context works. */
  async alive(): Promise<boolean> {
    this.reply.bytes.fill(0, 0, 64);
    if (
      !this.submit(
        this.setReply(),
        encode("vkEnumerateInstanceVersion", { pApiVersion: { value: 0 } }, 1),
      )
    ) return false;
    if (!await this.sync()) return false;
    const [v] = this.replies(["vkEnumerateInstanceVersion"]);
    return (v.pApiVersion as { value: number }).value === API_VERSION;
  }

  close(): void {
    this.reply.unmap();
    this.replyFd.close();
    this.ctx.close();
  }
}

/** What a server holds: fds, memfd fds and mappings, workers (its children). */
function footprint(c: RenderClient) {
  return {
    fds: fdCount(c.pid),
    memfds: memfds(c.pid).length,
    memfdMaps: memfdMappings(c.pid),
    workers: c.workers().length,
  };
}

/** The server's fds by kind of target ("anon_inode:[eventfd]", "socket", "/dev/null", …). */
function fdKinds(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const target of fdTargets(pid)) {
    const t = target.startsWith("/memfd:") ? "memfd" : target.replace(/:\[\d+\]$/, "");
    out.set(t, (out.get(t) ?? 0) + 1);
  }
  return out;
}

/**
 * Deno's residue of an ended Worker (thread mode): each Worker runtime opens
 * an eventfd and a duplicated epoll fd that its thread does not close on
 * exit; whichever runtime started last is referenced process-wide until the
 * next Worker starts (reproduced with a 30-line Deno program, no Vesper
 * code; Deno 2.9.6). So after a context ends, the server can hold exactly
 * one extra eventfd + eventpoll pair — bounded, never growing. True when
 * `now` differs from `before` by exactly that.
 */
function denoWorkerResidue(before: Map<string, number>, now: Map<string, number>): boolean {
  const keys = new Set([...before.keys(), ...now.keys()]);
  for (const k of keys) {
    const d = (now.get(k) ?? 0) - (before.get(k) ?? 0);
    const residue = k === "anon_inode:[eventfd]" || k === "anon_inode:[eventpoll]" ? 1 : 0;
    if (d !== residue) return false;
  }
  return true;
}

async function withServer(
  spec: ServerSpec,
  body: (c: RenderClient) => Promise<void>,
): Promise<void> {
  const c = RenderClient.start(spec);
  try {
    c.init();
    await body(c);
    assert((await c.close()) !== null, "server did not exit");
    const crash = c.log().split("\n").filter((l) => CRASH.test(l));
    assertEquals(crash, [], "server log shows a crash");
  } catch (e) {
    console.error(`--- ${spec.name} log ---\n${c.log()}`);
    throw e;
  } finally {
    await c.kill();
  }
}

/** Waits until the server holds what it held at `base` again (after contexts went). */
async function backTo(
  c: RenderClient,
  base: ReturnType<typeof footprint>,
  what: string,
  baseKinds?: Map<string, number>,
) {
  const same = () => {
    const f = footprint(c);
    return f.fds === base.fds && f.memfds === base.memfds && f.memfdMaps === base.memfdMaps &&
      f.workers === base.workers;
  };
  await waitFor(same, 5000);
  const f = footprint(c);
  if (baseKinds && f.fds === base.fds + 2 && denoWorkerResidue(baseKinds, fdKinds(c.pid))) {
    console.warn(`${what}: +1 eventfd +1 eventpoll: Deno's residue of the last ended Worker`);
    assertEquals({ ...f, fds: base.fds }, base, `${what}: the server's footprint`);
    return;
  }
  assertEquals(f, base, `${what}: the server's footprint`);
}

for (const mode of MODES) {
  Deno.test(`${mode}: a guest that never reads its replies loses only its own context`, async () => {
    await withServer(vesperSpec(mode, "info"), async (c) => {
      const good = Guest.open(c, 1, "good");
      assert(await good.alive(), "the good context works");
      // the footprint with one context running and the spare worker the server starts
      // a while after a context was created (settled: loaded by then)
      await settled(c);
      const base = footprint(c);
      const baseKinds = mode === "thread" ? fdKinds(c.pid) : undefined;

      // A: a 4 KiB reply stream, replies requested, never a seek back
      const ga = Guest.open(c, 2, "full", 1, 4096);
      const a = ga.ctx;
      const req = encode("vkEnumerateInstanceVersion", { pApiVersion: { value: 0 } }, 1);
      assert(ga.submit(ga.setReply()));
      for (let i = 0; i < 300 && ga.submit(req); i++) { /* ~204 fit */ }
      assert(await a.waitClosed(), "the full context is still served");
      assert(c.log().includes("reply overflows the reply resource"), "overflow logged");

      // B: replies requested without a reply stream
      const b = c.createContext(3, "noreply")!;
      b.init();
      b.submitCmd(req);
      assert(await b.waitClosed(), "the context without a reply stream is still served");
      assert(c.log().includes("reply requested without a reply stream"), "no stream logged");

      // C: the reply resource destroyed under the reply stream
      const gc = Guest.open(c, 4, "gone", 7, 4096);
      const cc = gc.ctx;
      assert(gc.submit(gc.setReply()));
      assert(await gc.sync());
      cc.destroyResource(7);
      gc.submit(req);
      assert(await cc.waitClosed(), "the context whose reply resource went is still served");

      // D: a proxy that never reads its CREATE_RESOURCE replies: the worker blocks in
      // sendmsg once our receive queue is full, then stops reading; we stop before we block
      const d = c.createContext(5, "deaf")!;
      d.init();
      let sent = 0, stalled = false;
      while (sent < 20000) {
        const pfd: L.PollFd[] = [{ fd: d.fd, events: L.POLLOUT }];
        if (L.poll(pfd, 0) === 0 || !(pfd[0].revents! & L.POLLOUT)) {
          await sleep(200);
          if (L.poll(pfd, 0) === 0 || !(pfd[0].revents! & L.POLLOUT)) {
            stalled = true;
            break;
          }
        }
        d.send(P.encodeCreateResource({
          resId: 100 + sent,
          blobId: 0n,
          blobSize: 4096n,
          blobFlags: P.BLOB_FLAG_USE_MAPPABLE,
        }));
        sent++;
      }
      assert(stalled, `the deaf context's worker kept reading (${sent} requests)`);
      // meanwhile the good context is served as ever
      assert(await good.alive(), "the good context stalled");
      // the proxy destroys the context: its worker must go although it is stuck in sendmsg
      c.destroyContext(5);
      assert(await good.alive(), "the good context after DESTROY_CONTEXT");
      d.close();

      for (const x of [ga, gc]) x.close();
      b.close();
      for (const id of [2, 3, 4]) c.destroyContext(id);
      await backTo(c, base, "after the bad contexts", baseKinds);
      assert(await good.alive(), "the good context at the end");
      good.close();
      const noStream = c.log().split("\n").filter((l) =>
        /ctx 4: fatal: .*reply requested without a reply stream/.test(l)
      );
      assertEquals(noStream.length, 1, "the reply resource destroyed under the stream is logged");
    });
  });
}

// ---------------------------------------------------------------------------
// Object ids with real Vulkan: Vesper runs inside the chroot (lavapipe is there)

function chrootSpec(mode: Mode): ServerSpec {
  return {
    name: `vesper-chroot-${mode}`,
    argv: inChroot(root!, [VESPER, `--worker=${mode}`, "--log-level=info"], {
      VK_ICD_FILENAMES: LVP_ICD,
    }),
  };
}

const VK_STRUCTURE_TYPE_DEVICE_QUEUE_TIMELINE_INFO_MESA = 1000384005;

/** vkCreateInstance (id 1), physical device (id 2), device `dev` with one queue. */
function deviceSetup(dev: number): Uint8Array[] {
  return [
    encode("vkCreateInstance", {
      pCreateInfo: {
        flags: 0,
        pApplicationInfo: null,
        enabledLayerCount: 0,
        enabledExtensionCount: 0,
      },
      pAllocator: null,
      pInstance: 1,
    }, 1),
    encode("vkEnumeratePhysicalDevices", {
      instance: 1,
      pPhysicalDeviceCount: { value: 1 },
      pPhysicalDevices: [2],
    }, 1),
    createDevice(dev),
  ];
}

function createDevice(dev: number): Uint8Array {
  return encode("vkCreateDevice", {
    physicalDevice: 2,
    pCreateInfo: {
      flags: 0,
      queueCreateInfoCount: 1,
      pQueueCreateInfos: [{
        flags: 0,
        queueFamilyIndex: 0,
        queueCount: 1,
        pQueuePriorities: [1],
      }],
      enabledLayerCount: 0,
      enabledExtensionCount: 0,
      pEnabledFeatures: null,
    },
    pAllocator: null,
    pDevice: dev,
  }, 1);
}

/** vkGetDeviceQueue2 bound to virtio-gpu ring `ringIdx` (what Mesa does for each queue). */
function getQueue(dev: number, queue: number, ringIdx: number): Uint8Array {
  return encode("vkGetDeviceQueue2", {
    device: dev,
    pQueueInfo: {
      flags: 0,
      queueFamilyIndex: 0,
      queueIndex: 0,
      pNext: { sType: VK_STRUCTURE_TYPE_DEVICE_QUEUE_TIMELINE_INFO_MESA, ringIdx, pNext: null },
    },
    pQueue: queue,
  });
}

const createFence = (dev: number, id: number) =>
  encode(
    "vkCreateFence",
    { device: dev, pCreateInfo: { flags: 0 }, pAllocator: null, pFence: id },
    1,
  );
const destroyFence = (dev: number, id: number) =>
  encode("vkDestroyFence", { device: dev, fence: id, pAllocator: null });
const createSemaphore = (dev: number, id: number) =>
  encode("vkCreateSemaphore", {
    device: dev,
    pCreateInfo: { flags: 0 },
    pAllocator: null,
    pSemaphore: id,
  }, 1);

for (const mode of MODES) {
  Deno.test({
    name:
      `${mode}, real Vulkan: ids reused after destroy work; a live id created again ends only its context`,
    ignore: !root,
    async fn() {
      await withServer(chrootSpec(mode), async (c) => {
        const g = Guest.open(c, 1, "reuse");
        assert(g.submit(g.setReply(), ...deviceSetup(3), getQueue(3, 4, 1)));
        assert(await g.sync(), "set-up");
        const setup = g.replies([
          "vkCreateInstance",
          "vkEnumeratePhysicalDevices",
          "vkCreateDevice",
        ]);
        assertEquals(setup.map((r) => r.ret), [0, 0, 0], "instance, physical device, device");
        // the same id again and again, for one type and then for another
        assert(g.submit(
          g.setReply(),
          createFence(3, 100),
          destroyFence(3, 100),
          createFence(3, 100),
          destroyFence(3, 100),
          createSemaphore(3, 100),
          encode("vkDestroySemaphore", { device: 3, semaphore: 100, pAllocator: null }),
          createFence(3, 100),
        ));
        assert(await g.sync(), "the context ended on a reused id");
        const r = g.replies([
          "vkCreateFence",
          "vkCreateFence",
          "vkCreateSemaphore",
          "vkCreateFence",
        ]);
        assertEquals(r.map((x) => x.ret), [0, 0, 0, 0], "creations with a reused id");
        // the device (and its queue ids, and its ring binding) reused: Mesa binds ring 1 again
        assert(g.submit(
          g.setReply(),
          encode("vkDestroyDevice", { device: 3, pAllocator: null }),
          createDevice(3),
          getQueue(3, 4, 1),
          createFence(3, 100),
        ));
        assert(await g.sync(), "the context ended on a reused device id");
        assertEquals(g.replies(["vkCreateDevice", "vkCreateFence"]).map((x) => x.ret), [0, 0]);

        // another context on the same server
        const other = Guest.open(c, 2, "other");
        assert(other.submit(other.setReply(), ...deviceSetup(3), createFence(3, 101)));
        assert(await other.sync());

        // a live id created again: fatal for that context only
        assert(g.submit(g.setReply(), createFence(3, 101), createFence(3, 101)));
        assert(await g.ctx.waitClosed(), "a live id created twice did not end the context");
        assert(/fatal: vkCreateFence .*101 \(already in use\)/.test(c.log()), "logged");
        // a live id of another type (the fence 101 of `other`) given to a semaphore: fatal too
        const third = Guest.open(c, 3, "third");
        assert(third.submit(third.setReply(), ...deviceSetup(3), createFence(3, 55)));
        assert(await third.sync());
        assert(third.submit(third.setReply(), createSemaphore(3, 55)));
        assert(
          await third.ctx.waitClosed(),
          "a semaphore on a live fence id did not end the context",
        );

        // the other context is untouched
        assert(other.submit(other.setReply(), destroyFence(3, 101), createFence(3, 101)));
        assert(await other.sync(), "the other context stalled");
        assertEquals(other.replies(["vkCreateFence"])[0].ret, 0);
        assert(await other.alive());
        for (const x of [g, other, third]) x.close();
      });
    },
  });
}
