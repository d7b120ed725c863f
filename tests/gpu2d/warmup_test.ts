import { assertEquals } from "../support/assert.ts";
import * as L from "../../ffi/libc.ts";
import { warmUp } from "../../src/gpu2d/warmup.ts";

Deno.test("warm-up runs every command successfully and leaves no fds behind", () => {
  const before = L.openFds().length;
  const r = warmUp(40);
  assertEquals(r.errors, 0);
  assertEquals(r.commands, 3 + 2 * 40);
  assertEquals(L.openFds().length, before);
});
