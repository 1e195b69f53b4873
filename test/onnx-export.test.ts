// A zoo exported as ONNX and imported back: the same parameters byte for byte, files that
// onnxruntime answers as the engine does, and a run on the imported zoo that ends with the
// original's metrics exactly (the engine runs the same kernels in the same order).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { readOnnx } from "../src/io/onnx.js";
import { withInitializers } from "../src/io/onnx-write.js";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Rng, Tensor, noGrad } from "../src/engine/index.js";
import { networkArchitecture } from "../src/nets/family.js";
import { onnxAnswers } from "../src/nets/onnx-runtime.js";
import { writeSyntheticSmallCnnZoo } from "../src/workloads/paper-scale.js";
import { Zoo } from "../src/zoo/format.js";
import { importOnnx } from "../src/zoo/interop/onnx.js";
import { exportOnnx } from "../src/zoo/interop/onnx-export.js";
import { DEFAULT_TRAIN_CONFIG } from "../src/train/config.js";
import { train } from "../src/train/trainer.js";

test("a Small-CNN zoo exported as ONNX imports back to the same parameters, answers and run", async () => {
  const dir = mkdtempSync(join(tmpdir(), "probegen-onnx-export-"));
  const zooDir = join(dir, "zoo");
  writeSyntheticSmallCnnZoo(zooDir, { train: 24, val: 8, test: 8 }, 3);
  const report = exportOnnx({ zoo: zooDir, out: join(dir, "export") });
  assert.equal(report.networks, 40);
  const csv = readFileSync(join(dir, "export", "networks", "labels.csv"), "utf8").split("\n");
  assert.equal(csv[0], "file,test_accuracy,split");
  await importOnnx({ dir: join(dir, "export", "networks"), labels: join(dir, "export", "networks", "labels.csv"), target: "test_accuracy", out: join(dir, "back") });
  const a = Zoo.open(zooDir), b = Zoo.open(join(dir, "back"));
  assert.equal(b.manifest.family, "onnx");
  assert.deepEqual(b.manifest.splits, a.manifest.splits);
  for (const i of [0, 17, 39]) {
    const x = a.network(i), y = b.network(i);
    assert.deepEqual([...y.params.keys()], [...x.params.keys()]);
    for (const [k, v] of x.params) assert.deepEqual(y.params.get(k), v, `network ${i} ${k}`);
    assert.equal(y.fields.get("target"), x.fields.get("test_accuracy"));
  }

  // onnxruntime answers an exported file as the engine's Small-CNN family does.
  const rng = new Rng(9, "probes");
  const probes = Float32Array.from({ length: 3 * 1024 }, () => rng.uniform() * 2 - 1);
  const fromOrt = await onnxAnswers(join(dir, "export", "networks", "000017.onnx"), probes, [1, 32, 32], 10);
  const arch = networkArchitecture("cnn", a.manifest.architectures[0].architecture);
  const net = a.network(17);
  const fromEngine = noGrad(() => arch.forward(new Map(arch.parameters.map(([k, shape]) => [k, Tensor.from(net.params.get(k)!, [1, ...shape])])), Tensor.from(probes, [3, 1, 32, 32])));
  for (let i = 0; i < fromOrt.length; i++) assert.ok(Math.abs(fromOrt[i] - fromEngine.data[i]) < 1e-5, `output ${i}: ${fromOrt[i]} against ${fromEngine.data[i]}`);

  const config = { ...DEFAULT_TRAIN_CONFIG, epochs: 2, probes: 8, batch: 8, head: { width: 32, depth: 2 }, method: "probegen" as const, evalEvery: 3 };
  const r1 = train({ ...config, zoo: zooDir }, join(dir, "run-original"));
  const r2 = train({ ...config, zoo: join(dir, "back") }, join(dir, "run-imported"));
  assert.ok(r1.best !== null && r2.best !== null);
  assert.deepEqual([r2.best.val, r2.best.test, r2.last.val, r2.last.test], [r1.best.val, r1.best.test, r1.last.val, r1.last.test]);
  const m1 = readFileSync(join(dir, "run-original", "metrics.jsonl"), "utf8").split("\n").map((l) => l && JSON.parse(l).trainLoss);
  const m2 = readFileSync(join(dir, "run-imported", "metrics.jsonl"), "utf8").split("\n").map((l) => l && JSON.parse(l).trainLoss);
  assert.deepEqual(m2, m1, "the same training losses, step for step");
});

/**
 * Exports a zoo, imports it back, and checks networks `which` of the imported zoo (the engine,
 * through its ONNX plan) and the exported files (onnxruntime) answer as the original family does.
 */
async function roundTrip(zooDir: string, out: string, which: number[], target: string | undefined, tolerance: number): Promise<Zoo> {
  exportOnnx({ zoo: zooDir, out: join(out, "export") });
  const networks = join(out, "export", "networks");
  await importOnnx({ dir: networks, labels: join(networks, "labels.csv"), target, out: join(out, "back") });
  const a = Zoo.open(zooDir), b = Zoo.open(join(out, "back"));
  const original = networkArchitecture(a.manifest.family, a.manifest.architectures[0].architecture);
  const imported = networkArchitecture("onnx", b.manifest.architectures[0].architecture);
  assert.equal(b.manifest.architectures.length, 1, "one graph structure");
  assert.deepEqual([imported.probeShape, imported.outputsPerProbe], [original.probeShape, original.outputsPerProbe]);
  const per = original.probeShape.reduce((x, y) => x * y, 1);
  const rng = new Rng(12, "round-trip-probes");
  const probes = Float32Array.from({ length: 3 * per }, () => rng.uniform() * 2 - 1);
  const stacked = (arch: typeof original, params: ReadonlyMap<string, Float32Array>) =>
    new Map(arch.parameters.map(([k, shape]) => [k, Tensor.from(params.get(k)!, [1, ...shape])]));
  for (const i of which) {
    const x = Tensor.from(probes, [3, ...original.probeShape]);
    const want = noGrad(() => original.forward(stacked(original, a.network(i).params), x)).data;
    const viaPlan = noGrad(() => imported.forward(stacked(imported, b.network(i).params), x)).data;
    const viaOrt = await onnxAnswers(join(networks, `${String(i).padStart(6, "0")}.onnx`), probes, original.probeShape, original.outputsPerProbe);
    for (let j = 0; j < want.length; j++) {
      const scale = Math.max(1, Math.abs(want[j]));
      assert.ok(Math.abs(viaPlan[j] - want[j]) <= tolerance * scale, `network ${i}, output ${j}: the imported plan gives ${viaPlan[j]}, the family ${want[j]}`);
      assert.ok(Math.abs(viaOrt[j] - want[j]) <= tolerance * scale, `network ${i}, output ${j}: onnxruntime gives ${viaOrt[j]}, the family ${want[j]}`);
    }
  }
  return b;
}

const FIX = fileURLToPath(new URL("../../test/fixtures/onnx/", import.meta.url));

test("SIREN, ResNet, residual-CNN and ViT zoos export as ONNX and answer as their families do, imported back or through onnxruntime", async () => {
  const dir = mkdtempSync(join(tmpdir(), "probegen-onnx-export-"));
  const { writeSyntheticInrZoo, writeSyntheticZoo } = await import("../src/workloads/paper-scale.js");
  writeSyntheticInrZoo(join(dir, "inrs"), { train: 3, val: 1, test: 1 }, 4);
  const inrs = await roundTrip(join(dir, "inrs"), join(dir, "inr-out"), [0, 4], undefined, 1e-5);
  assert.deepEqual(Object.keys(inrs.manifest.architectures[0].architecture.steps as object).length, 8, "3 layers, 2 sines with their scales, the output offset");

  const heInit = (shapes: [string, number[]][]) => (rng: Rng, views: Float32Array[]) => views.forEach((v, j) => {
    const [name, shape] = shapes[j];
    if (name.endsWith("bias")) rng.fillNormal(v, 0, 0.1);
    else rng.fillNormal(v, 0, Math.sqrt(2 / shape.slice(1).reduce((p, q) => p * q, 1)));
  });
  const synthetic = (dirName: string, family: "cnn" | "resnet", architecture: Record<string, unknown>) => {
    const shapes = networkArchitecture(family, architecture).parameters;
    writeSyntheticZoo(join(dir, dirName), { train: 3, val: 1, test: 1 }, 5, {
      family, architecture, shapes, shardSize: 10,
      fields: [{ name: "accuracy", dtype: "F32", description: "random" }], task: { kind: "regression", target: "accuracy" },
      init: heInit(shapes), labels: (rng, n) => Float32Array.from({ length: n }, () => rng.uniform()),
    });
  };
  synthetic("resnets", "resnet", { inChannels: 1, width: 4, stem: "imagenet", blocks: [1, 2], classes: 5, inputSize: 16 });
  await roundTrip(join(dir, "resnets"), join(dir, "resnet-out"), [1, 3], "accuracy", 1e-5);
  // Residuals into more channels, into fewer, and from a layer with no activation; every activation the export writes.
  synthetic("residual-cnns", "cnn", {
    inChannels: 1, inputSize: 12, classes: 4, residual: [-1, 0, 1, 0, 3],
    layers: [
      { channels: 4, kernel: 3, stride: 1, padding: 1, activation: "relu" },
      { channels: 6, kernel: 3, stride: 1, padding: 1, activation: "none" },
      { channels: 3, kernel: 3, stride: 1, padding: 1, activation: "tanh" },
      { channels: 4, kernel: 3, stride: 1, padding: 1, activation: "sin", w0: 2 },
      { channels: 5, kernel: 3, stride: 1, padding: 1, activation: "leaky_relu" },
    ],
  });
  await roundTrip(join(dir, "residual-cnns"), join(dir, "residual-out"), [0, 2], "accuracy", 1e-5);

  // An ONNX zoo of PyTorch's small ViT (patch embedding, class token, attention, LayerNorm, GELU), its weights varied.
  const vits = join(dir, "vits");
  mkdirSync(vits);
  const src = join(FIX, "tiny-vit.onnx");
  const template = new Uint8Array(readFileSync(src));
  const rng = new Rng(6, "vit-variants");
  const initializers = readOnnx(src).graph.initializers;
  for (let i = 0; i < 3; i++) {
    const values = new Map([...initializers].filter(([, t]) => t.dtype === "float32").map(([k, t]) => [k, Float32Array.from(t.data, (v) => v * (1 + 0.3 * (rng.uniform() - 0.5)))]));
    writeFileSync(join(vits, `vit${i}.onnx`), withInitializers(template, values, `vit${i}.onnx`));
  }
  writeFileSync(join(vits, "labels.csv"), "file,label\nvit0.onnx,0\nvit1.onnx,1\nvit2.onnx,0\n");
  await importOnnx({ dir: vits, labels: join(vits, "labels.csv"), out: join(dir, "vit-zoo") });
  await roundTrip(join(dir, "vit-zoo"), join(dir, "vit-out"), [0, 2], undefined, 1e-5);
});

test("zoo export --format onnx refuses what it cannot write, before writing anything", async () => {
  const { existsSync } = await import("node:fs");
  const { writeSyntheticZoo } = await import("../src/workloads/paper-scale.js");
  const dir = mkdtempSync(join(tmpdir(), "probegen-onnx-export-"));
  const architecture = { inChannels: 1, inputSize: 8, classes: 10, layers: [{ channels: 2, kernel: 3, stride: 1, padding: 1, activation: "gelu" }] };
  writeSyntheticZoo(join(dir, "gelu"), { train: 2, val: 1, test: 1 }, 0, {
    family: "cnn", architecture, shapes: networkArchitecture("cnn", architecture).parameters, shardSize: 10,
    fields: [{ name: "accuracy", dtype: "F32", description: "random" }], task: { kind: "regression", target: "accuracy" },
    init: () => {}, labels: (_, n) => new Float32Array(n),
  });
  assert.throws(() => exportOnnx({ zoo: join(dir, "gelu"), out: join(dir, "out") }), /zoo.json: GELU has no ONNX node at opset 13/);
  assert.ok(!existsSync(join(dir, "out")), "no folder is made for an export that cannot be written");
});
