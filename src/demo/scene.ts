/**
 * The demo scene: tests/workloads/scene.c renders a 256x256 scene offscreen
 * (depth-tested shaded triangles) through a render server, its pixels become
 * a PNG, and they are compared with the same program run directly on
 * lavapipe.
 */
import { ensureChroot } from "../harness/chroot.ts";
import {
  buildWorkloads,
  describeVia,
  runWorkload,
  type Via,
  type WorkloadRun,
} from "../harness/workloads.ts";
import { encodePng } from "./png.ts";

export interface SceneDemoOptions {
  /** Where the scene renders (default: Vesper with process workers). */
  via?: Via;
  /** Where to write the PNG (default: scene.png in the system's temp dir). */
  pngPath?: string;
  /** Also render directly on lavapipe and compare the pixels (default true). */
  compare?: boolean;
  /** Mesa venus VN_PERF flags for the client (e.g. NO_FEEDBACK from workloads.ts). */
  vnPerf?: string[];
  /** Environment for the render server (e.g. VESPER_LOG_LEVEL). */
  serverEnv?: Record<string, string>;
  /** Limit for each program run in seconds (default 60). */
  timeoutS?: number;
  /** The chroot (default: ensureChroot()). */
  root?: string;
}

export interface SceneDemoResult {
  /** The render went through and, when compared, matched lavapipe within the tolerance. */
  ok: boolean;
  width: number;
  height: number;
  /** RGBA8 rows, top first (empty when the render failed). */
  pixels: Uint8Array;
  /** The PNG written, or null when the render failed. */
  pngPath: string | null;
  /** Largest difference of one channel against lavapipe (null: not compared or failed). */
  maxDiff: number | null;
  /** Pixels with any channel differing from lavapipe's (null: not compared or failed). */
  differingPixels: number | null;
  /** The run through `via`, and the lavapipe run when compared. */
  run: WorkloadRun;
  oracle?: WorkloadRun;
  /** One line for people: where it rendered, how it compared, where the PNG is. */
  summary: string;
}

/** Largest channel difference tolerated against lavapipe (the same rasterizer: exact). */
export const SCENE_TOLERANCE = 0;

let serial = 0;

/** Runs scene.c on `via` and reads back its pixels (a file in the chroot's /tmp). */
async function renderScene(
  root: string,
  via: Via,
  opts: SceneDemoOptions,
): Promise<{ run: WorkloadRun; pixels: Uint8Array | null; width: number; height: number }> {
  const inChrootPath = `/tmp/vesper-scene-${Deno.pid}-${serial++}.rgba`;
  try {
    const run = await runWorkload(root, "scene", via, {
      args: [inChrootPath],
      vnPerf: opts.vnPerf,
      serverEnv: opts.serverEnv,
      timeoutS: opts.timeoutS,
    });
    const m = run.results.join("\n").match(/^RESULT scene (\d+)x(\d+) /m);
    if (run.code !== 0 || !m) return { run, pixels: null, width: 0, height: 0 };
    const width = Number(m[1]), height = Number(m[2]);
    const pixels = Deno.readFileSync(`${root}${inChrootPath}`);
    if (pixels.length !== width * height * 4) {
      throw new Error(`scene wrote ${pixels.length} bytes for ${width}x${height}`);
    }
    return { run, pixels, width, height };
  } finally {
    try {
      Deno.removeSync(`${root}${inChrootPath}`);
    } catch { /* never written */ }
  }
}

/**
 * Renders the scene through `opts.via` (default Vesper, process workers),
 * writes it as a PNG and, unless `compare: false`, compares it with lavapipe.
 * Builds the workloads first (a no-op when up to date). Throws only when the
 * chroot cannot be had; a failed render comes back with ok: false.
 */
export async function renderSceneDemo(opts: SceneDemoOptions = {}): Promise<SceneDemoResult> {
  const root = opts.root ?? await ensureChroot();
  if (!root) throw new Error("the trixie chroot is needed (run as root)");
  await buildWorkloads(root);
  const via: Via = opts.via ?? { kind: "vesper", worker: "process" };
  const got = await renderScene(root, via, opts);
  const where = describeVia(via);
  if (!got.pixels) {
    return {
      ok: false,
      width: 0,
      height: 0,
      pixels: new Uint8Array(0),
      pngPath: null,
      maxDiff: null,
      differingPixels: null,
      run: got.run,
      summary: `scene on ${where} failed (exit ${got.run.code}${
        got.run.dropped ? ", dropped by the server" : ""
      })`,
    };
  }
  const pngPath = opts.pngPath ?? `${Deno.env.get("TMPDIR") ?? "/tmp"}/scene.png`;
  Deno.writeFileSync(pngPath, encodePng(got.width, got.height, got.pixels, { filter: "up" }));
  let maxDiff: number | null = null, differingPixels: number | null = null, oracle;
  let ok = true;
  if (opts.compare ?? true) {
    const ref = await renderScene(root, { kind: "lavapipe" }, opts);
    oracle = ref.run;
    if (!ref.pixels || ref.width !== got.width || ref.height !== got.height) {
      ok = false;
    } else {
      ({ maxDiff, differingPixels } = comparePixels(got.pixels, ref.pixels));
      ok = maxDiff <= SCENE_TOLERANCE;
    }
  }
  const cmp = maxDiff === null
    ? (oracle ? "; the lavapipe reference failed" : "")
    : `; vs lavapipe: max channel diff ${maxDiff}, ${differingPixels} pixels differ`;
  return {
    ok,
    width: got.width,
    height: got.height,
    pixels: got.pixels,
    pngPath,
    maxDiff,
    differingPixels,
    run: got.run,
    oracle,
    summary: `scene ${got.width}x${got.height} on ${where} in ${
      got.run.wallMs.toFixed(0)
    } ms${cmp} → ${pngPath}`,
  };
}

/** The largest channel difference and the number of pixels that differ at all. */
export function comparePixels(
  a: Uint8Array,
  b: Uint8Array,
): { maxDiff: number; differingPixels: number } {
  if (a.length !== b.length) throw new RangeError(`${a.length} vs ${b.length} bytes`);
  let maxDiff = 0, differingPixels = 0;
  for (let i = 0; i < a.length; i += 4) {
    let d = 0;
    for (let c = 0; c < 4; c++) d = Math.max(d, Math.abs(a[i + c] - b[i + c]));
    if (d) differingPixels++;
    if (d > maxDiff) maxDiff = d;
  }
  return { maxDiff, differingPixels };
}
