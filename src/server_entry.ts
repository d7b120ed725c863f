/**
 * Entry of the render server alone, without main.ts's other jobs (see
 * src/server_main.ts). A module of its own so that `import.meta.main` is this
 * entry's also in the launcher's bundle, where the bundler moves code that
 * main.ts shares into a chunk.
 */
import { UsageError, usageError } from "./cli.ts";
import { serve } from "./server_main.ts";

let code;
try {
  code = await serve(Deno.args);
} catch (e) {
  if (!(e instanceof UsageError)) throw e;
  code = usageError(e);
}
Deno.exit(code);
