// The Small-CNN zoo builder and what it rests on: Python's random for the NFN split, the input
// preprocessing, per-network dropout, row scattering, and a small zoo built, resumed and probed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Rng, Tensor, backward, scatterRows, tidy, zooDropout } from "../src/engine/index.js";
import { cnnInputs } from "../src/data/cnn-input.js";
import { loadImageSet } from "../src/data/image-sets.js";
import { networkArchitecture } from "../src/nets/family.js";
import type { ProbeRepresentation } from "../src/train/probe-representation.js";
import { DEFAULT_TRAIN_CONFIG } from "../src/train/config.js";
import { ProbingModel } from "../src/train/probing-model.js";
import { train } from "../src/train/trainer.js";
import { ZooData } from "../src/train/zoo-data.js";
import { buildCnnZoo, smallCnnZooVariants } from "../src/zoo/build/cnn-builder.js";
import { scoreCnns } from "../src/zoo/build/cnn-train.js";
import { Zoo, indicesToRanges, manifestJson, rangesIndices } from "../src/zoo/format.js";
import { nfnSplitIndices } from "../src/zoo/nfn-split.js";
import { PythonRandom } from "../src/zoo/python-random.js";
import { gradCheck, randn } from "./helpers.js";

test("PythonRandom reproduces CPython's random.Random(seed): random() and shuffle()", () => {
  // Values printed by CPython 3: random.Random(0).random() twice; shuffles of range(10)/range(20).
  const r = new PythonRandom(0);
  assert.equal(r.random(), 0.8444218515250481);
  assert.equal(r.random(), 0.7579544029403025);
  assert.deepEqual(new PythonRandom(0).shuffle([...Array(10).keys()]), [7, 8, 1, 5, 3, 4, 2, 0, 9, 6]);
  assert.deepEqual(new PythonRandom(12345678901).shuffle([...Array(20).keys()]),
    [1, 6, 0, 9, 8, 18, 13, 7, 4, 16, 15, 14, 5, 2, 17, 3, 11, 12, 10, 19]);
});

test("NFN split: second half test, first half shuffled by random.Random(0) into 80/20", () => {
  // CPython: x = list(range(50)); random.Random(0).shuffle(x) -> x[:40] train, x[40:] val.
  const s = nfnSplitIndices(100);
  assert.deepEqual(s.test, Array.from({ length: 50 }, (_, i) => 50 + i));
  assert.deepEqual(s.val, [30, 19, 25, 31, 32, 16, 2, 26, 48, 24]);
  assert.deepEqual(s.train.slice(0, 8), [43, 1, 28, 14, 36, 12, 0, 27]);
  assert.equal(s.train.length, 40);
  const odd = nfnSplitIndices(11);
  assert.deepEqual([odd.train.length, odd.val.length, odd.test.length], [4, 1, 6]);
  assert.deepEqual(indicesToRanges([5, 1, 2, 3, 9, 8]), [[1, 4], [5, 6], [8, 10]]);
});

test("CNN inputs: 28x28 centred in 32x32, pixels 0..255 -> -1..1, black padding", () => {
  const set = loadImageSet("mnist");
  const x = cnnInputs(set, "train", [0, 7]);
  assert.equal(x.length, 2 * 32 * 32);
  const img = set.train.images.subarray(7 * 784, 8 * 784);
  const at = (n: number, r: number, c: number) => x[n * 1024 + r * 32 + c];
  assert.equal(at(1, 0, 0), -1);
  assert.equal(at(1, 31, 31), -1);
  for (const [r, c] of [[0, 0], [14, 14], [20, 9], [27, 27]]) assert.equal(at(1, r + 2, c + 2), Math.fround(img[r * 28 + c] * (2 / 255) - 1));
  assert.ok(x.every((v) => v >= -1 && v <= 1));
});

test("zooDropout: per-network rates, inverted scaling, masks independent of the other networks, gradient = mask", () => {
  tidy(() => {
    const x = Tensor.full([2, 4000], 1).requireGrad();
    const y = zooDropout(x, [0.25, 0], [new Rng(1, "a"), new Rng(2, "b")]);
    const a = y.data.subarray(0, 4000), b = y.data.subarray(4000);
    const dropped = a.filter((v) => v === 0).length;
    assert.ok(Math.abs(dropped / 4000 - 0.25) < 0.03, `dropped ${dropped}`);
    assert.ok(a.every((v) => v === 0 || Math.abs(v - 4 / 3) < 1e-6));
    assert.ok(b.every((v) => v === 1), "rate 0 keeps every element");
    // Network 0's mask is the same when network 1 drops too.
    const y2 = zooDropout(Tensor.full([2, 4000], 1), [0.25, 0.5], [new Rng(1, "a"), new Rng(2, "b")]);
    assert.deepEqual(Array.from(y2.data.subarray(0, 4000)), Array.from(a));
    backward(y, new Float32Array(8000).fill(1));
    assert.deepEqual(Array.from(x.grad!.data), Array.from(y.data));
    assert.throws(() => zooDropout(x, [1, 0], [new Rng(1), new Rng(2)]), /rate 1 of network 0 is not in \[0, 1\)/);
  });
});

test("scatterRows puts row groups back in order; its backward matches finite differences", () => {
  tidy(() => {
    const rng = new Rng(4, "scatter");
    const a = randn(rng, [2, 3]).requireGrad(), b = randn(rng, [1, 3]).requireGrad();
    const y = scatterRows([a, b], [[2, 0], [1]], 3);
    assert.deepEqual(Array.from(y.data), [...a.data.subarray(3, 6), ...b.data, ...a.data.subarray(0, 3)]);
    gradCheck("scatterRows", (p, q) => scatterRows([p, q], [[2, 0], [1]], 3), [a, b]);
    assert.throws(() => scatterRows([a, b], [[0, 0], [1]], 3), /written twice/);
  });
});

const RECIPE = { trainImages: 640, testImages: 200, trainEvalImages: 100 };
const shardHashes = (dir: string) => readdirSync(dir).filter((f) => f.endsWith(".safetensors")).sort()
  .map((f) => createHash("sha256").update(readFileSync(join(dir, f))).digest("hex"));

test("CNN zoo build: fields, NFN split, same bytes for any batch or thread count, resume, refusal", async () => {
  const root = mkdtempSync(join(tmpdir(), "probegen-cnnzoo-"));
  const a = join(root, "a"), b = join(root, "b");
  const base = { dataset: "fmnist" as const, count: 12, shardSize: 6, recipe: RECIPE, seed: 1 };
  const ra = await buildCnnZoo({ ...base, out: a, batch: 32 });
  assert.equal(ra.built, 12);
  const rb = await buildCnnZoo({ ...base, out: b, batch: 5 }, 2);
  assert.equal(rb.built, 12);
  const hashes = shardHashes(a);
  assert.deepEqual(shardHashes(b), hashes, "batch 32 on one thread and batch 5 on two threads give the same zoo");

  const zoo = Zoo.open(a);
  const m = zoo.manifest;
  assert.equal(m.family, "cnn");
  assert.deepEqual(m.task, { kind: "regression", target: "test_accuracy" });
  const split = nfnSplitIndices(12);
  assert.deepEqual(rangesIndices(m.splits.test), split.test);
  assert.deepEqual(rangesIndices(m.splits.val), [...split.val].sort((x, y) => x - y));
  const all = zoo.readAll();
  const acc = all.fields.get("test_accuracy") as Float32Array;
  assert.ok(acc.every((v) => v >= 0 && v <= 1));
  assert.ok(Math.max(...acc) > 0.25, `the best network learns beyond chance (max test accuracy ${Math.max(...acc)})`);
  assert.ok(Math.max(...acc) - Math.min(...acc) > 0.2, "test accuracies spread");
  const acts = all.fields.get("activation") as Uint8Array;
  assert.ok(acts.includes(0) && acts.includes(1), "both activations drawn");
  const steps = all.fields.get("steps") as Int32Array, epochs = all.fields.get("epochs") as Int32Array;
  const frac = all.fields.get("train_fraction") as Float32Array;
  for (let i = 0; i < 12; i++) assert.equal(steps[i], epochs[i] * Math.floor(Math.max(32, Math.round(frac[i] * 640)) / 32));

  // The recorded test accuracy is what the stored weights score on the zoo's test images.
  const set = loadImageSet("fmnist");
  const arch = smallCnnZooVariants();
  const i = acc.indexOf(Math.max(...acc));
  const net = zoo.network(i);
  const act = acts[i] === 0 ? "relu" : "tanh";
  const netArch = { ...arch, layers: arch.layers.map((l) => ({ ...l, activation: act as "relu" | "tanh" })) };
  const testIdx = new Rng(1, "cnn-zoo:test-images").shuffle(Int32Array.from({ length: set.test.count }, (_, j) => j)).subarray(0, 200).sort();
  const images = cnnInputs(set, "test", testIdx);
  const [score] = scoreCnns(netArch, [m.architectures[0].parameters.map((p) => net.params.get(p.name)!)], images, Uint8Array.from(testIdx, (j) => set.test.labels[j]), 32);
  assert.equal(Math.fround(score.accuracy), acc[i]);

  // Resume: a missing shard is rebuilt to the same bytes; a complete zoo is left alone.
  rmSync(join(a, "zoo.json"));
  writeFileSync(join(a, "build.json"), manifestJson(m));
  rmSync(join(a, m.shards[1].file));
  const resumed = await buildCnnZoo({ ...base, out: a });
  assert.deepEqual([resumed.built, resumed.skippedShards], [6, 1]);
  assert.deepEqual(shardHashes(a), hashes);
  assert.equal((await buildCnnZoo({ ...base, out: a })).built, 0);
  await assert.rejects(buildCnnZoo({ ...base, out: a, seed: 2 }), /zoo\.json: holds a zoo with other settings \(seed 1 vs 2\)/);
});

test("probing a zoo of mixed activations: each network is evaluated with its own activation; data probes are real images", async () => {
  const root = mkdtempSync(join(tmpdir(), "probegen-cnnprobe-"));
  const zooDir = join(root, "zoo");
  await buildCnnZoo({ dataset: "fmnist", count: 12, shardSize: 12, recipe: RECIPE, seed: 1, out: zooDir });
  const zoo = Zoo.open(zooDir);
  const data = new ZooData(zoo);
  const config = { ...DEFAULT_TRAIN_CONFIG, zoo: zooDir, method: "data" as const, readout: "logits" as const, probes: 3, head: { width: 8, depth: 2 } };
  const model = new ProbingModel(config, 1, data);
  const probes = (model.representation as ProbeRepresentation).source.forward();
  assert.deepEqual(probes.shape, [3, 1, 32, 32]);
  assert.ok(probes.data.every((v) => v >= -1 && v <= 1) && probes.data.filter((v) => v === -1).length > 3 * 128, "images with their black padding");
  tidy(() => {
    const rows = [0, 1, 2, 3, 4, 5];
    const rep = model.represent(data, rows);
    const arch = networkArchitecture("cnn", zoo.manifest.architectures[0].architecture);
    const codes = data.fields.get("activation")!;
    rows.forEach((n, r) => {
      const one = arch.variant(codes[n]).forward(data.gather([n]), probes);
      assert.deepEqual(Array.from(rep.data.subarray(r * 30, (r + 1) * 30)), Array.from(one.data), `network ${n}`);
    });
  });
  model.head.namedParameters().forEach(([, t]) => t.dispose());
  data.dispose();
  const r = train({ ...config, epochs: 2, batch: 4, evalEvery: 2 }, join(root, "run"));
  assert.equal(r.score, "kendallTau");
  assert.ok(r.best !== null);
  // Read with their classes (the default for data probes), each probe's answer becomes its 10
  // probabilities, then the true class's probability, margin and correctness.
  const labelled = new ProbingModel({ ...config, readout: "auto" }, 1, new ZooData(zoo));
  const source = (labelled.representation as ProbeRepresentation).source;
  assert.equal(labelled.readout, "labelled");
  assert.ok(source.labels!.length === 3 && source.labels!.every((c) => c >= 0 && c < 10), "a class per probe");
  tidy(() => {
    const rep = labelled.represent(new ZooData(zoo), [0, 1]);
    assert.deepEqual(rep.shape, [2, 3 * 13]);
    for (let n = 0; n < 2; n++) for (let k = 0; k < 3; k++) {
      const f = rep.data.subarray(n * 39 + k * 13, n * 39 + (k + 1) * 13);
      const p = Array.from(f.subarray(0, 10));
      assert.ok(Math.abs(p.reduce((a, b) => a + b, 0) - 1) < 1e-5, "probabilities");
      assert.equal(f[10], p[source.labels![k]]);
      const predicted = p.indexOf(Math.max(...p)) === source.labels![k];
      assert.equal(f[12], predicted ? 1 : 0);
      assert.equal(f[11] > 0, predicted, "a positive margin is a correct prediction");
    }
  });
});
