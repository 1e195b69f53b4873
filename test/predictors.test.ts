// Shipped predictors: the predictor file (a run's head and probes kept as values) predicts
// exactly what its run does; zoo merge; the shipped files read, and their cards hold together.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_TRAIN_CONFIG } from "../src/train/config.js";
import { train } from "../src/train/trainer.js";
import { Zoo, rangesIndices } from "../src/zoo/format.js";
import { mergeZoos } from "../src/zoo/merge.js";
import { writeSyntheticInrZoo, writeSyntheticSmallCnnZoo } from "../src/workloads/paper-scale.js";
import { InputCollector } from "../src/predict/inputs.js";
import { predictNetworks, type Prediction } from "../src/predict/predict.js";
import { TrainedRun } from "../src/predict/run-model.js";
import { predictorFromRun, shardTestZoo, PREDICTOR_OUTPUT } from "../src/predict/predictor-build.js";
import { decodePredictor, encodePredictor, PredictorFileError } from "../src/predict/predictor-file.js";
import type { PredictorCard } from "../src/predict/predictor-card.js";
import { PREDICTORS_DIR, exampleFiles, openPredictor, shippedPredictorNames } from "../src/predict/shipped-predictors.js";
import { PREDICTOR_RECIPES } from "../src/predict/predictor-recipes.js";
import { checkOutputFile } from "../src/io/output-file.js";

const tmp = () => mkdtempSync(join(tmpdir(), "probegen-predictors-"));

function card(name: string): PredictorCard {
  return {
    name, title: "t", predicts: "p", accepts: ["a"], task: "classification", metric: "accuracy", zoos: [], trainZoos: [], train: [],
    seeds: [0], shippedSeed: 0, test: { perSeed: [], mean: 0, std: 0, networks: 0, byZoo: [] }, shippedTest: 0,
    check: { zoo: "z", shard: 0, networks: 0, score: 0 }, method: "", readout: "", probes: 0, head: { width: 0, depth: 0 },
    flopsPerNetwork: 0, traded: "", backend: "", probegenVersion: "",
  };
}

async function predictions(run: TrainedRun, zoo: string): Promise<Prediction[]> {
  const c = new InputCollector(run, { split: "test" });
  c.addZoo(zoo);
  return (await predictNetworks(run, c.gather())).predictions;
}

test("zoo merge: networks in order, each in its split; refuses a zoo of another architecture and a folder not its own", () => {
  const dir = tmp();
  writeSyntheticInrZoo(join(dir, "a"), { train: 6, val: 2, test: 3 }, 1);
  writeSyntheticInrZoo(join(dir, "b"), { train: 4, val: 1, test: 2 }, 2);
  const r = mergeZoos([join(dir, "a"), join(dir, "b")], join(dir, "ab"));
  const a = Zoo.open(join(dir, "a")), b = Zoo.open(join(dir, "b")), ab = Zoo.open(join(dir, "ab"));
  assert.equal(r.manifest.count, 18);
  assert.deepEqual(ab.manifest.splits, { train: [[0, 6], [11, 15]], val: [[6, 8], [15, 16]], test: [[8, 11], [16, 18]] });
  for (const [i, src, j] of [[0, a, 0], [10, a, 10], [11, b, 0], [17, b, 6]] as const) {
    const got = ab.network(i), want = src.network(j);
    assert.deepEqual(got.params.get("seq.1.weight"), want.params.get("seq.1.weight"), `network ${i}`);
    assert.equal(got.fields.get("label"), want.fields.get("label"));
  }
  assert.equal((ab.manifest.provenance.merged as unknown[]).length, 2);
  // A rerun finds the merge complete.
  assert.equal(mergeZoos([join(dir, "a"), join(dir, "b")], join(dir, "ab")).built, 0);
  writeSyntheticSmallCnnZoo(join(dir, "cnn"), { train: 2, val: 1, test: 1 });
  assert.throws(() => mergeZoos([join(dir, "a"), join(dir, "cnn")], join(dir, "x")), /cnn.zoo\.json: differs from .*in its family/);
  writeFileSync(join(dir, "mine.txt"), "x");
  mkdtempSync(join(dir, "other-"));
  const other = readdirSync(dir).find((f) => f.startsWith("other-"))!;
  writeFileSync(join(dir, other, "notes.txt"), "mine");
  assert.throws(() => mergeZoos([join(dir, "a"), join(dir, "b")], join(dir, other)), /is not empty/);
  assert.equal(readFileSync(join(dir, other, "notes.txt"), "utf8"), "mine");
});

test("a predictor file predicts what its run predicts, bit for bit, and refuses what is not one", async () => {
  const dir = tmp();
  writeSyntheticInrZoo(join(dir, "zoo"), { train: 24, val: 8, test: 8 }, 3);
  train({ ...DEFAULT_TRAIN_CONFIG, zoo: join(dir, "zoo"), probes: 8, epochs: 2, batch: 8, evalEvery: 3, head: { width: 16, depth: 2 } }, join(dir, "run"));
  const bytes = encodePredictor(predictorFromRun(join(dir, "run"), card("tiny"), "zoo"));
  const p = decodePredictor(bytes, "tiny.safetensors");
  assert.equal(p.probes.length, 8 * 2);
  assert.equal(p.run.config.method, "probegen");
  assert.equal(p.run.config.zoo, "zoo");
  const fromRun = await predictions(TrainedRun.open(join(dir, "run"), "best"), join(dir, "zoo"));
  const fromFile = await predictions(TrainedRun.fromPredictor(p), join(dir, "zoo"));
  assert.equal(fromFile.length, 8);
  assert.deepEqual(fromFile, fromRun);
  assert.ok(fromRun.every((x) => x.top!.length === 3 && x.truth !== undefined));
  // Another head gives other probabilities: the file's head is the one that counts.
  const other = decodePredictor(bytes, "other");
  for (const t of other.tensors.values()) t.data.fill(0.01);
  assert.notDeepEqual(await predictions(TrainedRun.fromPredictor(other), join(dir, "zoo")), fromRun);
  // Not a predictor, a damaged one, one whose probes are not finite.
  const ckpt = new Uint8Array(readFileSync(join(dir, "run", "best.safetensors")));
  assert.throws(() => decodePredictor(ckpt, "best.safetensors"), (e: Error) => e instanceof PredictorFileError && /best\.safetensors: not a probegen predictor/.test(e.message));
  assert.throws(() => decodePredictor(bytes.subarray(0, 200), "cut.safetensors"), /cut\.safetensors/);
  const nan = decodePredictor(bytes, "x");
  nan.probes[3] = NaN;
  assert.throws(() => decodePredictor(encodePredictor(nan), "nan.safetensors"), /nan\.safetensors: probe value 3 is NaN/);
  // A predictor file may be replaced by a rebuild; any other file may not.
  writeFileSync(join(dir, "p.safetensors"), bytes);
  checkOutputFile(join(dir, "p.safetensors"), PREDICTOR_OUTPUT);
  assert.throws(() => checkOutputFile(join(dir, "run", "best.safetensors"), PREDICTOR_OUTPUT), /not a probegen predictor file|is not/);
});

test("one shard's test networks as a zoo of their own: the same networks and truths as the whole zoo's", () => {
  const dir = tmp();
  writeSyntheticInrZoo(join(dir, "zoo"), { train: 10, val: 4, test: 6 }, 4);
  const whole = Zoo.open(join(dir, "zoo"));
  // One shard (writeSyntheticZoo's shards are 10,000 networks): the test split is networks 14-19.
  const part = shardTestZoo(join(dir, "zoo"), 0);
  assert.deepEqual(rangesIndices(part.manifest.splits.test), [14, 15, 16, 17, 18, 19]);
  assert.deepEqual(part.network(15).params.get("seq.0.bias"), whole.network(15).params.get("seq.0.bias"));
  assert.throws(() => shardTestZoo(join(dir, "zoo"), 1), /has 1 shards, not 2/);
});

test("shipped predictors: each reads, matches its recipe, and has examples", () => {
  const names = shippedPredictorNames();
  if (names.length === 0) {
    assert.equal(existsSync(PREDICTORS_DIR), false, "a predictors folder with no predictor files");
    return;
  }
  for (const name of names) {
    const p = openPredictor(name);
    const recipe = PREDICTOR_RECIPES.find((r) => r.name === name);
    assert.ok(recipe !== undefined, `${name} has a recipe`);
    assert.equal(p.card.name, name);
    assert.deepEqual(p.card.zoos.map((z) => z.build), recipe.zoos.map((z) => z.build), `${name}: the card's zoos are its recipe's`);
    assert.deepEqual(p.card.seeds, recipe.seeds);
    assert.equal(p.card.test.perSeed.length, recipe.seeds.length);
    assert.ok(p.card.test.perSeed.includes(p.card.shippedTest));
    assert.ok(Math.abs(p.card.shippedTest - p.card.test.mean) <= 3 * p.card.test.std + 1e-9, `${name}: the shipped seed within the spread`);
    assert.ok(exampleFiles(name).length > 0, `${name} ships examples`);
  }
});
