// The shipped predictors against their cards: every one's check shard built again from its recipe
// and scored exactly as its card says, and the smallest rebuilt from seed to the same bytes; the
// command line's use of them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { PREDICTORS_DIR, exampleFiles, openPredictor, shippedPredictorNames } from "../src/predict/shipped-predictors.js";
import { nativeUnavailable } from "../src/engine/kernels/native.js";

const CLI = resolve("dist/src/cli/main.js");
/** The predictor small enough to rebuild whole in CI. */
const SMALL = "shape-inr";

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8" });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

// Cards are made on the native kernels (their backend is on the card); the same bits need them.
const skip = nativeUnavailable() !== null ? "the cards' scores are the native kernels' (no native build here)" : false;

test("every shipped predictor's check shard, built again from its recipe, scores exactly what its card says", { skip }, () => {
  const names = shippedPredictorNames();
  assert.ok(names.length >= 6);
  for (const name of names) assert.equal(openPredictor(name).card.backend, "native", name);
  const work = mkdtempSync(join(tmpdir(), "probegen-predictor-check-"));
  const r = cli(["predictors", "check", ...names, "--work", work, "--json"]);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const results = JSON.parse(r.stdout) as { name: string; equal: boolean; got: { networks: number; score: number } }[];
  assert.deepEqual(results.map((x) => x.name), names);
  for (const x of results) {
    assert.ok(x.equal, `${x.name}: ${JSON.stringify(x)}`);
    assert.ok(x.got.networks >= 10, `${x.name} checks ${x.got.networks} networks`);
  }
});

test(`${SMALL} rebuilds from seed to the same bytes, examples included`, { skip }, () => {
  const work = mkdtempSync(join(tmpdir(), "probegen-predictor-rebuild-"));
  const out = join(work, "out");
  const r = cli(["predictors", "rebuild", SMALL, "--work", work, "--out", out]);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(readFileSync(join(out, `${SMALL}.safetensors`)), readFileSync(join(PREDICTORS_DIR, `${SMALL}.safetensors`)));
  const shipped = exampleFiles(SMALL);
  assert.deepEqual(readdirSync(join(out, "examples", SMALL)).sort(), shipped.map((f) => f.split("/").pop()).sort());
  for (const f of shipped) assert.deepEqual(readFileSync(join(out, "examples", SMALL, f.split("/").pop()!)), readFileSync(f));
});

test("predict --predictor: the examples with their truths, cards as JSON, and clear refusals", () => {
  const r = cli(["predict", "--predictor", "mnist-inr", "--example", "--json"]);
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout) as { count: number; predictions: { truth?: string; labelName: string }[] };
  assert.equal(report.count, exampleFiles("mnist-inr").length);
  assert.ok(report.predictions.every((p) => p.truth !== undefined && /^[0-9]$/.test(p.labelName)));
  const cards = JSON.parse(cli(["predictors", "--json"]).stdout) as { name: string; test: { mean: number; std: number }; bytes: number }[];
  assert.deepEqual(cards.map((c) => c.name), shippedPredictorNames());
  assert.ok(cards.reduce((s, c) => s + c.bytes, 0) <= 15 * 2 ** 20, "the shipped predictors fit in 15 MiB");
  const unknown = cli(["predict", "--predictor", "no-such", "x.pth"]);
  assert.equal(unknown.status, 1);
  assert.match(unknown.stderr, /no-such: is not a shipped predictor \(they are .*mnist-inr/);
  assert.equal(cli(["predict", "--example"]).status, 2);
  assert.equal(cli(["predict", "--predictor", "mnist-inr", "--example", "--checkpoint", "best"]).status, 2);
});
