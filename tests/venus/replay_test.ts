/** Capture files: writer/reader round trip, and replay of the committed synthetic captures. */
import { assert, assertEquals, assertThrows } from "../support/assert.ts";
import { CaptureReader, CaptureWriter } from "../../src/venus/capture.ts";
import { replayCapture } from "../../src/venus/replay.ts";
import { testLogger } from "./helpers.ts";

const fixtures = new URL("../fixtures/captures/", import.meta.url).pathname;

Deno.test("CaptureWriter → CaptureReader round trip, monotonic timestamps, truncation", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vesper-cap-" });
  try {
    const path = `${dir}/a.vcap`;
    const w = CaptureWriter.open(path);
    w.record("submit", new Uint8Array([1, 2, 3, 4]));
    w.record("ring", new Uint8Array([5, 6, 7, 8, 9, 10, 11, 12]), 0x55aa00001000);
    w.record("ring", new Uint8Array(0), 2n ** 63n);
    w.close();
    const recs = [...CaptureReader.open(path)];
    assertEquals(recs.map((r) => [r.kind, r.ringId, [...r.bytes]]), [
      ["submit", 0n, [1, 2, 3, 4]],
      ["ring", 0x55aa00001000n, [5, 6, 7, 8, 9, 10, 11, 12]],
      ["ring", 2n ** 63n, []],
    ]);
    assert(recs[0].timeNs <= recs[1].timeNs && recs[1].timeNs <= recs[2].timeNs);
    const data = Deno.readFileSync(path);
    const cut = new CaptureReader(data.subarray(0, data.length - 20));
    assertEquals([...cut].length, 2);
    assert(cut.truncated);
    assertThrows(() => new CaptureReader(new Uint8Array(16)), /bad magic/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("replay: startup.vcap and cmdbuf.vcap decode completely", async () => {
  const lines: string[] = [];
  const a = await replayCapture(`${fixtures}startup.vcap`, testLogger(lines));
  assertEquals(a.fatal, false, lines.join());
  assertEquals(a.commands, 1 + 17 + 1 + (8 * 4 + 2) + 1 + 1);
  const b = await replayCapture(`${fixtures}cmdbuf.vcap`, testLogger(lines));
  assertEquals(b.fatal, false, lines.join());
  assertEquals(b.commands, 17 + 4 * (64 * 4 + 2));
  assert(b.bytes > 40000);
});

Deno.test("replay: fatal.vcap ends fatal with a log line naming the command", async () => {
  const lines: string[] = [];
  const r = await replayCapture(`${fixtures}fatal.vcap`, testLogger(lines));
  assertEquals(r.fatal, true);
  assert(lines.some((l) => l.includes("fatal: vkQueueSubmit (18)")), lines.join("\n"));
});
