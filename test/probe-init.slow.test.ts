// Where ProbeGen's image generator starts (--probe-init): fitted to Dead Leaves or real images
// before training, or as initialised (--recipe paper); coordinate generators are untouched.
import { test } from "node:test";
import assert from "node:assert/strict";
import { assertBestIsBestValidation } from "./helpers.js";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Rng, tidy } from "../src/engine/index.js";
import { buildCnnZoo } from "../src/zoo/build/cnn-builder.js";
import { buildInrZoo } from "../src/zoo/build/inr-builder.js";
import { ImageGenerator } from "../src/probes/image-generator.js";
import { fitProbesTo } from "../src/probes/fit-probes.js";
import { fixedProbeValues } from "../src/probes/fixed-probes.js";
import { resolveProbeInit } from "../src/train/probe-init.js";
import { DEFAULT_TRAIN_CONFIG, TRAIN_RECIPES } from "../src/train/config.js";
import { ProbingModel } from "../src/train/probing-model.js";
import type { ProbeRepresentation } from "../src/train/probe-representation.js";
import { readRunFile } from "../src/train/run-folder.js";
import { train } from "../src/train/trainer.js";
import { ZooData } from "../src/train/zoo-data.js";
import { Zoo, type ZooManifest } from "../src/zoo/format.js";
import { readSafetensors } from "../src/io/safetensors.js";
import { methodLabel } from "../src/report/compare.js";

const cli = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));
const tmp = (tag: string) => mkdtempSync(join(tmpdir(), `probegen-${tag}-`));
const mse = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return s / a.length;
};

test("a generator fitted to Dead Leaves images makes them (to tanh's range), the same bytes for a seed", () => {
  const targets = fixedProbeValues("dead-leaves", 8, [1, 32, 32], new Rng(3, "t"));
  const clipped = targets.map((v) => Math.max(-0.95, Math.min(0.95, v)));
  const fit = (seed: number) => {
    const g = new ImageGenerator(8, new Rng(seed, "g"));
    const before = tidy(() => mse(g.forward().data, clipped));
    const loss = fitProbesTo(g, targets, { steps: 200 });
    const after = tidy(() => Float32Array.from(g.forward().data));
    return { before, loss, after, params: g.namedParameters().map(([, t]) => Float32Array.from(t.data)) };
  };
  const a = fit(1);
  // 8 images and 32 latent dimensions: the linear map can hold them all.
  assert.ok(a.before > 0.2, `a random generator makes grey images (mse ${a.before})`);
  assert.ok(a.loss < 0.02 && a.loss < a.before / 20, `fitted: mse ${a.before} -> ${a.loss}`);
  assert.ok(Math.abs(mse(a.after, clipped) - a.loss) < 0.01, "the reported loss is the probes' distance to the targets");
  const b = fit(1);
  assert.deepEqual(b.params, a.params);
  assert.notDeepEqual(fit(2).params, a.params);
  assert.throws(() => fitProbesTo(new ImageGenerator(8, new Rng(1, "g")), targets.subarray(1)), /needs 8192 target values, got 8191/);
});

test("--probe-init: auto starts image generators from the zoo's images (Dead Leaves without one), INR generators as initialised", () => {
  const manifest = (dataset: unknown) => ({ provenance: { dataset } }) as unknown as ZooManifest;
  const image = [1, 32, 32], coords = [2];
  const r = (method: string, probeInit: string, shape: number[], m = manifest("fmnist")) =>
    resolveProbeInit({ method: method as never, probeInit: probeInit as never }, shape, m);
  assert.equal(r("probegen", "auto", image), "data");
  assert.equal(r("probegen", "auto", image, manifest("cifar10")), "dead-leaves");
  assert.equal(r("probegen", "auto", image, manifest(undefined)), "dead-leaves");
  assert.equal(r("probegen", "dead-leaves", image), "dead-leaves");
  assert.equal(r("probegen", "random", image), "random");
  assert.equal(r("probegen", "auto", coords), "random");
  assert.equal(r("vanilla", "auto", image), "random");
  assert.equal(r("data", "auto", image), "random");
  assert.throws(() => r("probegen", "data", coords), /--probe-init data needs image probes; this zoo's networks take coordinates \[2\]/);
  assert.throws(() => r("vanilla", "dead-leaves", image), /the vanilla method has none/);
  // compare's names: what a run started from, and a rate of its own.
  const label = (c: object) => methodLabel({ ...DEFAULT_TRAIN_CONFIG, method: "probegen", zoo: "z", ...c });
  assert.equal(label({ probeInit: "data" }), "probegen-from-data");
  assert.equal(label({ probeInit: "dead-leaves", generator: { ...DEFAULT_TRAIN_CONFIG.generator, layers: 6 } }), "probegen6-from-dead-leaves");
  assert.equal(label({ probeInit: "data", probeLr: 1e-4 }), "probegen-from-data (probe lr 0.0001)");
  assert.equal(label({ probeInit: "random" }), "probegen");
  assert.equal(label({ method: "vanilla", probeLr: 1e-4 }), "vanilla (probe lr 0.0001)");
  assert.equal(label({ probeInit: "data", probeLr: DEFAULT_TRAIN_CONFIG.lr }), "probegen-from-data", "a probe rate equal to lr is no rate of its own");
  assert.equal(label({ probeInit: undefined }), "probegen", "runs from before --probe-init started as initialised");
  assert.equal(TRAIN_RECIPES.paper.probeInit, "random");
  assert.equal(TRAIN_RECIPES.default.probeInit, "auto");
});

test("training a CNN zoo starts the generator from the zoo's images; --recipe paper does not; an INR run is unchanged", async () => {
  const root = tmp("probe-init");
  const zooDir = join(root, "zoo");
  await buildCnnZoo({ dataset: "fmnist", count: 8, shardSize: 8, recipe: { trainImages: 320, testImages: 100, trainEvalImages: 50 }, seed: 1, out: zooDir });
  const base = { ...DEFAULT_TRAIN_CONFIG, method: "probegen" as const, zoo: zooDir, probes: 4, epochs: 1, batch: 4, evalEvery: 1, head: { width: 8, depth: 2 } };
  // The model as training builds it: its first probes are near the images they were fitted to.
  const zoo = Zoo.open(zooDir);
  const data = new ZooData(zoo);
  const first = (probeInit: "data" | "random") => {
    const m = new ProbingModel({ ...base, probeInit }, data.outputs, data, { startProbes: true });
    return tidy(() => Float32Array.from((m.representation as ProbeRepresentation).source.forward().data));
  };
  const images = fixedProbeValues("data", 4, [1, 32, 32], new Rng(0, "model").fork("probes").fork("data"),
    (await import("../src/data/image-sets.js")).loadImageSet("fmnist")).map((v) => Math.max(-0.95, Math.min(0.95, v)));
  const fitted = mse(first("data"), images), grey = mse(first("random"), images);
  assert.ok(fitted < 0.02 && fitted < grey / 10, `fitted ${fitted}, random ${grey}`);
  data.dispose();

  const auto = train(base, join(root, "auto"));
  assert.equal(readRunFile(join(root, "auto")).config.probeInit, "data", "config.json records the start, not auto");
  const paper = spawnSync(process.execPath, [cli, "train", "--zoo", zooDir, "--out", join(root, "paper"), "--recipe", "paper", "--probes", "4",
    "--epochs", "1", "--batch", "4", "--eval-every", "1", "--head-width", "8", "--head-depth", "2", "--json"], { encoding: "utf8", env: { ...process.env, CI: "true" } });
  assert.equal(paper.status, 0, paper.stderr);
  assert.equal(readRunFile(join(root, "paper")).config.probeInit, "random");
  const latents = (run: string) => Array.from(readSafetensors(join(root, run, "last.safetensors")).tensors.get("probe.latents")!.data as Float32Array);
  assert.notDeepEqual(latents("auto"), latents("paper"));
  assertBestIsBestValidation(join(root, "auto"), auto);
  const bad = spawnSync(process.execPath, [cli, "train", "--zoo", zooDir, "--out", join(root, "bad"), "--method", "vanilla", "--probe-init", "data"], { encoding: "utf8" });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /the vanilla method has none/);
  assert.throws(() => train({ ...base, method: "statnn", probeInit: "data" }, join(root, "statnn")), /the statnn method has none/);

  // An INR zoo: the default run and the paper's are the same bytes.
  const inr = join(root, "inr");
  buildInrZoo({ dataset: "mnist", count: 24, out: inr, seed: 1, recipe: { steps: 10 }, shardSize: 24 });
  const small = { ...DEFAULT_TRAIN_CONFIG, zoo: inr, probes: 8, epochs: 2, batch: 8, evalEvery: 2, head: { width: 16, depth: 2 } };
  train(small, join(root, "inr-default"));
  train({ ...small, probeInit: "random" }, join(root, "inr-paper"));
  assert.deepEqual(readFileSync(join(root, "inr-default", "last.safetensors")), readFileSync(join(root, "inr-paper", "last.safetensors")));
  assert.equal(readRunFile(join(root, "inr-default")).config.probeInit, "random");
});
