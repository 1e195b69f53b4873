// The web page (probegen ui) in Debian's chromium: opened from disk (one thread) and served on
// localhost (cross-origin isolated, its kernels on threads), it answers every shipped example as
// the command line does (both on the WASM kernels' baseline build, bit for bit), refuses a
// hostile checkpoint with the command line's own message, makes no request but for its own
// file (and, served, its kernel threads' script, made in the page), and logs no error.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Page } from "playwright-core";
import { chromiumPath, launchChromium, serveUi, watchPage } from "./browser.js";
import { exampleFiles, shippedPredictorNames } from "../src/predict/shipped-predictors.js";

const CLI = resolve("dist/src/cli/main.js");
const HOSTILE = resolve("test/fixtures/interop/hostile/executes-code.pth");

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  // The page runs the WASM kernels' baseline build: so does the command line here, for the same bits.
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", env: { ...process.env, PROBEGEN_BACKEND: "wasm", PROBEGEN_SIMD: "baseline" } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** What the page shows for a prediction, made from the command line's JSON. */
function shown(p: { labelName?: string; top?: { label: string; probability: number }[]; score?: number; truth?: string | number }): string {
  if (p.labelName !== undefined) return `${p.labelName} (${p.top!.map((t) => `${t.label} ${(100 * t.probability).toFixed(1)}%`).join(", ")})${p.truth !== undefined ? `; truth ${p.truth}` : ""}`;
  return `${p.score!.toFixed(4)}${p.truth !== undefined ? ` (truth ${Number(p.truth).toFixed(4)})` : ""}`;
}

async function dropFile(page: Page, file: string): Promise<{ prediction: string; error: string }> {
  await page.evaluate(() => { document.getElementById("prediction")!.textContent = ""; document.getElementById("error")!.textContent = ""; });
  await page.setInputFiles("#file", file);
  await page.waitForFunction(() => document.getElementById("prediction")!.textContent !== "" || document.getElementById("error")!.textContent !== "", null, { timeout: 60_000 });
  return { prediction: (await page.textContent('[data-testid="prediction"]'))!, error: (await page.textContent("#error"))! };
}

test("the web page, from disk and from localhost: every shipped example as the command line predicts it, a hostile file refused alike, nothing fetched", async (t) => {
  if (chromiumPath() === null) {
    if (process.env.CI === "true") assert.fail("chromium is not installed (.ci/run installs Debian's chromium)");
    t.skip("no chromium");
    return;
  }
  const names = shippedPredictorNames();
  assert.ok(names.length >= 6, `the shipped predictors: ${names.join(", ")}`);
  const dir = mkdtempSync(join(tmpdir(), "probegen-ui-"));
  const w = cli(["ui", "--out", dir]);
  assert.equal(w.status, 0, w.stderr);
  const html = join(dir, "index.html");
  assert.ok(statSync(html).size > 100_000);
  // Writing over a file that is not a page is refused, and it is left as it was.
  const other = mkdtempSync(join(tmpdir(), "probegen-ui-other-"));
  writeFileSync(join(other, "index.html"), "<html>my own page</html>");
  const refused = cli(["ui", "--out", other]);
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /index\.html/);
  assert.equal(readFileSync(join(other, "index.html"), "utf8"), "<html>my own page</html>");
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const { errors, requests } = watchPage(page);
    const t0 = performance.now();
    await page.goto(pathToFileURL(html).href);
    await page.waitForFunction(() => (window as unknown as { probegenReady?: boolean }).probegenReady === true, null, { timeout: 60_000 });
    t.diagnostic(`interactive in ${((performance.now() - t0) / 1000).toFixed(2)} s`);
    // From disk the page is not cross-origin isolated: its kernels run on its own thread.
    assert.equal(await page.evaluate(() => (window as unknown as { probegenThreads: number }).probegenThreads), 1);
    const expectedOf = new Map<string, string[]>();
    for (const name of names) {
      await page.selectOption("#predictor", name);
      const files = exampleFiles(name);
      const expected = JSON.parse(cli(["predict", "--predictor", name, ...files, "--json"]).stdout) as { predictions: Parameters<typeof shown>[0][] };
      expectedOf.set(name, expected.predictions.map(shown));
      for (const [i, file] of files.entries()) {
        const t1 = performance.now();
        const got = await dropFile(page, file);
        t.diagnostic(`${name} ${basename(file)}: ${((performance.now() - t1) / 1000).toFixed(2)} s: ${got.prediction}`);
        assert.equal(got.error, "");
        assert.equal(got.prediction, shown(expected.predictions[i]), `${name}: ${file}`);
      }
      // The probes are drawn, and so are the network's answers.
      assert.ok((await page.$$("#probes canvas")).length >= 1);
      assert.ok((await page.textContent("#answers"))!.length > 0);
    }
    await page.selectOption("#predictor", "mnist-inr");
    const hostile = await dropFile(page, HOSTILE);
    const fromCli = cli(["predict", "--predictor", "mnist-inr", HOSTILE]);
    assert.equal(fromCli.status, 1);
    const message = fromCli.stderr.trim().replace(`probegen predict: ${HOSTILE}: `, "");
    assert.match(message, /refused to call posix\.system/);
    assert.equal(hostile.prediction, "");
    assert.equal(hostile.error, `/uploads/executes-code.pth: ${message}`);
    await page.screenshot({ path: join(dir, "page.png"), fullPage: true });
    t.diagnostic(`screenshot: ${join(dir, "page.png")}`);
    assert.deepEqual(errors, []);
    assert.deepEqual(requests, [pathToFileURL(html).href]);
    // Served: the page itself is the only thing fetched from the server, and nothing else is.
    const { url, stop } = await serveUi(CLI);
    try {
      // Three kernel threads (?threads=3), whatever this machine's core count: every example
      // gives the same bits as on one thread, and the threads did take kernel calls.
      const page2 = await browser.newPage();
      const watched = watchPage(page2);
      const t2 = performance.now();
      await page2.goto(`${url}?threads=3`);
      await page2.waitForFunction(() => (window as unknown as { probegenReady?: boolean }).probegenReady === true, null, { timeout: 60_000 });
      t.diagnostic(`served, on threads: interactive in ${((performance.now() - t2) / 1000).toFixed(2)} s`);
      assert.deepEqual(await page2.evaluate(() => [crossOriginIsolated, (window as unknown as { probegenThreads: number }).probegenThreads]), [true, 3]);
      const splitCalls = () => page2.evaluate(() => (window as unknown as { probegenSplitCalls: () => number }).probegenSplitCalls());
      const before = await splitCalls();
      for (const name of names) {
        await page2.selectOption("#predictor", name);
        for (const [i, file] of exampleFiles(name).entries()) {
          const t1 = performance.now();
          const got = await dropFile(page2, file);
          t.diagnostic(`3 threads: ${name} ${basename(file)}: ${((performance.now() - t1) / 1000).toFixed(2)} s`);
          assert.equal(got.error, "");
          assert.equal(got.prediction, expectedOf.get(name)![i], `3 threads, ${name}: ${file}`);
        }
      }
      assert.ok(await splitCalls() > before, `kernel calls split over threads: ${await splitCalls() - before}`);
      assert.deepEqual(watched.errors, []);
      // The page, then its kernel threads' script: a blob the page made, of its own origin.
      assert.equal(watched.requests[0], `${url}?threads=3`);
      assert.ok(watched.requests.length === 3 && watched.requests.slice(1).every((r) => r.startsWith(`blob:${url}`)), watched.requests.join(", "));
      assert.equal((await fetch(`${url}elsewhere`)).status, 404);
    } finally {
      stop();
    }
  } finally {
    await browser.close();
  }
  assert.ok(existsSync(join(dir, "page.png")));
  assert.equal(readFileSync(html, "utf8").includes("<title>probegen: what is this network?</title>"), true);
});
