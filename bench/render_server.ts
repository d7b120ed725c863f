/**
 * Render-server benchmark: Vesper (process and thread workers) next to the C
 * reference server (virglrenderer 1.1.0, in the trixie chroot), driven by
 * the same TypeScript client in the same run.
 *
 *   deno run -A bench/render_server.ts [--rounds N] [--idle MS]
 *   taskset -c 0 deno run -A bench/render_server.ts     (both sides on one CPU)
 *
 * Measures: exec → first reply (INIT, NOP, CREATE_CONTEXT answered);
 * CREATE_CONTEXT → context ready (reply, context INIT, first CPU fence
 * visible); SUBMIT_FENCE → seqno visible in shmem (client spins on the
 * shmem); RSS of the server and of one worker (before any Vulkan is loaded).
 */
import { parseArgs } from "node:util";
import { C_SERVER, ensureChroot, inChroot, LVP_ICD } from "../src/harness/chroot.ts";
import { RenderClient, type ServerSpec, vesperSpec } from "../tests/support/render_client.ts";

const { values } = parseArgs({
  options: { rounds: { type: "string", default: "20" }, idle: { type: "string", default: "300" } },
});
const ROUNDS = Number(values.rounds);
const IDLE_MS = Number(values.idle);

function rssKiB(pid: number): number {
  const m = Deno.readTextFileSync(`/proc/${pid}/status`).match(/VmRSS:\s+(\d+) kB/);
  return m ? Number(m[1]) : NaN;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];

interface Result {
  name: string;
  startMs: number[];
  ctxReadyMs: number[];
  fenceUs: number[];
  serverRssMiB: number;
  workerRssMiB: number;
}

async function measure(spec: ServerSpec, threadMode: boolean): Promise<Result> {
  const r: Result = {
    name: spec.name,
    startMs: [],
    ctxReadyMs: [],
    fenceUs: [],
    serverRssMiB: NaN,
    workerRssMiB: NaN,
  };
  for (let round = 0; round < Math.max(3, Math.floor(ROUNDS / 4)); round++) {
    const t0 = performance.now();
    const c = RenderClient.start(spec);
    c.init();
    c.nop();
    const ctx = c.createContext(1)!;
    r.startMs.push(performance.now() - t0);
    ctx.close();
    await c.close();
    await c.kill();
  }
  const c = RenderClient.start(spec);
  try {
    c.init();
    let id = 1;
    for (let round = 0; round < ROUNDS; round++) {
      // a guest creates contexts now and then, not back to back: let the
      // server settle (Vesper starts its next spare worker meanwhile)
      await new Promise((r) => setTimeout(r, IDLE_MS));
      const t0 = performance.now();
      const ctx = c.createContext(id)!;
      ctx.init();
      if (!(await ctx.roundTrip(1))) throw new Error("context never became ready");
      r.ctxReadyMs.push(performance.now() - t0);
      if (round < ROUNDS - 1) {
        ctx.close();
        c.destroyContext(id);
        id++;
        continue;
      }
      // fence latency on the last context: spin on the shmem, no eventfd wait
      await new Promise((r) => setTimeout(r, IDLE_MS));
      for (let i = 2; i < 2 + 50 * ROUNDS; i++) {
        const t = performance.now();
        ctx.submitFence(0, i);
        while (ctx.seqno(0) !== i) { /* spin */ }
        r.fenceUs.push((performance.now() - t) * 1000);
      }
      r.serverRssMiB = rssKiB(c.pid) / 1024;
      const workers = c.workers();
      r.workerRssMiB = threadMode ? NaN : workers.length ? rssKiB(workers[0]) / 1024 : NaN;
      ctx.close();
    }
  } finally {
    await c.close();
    await c.kill();
  }
  return r;
}

const specs: [ServerSpec, boolean][] = [[vesperSpec("process", "warn", null), false], [
  vesperSpec("thread", "warn", null),
  true,
]];
const root = await ensureChroot();
if (root) {
  specs.push([{
    name: "c-reference",
    argv: inChroot(root, [C_SERVER], { VK_ICD_FILENAMES: LVP_ICD }),
  }, false]);
}
const results: Result[] = [];
for (const [spec, thread] of specs) results.push(await measure(spec, thread));

const f = (x: number, d = 2) => Number.isNaN(x) ? "  -" : x.toFixed(d);
console.log(
  `render server benchmark (${ROUNDS} rounds, ${IDLE_MS} ms idle between contexts; CPU affinity: ${
    Deno.readTextFileSync("/proc/self/status").match(/Cpus_allowed_list:\s+(\S+)/)?.[1]
  })`,
);
console.log(
  "server         exec→1st reply ms  ctx ready ms (med/p90)  fence µs (med/p99)  server RSS MiB  worker RSS MiB",
);
const c = results.find((x) => x.name === "c-reference");
for (const x of results) {
  console.log(
    `${x.name.padEnd(14)} ${f(median(x.startMs)).padStart(17)}  ${
      `${f(median(x.ctxReadyMs))}/${f(pct(x.ctxReadyMs, 0.9))}`.padStart(22)
    }  ${`${f(median(x.fenceUs), 1)}/${f(pct(x.fenceUs, 0.99), 1)}`.padStart(18)}  ${
      f(x.serverRssMiB, 1).padStart(14)
    }  ${f(x.workerRssMiB, 1).padStart(14)}`,
  );
}
if (c) {
  console.log("\nratio Vesper / C (lower is better):");
  for (const x of results.filter((x) => x !== c)) {
    console.log(
      `  ${x.name}: exec ${f(median(x.startMs) / median(c.startMs))}×, ctx ready ${
        f(median(x.ctxReadyMs) / median(c.ctxReadyMs))
      }×, fence ${f(median(x.fenceUs) / median(c.fenceUs))}×, server RSS ${
        f(x.serverRssMiB / c.serverRssMiB)
      }×`,
    );
  }
}
