// The ResNet family: torchvision's parameter layout with BatchNorm folded, zoo-batched forward
// equal to one network at a time, folding equal to an explicit eval-mode BatchNorm, and
// gradients to the inputs (max-pool included) against finite differences.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng, Tensor, conv2d, maxPool2d, tidy, kernels, withBackend } from "../src/engine/index.js";
import { foldBatchNorm, foldTorchvisionResNet, resnet18, resnetConvs, resnetFlopsPerImage, resnetForward, resnetParameterShapes, type ResNetArchitecture } from "../src/nets/resnet.js";
import { assertClose, fastBackends, gradCheck, randn } from "./helpers.js";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { importTorchvision } from "../src/zoo/interop/torchvision.js";
import { Zoo } from "../src/zoo/format.js";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { networkArchitecture } from "../src/nets/family.js";
import { writeSyntheticZoo } from "../src/workloads/paper-scale.js";
import { DEFAULT_TRAIN_CONFIG } from "../src/train/config.js";
import { train } from "../src/train/trainer.js";
import { fileURLToPath } from "node:url";
import { messagePassingFlops, neuronGraph } from "../src/nets/neuron-graph-cost.js";
import { resnetCostTable } from "../src/workloads/resnet-probing.js";
import { buildCnnZoo } from "../src/zoo/build/cnn-builder.js";
import { resnetNet, scoreCnns } from "../src/zoo/build/cnn-train.js";
import { loadImageSet } from "../src/data/image-sets.js";
import { cnnInputs } from "../src/data/cnn-input.js";
import { readTorchCheckpoint, type TorchTensor } from "../src/io/torch-checkpoint.js";

const rng = new Rng(18, "resnet");

function stackedParams(arch: ResNetArchitecture, B: number, seed: number): Map<string, Tensor> {
  const r = new Rng(seed, "resnet-params");
  return new Map(resnetParameterShapes(arch).map(([name, shape]) => {
    const t = Tensor.empty([B, ...shape]);
    const fanIn = shape.slice(1).reduce((a, b) => a * b, 1);
    r.fillNormal(t.data, 0, name.endsWith("bias") ? 0.1 : Math.sqrt(2 / fanIn));
    return [name, t];
  }));
}

test("ResNet-18's folded parameters: torchvision's layout less one of BatchNorm's two parameters per channel", () => {
  const arch = resnet18(64, "imagenet", 1000, 3);
  const shapes = resnetParameterShapes(arch);
  const count = shapes.reduce((s, [, shape]) => s + shape.reduce((a, b) => a * b, 1), 0);
  // torchvision.models.resnet18(): 11,689,512 parameters, 4,800 BatchNorm channels (weight and bias each)
  assert.equal(count, 11_689_512 - 4_800);
  const names = shapes.map(([n]) => n);
  assert.equal(names[0], "conv1.weight");
  assert.ok(names.includes("layer2.0.downsample.0.weight") && !names.includes("layer1.0.downsample.0.weight"), "downsampling only where a stage changes size");
  assert.deepEqual(shapes.find(([n]) => n === "layer4.1.conv2.weight")![1], [512, 512, 3, 3]);
  assert.equal(resnetConvs(resnet18(16)).length, 20);
  // CIFAR stem on 32x32: 0.56 GFLOPs at width 64 (torchvision-style ResNet-18 for CIFAR is about 0.56 G multiply-adds x 2 ≈ 1.11 GFLOP)
  const gflop = resnetFlopsPerImage(resnet18(64, "cifar"), 32) / 1e9;
  assert.ok(gflop > 1.0 && gflop < 1.2, `CIFAR ResNet-18 forward ${gflop.toFixed(3)} GFLOP`);
});

test("BatchNorm folded into the convolution equals the convolution followed by eval-mode BatchNorm", () => {
  const [O, C, K] = [5, 3, 3];
  const x = randn(rng, [2, C, 7, 7]);
  const w = randn(rng, [O, C, K, K]);
  const bn = {
    weight: Array.from({ length: O }, () => rng.uniform() + 0.5), bias: Array.from({ length: O }, () => rng.normal()),
    runningMean: Array.from({ length: O }, () => rng.normal()), runningVar: Array.from({ length: O }, () => rng.uniform() + 0.1),
  };
  const f = foldBatchNorm(w.data, O, bn);
  tidy(() => {
    const plain = conv2d(x, w, null, { padding: 1 });
    const folded = conv2d(x, Tensor.from(f.weight, [O, C, K, K]), Tensor.from(f.bias, [O]), { padding: 1 });
    const expect = new Float32Array(plain.size);
    const plane = 7 * 7;
    for (let i = 0; i < plain.size; i++) {
      const o = Math.floor(i / plane) % O;
      expect[i] = (bn.weight[o] * (plain.data[i] - bn.runningMean[o])) / Math.sqrt(bn.runningVar[o] + 1e-5) + bn.bias[o];
    }
    assertClose(folded.data, expect, 1e-5, 1e-5, "folded conv");
  });
  assert.throws(() => foldBatchNorm(w.data, O, { ...bn, runningVar: [1, 1] }), /running_var has 2 entries, the convolution 5/);
});

test("a torchvision state dict folds by name, and a missing or mis-shaped entry is named", () => {
  const arch: ResNetArchitecture = { inChannels: 1, width: 2, stem: "cifar", blocks: [1, 1], classes: 3 };
  const dict = new Map<string, { data: Float32Array; shape: number[] }>();
  for (const c of resnetConvs(arch)) {
    dict.set(`${c.name}.weight`, { data: randn(rng, [c.outChannels * c.inChannels * c.kernel * c.kernel]).data.slice(), shape: [c.outChannels, c.inChannels, c.kernel, c.kernel] });
    for (const [s, v] of [["weight", 1], ["bias", 0], ["running_mean", 0], ["running_var", 1]] as const) {
      dict.set(`${c.bn}.${s}`, { data: new Float32Array(c.outChannels).fill(v), shape: [c.outChannels] });
    }
  }
  dict.set("fc.weight", { data: new Float32Array(12), shape: [3, 4] });
  dict.set("fc.bias", { data: new Float32Array(3), shape: [3] });
  const folded = foldTorchvisionResNet(arch, (n) => dict.get(n));
  assert.deepEqual([...folded.keys()], resnetParameterShapes(arch).map(([n]) => n));
  // identity BatchNorm (gamma 1, beta 0, mean 0, var 1): weights scaled by 1/sqrt(1 + eps)
  const w = dict.get("layer2.0.downsample.0.weight")!.data;
  assert.ok(Math.abs(folded.get("layer2.0.downsample.0.weight")![0] - w[0] / Math.sqrt(1 + 1e-5)) < 1e-7);
  dict.delete("layer1.0.bn2.running_var");
  assert.throws(() => foldTorchvisionResNet(arch, (n) => dict.get(n)), /state dict has no layer1\.0\.bn2\.running_var/);
  dict.set("layer1.0.bn2.running_var", { data: new Float32Array(3), shape: [3] });
  assert.throws(() => foldTorchvisionResNet(arch, (n) => dict.get(n)), /layer1\.0\.bn2\.running_var has shape \[3\], this architecture's is \[2\]/);
});

test("zoo-batched forward equals each network alone, for both stems and shared or per-network images", () => {
  for (const [stem, side] of [["cifar", 16], ["imagenet", 32]] as const) {
    const arch: ResNetArchitecture = { inChannels: 3, width: 4, stem, blocks: [2, 2, 2, 2], classes: 10 };
    const B = 3, K = 2;
    const params = stackedParams(arch, B, 1);
    tidy(() => {
      const shared = randn(rng, [K, 3, side, side]);
      const all = resnetForward(arch, params, shared);
      assert.deepEqual(all.shape, [B, K, 10]);
      for (let b = 0; b < B; b++) {
        const one = new Map([...params].map(([n, t]) => [n, Tensor.from(t.data.slice(b * (t.size / B), (b + 1) * (t.size / B)), [1, ...t.shape.slice(1)])]));
        const alone = resnetForward(arch, one, shared);
        assertClose(alone.data, all.data.subarray(b * K * 10, (b + 1) * K * 10), 1e-5, 1e-5, `${stem} network ${b}`);
      }
      const per = randn(rng, [B, K, 3, side, side]);
      const y = resnetForward(arch, params, per);
      assert.deepEqual(y.shape, [B, K, 10]);
      assert.ok(y.data.every(Number.isFinite));
    });
  }
});

test("max pooling matches the reference kernels and routes gradients to each window's maximum", () => {
  const x = randn(rng, [3, 4, 9, 11]);
  const before = kernels().name;
  const run = (backend: "wasm" | "native" | "reference") => withBackend(backend, () => tidy(() => {
    const y = maxPool2d(x, 3, 2, 1);
    return Float32Array.from(y.data);
  }));
  const r = run("reference");
  for (const backend of fastBackends()) assert.deepEqual(run(backend), r, `${backend} max pooling`);
  const w = run("wasm");
  assert.equal(w.length, 3 * 4 * 5 * 6);
  // a window's maximum: output (0,0) of plane 0 covers rows 0..1, columns 0..1 of the input
  assert.equal(w[0], Math.max(x.data[0], x.data[1], x.data[11], x.data[12]));
  const xg = randn(rng, [2, 3, 7, 7]);
  xg.requiresGrad = true;
  gradCheck("maxPool2d", (t) => maxPool2d(t, 3, 2, 1), [xg], { eps: 1e-3 });
  assert.throws(() => maxPool2d(xg, 2.5), /kernel 2\.5, stride 2\.5, padding 0: whole numbers/);
  assert.throws(() => maxPool2d(xg, 3, 1, 2), /padding at most half the kernel/);
  assert.equal(kernels().name, before, "withBackend restores the backend it found");
});

test("gradients to the probes through a ResNet (both stems) match finite differences", () => {
  for (const [stem, side] of [["cifar", 8], ["imagenet", 16]] as const) {
    const arch: ResNetArchitecture = { inChannels: 2, width: 3, stem, blocks: [1, 1], classes: 4 };
    const params = stackedParams(arch, 2, 3);
    const x = randn(rng, [3, 2, side, side]);
    x.requiresGrad = true;
    gradCheck(`resnet ${stem}`, (t) => resnetForward(arch, params, t), [x], { eps: 1e-3, rtol: 2e-2 });
  }
});

test("torchvision ResNet-18s (width 4, both stems) saved by PyTorch: folded, our logits are PyTorch's", () => {
  const dir = fileURLToPath(new URL("../../test/fixtures/resnet/", import.meta.url));
  const expected = JSON.parse(readFileSync(`${dir}expected.json`, "utf8")) as {
    width: number; classes: number; inChannels: number;
    stems: Record<"cifar" | "imagenet", { file: string; side: number; input: number[]; logits: number[] }>;
  };
  for (const stem of ["cifar", "imagenet"] as const) {
    const e = expected.stems[stem];
    const arch = resnet18(expected.width, stem, expected.classes, expected.inChannels);
    const ckpt = readTorchCheckpoint(`${dir}${e.file}`);
    const dict = ckpt.value as Map<string, TorchTensor>;
    const folded = foldTorchvisionResNet(arch, (n) => {
      const t = dict.get(n);
      return t === undefined ? undefined : { data: t.toFloat32(), shape: t.shape };
    });
    tidy(() => {
      const params = new Map([...folded].map(([n, v]) => [n, Tensor.from(v, [1, ...resnetParameterShapes(arch).find(([m]) => m === n)![1]])]));
      const y = resnetForward(arch, params, Tensor.from(Float32Array.from(e.input), [2, 3, e.side, e.side]));
      assert.deepEqual(y.shape, [1, 2, expected.classes]);
      assertClose(y.data, e.logits, 1e-4, 1e-4, `${stem} stem logits`);
    });
  }
});

test("a zoo of ResNets is a network family: probing trains on it with the image generator and with vanilla probes", () => {
  const dir = mkdtempSync(join(tmpdir(), "probegen-resnet-"));
  try {
    const arch = { inChannels: 1, width: 2, stem: "cifar" as const, blocks: [1, 1], classes: 10, inputSize: 32 };
    const shapes = resnetParameterShapes(arch);
    writeSyntheticZoo(join(dir, "zoo"), { train: 24, val: 8, test: 8 }, 0, {
      family: "resnet", architecture: { ...arch }, shapes,
      fields: [{ name: "test_accuracy", dtype: "F32", description: "random accuracy" }],
      task: { kind: "regression", target: "test_accuracy" },
      init: (r, views) => views.forEach((v, j) => r.fillNormal(v, 0, shapes[j][0].endsWith("bias") ? 0.1 : Math.sqrt(2 / shapes[j][1].slice(1).reduce((a, b) => a * b, 1)))),
      labels: (r, n) => Float32Array.from({ length: n }, () => r.uniform()),
      shardSize: 20,
    });
    const bound = networkArchitecture("resnet", arch);
    assert.deepEqual(bound.probeShape, [1, 32, 32]);
    assert.equal(bound.outputsPerProbe, 10);
    assert.throws(() => networkArchitecture("resnet", { ...arch, stem: "vgg" }), /architecture\.stem is "vgg", expected/);
    assert.throws(() => networkArchitecture("resnet", { ...arch, inputSize: 1 }), /inputSize 1 is smaller than the 2 pixels/);
    for (const method of ["probegen", "vanilla"] as const) {
      const r = train({ ...DEFAULT_TRAIN_CONFIG, zoo: join(dir, "zoo"), method, probes: 4, epochs: 2, batch: 8, head: { width: 16, depth: 2 } }, join(dir, `run-${method}`));
      assert.equal(r.steps, 6);
      assert.equal(r.score, "kendallTau");
      assert.ok(r.last.test !== null && Number.isFinite(r.last.test), `${method}: a test score`);
      assert.ok(r.flopsPerNetwork > 4 * resnetFlopsPerImage(arch, 32) * 0.99, `${method}: FLOPs count the ResNet forward on every probe`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("zoo import torchvision: state dicts and a labels CSV become a ResNet zoo whose networks give PyTorch's logits", async () => {
  const fixtures = fileURLToPath(new URL("../../test/fixtures/resnet/", import.meta.url));
  const expected = JSON.parse(readFileSync(`${fixtures}expected.json`, "utf8")) as { stems: Record<string, { file: string; side: number; input: number[]; logits: number[] }> };
  const dir = mkdtempSync(join(tmpdir(), "probegen-tv-"));
  try {
    const csv = join(dir, "labels.csv");
    writeFileSync(csv, "file,label,split\nresnet18-w4-cifar.pth,3,train\nresnet18-w4-imagenet.pth,7,test\n");
    const out = join(dir, "zoo");
    const r = await importTorchvision({ dir: fixtures, labels: csv, out });
    assert.equal(r.imported, 2);
    const zoo = Zoo.open(out);
    assert.equal(zoo.manifest.family, "resnet");
    assert.equal(zoo.manifest.architectures.length, 2, "two stems, two architectures");
    assert.deepEqual(zoo.manifest.splits, { train: [[0, 1]], val: [], test: [[1, 2]] });
    ["cifar", "imagenet"].forEach((stem, i) => {
      const net = zoo.network(i);
      assert.equal(net.fields.get("label"), [3, 7][i]);
      assert.equal(net.strings.get("source"), expected.stems[stem].file);
      const bound = networkArchitecture("resnet", zoo.manifest.architectures[net.architecture].architecture);
      tidy(() => {
        const params = new Map(bound.parameters.map(([n, shape]) => [n, Tensor.from(net.params.get(n)!, [1, ...shape])]));
        const e = expected.stems[stem];
        const y = bound.forward(params, Tensor.from(Float32Array.from(e.input), [2, 3, e.side, e.side]));
        assertClose(y.data, e.logits, 1e-4, 1e-4, `imported ${stem} ResNet`);
      });
    });
    // bad input is named
    writeFileSync(csv, "file,label\nresnet18-w4-cifar.pth,100000000\n");
    await assert.rejects(importTorchvision({ dir: fixtures, labels: csv, out: join(dir, "z1") }), /row 2 \(resnet18-w4-cifar\.pth\): label "100000000" is not a class index below 100000/);
    writeFileSync(csv, "file,label\n,1\n");
    await assert.rejects(importTorchvision({ dir: fixtures, labels: csv, out: join(dir, "z1") }), /row 2: the file column is empty/);
    writeFileSync(csv, "file,score\nresnet18-w4-cifar.pth,1\n");
    await assert.rejects(importTorchvision({ dir: fixtures, labels: csv, out: join(dir, "z2") }), /needs exactly one of a "label" column .* columns: file, score/);
    const notResnet = fileURLToPath(new URL("../../test/fixtures/interop/", import.meta.url));
    const pth = execFileSync("find", [notResnet, "-name", "*.pth"], { encoding: "utf8" }).split("\n").find((l) => l.length > 0)!;
    writeFileSync(csv, `file,target\n${pth},0.5\n`);
    await assert.rejects(importTorchvision({ dir: fixtures, labels: csv, out: join(dir, "z3") }), /row 2: .*\.pth is outside .*; pass --allow-outside-root/);
    await assert.rejects(importTorchvision({ dir: fixtures, labels: csv, out: join(dir, "z3"), allowOutsideRoot: true }), /is not a torchvision ResNet state dict: it needs conv1\.weight/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the neuron graph of a network and the cost of message passing over it (the graph methods' side of W5)", () => {
  const small = neuronGraph([{ inChannels: 1, outChannels: 4, kernel: 3 }, { inChannels: 4, outChannels: 10, kernel: 1 }]);
  assert.deepEqual(small, { nodes: 15, edges: 44, edgeFeatures: 9 });
  // Embedding 44 x 9 -> 2, then one layer: 44 edges x 6 x 2^2 and 15 nodes x 9 x 2^2 multiply-adds.
  assert.equal(messagePassingFlops(small, { hidden: 2, layers: 1 }), 2 * (792 + 1056 + 540));
  // ResNet-18 (width 64): 3 input channels, 4,800 conv channels, 10 classes; every conv's and fc's in x out.
  const rows = resnetCostTable([64]);
  const arch = resnet18(64, "cifar", 10, 3);
  const g = neuronGraph([...resnetConvs(arch).map((c) => ({ inChannels: c.inChannels, outChannels: c.outChannels, kernel: c.kernel })), { inChannels: 512, outChannels: 10, kernel: 1 }]);
  assert.deepEqual(g, { nodes: 4813, edges: 1_397_952, edgeFeatures: 9 });
  // The CIFAR ResNet-18's 11,173,962 parameters less one of BatchNorm's two per channel, folded.
  assert.equal(rows[0].parameters, 11_173_962 - 4_800);
  assert.equal(rows[0].probingGFlops, (64 * resnetFlopsPerImage(arch, 32)) / 1e9);
  assert.ok(rows[0].graphGFlops > 10 * rows[0].probingGFlops);
});

test("zoo build resnet: ResNet-18s trained with the Small-CNN zoo's draws, the same for any batch, scored as recorded, and probed", async () => {
  const root = mkdtempSync(join(tmpdir(), "probegen-resnet-zoo-"));
  try {
    const base = { dataset: "fmnist" as const, count: 6, seed: 2, network: "resnet18" as const, width: 2, shardSize: 3,
      recipe: { trainImages: 320, testImages: 100, trainEvalImages: 40, epochsRange: [1, 1] as [number, number] } };
    const a = join(root, "a"), b = join(root, "b");
    await buildCnnZoo({ ...base, out: a, batch: 6 });
    await buildCnnZoo({ ...base, out: b, batch: 1 });
    for (const f of ["shard-00000.safetensors", "shard-00001.safetensors", "zoo.json"]) {
      assert.ok(readFileSync(join(a, f)).equals(readFileSync(join(b, f))), `${f}: the same bytes trained 6 at a time or one by one`);
    }
    const zoo = Zoo.open(a);
    const m = zoo.manifest;
    assert.equal(m.family, "resnet");
    assert.equal(m.provenance.builder, "probegen zoo build resnet");
    const arch = networkArchitecture(m.family, m.architectures[0].architecture);
    assert.deepEqual(arch.probeShape, [1, 32, 32]);
    const all = zoo.readAll();
    assert.deepEqual(Array.from(all.fields.get("activation") as Uint8Array), [0, 0, 0, 0, 0, 0], "ReLU throughout");
    assert.deepEqual(Array.from(all.fields.get("dropout") as Float32Array), [0, 0, 0, 0, 0, 0], "no dropout");
    // The recorded test accuracy is what the stored (folded) weights score through resnetForward.
    const acc = all.fields.get("test_accuracy") as Float32Array;
    const set = loadImageSet("fmnist");
    const testIdx = new Rng(2, "cnn-zoo:test-images").shuffle(Int32Array.from({ length: set.test.count }, (_, j) => j)).subarray(0, 100).sort();
    const resnet = { ...resnet18(2, "cifar", 10, 1), inputSize: 32 };
    for (const i of [0, 5]) {
      const net = zoo.network(i);
      const [score] = scoreCnns(resnetNet(resnet), [m.architectures[0].parameters.map((p) => net.params.get(p.name)!)], cnnInputs(set, "test", testIdx), Uint8Array.from(testIdx, (j) => set.test.labels[j]), 32);
      assert.equal(Math.fround(score.accuracy), acc[i], `network ${i}`);
      assert.ok(net.params.get("layer1.0.conv2.weight")!.some((v) => v !== 0), "a block's second convolution leaves zero once trained");
    }
    // Probing trains on it, the image generator making 1x32x32 probes.
    const r = train({ ...DEFAULT_TRAIN_CONFIG, zoo: a, method: "probegen", probes: 4, epochs: 1, batch: 4, head: { width: 8, depth: 2 } }, join(root, "run"));
    assert.equal(r.steps, 1);
    assert.ok(Number.isFinite(r.last.test!));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
