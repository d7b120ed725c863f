import { assert, assertEquals, assertThrows } from "./support/assert.ts";
import * as L from "../ffi/libc.ts";
import { OwnedFd } from "../ffi/fd.ts";
import { Mapping } from "../ffi/mmap.ts";
import { SeqpacketSocket } from "../ffi/socket.ts";
import { spawnWithFd } from "../ffi/spawn.ts";
import { LIBC_FAST } from "../ffi/libc_symbols.ts";

function countFds(): number {
  return L.openFds().length;
}

Deno.test("socketpair + sendmsg/recvmsg carry bytes and several fds with CLOEXEC", () => {
  const before = countFds();
  const [a, b] = SeqpacketSocket.pair();
  const e1 = new OwnedFd(L.eventfd(0, L.EFD_CLOEXEC));
  const e2 = new OwnedFd(L.memfdCreate("t", L.MFD_CLOEXEC));
  const e3 = new OwnedFd(L.eventfd(0, L.EFD_CLOEXEC));
  assert(a.send(new Uint8Array([1, 2, 3, 4, 5]), [e1.fd, e2.fd, e3.fd]));
  const buf = new Uint8Array(64);
  const r = b.recv(buf, 8)!;
  assertEquals(r.size, 5);
  assertEquals([...buf.subarray(0, 5)], [1, 2, 3, 4, 5]);
  assertEquals(r.fds.length, 3);
  assert(!r.truncated && !r.fdsTruncated);
  for (const f of r.fds) assertEquals(L.fcntl(f.fd, L.F_GETFD) & L.FD_CLOEXEC, L.FD_CLOEXEC);
  assert(L.isEventfd(r.fds[0].fd));
  assert(L.isMemfd(r.fds[1].fd));
  assert(!L.isMemfd(r.fds[0].fd));
  for (const f of [...r.fds, e1, e2, e3]) f.close();
  a.close();
  b.close();
  assertEquals(countFds(), before);
});

Deno.test("recvmsg reports MSG_TRUNC and MSG_CTRUNC and still owns the fds that arrived", () => {
  const [a, b] = SeqpacketSocket.pair();
  const e = new OwnedFd(L.eventfd(0, L.EFD_CLOEXEC));
  a.send(new Uint8Array(100), [e.fd, e.fd, e.fd]); // room for 1 fd rounds up to 2
  const r = b.recv(new Uint8Array(10), 1)!;
  assert(r.truncated);
  assertEquals(r.size, 100);
  assert(r.fdsTruncated);
  assert(r.fds.length <= 2);
  r.fds.forEach((f) => f.close());
  a.send(new Uint8Array(4), [e.fd]);
  const r2 = b.recv(new Uint8Array(10), 0)!;
  assert(r2.fdsTruncated);
  assertEquals(r2.fds.length, 0);
  e.close();
  a.close();
  assertEquals(b.recv(new Uint8Array(4)), null, "EOF after the peer closed");
  b.close();
});

Deno.test("send/recv land in the view given each time (same view, another view, a subarray)", () => {
  // the socket keeps its iovec between calls while the view stays the same
  const [a, b] = SeqpacketSocket.pair();
  const big = new Uint8Array(new ArrayBuffer(64));
  const other = new Uint8Array(new ArrayBuffer(64));
  const msgs = [[1, 2, 3], [4, 5], [6, 7, 8, 9], [10], [11, 12]];
  const into = [big, big, big.subarray(8), other, big.subarray(8, 9)];
  for (let i = 0; i < msgs.length; i++) {
    const out = new Uint8Array(msgs[i]);
    assert(a.send(i % 2 ? out : out.slice())); // another view or a fresh one
    const m = b.recv(into[i], 0);
    assert(m && m !== null);
    assertEquals(m.size, msgs[i].length);
    assertEquals(m.truncated, i === 4);
    assertEquals(
      [...into[i].subarray(0, Math.min(m.size, into[i].length))],
      msgs[i].slice(0, into[i].length),
    );
  }
  assertEquals([...big.subarray(0, 12)], [4, 5, 3, 0, 0, 0, 0, 0, 11, 7, 8, 9]);
  a.close();
  b.close();
});

Deno.test('tryRecv returns "empty" when nothing is queued, null at EOF', () => {
  const [a, b] = SeqpacketSocket.pair();
  assertEquals(b.tryRecv(new Uint8Array(4), 0), "empty");
  a.close();
  assertEquals(b.tryRecv(new Uint8Array(4), 0), null);
  b.close();
});

Deno.test("socketType tells SEQPACKET from other fds", () => {
  const [a, b] = L.socketpair(L.SOCK_STREAM | L.SOCK_CLOEXEC);
  assertEquals(L.socketType(a), L.SOCK_STREAM);
  const ev = L.eventfd(0, L.EFD_CLOEXEC);
  assertEquals(L.socketType(ev), null);
  assertThrows(() => SeqpacketSocket.adopt(ev), /not a socket/);
  assertThrows(() => SeqpacketSocket.adopt(a), /not SOCK_SEQPACKET/);
  [a, b, ev].forEach(L.close);
});

Deno.test("memfd + ftruncate + mmap share memory between two mappings; seals", () => {
  const fd = new OwnedFd(L.memfdCreate("t", L.MFD_CLOEXEC | L.MFD_ALLOW_SEALING));
  L.ftruncate(fd.fd, 8192);
  assertEquals(L.fileSize(fd.fd), 8192n);
  const m1 = Mapping.map(fd.fd, 8192);
  const m2 = Mapping.map(fd.fd, 8192);
  m1.view.setUint32(4096, 0xdeadbeef, true);
  assertEquals(m2.view.getUint32(4096, true), 0xdeadbeef);
  L.fcntl(fd.fd, L.F_ADD_SEALS, L.F_SEAL_SHRINK | L.F_SEAL_GROW);
  assertEquals(L.fcntl(fd.fd, L.F_GET_SEALS) & 6, 6);
  assertThrows(() => L.ftruncate(fd.fd, 4096), L.LibcError);
  m1.unmap();
  m2.unmap();
  m1.unmap(); // idempotent
  assertThrows(() => Mapping.map(fd.fd, 0), RangeError);
  fd.close();
});

Deno.test("mmap failure is a LibcError with errno", () => {
  const ev = new OwnedFd(L.eventfd(0, L.EFD_CLOEXEC));
  assertThrows(() => Mapping.map(ev.fd, 4096), L.LibcError);
  ev.close();
});

Deno.test("eventfd write/read and non-blocking empty read", () => {
  const fd = new OwnedFd(L.eventfd(0, L.EFD_CLOEXEC | L.EFD_NONBLOCK));
  assertEquals(L.eventfdRead(fd.fd), null);
  L.eventfdWrite(fd.fd, 1n);
  L.eventfdWrite(fd.fd, 2n);
  assertEquals(L.eventfdRead(fd.fd), 3n);
  fd.close();
});

Deno.test("poll reports readiness and hangup", async () => {
  const [a, b] = SeqpacketSocket.pair();
  const fds: L.PollFd[] = [{ fd: b.fd, events: L.POLLIN }];
  assertEquals(L.poll(fds, 0), 0);
  a.send(new Uint8Array([1]));
  assertEquals(L.poll(fds, 0), 1);
  assertEquals(fds[0].revents! & L.POLLIN, L.POLLIN);
  b.recv(new Uint8Array(4));
  const p = L.pollAsync(fds, 5000);
  a.close();
  assertEquals(await p, 1);
  assert(fds[0].revents! & L.POLLHUP);
  b.close();
});

Deno.test("fcntl dup with CLOEXEC, OwnedFd close-once and take", () => {
  const ev = new OwnedFd(L.eventfd(0, 0));
  assertEquals(L.fcntl(ev.fd, L.F_GETFD) & L.FD_CLOEXEC, 0);
  const d = ev.dup(100);
  assert(d.fd >= 100);
  assertEquals(L.fcntl(d.fd, L.F_GETFD) & L.FD_CLOEXEC, L.FD_CLOEXEC);
  L.setCloexec(ev.fd, true);
  assertEquals(L.fcntl(ev.fd, L.F_GETFD) & L.FD_CLOEXEC, L.FD_CLOEXEC);
  const raw = d.take();
  assert(d.closed);
  d.close(); // no-op
  L.close(raw);
  ev.close();
  assertThrows(() => ev.fd);
  assertThrows(() => L.fcntl(raw, L.F_GETFD), (e: unknown) => (e as L.LibcError).errno === L.EBADF);
});

Deno.test("spawnWithFd: the child inherits exactly stdio and its one fd; waitpid reaps it", () => {
  const [a, b] = SeqpacketSocket.pair();
  // An fd without CLOEXEC must still not leak into the child.
  const leaky = L.eventfd(0, 0);
  const pid = spawnWithFd(["/bin/sh", "-c", "ls /proc/self/fd | sort -n | tr '\\n' ' ' >&3"], {
    fd: b.fd,
  });
  b.close();
  L.close(leaky);
  const buf = new Uint8Array(256);
  const r = a.recv(buf, 0)!;
  const fds = new TextDecoder().decode(buf.subarray(0, r.size)).trim().split(" ").map(Number);
  // 0,1,2,3 plus the fd `ls` opened for /proc/self/fd itself
  assertEquals(fds.slice(0, 4), [0, 1, 2, 3]);
  assert(fds.length <= 5, `child saw fds ${fds}`);
  const st = L.waitpid(pid)!;
  assertEquals(st.pid, pid);
  assertEquals(st.code, 0);
  a.close();
});

Deno.test("spawnWithFd: extra fds land where asked, nothing else leaks", () => {
  const [a, b] = SeqpacketSocket.pair();
  const ev = L.eventfd(0, L.EFD_CLOEXEC);
  const pid = spawnWithFd(
    ["/bin/sh", "-c", "ls /proc/self/fd | sort -n | tr '\\n' ' ' >&3"],
    { fd: b.fd, extraFds: [[ev, 5]] },
  );
  b.close();
  const buf = new Uint8Array(256);
  const r = a.recv(buf, 0)!;
  const fds = new TextDecoder().decode(buf.subarray(0, r.size)).trim().split(" ").map(Number);
  assertEquals(fds.filter((f) => f !== 4), [0, 1, 2, 3, 5]); // (4: the fd ls reads the directory with)
  assertEquals(L.waitpid(pid)!.code, 0);
  L.close(ev);
  a.close();
  assertThrows(() => spawnWithFd(["/bin/true"], { fd: 0, targetFd: 3, extraFds: [[1, 3]] }));
});

Deno.test("kill + waitpid report the signal; pidfd_open; WNOHANG", () => {
  const [a, b] = SeqpacketSocket.pair();
  const pid = spawnWithFd(["/bin/sleep", "30"], { fd: b.fd });
  b.close();
  assertEquals(L.waitpid(pid, L.WNOHANG), null);
  const pidfd = new OwnedFd(L.pidfdOpen(pid));
  assert(L.kill(pid, L.SIGKILL));
  const fds: L.PollFd[] = [{ fd: pidfd.fd, events: L.POLLIN }];
  assertEquals(L.poll(fds, 5000), 1);
  const st = L.waitpid(pid)!;
  assertEquals(st.signal, L.SIGKILL);
  assertEquals(L.kill(pid, 0), false);
  pidfd.close();
  a.close();
});

Deno.test("open creates and truncates a file with CLOEXEC", () => {
  const path = Deno.makeTempFileSync();
  Deno.writeTextFileSync(path, "old contents");
  const fd = new OwnedFd(L.open(path, L.O_WRONLY | L.O_TRUNC | L.O_CLOEXEC));
  assertEquals(L.fcntl(fd.fd, L.F_GETFD) & L.FD_CLOEXEC, L.FD_CLOEXEC);
  fd.close();
  assertEquals(Deno.readTextFileSync(path), "");
  assertThrows(
    () => L.open("/nonexistent/x", L.O_WRONLY),
    (e) => (e as L.LibcError).errno === L.ENOENT,
  );
  Deno.removeSync(path);
});

Deno.test("hot libc calls are fast-call symbols, the others pointers; errno is right through both", () => {
  // a Deno.UnsafeFnPointer's call, bound, is named "bound call"; a dlopen symbol is not
  const bound = (f: unknown) => (f as { name: string }).name === "bound call";
  for (const name of LIBC_FAST) {
    assert(!bound(L.libc()[name]), `${name} is a fast-call symbol`);
    assert(L.libc()[name] === L.libc()[name], `${name} stays one function`);
  }
  assert(bound(L.libc().getppid) && bound(L.libc().fcntl));
  assertEquals(L.getppid(), Deno.ppid);
  assertThrows(() => L.close(-1), (e) => e instanceof L.LibcError && e.errno === L.EBADF);
  assertThrows(
    () => L.fcntl(-1, L.F_GETFD),
    (e) => e instanceof L.LibcError && e.errno === L.EBADF,
  );
});

Deno.test("readProcFile reads /proc without Deno's read permission, any size up to 1 MiB", () => {
  const before = L.openFds().length;
  assert(L.readProcFile("/proc/self/status")!.includes(`\nPid:\t${Deno.pid}\n`));
  assert(/^cpu\d+ /m.test(L.readProcFile("/proc/stat")!), "no cpuN line");
  assertEquals(L.readProcFile("/nonexistent/x"), null);
  assertEquals(L.readProcFile("/proc/self"), null, "a directory reads as an error");
  const path = Deno.makeTempFileSync();
  try {
    const text = "0123456789abcdef".repeat(40000); // 640 KB: the buffer grows
    Deno.writeTextFileSync(path, text);
    assertEquals(L.readProcFile(path), text);
    Deno.writeTextFileSync(path, text + text); // 1.28 MB: too large
    assertEquals(L.readProcFile(path), null);
  } finally {
    Deno.removeSync(path);
  }
  assertEquals(L.openFds().length, before, "an fd left open");
});
