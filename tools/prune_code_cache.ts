/**
 * Drops the rows of Deno's V8 code cache (`$DENO_DIR/v8_code_cache_v2`) that
 * belong to launcher bundles no longer on disk. bin/vesper runs it after it
 * has built a new bundle and removed old ones: each build is a directory of
 * its own (`.cache/bundle.<time>.<pid>/`), so its modules are new
 * specifiers to Deno, which never evicts the old ones — about 1.9 MB of
 * cache per build with V8's --no-lazy.
 *
 *   deno run --allow-read --allow-write tools/prune_code_cache.ts DENO_DIR CACHE_DIR
 *
 * Quiet and harmless when there is nothing to do or the cache is busy.
 */
import { DatabaseSync } from "node:sqlite";

const [denoDir, cacheDir] = Deno.args;
if (!denoDir || !cacheDir) {
  console.error("usage: prune_code_cache.ts DENO_DIR CACHE_DIR");
  Deno.exit(2);
}

const exists = (path: string) => {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
};

const prefix = `file://${cacheDir}/bundle.`;
let db: DatabaseSync | undefined;
try {
  if (exists(`${denoDir}/v8_code_cache_v2`)) {
    db = new DatabaseSync(`${denoDir}/v8_code_cache_v2`);
    db.exec("PRAGMA busy_timeout = 2000");
    const rows = db.prepare(
      "SELECT DISTINCT specifier FROM codecache WHERE substr(specifier, 1, ?) = ?",
    ).all(prefix.length, prefix) as { specifier: string }[];
    // file://<cache>/bundle.<time>.<pid>/<module>: gone when its build directory is
    const dirs = new Set(
      rows.map(({ specifier }) => specifier.slice(0, specifier.indexOf("/", prefix.length))),
    );
    const del = db.prepare("DELETE FROM codecache WHERE substr(specifier, 1, ?) = ?");
    for (const dir of dirs) {
      if (!exists(decodeURIComponent(new URL(dir).pathname))) del.run(dir.length + 1, `${dir}/`);
    }
  }
} catch (e) {
  // a busy or foreign cache is left as it is: this is housekeeping
  console.error(`prune_code_cache: ${(e as Error).message}`);
} finally {
  db?.close();
}
