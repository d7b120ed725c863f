/**
 * The context socket's idle check: a worker busy-polling a ring looks at its
 * context socket every few polls with a non-blocking recvmsg that finds
 * nothing. The JS around that syscall is the overhead to keep small; a bare
 * recvmsg through the FFI is the floor.
 *
 *   deno bench -A bench/socket_bench.ts
 */
import { SeqpacketSocket } from "../ffi/socket.ts";
import { libc, MSG_DONTWAIT } from "../ffi/libc.ts";
import { MSGHDR } from "../ffi/cmsg.ts";

const [a, b] = SeqpacketSocket.pair();
const buf = new Uint8Array(new ArrayBuffer(4096));
const msghdr = new Uint8Array(new ArrayBuffer(MSGHDR.SIZE)); // struct msghdr, all zero: no iovec, no control

Deno.bench("tryRecv on an empty socket (the context loop's check)", { group: "idle" }, () => {
  if (a.tryRecv(buf, 28) !== "empty") throw new Error("a message arrived");
});

Deno.bench("bare recvmsg(MSG_DONTWAIT) through the FFI", { group: "idle", baseline: true }, () => {
  libc().recvmsg(a.fd, msghdr, MSG_DONTWAIT);
});

const payload = new Uint8Array(64);
Deno.bench("send + recv of a 64-byte message", () => {
  b.send(payload);
  a.recv(buf, 28);
});
