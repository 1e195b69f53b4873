// Builds the native kernels (npm run build:native, run by npm ci's prepare) with node-gyp, the
// one npm ships. The install never fails for them: with no C++ compiler, or any failure, it says
// so and probegen runs on its WASM kernels. PROBEGEN_NATIVE=0 skips the build.
import { spawnSync } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const built = join(here, "build", "Release", "probegen_native.node");

function nodeGyp() {
  // npm tells its scripts where its node-gyp is; otherwise look beside npm itself.
  if (process.env.npm_config_node_gyp && existsSync(process.env.npm_config_node_gyp)) return process.env.npm_config_node_gyp;
  try {
    return createRequire(import.meta.url).resolve("node-gyp/bin/node-gyp.js");
  } catch {
    const npm = process.env.npm_execpath;
    const beside = npm === undefined ? null : join(dirname(npm), "..", "node_modules", "node-gyp", "bin", "node-gyp.js");
    return beside !== null && existsSync(beside) ? beside : null;
  }
}

function skip(why) {
  // A stale addon from an earlier build must not run against newer sources.
  rmSync(join(here, "build"), { recursive: true, force: true });
  console.warn(`probegen: native kernels not built: ${why}. probegen runs on its WASM kernels.`);
  process.exit(0);
}

if (process.env.PROBEGEN_NATIVE === "0") skip("PROBEGEN_NATIVE=0");
const gyp = nodeGyp();
if (gyp === null) skip("node-gyp not found (it ships with npm)");
const r = spawnSync(process.execPath, [gyp, "rebuild", "--directory", here, ...(process.env.npm_config_nodedir ? [`--nodedir=${process.env.npm_config_nodedir}`] : [])], {
  stdio: ["ignore", "pipe", "pipe"], encoding: "utf8",
});
if (r.status !== 0 || !existsSync(built)) {
  // The compiler's own lines and node-gyp's reason, without its boilerplate.
  const lines = `${r.stdout ?? ""}${r.stderr ?? ""}`.trim().split("\n")
    .filter((l) => !l.startsWith("gyp info") && !/^gyp ERR! (cwd|node -v|node-gyp -v|System|command|not ok|\$npm_|stack|  )/.test(l)).slice(-12).join("\n");
  skip(`node-gyp rebuild failed (exit ${r.status ?? r.signal})${lines ? `:\n${lines}\n` : ""}`);
}
console.log(`probegen: native kernels built (${built})`);
