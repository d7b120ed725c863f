import { assert, assertEquals, assertThrows } from "./support/assert.ts";
import * as L from "../ffi/libc.ts";
import { OwnedFd } from "../ffi/fd.ts";
import {
  MAX_IOV,
  ShortReadError,
  StreamSocket,
  Strided,
  UnixListener,
} from "../ffi/unix_socket.ts";

function bytes(n: number, seed = 0): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(new ArrayBuffer(n));
  for (let i = 0; i < n; i++) b[i] = (i * 7 + seed) & 0xff;
  return b;
}

Deno.test("socket/bind/listen/accept4/connect: a unix stream listener accepts a client", () => {
  const dir = Deno.makeTempDirSync();
  const path = `${dir}/s.sock`;
  const before = L.openFds().length;
  const l = UnixListener.listen(path);
  assert(Deno.lstatSync(path).isSocket);
  const c = StreamSocket.connect(path);
  const s = l.accept();
  assertEquals(L.fcntl(s.fd, L.F_GETFD) & L.FD_CLOEXEC, L.FD_CLOEXEC);
  assert(c.send([bytes(3)]));
  const got = new Uint8Array(new ArrayBuffer(3));
  assert(s.recvExact(got));
  assertEquals([...got], [0, 7, 14]);
  c.close();
  s.close();
  l.close();
  assertThrows(() => Deno.lstatSync(path), Deno.errors.NotFound);
  assertEquals(L.openFds().length, before);
  // A stale socket file is replaced on listen.
  const l2 = UnixListener.listen(path);
  l2.handle.take(); // leave the file behind as a crashed server would
  const l3 = UnixListener.listen(path);
  l3.close();
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("connect to a missing path fails with ENOENT; overlong paths are refused", () => {
  assertThrows(() => StreamSocket.connect("/nonexistent/vesper.sock"), /ENOENT/);
  assertThrows(() => UnixListener.listen("/tmp/" + "x".repeat(200)), RangeError);
});

Deno.test("gather send with fds and exact receive across message parts", () => {
  const [a, b] = StreamSocket.pair();
  const e = new OwnedFd(L.eventfd(0, L.EFD_CLOEXEC));
  const hdr = bytes(12, 1);
  const body = bytes(70000, 2);
  assert(a.send([hdr, new Uint8Array(0), body.subarray(5)], [e.fd, e.fd]));
  const fds: OwnedFd[] = [];
  const h = new Uint8Array(new ArrayBuffer(12));
  assert(b.recvExact(h, fds));
  assertEquals(fds.length, 2);
  assert(L.isEventfd(fds[0].fd));
  const rest = new Uint8Array(new ArrayBuffer(70000 - 5));
  assert(b.recvExact(rest, fds));
  assertEquals(fds.length, 2);
  assertEquals([...h], [...hdr]);
  assertEquals(rest, body.subarray(5));
  fds.forEach((f) => f.close());
  e.close();
  a.close();
  assertEquals(b.recvExact(new Uint8Array(new ArrayBuffer(4))), false, "EOF before a message");
  b.close();
});

Deno.test("recvExact throws ShortReadError on EOF mid-message; send reports a gone peer", () => {
  const [a, b] = StreamSocket.pair();
  a.send([bytes(5)]);
  a.close();
  assertThrows(() => b.recvExact(new Uint8Array(new ArrayBuffer(8))), ShortReadError);
  const [c, d] = StreamSocket.pair();
  d.close();
  assertEquals(c.send([bytes(4)]), false);
  c.close();
  b.close();
});

Deno.test("sendSome/recvSome never block: partial sends report what the kernel took", () => {
  const [a, b] = StreamSocket.pair();
  const big = bytes(4 * 1024 * 1024, 3);
  const first = a.sendSome([big]);
  assert(first > 0 && first < big.byteLength, `took ${first}`);
  assertEquals(a.sendSome([big], first), 0, "buffer full: 0, no blocking");
  const got = new Uint8Array(new ArrayBuffer(big.byteLength));
  let have = 0;
  let sent = first;
  while (have < big.byteLength) {
    const n = b.recvSome(got.subarray(have));
    if (n > 0) have += n;
    if (sent < big.byteLength) sent += a.sendSome([big], sent);
  }
  assertEquals(got, big);
  assertEquals(b.recvSome(new Uint8Array(new ArrayBuffer(4))), -1, "nothing queued");
  a.close();
  assertEquals(b.recvSome(new Uint8Array(new ArrayBuffer(4))), 0, "EOF");
  b.close();
});

Deno.test("setsockopt/getsockopt: SO_SNDBUF is set (the kernel doubles it), bad options fail", () => {
  const [a, b] = StreamSocket.pair();
  L.setSockOptInt(a.fd, L.SOL_SOCKET, L.SO_SNDBUF, 65536);
  assertEquals(L.getSockOptInt(a.fd, L.SOL_SOCKET, L.SO_SNDBUF), 131072);
  assertThrows(() => L.setSockOptInt(a.fd, L.SOL_SOCKET, 9999, 1), /setsockopt/);
  a.close();
  b.close();
});

Deno.test("Strided parts send rows of a larger image without copying; copyTo matches", () => {
  const [a, b] = StreamSocket.pair();
  const img = bytes(100 * 40, 5); // 100-byte rows, 40 rows
  const rect = new Strided(img, 3 * 100 + 10, 24, 100, 30); // 24 bytes from x=10, rows 3..32
  const want = new Uint8Array(rect.byteLength);
  for (let r = 0; r < 30; r++) {
    want.set(img.subarray((3 + r) * 100 + 10, (3 + r) * 100 + 34), r * 24);
  }
  const head = bytes(4, 9);
  assert(a.send([head, rect, rect.slice(29, 1)]));
  const got = new Uint8Array(new ArrayBuffer(4 + rect.byteLength + 24));
  assert(b.recvExact(got));
  assertEquals(got.subarray(4, 4 + rect.byteLength), want);
  assertEquals(got.subarray(4 + rect.byteLength), want.subarray(29 * 24));
  const copy = new Uint8Array(rect.byteLength);
  rect.copyTo(copy, 0, 0);
  assertEquals(copy, want);
  const tail = new Uint8Array(rect.byteLength - 50);
  rect.copyTo(tail, 0, 50);
  assertEquals(tail, want.subarray(50));
  assertThrows(() => new Strided(img, 0, 101, 100, 2), RangeError);
  assertThrows(() => new Strided(img, 3900, 100, 100, 2), RangeError);
  // More rows than iovecs: sendSome takes a prefix, send finishes the rest.
  const many = new Strided(
    new Uint8Array(new ArrayBuffer(2 * (MAX_IOV + 10))),
    0,
    1,
    2,
    MAX_IOV + 10,
  );
  assertEquals(a.sendSome([many]), MAX_IOV);
  assert(a.send([many], []) && b.recvExact(new Uint8Array(new ArrayBuffer(2 * MAX_IOV + 10))));
  a.close();
  b.close();
});
