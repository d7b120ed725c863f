/** Runs `vesper gpu2d` until main.ts wires the subcommand: deno run -A tools/gpu2d/vesper_gpu2d.ts ARGS */
import { gpu2dMain } from "../../src/gpu2d/main.ts";
import { isLevel, Logger } from "../../src/log.ts";

const level = Deno.env.get("VESPER_LOG") ?? "info";
const log = new Logger("gpu2d", isLevel(level) ? level : "info");
Deno.exit(await gpu2dMain(Deno.args, log));
