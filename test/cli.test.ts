// The command line: help, exit codes and the machine-readable bench output.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nativeUnavailable } from "../src/engine/kernels/native.js";

const cli = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", timeout: 120_000 });

test("--help works for the tool and every command; unknown input exits non-zero", () => {
  const top = run("--help");
  assert.equal(top.status, 0);
  assert.match(top.stdout, /Usage: probegen <command>/);
  assert.match(top.stdout, /bench/);
  const bench = run("bench", "--help");
  assert.equal(bench.status, 0);
  assert.match(bench.stdout, /--json/);
  const unknown = run("frobnicate");
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /unknown command "frobnicate"/);
  const badFlag = run("bench", "--nope");
  assert.equal(badFlag.status, 2);
  assert.match(badFlag.stderr, /--nope/);
  const badOnly = run("bench", "--only", "w9");
  assert.equal(badOnly.status, 2);
  assert.match(badOnly.stderr, /unknown workload "w9"/);
});

test("bench: the paper-scale probing run in its quick form", () => {
  const r = run("bench", "--json", "--quick", "--only", "paper");
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { paper: { steps: number; seconds: number } };
  assert.equal(out.paper.steps, Math.ceil(2000 / 32), "one epoch of 2,000 training networks in batches of 32");
  assert.ok(out.paper.seconds > 0);
});

test("bench --json --quick prints one JSON object with the figures", () => {
  const r = run("bench", "--json", "--quick", "--only", "w1,w3");
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as Record<string, Record<string, number>>;
  assert.ok(out.w1.stepsPerSec > 0 && Number.isFinite(out.w1.loss));
  assert.ok(out.w3.gemm256GFlops > 0 && out.w3.batchedGemmGFlops > 0);
  assert.ok(out.memory.peakRssMiB > 0);
  assert.equal(out.w2, undefined);
  assert.equal(r.stderr, "", "no progress lines mixed into --json runs");
});

test("bench --backends A,B: both runs in one JSON document, each naming its kernels, with B over A", () => {
  // wasm and reference exist everywhere; native takes reference's place where it built.
  const b = nativeUnavailable() === null ? "native" : "reference";
  const r = run("bench", "--json", "--quick", "--only", "w3,w5", "--w5-networks", "2", "--backends", `wasm,${b}`);
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { runs: { kernels: string; w3: { gemm256GFlops: number }; w5: { networks: number } }[]; ratios: Record<string, number> };
  assert.deepEqual(out.runs.map((x) => x.kernels), ["wasm", b]);
  assert.deepEqual(out.runs.map((x) => x.w5.networks), [2, 2], "--w5-networks reaches W5");
  const ratio = out.ratios["GEMM 256^3 GFLOP/s"];
  assert.ok(Math.abs(ratio - out.runs[1].w3.gemm256GFlops / out.runs[0].w3.gemm256GFlops) < 1e-9 * ratio, "the ratio is the second run's figure over the first's");
  assert.equal(run("bench", "--backends", "wasm").status, 2, "one backend is a usage error");
  assert.equal(run("bench", "--only", "w5", "--w5-networks", "129").status, 2);
});

test("bench: prediction rates in their quick form", () => {
  const r = run("bench", "--json", "--quick", "--only", "predict");
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { predict: { inrs: number; cnns: number; inrsPerSec: number; cnnsPerSec: number } };
  assert.deepEqual([out.predict.inrs, out.predict.cnns], [1000, 64]);
  assert.ok(out.predict.inrsPerSec > out.predict.cnnsPerSec && out.predict.cnnsPerSec > 0, "a SIREN costs less to ask than a CNN");
});

test("bench: the CNN zoo builder in its quick form reports networks per second", () => {
  const r = run("bench", "--json", "--quick", "--only", "cnn");
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { cnn: { networks: number; networksPerSec: number; networkStepsPerSec: number; trainImagesPerSec: number; meanSteps: number; meanTestAccuracy: number; recipe: { testImages: number; batchSize: number } } };
  const c = out.cnn;
  assert.equal(c.networks, 4);
  assert.ok(c.networksPerSec > 0 && c.meanSteps >= 1);
  // What the figures are made of: whole test images right, whole steps, images = steps x batch.
  const correct = c.meanTestAccuracy * c.recipe.testImages * c.networks;
  assert.ok(Math.abs(correct - Math.round(correct)) < 0.05, `${correct} test images right in all`);
  assert.ok(Math.abs(c.meanSteps * c.networks - Math.round(c.meanSteps * c.networks)) < 1e-6);
  assert.ok(Math.abs(c.trainImagesPerSec - c.networkStepsPerSec * c.recipe.batchSize) <= 1e-9 * c.trainImagesPerSec);
});

test("zoo build cnn: a small zoo from the command line, and its bad input", () => {
  const dir = mkdtempSync(join(tmpdir(), "probegen-cli-cnn-"));
  const out = join(dir, "zoo");
  const args = ["zoo", "build", "cnn", "--dataset", "mnist", "--count", "4", "--out", out, "--train-images", "320", "--test-images", "50",
    "--train-eval-images", "50", "--epochs", "1,1", "--json"];
  const r = run(...args);
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout) as { trained: number; testAccuracyQuantiles: number[]; splits: Record<string, number> };
  assert.equal(report.trained, 4);
  assert.deepEqual(report.splits, { train: 1, val: 1, test: 2 });
  assert.equal(report.testAccuracyQuantiles.length, 5);
  const info = run("zoo", "info", out);
  assert.equal(info.status, 0, info.stderr);
  assert.match(info.stdout, /4 cnn networks \(4970 parameters each\)/);
  assert.match(info.stdout, /test_accuracy: mean/);
  const badEpochs = run("zoo", "build", "cnn", "--dataset", "mnist", "--count", "4", "--out", join(dir, "x"), "--epochs", "3,1");
  assert.equal(badEpochs.status, 2);
  assert.match(badEpochs.stderr, /--epochs must be two positive integers LO,HI with LO <= HI, got "3,1"/);
  const other = run(...args.slice(0, -1).map((a) => (a === "320" ? "640" : a)));
  assert.notEqual(other.status, 0);
  assert.match(other.stderr, /zoo\.json: holds a zoo with other settings \(recipe /);
  const uniformOnCnn = run("train", "--zoo", out, "--out", join(dir, "run"), "--method", "uniform", "--probes", "2");
  assert.notEqual(uniformOnCnn.status, 0);
  assert.match(uniformOnCnn.stderr, /uniform probes are coordinates/);
});

test("--version prints the package version", async () => {
  const { readFileSync } = await import("node:fs");
  const pkg = JSON.parse(readFileSync(fileURLToPath(new URL("../../package.json", import.meta.url)), "utf8")) as { version: string };
  const r = run("--version");
  assert.equal(r.status, 0);
  assert.equal(r.stdout.trim(), pkg.version);
});
