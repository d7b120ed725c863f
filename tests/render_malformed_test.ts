/**
 * Bad input on both sockets, one case at a time: each gives one clear log
 * line; at worst the guilty context ends; the server and a bystander context
 * keep working; nothing leaks (fds, mappings, processes), measured at the end.
 */
import { assert, assertEquals } from "./support/assert.ts";
import {
  type ContextClient,
  fdCount,
  fdTargets,
  memfdMappings,
  RenderClient,
  settled,
  vesperSpec,
  waitFor,
} from "./support/render_client.ts";
import * as L from "../ffi/libc.ts";
import { OwnedFd } from "../ffi/fd.ts";
import * as P from "../src/render/protocol.ts";

type Fatal = { fatal: true; log: RegExp } | {
  fatal: false;
  log: RegExp;
  check?: (ctx: ContextClient) => void;
};

interface Case {
  name: string;
  /** send the bad input on an initialized context (or a fresh one when `raw`) */
  act: (ctx: ContextClient) => void;
  raw?: boolean;
  expect: Fatal;
}

function msgOf(size: number, op: number, fill?: (v: DataView) => void): Uint8Array {
  const b = new Uint8Array(size);
  const v = new DataView(b.buffer);
  if (size >= 4) v.setUint32(0, op, true);
  fill?.(v);
  return b;
}

const memfd = (size: number, flags = L.MFD_CLOEXEC | L.MFD_ALLOW_SEALING) => {
  const fd = new OwnedFd(L.memfdCreate("bad", flags));
  L.ftruncate(fd.fd, size);
  return fd;
};
const efd = () => new OwnedFd(L.eventfd(0, L.EFD_CLOEXEC));

function withFds(ctx: ContextClient, msg: Uint8Array, fds: OwnedFd[]) {
  ctx.send(msg, fds.map((f) => f.fd));
  fds.forEach((f) => f.close());
}

const initMsg = (size = 256) => P.encodeContextInit(P.VIRGL_RENDERER_CAPSET_VENUS, size);

const CASES: Case[] = [
  {
    name: "truncated message",
    act: (c) => c.send(new Uint8Array(2)),
    expect: { fatal: true, log: /message of 2 bytes/ },
  },
  {
    name: "oversized message",
    act: (c) => c.send(msgOf(300, P.ContextOp.SUBMIT_CMD)),
    expect: { fatal: true, log: /SUBMIT_CMD: size 300, expected 264/ },
  },
  {
    name: "wrong size for the op",
    act: (c) => c.send(msgOf(12, P.ContextOp.SUBMIT_FENCE)),
    expect: { fatal: true, log: /SUBMIT_FENCE: size 12, expected 16/ },
  },
  {
    name: "unknown op",
    act: (c) => c.send(msgOf(4, 99)),
    expect: { fatal: true, log: /op 99: unknown op/ },
  },
  {
    name: "missing fds (INIT without shmem)",
    raw: true,
    act: (c) => c.send(initMsg()),
    expect: { fatal: true, log: /INIT: 0 fds, expected 1\.\.2/ },
  },
  {
    name: "extra fd on NOP",
    act: (c) => withFds(c, msgOf(4, P.ContextOp.NOP), [efd()]),
    expect: { fatal: true, log: /NOP: 1 fds, expected 0\.\.0/ },
  },
  {
    name: "more fds than a message may carry",
    act: (c) => withFds(c, msgOf(4, P.ContextOp.NOP), Array.from({ length: 9 }, efd)),
    expect: { fatal: true, log: /more fds than a message may carry/ },
  },
  {
    name: "shmem fd of the wrong type",
    raw: true,
    act: (c) => withFds(c, initMsg(), [efd()]),
    expect: { fatal: true, log: /shmem fd: not a sealable memfd/ },
  },
  {
    name: "shmem memfd that cannot be sealed",
    raw: true,
    act: (c) => withFds(c, initMsg(), [memfd(256, L.MFD_CLOEXEC)]),
    expect: { fatal: true, log: /cannot seal it against shrinking/ },
  },
  {
    name: "eventfd slot holding a memfd",
    raw: true,
    act: (c) => withFds(c, initMsg(), [memfd(256), memfd(256)]),
    expect: { fatal: true, log: /second fd is not an eventfd/ },
  },
  {
    name: "shmem smaller than announced",
    raw: true,
    act: (c) => withFds(c, initMsg(4096), [memfd(256)]),
    expect: { fatal: true, log: /shmem fd is smaller than 4096 bytes/ },
  },
  {
    name: "absurd shmem size",
    raw: true,
    act: (c) => withFds(c, initMsg(2 ** 40), [memfd(256)]),
    expect: { fatal: true, log: /shmem size 1099511627776/ },
  },
  {
    name: "wrong capset",
    raw: true,
    act: (c) => withFds(c, P.encodeContextInit(1, 256), [memfd(256)]),
    expect: { fatal: true, log: /flags 0x1 are not the Venus capset/ },
  },
  {
    name: "op before INIT",
    raw: true,
    act: (c) => c.submitFence(0, 1),
    expect: { fatal: true, log: /SUBMIT_FENCE: context not initialized/ },
  },
  {
    name: "second INIT",
    act: (c) => withFds(c, initMsg(), [memfd(256)]),
    expect: { fatal: true, log: /INIT: second INIT/ },
  },
  {
    name: "duplicate res_id on CREATE_RESOURCE",
    act: (c) => {
      c.createResource({ resId: 5, blobId: 0n, blobSize: 4096n, blobFlags: 1 }).fd?.close();
      const r = c.createResource({ resId: 5, blobId: 0n, blobSize: 4096n, blobFlags: 1 });
      assertEquals([r.fdType, r.fd], [-1, null]);
    },
    expect: { fatal: false, log: /CREATE_RESOURCE res 5: res_id 5 already exists/ },
  },
  {
    name: "absurd blob size",
    act: (c) => {
      const r = c.createResource({ resId: 6, blobId: 0n, blobSize: 2n ** 62n, blobFlags: 1 });
      assertEquals([r.fdType, r.fd], [-1, null]);
    },
    expect: { fatal: false, log: /res 6: blob size 4611686018427387904 exceeds/ },
  },
  {
    name: "duplicate res_id on IMPORT_RESOURCE",
    act: (c) => {
      c.createResource({ resId: 7, blobId: 0n, blobSize: 4096n, blobFlags: 1 }).fd?.close();
      const m = memfd(4096);
      L.fcntl(m.fd, L.F_ADD_SEALS, L.F_SEAL_SHRINK);
      withFds(c, P.encodeImportResource({ resId: 7, fdType: 2, size: 4096n }), [m]);
    },
    expect: { fatal: true, log: /IMPORT_RESOURCE res 7: res_id 7 already exists/ },
  },
  {
    name: "IMPORT_RESOURCE of an SHM fd that is not a memfd",
    act: (c) => withFds(c, P.encodeImportResource({ resId: 8, fdType: 2, size: 4096n }), [efd()]),
    expect: { fatal: true, log: /IMPORT_RESOURCE res 8: shm fd: not a sealable memfd/ },
  },
  {
    name: "IMPORT_RESOURCE larger than its memfd",
    act: (c) =>
      withFds(c, P.encodeImportResource({ resId: 9, fdType: 2, size: 1n << 30n }), [memfd(4096)]),
    expect: { fatal: true, log: /IMPORT_RESOURCE res 9: shm fd is smaller than 1073741824 bytes/ },
  },
  {
    name: "IMPORT_RESOURCE with an unknown fd type",
    act: (c) =>
      withFds(c, P.encodeImportResource({ resId: 9, fdType: 7, size: 4096n }), [memfd(4096)]),
    expect: { fatal: true, log: /IMPORT_RESOURCE res 9: fd type 7 unknown/ },
  },
  {
    name: "IMPORT_RESOURCE without its fd",
    act: (c) => c.send(P.encodeImportResource({ resId: 9, fdType: 2, size: 4096n })),
    expect: { fatal: true, log: /IMPORT_RESOURCE: 0 fds, expected 1\.\.1/ },
  },
  {
    name: "DESTROY_RESOURCE of an unknown res_id",
    act: (c) => c.destroyResource(4242),
    expect: { fatal: false, log: /DESTROY_RESOURCE: unknown res 4242, ignored/ },
  },
  {
    name: "SUBMIT_CMD of an absurd size",
    act: (c) => c.send(msgOf(264, P.ContextOp.SUBMIT_CMD, (v) => v.setUint32(4, 0xffffffff, true))),
    expect: { fatal: true, log: /SUBMIT_CMD: size 4294967295 exceeds/ },
  },
  {
    name: "SUBMIT_CMD whose overflow message is shorter than announced",
    act: (c) => {
      c.send(msgOf(264, P.ContextOp.SUBMIT_CMD, (v) => v.setUint32(4, 1000, true)));
      c.send(new Uint8Array(100));
    },
    expect: { fatal: true, log: /overflow message of 100 bytes, header promised 744/ },
  },
  {
    name: "SUBMIT_CMD whose overflow message is longer than announced",
    act: (c) => {
      c.send(msgOf(264, P.ContextOp.SUBMIT_CMD, (v) => v.setUint32(4, 300, true)));
      c.send(new Uint8Array(5000));
    },
    expect: { fatal: true, log: /overflow message of 5000 bytes, header promised 44/ },
  },
  {
    name: "SUBMIT_CMD announcing an overflow that never comes (a normal op follows)",
    act: (c) => {
      c.send(msgOf(264, P.ContextOp.SUBMIT_CMD, (v) => v.setUint32(4, 1000, true)));
      c.submitFence(0, 9);
    },
    expect: { fatal: true, log: /overflow message of 16 bytes, header promised 744/ },
  },
  {
    name: "SUBMIT_FENCE on a ring index out of range",
    act: (c) => c.submitFence(64, 1),
    expect: { fatal: true, log: /SUBMIT_FENCE: ring index 64 >= 64/ },
  },
  {
    name: "SUBMIT_FENCE on a ring not bound to a queue",
    act: (c) => c.submitFence(5, 1),
    expect: { fatal: true, log: /ring 5 is not bound to a queue/ },
  },
];

for (const mode of ["process", "thread"] as const) {
  Deno.test(`vesper-${mode}: malformed context input`, async (t) => {
    const c = RenderClient.start(vesperSpec(mode, "debug"));
    let nextId = 1;
    let seq = 1;
    try {
      c.init();
      const bystander = c.createContext(nextId++)!;
      bystander.init();
      assert(await bystander.roundTrip(seq++));
      // Two passes: the first warms up whatever the runtime opens lazily (its
      // code cache, stdio handles); the second must not grow fds or mappings.
      let baseFds = 0;
      let baseMaps = 0;
      for (const pass of [1, 2]) {
        if (pass === 2) {
          await waitFor(() => c.workers().length <= (mode === "process" ? 2 : 0));
          await settled(c); // the spare worker finishes starting
          baseFds = fdCount(c.pid);
          baseMaps = memfdMappings(c.pid);
        }
        for (const k of CASES) {
          await t.step(`${k.name} (pass ${pass})`, async () => {
            const logBefore = c.log().length;
            const ctx = c.createContext(nextId++)!;
            assert(ctx, "CREATE_CONTEXT refused");
            if (!k.raw) {
              ctx.init();
              assert(await ctx.roundTrip(1));
            }
            k.act(ctx);
            if (k.expect.fatal) {
              assert(await ctx.waitClosed(), "the context survived");
            } else {
              assert(await ctx.roundTrip(2), "the context did not survive");
            }
            const newLog = c.log().slice(logBefore);
            assert(k.expect.log.test(newLog), `no log line ${k.expect.log} in:\n${newLog}`);
            const errors = newLog.split("\n").filter((l) =>
              / (ERROR|WARN) /.test(l) && !/worker \d+ \(ctx/.test(l)
            );
            assertEquals(errors.length, 1, `expected one log line, got:\n${errors.join("\n")}`);
            assert(await bystander.roundTrip(seq++), "the bystander context was harmed");
            ctx.close();
            c.destroyContext(ctx.ctxId);
          });
        }
      }
      assert(
        await waitFor(() => c.workers().length <= (mode === "process" ? 2 : 0)),
        "workers left",
      );
      assert(
        await waitFor(() => fdCount(c.pid) <= baseFds),
        `fds: ${fdCount(c.pid)} > ${baseFds}: ${fdTargets(c.pid).join(", ")}`,
      );
      assert(await waitFor(() => memfdMappings(c.pid) <= baseMaps), "mappings leaked");
      bystander.close();
      assert(await c.close() !== null, "server did not exit");
      assert(await waitFor(() => c.workers().length === 0));
    } catch (e) {
      console.error(c.log());
      throw e;
    } finally {
      await c.kill();
    }
  });

  Deno.test(`vesper-${mode}: malformed client input is logged and dropped; the server goes on`, async () => {
    const c = RenderClient.start(vesperSpec(mode, "debug"));
    try {
      // CREATE_CONTEXT before INIT
      c.send(P.encodeCreateContext(1, "early"));
      assertEquals(c.readCreateReply().ok, false);
      c.init();
      const ok = c.createContext(1)!;
      ok.init();
      assert(await ok.roundTrip(1));
      const other = c.createContext(2)!;
      other.init();
      assert(await other.roundTrip(1));
      await settled(c);
      const baseFds = fdCount(c.pid);
      c.send(msgOf(4, 9)); // unknown op
      c.send(new Uint8Array(2)); // truncated
      c.send(msgOf(100, P.ClientOp.NOP)); // oversized
      const e = efd();
      c.send(P.encodeClientNop(), [e.fd, e.fd]); // fds on a client op
      e.close();
      c.send(msgOf(12, P.ClientOp.CREATE_CONTEXT)); // wrong size: answered ok=0
      assertEquals(c.readCreateReply().ok, false);
      assertEquals(c.createContext(1), null, "duplicate ctx_id accepted");
      assertEquals(c.createContext(0), null, "ctx_id 0 accepted");
      const log = c.log();
      for (
        const re of [
          /client op 9 unknown/,
          /client message of 2 bytes dropped/,
          /client NOP has 100 bytes, expected 4/,
          /client NOP carries fds/,
          /client CREATE_CONTEXT has 12 bytes, expected 40/,
          /CREATE_CONTEXT ctx 1 "ctx1": ctx_id already in use/,
          /ctx_id 0 is invalid/,
          /client INIT not received/,
        ]
      ) assert(re.test(log), `no log line ${re}`);
      assert(await ok.roundTrip(2), "the existing context was harmed");
      assert(await other.roundTrip(2));
      assert(
        await waitFor(() => fdCount(c.pid) <= baseFds),
        `fd leak: ${fdTargets(c.pid).join(", ")}`,
      );
      ok.close();
      other.close();
      assert(await c.close() !== null);
      assert(await waitFor(() => c.workers().length === 0));
    } catch (e) {
      console.error(c.log());
      throw e;
    } finally {
      await c.kill();
    }
  });
}
