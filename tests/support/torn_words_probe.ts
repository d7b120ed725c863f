/**
 * Probe for tests/shared_words_test.ts: do the words Vesper shares with a
 * guest (a Venus ring's head and tail, a virtqueue's avail.idx) ever read or
 * write torn while the other side changes them?
 *
 *   deno run --v8-flags=--max-opt=0 -A tests/support/torn_words_probe.ts [ms]
 *
 * One memfd page is mapped twice: here and in a Worker of this process,
 * which plays the guest. For each word, one side flips it between two values
 * that differ in every byte (or, for avail.idx, in both) while the other
 * side reads it, for `ms` milliseconds; a value that is neither is torn.
 * Each production accessor is measured beside a DataView doing the same
 * access (the control: V8's unoptimized DataView moves a byte at a time, so
 * it shows whether this run could see tearing at all). `--max-opt=0` keeps
 * everything unoptimized, as a fresh worker's first commands are. Prints one
 * JSON object: { [case]: torn count }, plus reads per case.
 */
import { Mapping } from "../../ffi/mmap.ts";
import { OwnedFd } from "../../ffi/fd.ts";
import { dupCloexec, ftruncate, memfdCreate } from "../../ffi/libc.ts";
import { VenusRing } from "../../src/venus/ring.ts";
import type { VenusDecoder } from "../../src/venus/decoder.ts";
import { GuestMemory } from "../../src/gpu2d/guest_memory.ts";
import { RingError, SplitQueue } from "../../src/gpu2d/virtqueue.ts";

const PAGE = 4096;
/** ring words (byte offsets) and the two values each one flips between */
const HEAD = 0, TAIL = 4, STATUS = 8;
const A32 = 0x000000ff, B32 = 0xff00ff00;
/** the virtqueue: 4 entries; avail.idx flips between 0x00ff and 0x0100 with 0x00ff taken */
const QNUM = 4, DESC = 0x100, AVAIL = 0x200, USED = 0x300, UVA = 0x7f0000000000;
const A16 = 0x00ff, B16 = 0x0100;

const ms = Number(Deno.args[0] ?? 300);

/** The guest side, in a Worker: flips or watches one word until told to stop. */
const GUEST = `
  const { Mapping } = await import(${
  JSON.stringify(new URL("../../ffi/mmap.ts", import.meta.url).href)
});
  self.onmessage = (e) => {
    const { fd, job, flag } = e.data;
    const m = Mapping.map(fd, ${PAGE});
    const stop = new Int32Array(flag);
    const w32 = new Uint32Array(m.buffer), w16 = new Uint16Array(m.buffer);
    let k = 0, torn = 0, reads = 0;
    if (job === "flip-tail") {
      while (Atomics.load(stop, 0) === 0) Atomics.store(w32, ${
  TAIL >> 2
}, (k++ & 1) ? ${A32} : ${B32});
    } else if (job === "flip-avail") {
      while (Atomics.load(stop, 0) === 0) {
        Atomics.store(w16, ${(AVAIL + 2) >> 1}, (k++ & 1) ? ${A16} : ${B16});
      }
    } else { // watch-head
      while (Atomics.load(stop, 0) === 0) {
        const v = Atomics.load(w32, ${HEAD >> 2});
        reads++;
        if (v !== ${A32} && v !== ${B32} && v !== 0) torn++;
      }
    }
    m.unmap();
    self.postMessage({ torn, reads });
  };
`;

const fd = new OwnedFd(memfdCreate("vesper-torn-probe", 0));
ftruncate(fd.fd, PAGE);
const map = Mapping.map(fd.fd, PAGE);
const dv = map.view;
const ring = new VenusRing(
  1n,
  1,
  map.bytes,
  {
    head: HEAD,
    tail: TAIL,
    status: STATUS,
    buffer: 16,
    bufferSize: 16,
    extra: 32,
    extraSize: 0,
  },
  {} as VenusDecoder,
);
// the constructor hooks the head store into the decoder's after-command callback
const setHead = (ring.decoder as unknown as { afterCommand: (pos: number) => void }).afterCommand;

const mem = new GuestMemory();
// (GuestMemory maps its own copy of the fd and closes it)
mem.add({ gpa: 0, size: PAGE, uva: UVA, mmapOffset: 0 }, new OwnedFd(dupCloexec(fd.fd)));
const q = new SplitQueue(0, mem);
q.num = QNUM;
if (!q.setAddrs({ desc: UVA + DESC, avail: UVA + AVAIL, used: UVA + USED })) {
  throw new Error("probe queue not set up");
}

const guestUrl = URL.createObjectURL(new Blob([GUEST], { type: "text/javascript" }));

/** Runs `job` in the guest Worker while `local` runs here for `ms`; the guest's report. */
async function withGuest(
  job: string,
  local: () => void,
): Promise<{ torn: number; reads: number }> {
  const flag = new SharedArrayBuffer(4);
  const w = new Worker(guestUrl, { type: "module" });
  const done = new Promise<{ torn: number; reads: number }>((res) => {
    w.onmessage = (e) => res(e.data);
  });
  w.postMessage({ fd: fd.fd, job, flag });
  await new Promise((r) => setTimeout(r, 20)); // let it map and start
  const end = performance.now() + ms;
  while (performance.now() < end) for (let i = 0; i < 1000; i++) local();
  Atomics.store(new Int32Array(flag), 0, 1);
  const r = await done;
  w.terminate();
  return r;
}

const out: Record<string, number> = {};
/** Reads here while the guest runs `job`; `whole` says whether one read saw a whole value. */
async function readsBeside(name: string, job: string, whole: () => boolean): Promise<void> {
  let torn = 0, reads = 0;
  await withGuest(job, () => {
    reads++;
    if (!whole()) torn++;
  });
  out[name] = torn;
  out[`${name}_reads`] = reads;
}
const is32 = (v: number) => v === A32 || v === B32 || v === 0;
const is16 = (v: number) => v === A16 || v === B16 || v === 0;

// the tail, read by Vesper while the guest stores it
await readsBeside("ring_tail", "flip-tail", () => is32(ring.tail));
await readsBeside("control_tail", "flip-tail", () => is32(dv.getUint32(TAIL, true)));

// the head, stored by Vesper while the guest reads it
for (
  const [name, store] of [
    ["ring_head", (v: number) => setHead(v)],
    ["control_head", (v: number) => dv.setUint32(HEAD, v, true)],
  ] as const
) {
  let k = 0;
  const r = await withGuest("watch-head", () => store((k++ & 1) ? A32 : B32));
  out[name] = r.torn;
  out[`${name}_reads`] = r.reads;
}

// avail.idx, read by the queue while the guest stores it (0x00ff taken: 0 or 1 pending)
await readsBeside("queue_avail", "flip-avail", () => {
  q.lastAvail = A16;
  q.broken = false;
  try {
    const n = q.pending();
    return n === 0 || n === 1;
  } catch (e) {
    if (!(e instanceof RingError)) throw e;
    return false; // a jump beyond the queue size: marked corrupt
  }
});
await readsBeside("control_avail", "flip-avail", () => is16(dv.getUint16(AVAIL + 2, true)));

mem.clear();
map.unmap();
fd.close();
console.log(JSON.stringify(out));
