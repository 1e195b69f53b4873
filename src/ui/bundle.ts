// Bundles the web page's code (dist/src/ui/page.js and what it imports) into build/ui/page.js,
// and its kernel thread (kernel-thread.js) into build/ui/kernel-thread.js,
// with esbuild, a well-kept bundler: the Node modules the shared code imports are replaced by
// the page's stand-ins (shims/), Buffer and process come from shims/globals.js, and every
// import.meta.url points into one virtual install (/probegen/dist/src/...), where the page's
// in-memory files sit. Run by `npm run build`.
import { build, type Plugin } from "esbuild";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const REPLACED: Record<string, string> = {
  fs: "fs.js", path: "path.js", url: "url.js", os: "os.js", zlib: "zlib.js",
  worker_threads: "worker-threads.js", child_process: "unavailable.js", module: "unavailable.js", v8: "unavailable.js", crypto: "unavailable.js", stream: "unavailable.js", string_decoder: "unavailable.js",
  "onnxruntime-node": "unavailable.js",
};

const shims: Plugin = {
  name: "probegen-page-shims",
  setup(b) {
    b.onResolve({ filter: /^(node:)?(fs|path|url|os|zlib|worker_threads|child_process|module|v8|crypto|stream|string_decoder)$|^onnxruntime-node$/ }, (a) => ({
      path: here(`./shims/${REPLACED[a.path.replace(/^node:/, "")]}`),
    }));
  },
};

/** The page's scripts, bundled into `dir`: page.js, and kernel-thread.js (a kernel thread, a Web Worker); their paths. */
export async function bundlePage(dir = fileURLToPath(new URL("../../../build/ui/", import.meta.url))): Promise<string[]> {
  const outfiles: string[] = [];
  for (const entry of ["page", "kernel-thread"]) {
    const outfile = join(dir, `${entry}.js`);
    await build({
      entryPoints: [here(`./${entry}.js`)],
      bundle: true, format: "iife", platform: "browser", target: "es2022", minify: true, legalComments: "none",
      outfile, plugins: [shims], inject: [here("./shims/globals.js")], logLevel: "warning",
      define: { "import.meta.url": JSON.stringify(`file:///probegen/dist/src/ui/${entry}.js`) },
    });
    outfiles.push(outfile);
  }
  return outfiles;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log(`wrote ${(await bundlePage()).join(", ")}`);
