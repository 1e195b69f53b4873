// Probe sources, the probing trainer (determinism, resume, checkpoints), eval and the demo.
import { test } from "node:test";
import assert from "node:assert/strict";
import { assertBestIsBestValidation } from "./helpers.js";
import { mkdtempSync, readFileSync, writeFileSync, cpSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Adam, Rng, backward, crossEntropy, tidy } from "../src/engine/index.js";
import { ProbingModel } from "../src/train/probing-model.js";
import type { ProbeRepresentation } from "../src/train/probe-representation.js";
import { readSafetensors } from "../src/io/safetensors.js";
import { buildInrZoo } from "../src/zoo/build/inr-builder.js";
import { makeProbeSource } from "../src/probes/make.js";
import { DEFAULT_TRAIN_CONFIG, type TrainConfig } from "../src/train/config.js";
import { train, type MetricsRecord } from "../src/train/trainer.js";
import { classificationReport } from "../src/train/metrics.js";
import { weightStatistics } from "../src/train/weight-statistics.js";
import { regressionMetrics } from "../src/train/evaluate.js";
import { ZooData } from "../src/train/zoo-data.js";
import { Zoo } from "../src/zoo/format.js";

const cli = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));
const runCli = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", timeout: 120_000, env: { ...process.env, CI: "true" } });
const tmp = (tag: string) => mkdtempSync(join(tmpdir(), `probegen-${tag}-`));
const zooDir = (() => {
  let dir: string | null = null;
  return () => {
    if (dir === null) {
      dir = join(tmp("train-zoo"), "zoo");
      buildInrZoo({ dataset: "mnist", count: 60, out: dir, seed: 1, recipe: { steps: 60 }, batch: 30, shardSize: 32 });
    }
    return dir;
  };
})();
const cfg = (extra: Partial<TrainConfig> = {}): TrainConfig =>
  ({ ...DEFAULT_TRAIN_CONFIG, zoo: zooDir(), epochs: 4, batch: 8, evalEvery: 5, head: { width: 32, depth: 3 }, ...extra });
const metrics = (run: string) => readFileSync(join(run, "metrics.jsonl"), "utf8").trim().split("\n")
  .map((l) => JSON.parse(l) as MetricsRecord).map(({ modelsPerSec: _m, seconds: _s, ...rest }) => rest);

test("probe sources: grid and uniform fixed probes, learned vanilla probes, the deep linear generator", () => {
  const rng = new Rng(0);
  const grid = makeProbeSource({ method: "grid", count: 9 }, [2], rng);
  assert.deepEqual(Array.from(grid.forward().data), [-1, -1, -1, 0, -1, 1, 0, -1, 0, 0, 0, 1, 1, -1, 1, 0, 1, 1]);
  assert.equal(grid.learned, false);
  assert.equal(grid.namedParameters().length, 0);
  const uni = makeProbeSource({ method: "uniform", count: 500 }, [2], rng).forward().data;
  assert.ok(uni.every((v) => v >= -1 && v < 1) && Math.min(...uni) < -0.95 && Math.max(...uni) > 0.95);
  const van = makeProbeSource({ method: "vanilla", count: 400 }, [2], rng);
  const v = van.forward().data;
  const mean = v.reduce((a, b) => a + b, 0) / v.length, varc = v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length;
  assert.ok(Math.abs(mean) < 0.1 && Math.abs(varc - 1) < 0.15, `vanilla probes ~ N(0,1): mean ${mean}, var ${varc}`);
  const vu = makeProbeSource({ method: "vanilla", count: 300, vanillaInit: "uniform" }, [2], rng).forward().data;
  assert.ok(vu.every((x) => x >= -1 && x < 1) && Math.min(...vu) < -0.9, "vanilla probes U(-1,1) on request");
  const gen = makeProbeSource({ method: "probegen", count: 16, latentDim: 8, generatorHidden: [12, 6] }, [2], rng);
  assert.deepEqual(gen.namedParameters().map(([n, t]) => `${n}:${t.shape.join("x")}`),
    ["latents:16x8", "gen.0.weight:12x8", "gen.0.bias:12", "gen.1.weight:6x12", "gen.1.bias:6", "gen.2.weight:2x6", "gen.2.bias:2"]);
  assert.deepEqual(gen.forward().shape, [16, 2]);
  assert.equal(gen.flops(), 2 * 16 * (8 * 12 + 12 * 6 + 6 * 2));
  assert.throws(() => makeProbeSource({ method: "probegen", count: 0 }, [2], rng), /positive integer, got 0/);
});

test("classification report: accuracy, per-class accuracy and confusion matrix", () => {
  const r = classificationReport([0, 1, 1, 2, 0], [0, 1, 2, 2, 1], 4);
  assert.equal(r.accuracy, 3 / 5);
  assert.deepEqual(r.confusion, [[1, 0, 0, 0], [1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 0, 0]]);
  assert.deepEqual(r.perClass.slice(0, 3), [1, 0.5, 0.5]);
  assert.ok(Number.isNaN(r.perClass[3]));
});

test("training is deterministic, learns, and writes its run folder", () => {
  const a = join(tmp("run-a"), "r"), b = join(tmp("run-b"), "r");
  const ra = train(cfg(), a), rb = train(cfg(), b);
  assert.deepEqual(metrics(a), metrics(b));
  assert.deepEqual(readFileSync(join(a, "best.safetensors")), readFileSync(join(b, "best.safetensors")));
  for (const f of ["config.json", "metrics.jsonl", "best.json", "best.safetensors", "last.json", "last.safetensors", "result.json"]) assert.ok(existsSync(join(a, f)), f);
  const m = metrics(a);
  // 47 training INRs in batches of 8: 6 steps an epoch, 24 in all; evaluations at 5, 10, 15, 20, 24.
  assert.deepEqual(m.map((r) => r.step), [5, 10, 15, 20, 24]);
  assert.equal(m[4].epoch, 4);
  assert.ok(m[4].trainLoss < m[0].trainLoss, `train loss falls: ${m[0].trainLoss} -> ${m[4].trainLoss}`);
  assert.ok(Math.abs(m[4].lr - 3e-4 * (1 + Math.cos(Math.PI * 23 / 24)) / 2) < 1e-12, "cosine annealing: the last step's rate");
  assert.ok(ra.best !== null && ra.best.val === Math.max(...m.map((r) => r.val!.score)));
  assert.deepEqual(ra, { ...rb, run: ra.run, trainSeconds: ra.trainSeconds });
  const other = train(cfg({ seed: 1 }), join(tmp("run-c"), "r"));
  assert.notDeepEqual(metrics(other.run), m);
  assert.throws(() => train(cfg(), a), /already holds a run; pass --resume/);
});

test("a stopped run resumes from its last checkpoint and ends with the same metrics", () => {
  for (const method of ["probegen", "vanilla"] as const) {
    const whole = join(tmp("whole"), "r"), parts = join(tmp("parts"), "r");
    train(cfg({ method }), whole);
    train(cfg({ method }), parts, { stopAfter: 12 });
    assert.ok(!existsSync(join(parts, "result.json")));
    // An evaluation logged after the last checkpoint is dropped and redone.
    writeFileSync(join(parts, "metrics.jsonl"), readFileSync(join(parts, "metrics.jsonl"), "utf8") + '{"step":999}\n');
    train(cfg({ method }), parts, { resume: true });
    assert.deepEqual(metrics(parts), metrics(whole), method);
    assert.deepEqual(readFileSync(join(parts, "last.safetensors")), readFileSync(join(whole, "last.safetensors")));
    assert.throws(() => train(cfg({ method, lr: 1e-3 }), parts, { resume: true }), /--resume with different settings \(lr\)/);
  }
});

test("the weight-statistics baseline: 7 statistics per tensor, standardised by the train split", () => {
  const data = new ZooData(Zoo.open(zooDir()));
  const { features, dim } = weightStatistics(data);
  assert.equal(dim, 6 * 7);
  // Network 0's last bias is one value: mean = every quantile, variance 0.
  const b = data.params.get("seq.2.bias")!.data[0];
  assert.deepEqual(Array.from(features.subarray(5 * 7, 6 * 7)).map((v) => Math.fround(v)), [b, 0, b, b, b, b, b].map(Math.fround));
  // Its first weight tensor: check the mean and the median against a direct computation.
  const w = Array.from(data.params.get("seq.0.weight")!.data.subarray(0, 64)).sort((x, y) => x - y);
  assert.ok(Math.abs(features[0] - w.reduce((a, c) => a + c, 0) / 64) < 1e-6);
  assert.ok(Math.abs(features[4] - (w[31] + w[32]) / 2) < 1e-6);
  data.dispose();
  const run = join(tmp("statnn"), "r");
  const r = train(cfg({ method: "statnn" }), run);
  assertBestIsBestValidation(run, r);
  assert.ok(r.flopsPerNetwork > 0);
  const names = Object.keys(JSON.parse(readFileSync(join(run, "best.safetensors")).subarray(8, 8 + Number(readFileSync(join(run, "best.safetensors")).readBigUInt64LE(0))).toString()));
  assert.ok(names.includes("statnn.mean") && names.includes("statnn.std"), "standardisation saved with the checkpoint");
  const e = runCli("eval", run, "--json");
  assert.equal(e.status, 0, e.stderr);
  assert.equal(JSON.parse(e.stdout).accuracy, r.best!.test);
});

test("regression zoos: MSE on the target field, Kendall's tau selects the checkpoint, eval reports tau, R^2 and MAE", () => {
  const m = regressionMetrics([1, 2, 3, 5], [1, 3, 2, 4]);
  // tau: 6 pairs, (1,2) discordant, the rest concordant -> (5 - 1) / 6.
  assert.ok(Math.abs(m.kendallTau - 4 / 6) < 1e-12);
  assert.ok(Math.abs(m.mae - 0.75) < 1e-12);
  // SS_res = 0 + 1 + 1 + 1 = 3, SS_tot = 2.25 + 0.25 + 0.25 + 2.25 = 5 -> R^2 = 0.4
  assert.ok(Math.abs(m.r2 - 0.4) < 1e-12);
  const dir = join(tmp("regress"), "z");
  cpSync(zooDir(), dir, { recursive: true });
  const manifest = JSON.parse(readFileSync(join(dir, "zoo.json"), "utf8"));
  manifest.task = { kind: "regression", target: "psnr" };
  writeFileSync(join(dir, "zoo.json"), JSON.stringify(manifest));
  const out = join(tmp("regress-run"), "r");
  const r = train(cfg({ zoo: dir }), out);
  assert.equal(r.score, "kendallTau");
  const rec = metrics(out);
  assert.ok(rec.every((x) => x.val!.kendallTau !== undefined && x.val!.accuracy === undefined && Math.abs(x.val!.score) <= 1));
  assert.ok(rec[rec.length - 1].trainLoss < rec[0].trainLoss);
  const e = runCli("eval", out, "--json");
  assert.equal(e.status, 0, e.stderr);
  const ev = JSON.parse(e.stdout);
  assert.equal(ev.target, "psnr");
  assert.equal(ev.kendallTau, r.best!.test);
  assert.ok(Number.isFinite(ev.r2) && ev.mae > 0);
  const cls = runCli("eval", out, "--zoo", zooDir());
  assert.equal(cls.status, 1);
  assert.match(cls.stderr, /a classification zoo of 10 classes, but the run was trained for regression/);
});

test("fixed probes stay fixed while the head trains; learned probes move", () => {
  const data = new ZooData(Zoo.open(zooDir()));
  const step = (method: "uniform" | "vanilla") => {
    const model = new ProbingModel(cfg({ method }), data.outputs, data);
    const source = (model.representation as ProbeRepresentation).source;
    const before = Float32Array.from(source.forward().data);
    const head = Float32Array.from(model.head.layers[0].weight.data);
    const params = model.trainableParameters();
    const opt = new Adam(params.map(([, t]) => t), { lr: 1e-2 });
    for (let i = 0; i < 3; i++) {
      opt.zeroGrad();
      tidy(() => backward(crossEntropy(model.forward(data, data.splits.train.subarray(0, 8)), Array.from(data.splits.train.subarray(0, 8), (j) => data.labels[j]))));
      opt.step();
    }
    return { before, after: Float32Array.from(source.forward().data), headMoved: !model.head.layers[0].weight.data.every((v, k) => v === head[k]), names: params.map(([n]) => n) };
  };
  const fixed = step("uniform");
  assert.deepEqual(Array.from(fixed.after), Array.from(fixed.before), "uniform probes are the same after training steps");
  assert.ok(fixed.headMoved, "the head trained");
  assert.ok(fixed.names.every((n) => n.startsWith("head.")), `only the head is trained: ${fixed.names}`);
  const learned = step("vanilla");
  assert.notDeepEqual(Array.from(learned.after), Array.from(learned.before), "vanilla probes move");
  data.dispose();
  // And a run's checkpoints hold no probes for fixed methods.
  const run = join(tmp("uniform"), "r");
  train(cfg({ method: "uniform" }), run);
  const names = [...readSafetensors(join(run, "best.safetensors")).tensors.keys()];
  assert.ok(names.length > 0 && names.every((n) => n.startsWith("head.")), `only head tensors: ${names}`);
});

test("fixed probes: each network is evaluated once, and its kept answers are the ones a fresh evaluation gives", () => {
  const data = new ZooData(Zoo.open(zooDir()));
  try {
    const gathered: number[] = [];
    const gather = data.gather.bind(data);
    data.gather = (indices) => { gathered.push(...Array.from(indices)); return gather(indices); };
    const model = new ProbingModel(cfg({ method: "uniform" }), data.outputs, data);
    const fresh = new ProbingModel(cfg({ method: "uniform" }), data.outputs, data);
    const rep = (m: ProbingModel, idx: number[]) => tidy(() => Array.from(m.represent(data, idx).data));
    const first = rep(model, [3, 1, 4, 1, 5]);
    assert.deepEqual(gathered.slice().sort((a, b) => a - b), [1, 3, 4, 5], "each network once, a repeated one too");
    gathered.length = 0;
    const second = rep(model, [5, 9, 3]);
    assert.deepEqual(gathered, [9], "only the network not seen before is evaluated");
    const features = first.length / 5;
    assert.deepEqual(second.slice(0, features), first.slice(4 * features), "network 5 answers as before");
    assert.deepEqual(first.slice(features, 2 * features), first.slice(3 * features, 4 * features), "a network repeated in one batch");
    // A model that never saw these networks computes the same answers.
    assert.deepEqual(rep(fresh, [5, 9, 3]), second);
    assert.ok(second.some((v) => v !== 0));
    // Learned probes change, so a vanilla model evaluates every time.
    gathered.length = 0;
    const vanilla = new ProbingModel(cfg({ method: "vanilla" }), data.outputs, data);
    rep(vanilla, [3, 1]);
    rep(vanilla, [3, 1]);
    assert.deepEqual(gathered, [3, 1, 3, 1]);
  } finally {
    data.dispose();
  }
});

const run = runCli;

test("train and eval CLI, and the errors a researcher can run into", () => {
  const out = join(tmp("cli-run"), "r");
  const t = run("train", "--zoo", zooDir(), "--out", out, "--epochs", "2", "--batch", "8", "--head-depth", "2", "--json");
  assert.equal(t.status, 0, t.stderr);
  const result = JSON.parse(t.stdout);
  assert.equal(result.probes, 64);
  assert.ok(result.flopsPerNetwork > 0);
  const e = run("eval", out, "--json");
  assert.equal(e.status, 0, e.stderr);
  const ev = JSON.parse(e.stdout);
  assert.equal(ev.count, 9, "the test split of a 60-INR zoo");
  assert.equal(ev.confusion.flat().reduce((a: number, b: number) => a + b, 0), 9);
  assert.equal(ev.accuracy, result.best.test);
  const text = run("eval", out, "--split", "val");
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /confusion \(rows: true, columns: predicted\)/);

  const bad: [string[], number, RegExp][] = [
    [["train", "--zoo", zooDir(), "--out", join(out, "x"), "--probes", "0"], 2, /--probes must be an integer >= 1/],
    [["train", "--zoo", join(out, "nozoo"), "--out", join(out, "y")], 1, /nozoo: no such zoo folder/],
    [["train", "--zoo", zooDir(), "--out", join(out, "z"), "--method", "magic"], 2, /--method must be auto or probegen or vanilla or uniform or grid or dead-leaves or data or statnn/],
    [["eval", join(out, "none")], 1, /config.json: not found/],
  ];
  for (const [args, code, re] of bad) {
    const x = run(...args);
    assert.equal(x.status, code, `${args.join(" ")}: ${x.stderr}`);
    assert.match(x.stderr, re);
  }
  // A zoo whose manifest lost its labels, and one of another architecture.
  const broken = join(tmp("nolabel"), "z");
  cpSync(zooDir(), broken, { recursive: true });
  const m = JSON.parse(readFileSync(join(broken, "zoo.json"), "utf8"));
  m.fields = m.fields.filter((f: { name: string }) => f.name !== "label");
  writeFileSync(join(broken, "zoo.json"), JSON.stringify(m));
  const nl = run("train", "--zoo", broken, "--out", join(out, "w"));
  assert.equal(nl.status, 1);
  assert.match(nl.stderr, /zoo.json: the zoo has no label field/);
  const wide = join(tmp("wide"), "z");
  buildInrZoo({ dataset: "mnist", count: 20, out: wide, recipe: { steps: 2 }, arch: { inDim: 2, hidden: [16], outDim: 1, w0: 30, outputOffset: 0.5 } });
  const mismatch = run("eval", out, "--zoo", wide);
  assert.equal(mismatch.status, 1);
  assert.match(mismatch.stderr, /the run was trained on siren networks .* but .* holds siren networks/);
});

/** Each demo row is its run's result: the test score at the best validation step of its log. */
function assertRowsAreTheirRuns(rows: { score: string; run: string; test: number; flopsPerNetwork: number }[], score: string): void {
  for (const r of rows) {
    assert.equal(r.score, score);
    const result = JSON.parse(readFileSync(join(r.run, "result.json"), "utf8"));
    assertBestIsBestValidation(r.run, result);
    assert.equal(r.test, result.best.test);
    assert.ok(r.flopsPerNetwork > 0);
  }
}

test("demo runs end to end on a tiny zoo and prints the comparison", () => {
  const cache = tmp("demo");
  const d = run("demo", "--count", "40", "--fit-steps", "20", "--epochs", "2", "--cache", cache, "--json");
  assert.equal(d.status, 0, d.stderr);
  const out = JSON.parse(d.stdout);
  assert.deepEqual(out.rows.map((r: { method: string }) => r.method), ["probegen", "vanilla", "uniform"]);
  assertRowsAreTheirRuns(out.rows, "accuracy");
  assert.equal(out.report, join(cache, "runs", "demo-probegen-k64", "report.html"));
  assert.match(readFileSync(out.report, "utf8"), /Confusion matrix \(accuracy/);
  const again = run("demo", "--count", "40", "--fit-steps", "20", "--epochs", "2", "--cache", cache);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stderr, /reusing the demo zoo/);
  assert.match(again.stdout, /ProbeGen \(deep linear generator\)/);
  assert.ok(again.stdout.trimEnd().endsWith(`report (curves, test results, probes): ${out.report}`), again.stdout);
});

test("demo --task cnn: a tiny Small-CNN zoo, test accuracy predicted by three probe sources", () => {
  const cache = tmp("demo-cnn");
  const d = run("demo", "--task", "cnn", "--count", "24", "--train-images", "320", "--epochs", "2", "--probes", "4", "--cache", cache, "--json");
  assert.equal(d.status, 0, d.stderr);
  const out = JSON.parse(d.stdout);
  assert.equal(out.task, "cnn");
  assert.deepEqual(out.rows.map((r: { method: string }) => r.method), ["probegen", "vanilla", "dead-leaves"]);
  assertRowsAreTheirRuns(out.rows, "kendallTau");
  assert.equal(out.report, join(cache, "runs", "demo-probegen-k4", "report.html"));
  assert.match(readFileSync(out.report, "utf8"), /predicted against true test_accuracy/);
  const again = run("demo", "--task", "cnn", "--count", "24", "--train-images", "320", "--epochs", "2", "--probes", "4", "--cache", cache);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stderr, /reusing the demo zoo/);
  assert.match(again.stdout, /Fashion-MNIST Small-CNN test-accuracy prediction/);
  assert.match(again.stdout, /fixed Dead Leaves images/);
});
