/**
 * The generated C layouts (src/venus/generated/layouts.ts, used by the
 * marshallers in native.ts) against the C compiler: sizeof, alignof and
 * offsetof of every member of every protocol struct that trixie's Vulkan
 * headers declare, compiled with gcc in the chroot.
 */
import { assert, assertEquals } from "../support/assert.ts";
import { ensureChroot, inChroot } from "../../src/harness/chroot.ts";
import { MEMBER_OFFSETS } from "../../src/venus/generated/layouts.ts";

const root = await ensureChroot();

async function sh(argv: string[]): Promise<{ ok: boolean; out: string; err: string }> {
  const cmd = inChroot(root!, argv);
  const o = await new Deno.Command(cmd[0], { args: cmd.slice(1), stdout: "piped", stderr: "piped" })
    .output();
  const d = new TextDecoder();
  return { ok: o.success, out: d.decode(o.stdout), err: d.decode(o.stderr) };
}

Deno.test({
  name: "native layouts: sizeof/alignof/offsetof of every protocol struct match gcc",
  ignore: root === null,
  async fn() {
    const dir = `/tmp/vesper-layout-${Deno.pid}`;
    Deno.mkdirSync(`${root}${dir}`, { recursive: true });
    // the venus-private structs are not in the Khronos headers
    let names = Object.keys(MEMBER_OFFSETS).filter((n) => !n.endsWith("MESA"));
    try {
      for (let attempt = 0; attempt < 4; attempt++) {
        const c = [
          "#include <stdio.h>",
          "#include <stddef.h>",
          "#include <vulkan/vulkan.h>",
          "int main(void) {",
          ...names.map((n) => {
            const [, , members] = MEMBER_OFFSETS[n];
            const offs = members.map(([m]) => `(int)offsetof(${n}, ${m})`);
            const fmt = `%s %d %d${" %d".repeat(offs.length)}\\n`;
            return `  printf("${fmt}", "${n}", (int)sizeof(${n}), (int)_Alignof(${n})${
              offs.map((o) => `, ${o}`).join("")
            });`;
          }),
          "  return 0;",
          "}",
        ].join("\n");
        Deno.writeTextFileSync(`${root}${dir}/layout.c`, c);
        const cc = await sh(["gcc", "-w", "-o", `${dir}/layout`, `${dir}/layout.c`]);
        if (cc.ok) break;
        // structs the installed headers do not know: leave them out and retry
        const unknown = new Set(
          [...cc.err.matchAll(/'(Vk\w+)' undeclared|unknown type name '(Vk\w+)'/g)].map((m) =>
            m[1] ?? m[2]
          ),
        );
        for (const line of cc.err.split("\n")) {
          const m = /layout\.c:(\d+):/.exec(line);
          if (m) {
            const src = c.split("\n")[Number(m[1]) - 1] ?? "";
            const n = /"(Vk\w+)"\)?/.exec(src.slice(src.indexOf('", "') + 3));
            if (n) unknown.add(n[1]);
          }
        }
        assert(unknown.size > 0, cc.err.slice(0, 2000));
        names = names.filter((n) => !unknown.has(n));
      }
      const run = await sh([`${dir}/layout`]);
      assert(run.ok, run.err);
      const lines = run.out.trim().split("\n");
      const all = Object.keys(MEMBER_OFFSETS).filter((n) => !n.endsWith("MESA")).length;
      assert(lines.length >= all * 0.95, `only ${lines.length} of ${all} structs checked`);
      const bad: string[] = [];
      for (const line of lines) {
        const [name, ...nums] = line.split(" ");
        const [size, align, members] = MEMBER_OFFSETS[name];
        const want = [size, align, ...members.map(([, o]) => o)];
        const got = nums.map(Number);
        if (want.join() !== got.join()) bad.push(`${name}: ours ${want} gcc ${got}`);
      }
      assertEquals(bad, []);
    } finally {
      Deno.removeSync(`${root}${dir}`, { recursive: true });
    }
  },
});
