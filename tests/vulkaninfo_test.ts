/**
 * Acceptance: full vulkaninfo (text and --json) through Mesa venus →
 * virgl_test_server → Vesper gives what it gives through the C reference
 * server (after src/harness/vulkaninfo.ts's normalizer), in both worker
 * modes; and many clients in a row and at once leave no processes behind and
 * neither fds nor memory growing in the long-lived processes.
 *
 * The Vesper cases run unless VESPER_VK_ACCEPT (src/harness/vulkaninfo.ts) is
 * off (env VESPER_VK_ACCEPT=0, to look at the C server alone). The C-vs-C
 * cases always run: they show that the normalizer and the leak
 * checks are right (two C runs must compare equal; the C server must not
 * leak by these measures).
 */
import { assert } from "./support/assert.ts";
import { ensureChroot } from "../src/harness/chroot.ts";
import { startVtest } from "../src/harness/vtest.ts";
import {
  C_REFERENCE,
  normalize,
  type ServerConfig,
  soak,
  unifiedDiff,
  VESPER_SERVERS,
  VESPER_VK_ACCEPT,
  vulkaninfoJson,
  vulkaninfoText,
} from "../src/harness/vulkaninfo.ts";

const root = await ensureChroot();

interface Outputs {
  text: string;
  jsonFile: string;
  json: string;
}

/** Text and JSON vulkaninfo through a fresh virgl_test_server running `server`. */
async function capture(server: ServerConfig): Promise<Outputs> {
  const vtest = await startVtest(root!, server.renderServer, server.env);
  try {
    const t = await vulkaninfoText(root!, vtest);
    assert(
      t.code === 0,
      `${server.name}: vulkaninfo failed (rc ${t.code}):\n${t.stderr}\n${vtest.log()}`,
    );
    const j = await vulkaninfoJson(root!, vtest);
    assert(
      j.code === 0 && j.json !== null,
      `${server.name}: vulkaninfo --json failed (rc ${j.code}, file ${j.fileName}):\n${j.stderr}\n${vtest.log()}`,
    );
    return { text: t.stdout, jsonFile: j.fileName!, json: j.json! };
  } finally {
    await vtest.stop();
  }
}

/** Asserts equal normalized outputs, with a unified diff per output otherwise. */
function assertSame(a: Outputs, an: string, b: Outputs, bn: string): void {
  const diffs = [
    unifiedDiff(normalize(a.text), normalize(b.text), `vulkaninfo (${an})`, `vulkaninfo (${bn})`),
    a.jsonFile === b.jsonFile
      ? ""
      : `JSON file name: ${a.jsonFile} (${an}) vs ${b.jsonFile} (${bn})`,
    unifiedDiff(
      normalize(a.json),
      normalize(b.json),
      `vulkaninfo --json (${an})`,
      `vulkaninfo --json (${bn})`,
    ),
  ].filter((d) => d !== "");
  assert(diffs.length === 0, `outputs differ:\n${diffs.join("\n\n")}`);
}

let reference: Promise<Outputs> | undefined;
const referenceOutputs = () => reference ??= capture(C_REFERENCE);

Deno.test({
  name: "vulkaninfo: two runs through the C reference server are equal after normalizing",
  ignore: !root,
  async fn() {
    const a = await referenceOutputs();
    const b = await capture(C_REFERENCE);
    assert(/deviceName\s*=\s*Virtio-GPU Venus/.test(a.text), a.text.slice(0, 4000));
    assert(/^VP_VULKANINFO_.*\.json$/.test(a.jsonFile), a.jsonFile);
    assert(JSON.parse(a.json).capabilities, "the JSON has no capabilities");
    assertSame(a, "C run 1", b, "C run 2");
  },
});

for (const server of VESPER_SERVERS) {
  Deno.test({
    name: `vulkaninfo: Vesper (${server.name}) gives what the C server gives`,
    ignore: !root || !VESPER_VK_ACCEPT,
    async fn() {
      const c = await referenceOutputs();
      const v = await capture(server);
      assertSame(c, "C server", v, server.name);
    },
  });
}

for (const server of [C_REFERENCE, ...VESPER_SERVERS]) {
  Deno.test({
    name: `vulkaninfo soak (${server.name}): 20 clients in a row, 4 at once: no leftovers, ` +
      `stable fds and memory`,
    ignore: !root || !server.enabled,
    async fn() {
      const r = await soak(root!, server, { sequential: 20, concurrent: 4 });
      const first = r.samples[0], last = r.samples.at(-1);
      const summary = `${server.name}: ${r.clients} clients; long-lived: ${
        r.longLived.map((p) => `${p.pid} ${p.comm}`).join(", ")
      }; fds ${JSON.stringify(first?.fds)} → ${JSON.stringify(last?.fds)}; RSS KiB ${
        JSON.stringify(first?.rssKiB)
      } → ${JSON.stringify(last?.rssKiB)}; at most ${r.maxRenderServers} render servers at once`;
      assert(r.problems.length === 0, `${summary}\n${r.problems.join("\n")}`);
      assert(r.longLived.length >= 1, `no long-lived process found: ${summary}`);
      // vtest forks per client: the 4 overlapping clients had a render server each
      assert(r.maxRenderServers >= 1, `never saw a render server: ${summary}`);
    },
  });
}
