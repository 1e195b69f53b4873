// The web page as one HTML file: the bundled script (build/ui/page.js, from bundle.ts), and every
// file it reads inlined as base64 (the kernels' builds, the kernel thread's script, the shipped
// predictors and their examples), so that the page works opened straight from disk, where a
// browser fetches nothing.
import { existsSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { readRegularFile } from "../io/read-file.js";
import { PREDICTORS_DIR } from "../predict/shipped-predictors.js";
import { PROBEGEN_VERSION } from "../version.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
/** Where the page's files sit in its in-memory file table (see bundle.ts's import.meta.url). */
const PAGE_ROOT = "/probegen";

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

const STYLE = `
body { font: 15px/1.45 system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
h1 { font-size: 1.5rem; margin-bottom: 0.2rem; } .lede { color: #555; margin-top: 0; }
fieldset { border: 1px solid #ccc; border-radius: 6px; margin: 1rem 0; } legend { color: #555; }
select, button, input { font: inherit; margin: 0.2rem 0.4rem 0.2rem 0; }
#prediction { font-size: 1.6rem; font-weight: 600; min-height: 2.2rem; margin: 0.6rem 0; }
#timing, #threads { color: #666; } #error { color: #b00020; white-space: pre-wrap; }
#probes canvas, #answers canvas { image-rendering: pixelated; margin: 1px; border: 1px solid #eee; }
#card { background: #f7f7f7; padding: 0.8rem; border-radius: 6px; white-space: pre-wrap; font-size: 13px; }
.classes { display: flex; flex-wrap: wrap; gap: 2px; } .class { font: 12px monospace; background: #eef; padding: 1px 4px; border-radius: 3px; }`;

/** The page's HTML, with `predictors` (default: the installed ones) inlined. */
export function pageHtml(predictors = PREDICTORS_DIR): string {
  const script = join(ROOT, "build", "ui", "page.js");
  if (!existsSync(script)) throw new Error(`${script} is missing: run \`npm run build\` (npm ci runs it too)`);
  const files: Record<string, string> = {};
  const add = (path: string, file: string) => { files[path] = Buffer.from(readRegularFile(file)).toString("base64"); };
  // The unshared build for a page on one thread; the shared one and the kernel thread's script
  // for a cross-origin-isolated page (served by `probegen ui`), whose kernels run on threads.
  add(`${PAGE_ROOT}/build/kernels-browser.wasm`, join(ROOT, "build", "kernels-browser.wasm"));
  add(`${PAGE_ROOT}/build/kernels.wasm`, join(ROOT, "build", "kernels.wasm"));
  add(`${PAGE_ROOT}/build/ui/kernel-thread.js`, join(ROOT, "build", "ui", "kernel-thread.js"));
  for (const f of filesUnder(predictors)) add(`${PAGE_ROOT}/predictors/${relative(predictors, f)}`, f);
  // "</" cannot end the script early: base64 and JSON keys hold no "<".
  const data = `window.PROBEGEN_FILES=${JSON.stringify(files)};`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline' 'wasm-unsafe-eval'; style-src 'unsafe-inline'; img-src data: blob:; worker-src blob:">
<title>probegen: what is this network?</title>
<style>${STYLE}</style>
</head>
<body>
<h1>probegen: what is this network?</h1>
<p class="lede">Drop a network's file and a predictor that ships with probegen says what it is, from how the network answers a few learned probes. It all runs in this page: the file never leaves your machine. probegen ${PROBEGEN_VERSION}.</p>
<fieldset><legend>predictor</legend>
<select id="predictor"></select>
<span id="activation-row">activation of a bare state dict: <select id="activation"></select></span>
</fieldset>
<fieldset><legend>network</legend>
<input type="file" id="file" accept=".pth,.pt,.safetensors,.ckpt,.bin"> or drop a file on the page, or an example: <span id="examples"></span>
</fieldset>
<div data-testid="prediction" id="prediction" aria-live="polite"></div>
<div id="timing"></div>
<div id="threads"></div>
<div id="error" role="alert"></div>
<h2>What the network answered</h2>
<div id="answers"></div>
<h2>The probes</h2>
<div id="probes"></div>
<h2>The predictor's card</h2>
<pre id="card"></pre>
<script>${data}</script>
<script>${Buffer.from(readRegularFile(script)).toString("utf8").replace(/<\/script/gi, "<\\/script")}</script>
</body>
</html>
`;
}
