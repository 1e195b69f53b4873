// Reports and comparisons: the HTML report of an INR run and of a CNN run opened in a real
// browser (Debian's chromium driven by playwright-core) with no console error, no request but
// the file itself and its data URLs, and every chart a non-empty SVG; and `probegen compare`
// giving each group's mean ± std from its runs' own result files.
import { test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { buildInrZoo } from "../src/zoo/build/inr-builder.js";
import { buildCnnZoo } from "../src/zoo/build/cnn-builder.js";
import { DEFAULT_TRAIN_CONFIG, type TrainConfig } from "../src/train/config.js";
import { train, type RunResult } from "../src/train/trainer.js";
import { compareMarkdown, compareRuns, meanStd } from "../src/report/compare.js";
import { generatorDescription, runReport } from "../src/report/run-report.js";
import { chromiumPath, launchChromium, watchPage } from "./browser.js";

const cli = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", timeout: 120_000, env: { ...process.env, CI: "true" } });
const root = mkdtempSync(join(tmpdir(), "probegen-report-"));

const small = { probes: 16, epochs: 4, batch: 8, evalEvery: 5, head: { width: 32, depth: 3 } };
const inr = (() => {
  let zoo: string | null = null;
  return () => {
    if (zoo === null) {
      zoo = join(root, "inr-zoo");
      buildInrZoo({ dataset: "mnist", count: 60, out: zoo, seed: 4, recipe: { steps: 40 }, shardSize: 30 });
    }
    return zoo;
  };
})();
const trainRun = (name: string, c: Partial<TrainConfig>): RunResult => train({ ...DEFAULT_TRAIN_CONFIG, zoo: inr(), ...small, ...c }, join(root, name));

interface PageCheck { errors: string[]; requests: string[]; charts: { width: number; height: number; marks: number }[]; images: number[]; screenshot: string }

async function openInBrowser(file: string, screenshot: string): Promise<PageCheck> {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const { errors, requests } = watchPage(page);
    await page.goto(pathToFileURL(file).href, { waitUntil: "load" });
    const charts = await page.$$eval("figure.chart", (figs) => figs.map((f) => {
      const svg = f.querySelector("svg");
      const box = svg?.getBoundingClientRect();
      return { width: box?.width ?? 0, height: box?.height ?? 0, marks: svg?.querySelectorAll("path, rect, image, line").length ?? 0 };
    }));
    // Every <img> (image probes) decoded to a picture of its own size.
    const images = await page.$$eval("img", (imgs) => imgs.map((i) => {
      const img = i as unknown as { complete: boolean; naturalWidth: number };
      return img.complete ? img.naturalWidth : 0;
    }));
    await page.screenshot({ path: screenshot, fullPage: true });
    return { errors, requests, charts, images, screenshot };
  } finally {
    await browser.close();
  }
}

test("report: an INR run and a CNN run as self-contained HTML that a real browser shows without error, every chart drawn", async (t) => {
  const inrRun = join(root, "inr-run");
  trainRun("inr-run", {});
  const cnnZoo = join(root, "cnn-zoo"), cnnRun = join(root, "cnn-run");
  await buildCnnZoo({ dataset: "mnist", count: 24, out: cnnZoo, seed: 2, recipe: { trainImages: 640, testImages: 100, trainEvalImages: 50, epochsRange: [1, 1] } });
  train({ ...DEFAULT_TRAIN_CONFIG, zoo: cnnZoo, probes: 6, epochs: 3, batch: 4, evalEvery: 2, head: { width: 16, depth: 2 } }, cnnRun);

  const r1 = run("report", inrRun, "--json");
  assert.equal(r1.status, 0, r1.stderr);
  const inrOut = JSON.parse(r1.stdout) as { out: string; charts: number; notes: string[] };
  assert.equal(inrOut.out, join(inrRun, "report.html"));
  // loss, accuracy, confusion matrix, and probes over 4 test INRs
  assert.equal(inrOut.charts, 7);
  assert.deepEqual(inrOut.notes, []);
  const cnnHtml = join(root, "cnn-report.html");
  const r2 = run("report", cnnRun, "--out", cnnHtml);
  assert.equal(r2.status, 0, r2.stderr);
  assert.match(r2.stdout, /cnn-report\.html: 3 charts/);

  for (const [file, kind] of [[inrOut.out, "inr"], [cnnHtml, "cnn"]] as const) {
    const html = readFileSync(file, "utf8");
    assert.doesNotMatch(html, /<script|<link|@import|url\(http|src="http|href="http/i, `${kind}: the report must fetch nothing`);
    if (kind === "inr") {
      assert.match(html, /Confusion matrix \(accuracy 0\.\d{4}\)/);
      assert.equal((html.match(/<image /g) ?? []).length, 4, "four test INRs rendered under the probes");
    } else {
      assert.match(html, /τ -?0\.\d{3}, R² -?\d+\.\d{3}, MAE 0\.\d{4}/);
      assert.equal((html.match(/<img src="data:image\/png;base64,/g) ?? []).length, 6, "six image probes");
    }
  }

  const chromium = chromiumPath();
  if (chromium === null) {
    if (process.env.CI === "true") assert.fail("chromium is not installed (.ci/run installs Debian's chromium)");
    t.skip("no chromium here (apt-get install chromium, or set CHROMIUM_PATH)");
    return;
  }
  const shots = process.env.PROBEGEN_SCREENSHOTS ?? root;
  mkdirSync(shots, { recursive: true });
  for (const [file, kind, charts, images] of [[inrOut.out, "inr", 7, 0], [cnnHtml, "cnn", 3, 6]] as const) {
    const page = await openInBrowser(file, join(shots, `report-${kind}.png`));
    assert.deepEqual(page.errors, [], `${kind}: console errors or failed requests`);
    assert.deepEqual(page.requests.filter((u) => !u.startsWith("file:") && !u.startsWith("data:")), [], `${kind}: requests beyond the file`);
    assert.equal(page.charts.length, charts);
    for (const [i, c] of page.charts.entries()) {
      assert.ok(c.width > 100 && c.height > 100, `${kind} chart ${i} is ${c.width}x${c.height}`);
      assert.ok(c.marks > 10, `${kind} chart ${i} has ${c.marks} marks`);
    }
    assert.deepEqual(page.images, new Array(images).fill(32), `${kind}: every probe picture decodes at 32 px`);
    assert.ok(readFileSync(page.screenshot).length > 20_000, "the screenshot shows the page");
    t.diagnostic(`screenshot: ${page.screenshot}`);
  }
});

test("report: a user's file is not overwritten, a run whose zoo is gone still reports, a statnn run has no probes", async () => {
  trainRun("stat-run", { method: "statnn" });
  const mine = join(root, "mine.html");
  writeFileSync(mine, "<p>my notes</p>");
  const r = run("report", join(root, "stat-run"), "--out", mine);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /mine\.html: exists; it is not a probegen report, so probegen will not replace it/);
  assert.equal(readFileSync(mine, "utf8"), "<p>my notes</p>");
  const stat = await runReport(join(root, "stat-run"));
  assert.match(stat.html, /statistics of its weights \(StatNN\); it has no probes/);
  assert.equal(stat.charts, 3);

  // The same run pointed at a zoo that is gone: curves and probes only.
  const moved = join(root, "moved-run");
  trainRun("moved-run", { zoo: inr() });
  const cfgFile = join(moved, "config.json");
  const cfg = JSON.parse(readFileSync(cfgFile, "utf8")) as { config: { zoo: string } };
  cfg.config.zoo = join(root, "no-such-zoo");
  writeFileSync(cfgFile, JSON.stringify(cfg));
  const gone = await runReport(moved);
  assert.equal(gone.notes.length, 1);
  assert.match(gone.notes[0], /no-such-zoo: the test evaluation, INR renders and zoo provenance are left out/);
  assert.equal(gone.charts, 3, "loss, accuracy and the probes alone");
  // A report already there is ours, and is replaced.
  assert.equal(run("report", moved).status, 0);
  assert.equal(run("report", moved).status, 0);
});

test("compare: groups by method and K, mean ± sample std of the best-validation test scores, Markdown and JSON; unfinished runs named", () => {
  const runs: Record<string, RunResult> = {};
  for (const method of ["probegen", "vanilla"] as const) for (const seed of [0, 1, 2]) runs[`${method}-${seed}`] = trainRun(`cmp-${method}-${seed}`, { method, seed });
  runs["vanilla-lr"] = trainRun("cmp-vanilla-lr", { method: "vanilla", seed: 0, lr: 0.01 });
  const dirs = Object.keys(runs).map((k) => join(root, `cmp-${k}`));
  const groups = compareRuns(dirs);
  assert.equal(groups.length, 3, "probegen, vanilla, and vanilla with another lr");
  const pg = groups.find((g) => g.method === "probegen")!;
  const tests = [0, 1, 2].map((s) => runs[`probegen-${s}`].best!.test);
  assert.deepEqual(pg.tests, tests);
  assert.deepEqual(pg.seeds, [0, 1, 2]);
  const [m, sd] = meanStd(tests);
  assert.equal(pg.mean, m);
  assert.equal(pg.std, sd);
  // a sample std: two seeds 0.5 and 0.7 give 0.1414, not 0.1
  assert.ok(Math.abs(meanStd([0.5, 0.7])[1] - Math.SQRT2 / 10) < 1e-12);
  assert.equal(pg.flopsPerNetwork, runs["probegen-0"].flopsPerNetwork);
  assert.equal(groups.filter((g) => g.method === "vanilla").map((g) => g.seeds.length).sort().join(","), "1,3");

  const md = run("compare", ...dirs, "--markdown");
  assert.equal(md.status, 0, md.stderr);
  assert.equal(md.stdout.trim(), compareMarkdown(groups).trim());
  assert.ok(md.stdout.includes(`${(100 * m).toFixed(2)} ± ${(100 * sd).toFixed(2)}`), md.stdout);
  // A folder of runs stands for its runs.
  const experiment = join(root, "experiment");
  mkdirSync(experiment);
  for (const d of dirs.slice(0, 3)) cpSync(d, join(experiment, basename(d)), { recursive: true });
  writeFileSync(join(experiment, "notes.txt"), "not a run");
  const folder = run("compare", experiment, "--json");
  assert.equal(folder.status, 0, folder.stderr);
  assert.deepEqual((JSON.parse(folder.stdout) as { tests: number[] }[]).map((g) => g.tests), [tests]);
  const empty = join(root, "empty");
  mkdirSync(empty);
  const none = run("compare", empty);
  assert.equal(none.status, 1);
  assert.match(none.stderr, /empty: is neither a run folder \(config\.json\) nor a folder of runs/);
  const js = run("compare", ...dirs, "--json");
  assert.deepEqual((JSON.parse(js.stdout) as { mean: number }[]).map((g) => g.mean), groups.map((g) => g.mean));

  const unfinished = join(root, "cmp-unfinished");
  trainRun("cmp-unfinished", {});
  rmSync(join(unfinished, "result.json"));
  // An unfinished run is named and left out; the finished ones are compared (issue 24.6).
  const partial = run("compare", dirs[0], unfinished, "--json");
  assert.equal(partial.status, 0, partial.stderr);
  assert.match(partial.stderr, /left out 1 unfinished run\(s\) \(no result\.json yet.*\): .*cmp-unfinished/);
  assert.equal((JSON.parse(partial.stdout) as unknown[]).length, 1);
  assert.equal(run("compare", unfinished).status, 1, "nothing finished: nothing to compare");
  // The same run twice is one seed, not two; a copy of a run (same settings and seed) is refused.
  const twice = compareRuns([dirs[0], dirs[0], join(dirs[0], ".")]);
  assert.deepEqual(twice.map((g) => g.seeds), [[0]]);
  const copy = join(root, "cmp-copy");
  cpSync(dirs[0], copy, { recursive: true });
  assert.throws(() => compareRuns([dirs[0], copy]), /cmp-copy: has the same settings and seed \(0\) as .*cmp-probegen-0: one seed would count twice/);
  // One seed shows as one seed, not "± 0.00"; groups that differ only in lr are named by it.
  const text = run("compare", dirs[0], join(root, "cmp-vanilla-0"), join(root, "cmp-vanilla-lr")).stdout;
  assert.match(text, /\(1 seed\)/);
  assert.doesNotMatch(text, /± 0\.00%/);
  assert.match(text, /vanilla \[lr 0\.0003\]/);
  assert.match(text, /vanilla \[lr 0\.01\]/);
  assert.equal(run("compare", "--json", "--markdown", dirs[0]).status, 2);
});

test("report labels: a coordinate generator named as built, an image generator as deep_linear_N, whole steps on the axis of a single evaluation", async () => {
  trainRun("one-eval", { evalEvery: 10_000, epochs: 6, generator: { ...DEFAULT_TRAIN_CONFIG.generator, hidden: [16, 8] } });
  const r = await runReport(join(root, "one-eval"));
  assert.match(r.html, /probegen \(coordinate generator Linear\(32,16\) → Linear\(16,8\) → Linear\(8,2\), no activation, latent 32\)/);
  assert.doesNotMatch(r.html, /5-layer/);
  const steps = [...r.html.matchAll(/<text[^>]*>([\d.]+)<\/text>/g)].map((m) => m[1]);
  assert.ok(steps.length > 0);
  assert.ok(!steps.some((t) => /\.0{3,}$/.test(t)), `a tick like 25.000000: ${steps.join(" ")}`);
  assert.equal(generatorDescription({ ...DEFAULT_TRAIN_CONFIG, zoo: "z", generator: { ...DEFAULT_TRAIN_CONFIG.generator, layers: 6, activation: "relu", widthMultiplier: 2 } }, [1, 32, 32]),
    "image generator deep_linear_6, ReLU between layers, latent 32, widths ×2");
});
