/**
 * The tree stays clean: `deno fmt --check` and `deno lint` pass (type checks
 * happen anyway: `deno test` checks every module the tests load).
 */
import { assertEquals } from "./support/assert.ts";

const REPO = new URL("..", import.meta.url).pathname;

async function deno(args: string[]): Promise<{ code: number; out: string }> {
  const o = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: REPO,
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const dec = new TextDecoder();
  return { code: o.code, out: dec.decode(o.stdout) + dec.decode(o.stderr) };
}

Deno.test("deno fmt --check passes", async () => {
  const r = await deno(["fmt", "--check"]);
  assertEquals(r.code, 0, r.out);
});

Deno.test("deno lint passes", async () => {
  const r = await deno(["lint"]);
  assertEquals(r.code, 0, r.out);
});
