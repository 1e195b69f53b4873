// The web page's kernel threads: `probegen ui` served, one page on 1 thread and one on N, the
// same shipped examples dropped on each in turn (interleaved, so the machine's drift hits both
// alike); prints each predictor's median answer time as the page measures it, and the ratio.
//   node dist/bench/page-threads.js [--threads 2] [--reps 5] [--json]
// Needs Debian's chromium (CHROMIUM_PATH) and playwright-core (a devDependency).
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { Page } from "playwright-core";
import { chromiumPath, launchChromium, serveUi } from "../test/browser.js";
import { exampleFiles } from "../src/predict/shipped-predictors.js";

const cli = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));
const { values } = parseArgs({ options: { threads: { type: "string", default: "2" }, reps: { type: "string", default: "5" }, json: { type: "boolean", default: false } } });
const threads = Number(values.threads), reps = Number(values.reps);
if (!Number.isInteger(threads) || threads < 2 || threads > 8 || !Number.isInteger(reps) || reps < 1) {
  console.error("usage: node dist/bench/page-threads.js [--threads 2..8] [--reps N >= 1] [--json]");
  process.exit(2);
}
if (chromiumPath() === null) throw new Error("no chromium: install Debian's chromium or set CHROMIUM_PATH");

const { url, stop } = await serveUi(cli);
const browser = await launchChromium();
const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1];
try {
  const pages = new Map<number, Page>();
  for (const n of [1, threads]) {
    const page = await browser.newPage();
    await page.goto(`${url}?threads=${n}`);
    await page.waitForFunction(() => (window as unknown as { probegenReady?: boolean }).probegenReady === true, null, { timeout: 60_000 });
    pages.set(n, page);
  }
  const rows: { predictor: string; oneThread: number; threads: number; ratio: number }[] = [];
  for (const name of ["fmnist-wild-park", "fmnist-cnn", "mnist-inr"]) {
    const times = new Map<number, number[]>([[1, []], [threads, []]]);
    for (const file of exampleFiles(name)) for (let r = 0; r < reps; r++) for (const [n, page] of pages) {
      await page.selectOption("#predictor", name);
      await page.evaluate(() => { document.getElementById("prediction")!.textContent = ""; (document.getElementById("file") as HTMLInputElement).value = ""; });
      await page.setInputFiles("#file", file);
      await page.waitForFunction(() => document.getElementById("prediction")!.textContent !== "" || document.getElementById("error")!.textContent !== "", null, { timeout: 60_000 });
      const m = /answered in ([\d.]+) s/.exec((await page.textContent("#timing")) ?? "");
      if (m === null) throw new Error(`${name} ${file}: ${await page.textContent("#error")}`);
      times.get(n)!.push(Number(m[1]));
    }
    const one = median(times.get(1)!), many = median(times.get(threads)!);
    rows.push({ predictor: name, oneThread: one, threads: many, ratio: one / many });
  }
  if (values.json) console.log(JSON.stringify({ threads, reps, rows }, null, 2));
  else for (const r of rows) console.log(`${r.predictor.padEnd(18)} 1 thread ${(1000 * r.oneThread).toFixed(0).padStart(5)} ms   ${threads} threads ${(1000 * r.threads).toFixed(0).padStart(5)} ms   ${r.ratio.toFixed(2)}x`);
} finally {
  await browser.close();
  stop();
}
