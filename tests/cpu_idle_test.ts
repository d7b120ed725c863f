/**
 * The idle-CPU check that puts off spare workers (src/render/cpu_idle.ts):
 * /proc parsing, on fixed text and on this machine's own /proc.
 */
import { assert, assertEquals } from "./support/assert.ts";
import { allowedCpus, IdleMeter, idleTicks, USER_HZ } from "../src/render/cpu_idle.ts";

const STAT = `cpu  100 0 50 9000 30 0 5 0 0 0
cpu0 40 0 20 4000 10 0 2 0 0 0
cpu1 60 0 30 5000 20 0 3 0 0 0
cpu3 1 0 1 700 7 0 0 0 0 0
intr 12345 0 0
ctxt 999
`;

Deno.test("cpu_idle: Cpus_allowed_list ranges and lists", () => {
  const status = (v: string) => `Name:\tvesper\nCpus_allowed:\tff\nCpus_allowed_list:\t${v}\n`;
  assertEquals([...allowedCpus(status("0"))!], [0]);
  assertEquals([...allowedCpus(status("0-3,8,10-11"))!], [0, 1, 2, 3, 8, 10, 11]);
  assertEquals(allowedCpus("Name:\tx\n"), null, "no such line");
  assertEquals(allowedCpus(status("3-1")), null, "a range backwards");
  assertEquals(allowedCpus(status("0-x")), null, "not a number");
});

Deno.test("cpu_idle: idle + iowait ticks of the allowed CPUs only", () => {
  assertEquals(idleTicks(STAT, null), 4010 + 5020 + 707, "every cpuN line, not the total");
  assertEquals(idleTicks(STAT, new Set([1])), 5020);
  assertEquals(idleTicks(STAT, new Set([0, 3])), 4010 + 707);
  assertEquals(idleTicks(STAT, new Set([2])), null, "no line for that CPU");
  assertEquals(idleTicks("cpu0 1 2 3\n", null), null, "too few fields");
});

Deno.test("cpu_idle: IdleMeter turns ticks over a window into CPUs' worth", () => {
  let ticks = 1000, t = 0;
  const files: Record<string, () => string> = {
    "/proc/self/status": () => "Cpus_allowed_list:\t1\n",
    "/proc/stat": () => `cpu0 0 0 0 99999 0\ncpu1 0 0 0 ${ticks} 0\n`,
  };
  const m = new IdleMeter((p) => files[p]?.() ?? null, () => t);
  assertEquals(m.idleCpus(), Infinity, "no window yet");
  m.mark();
  ticks += USER_HZ / 2; // half a second of idle on CPU 1 ...
  t += 1000; // ... in one second (CPU 0 is not ours)
  assertEquals(m.idleCpus(), 0.5);
  m.mark();
  t += 200; // busy all along
  assertEquals(m.idleCpus(), 0);
  m.mark();
  t += 5; // shorter than a tick: cannot tell
  assertEquals(m.idleCpus(), Infinity);
  const blind = new IdleMeter(() => null, () => t);
  blind.mark();
  t += 1000;
  assertEquals(blind.idleCpus(), Infinity, "no /proc: never holds a spare back");
});

Deno.test("cpu_idle: this machine's /proc reads", async () => {
  const cpus = allowedCpus(Deno.readTextFileSync("/proc/self/status"));
  assert(cpus && cpus.size >= 1, "no Cpus_allowed_list");
  assert((idleTicks(Deno.readTextFileSync("/proc/stat"), cpus) ?? -1) >= 0, "no idle ticks");
  const m = new IdleMeter();
  m.mark();
  await new Promise((r) => setTimeout(r, 100));
  const idle = m.idleCpus();
  assert(idle >= 0 && idle <= cpus.size + 0.5, `idle ${idle} of ${cpus.size} CPUs`);
});
