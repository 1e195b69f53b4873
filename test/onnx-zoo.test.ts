// ONNX models as a zoo: a folder of PyTorch-exported Small CNNs (the fixture with its weights
// varied) and a labels CSV imported, read back as the engine evaluates them, and probed by a
// short training run; labels name the zoo's own classes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Rng, Tensor, noGrad } from "../src/engine/index.js";
import { readOnnx } from "../src/io/onnx.js";
import { withInitializers } from "../src/io/onnx-write.js";
import { isOnnxPlan, onnxForward, onnxParameterValues, planOnnxGraph } from "../src/nets/onnx-graph.js";
import { networkArchitecture } from "../src/nets/family.js";
import { Zoo } from "../src/zoo/format.js";
import { importOnnx } from "../src/zoo/interop/onnx.js";
import { DEFAULT_TRAIN_CONFIG } from "../src/train/config.js";
import { train } from "../src/train/trainer.js";
import { TrainedRun } from "../src/predict/run-model.js";
import { InputCollector } from "../src/predict/inputs.js";
import { predictNetworks } from "../src/predict/predict.js";

const FIX = fileURLToPath(new URL("../../test/fixtures/onnx/", import.meta.url));

/** `n` copies of the fixture `name` with every float initializer scaled by (1 + noise). */
function variedModels(dir: string, name: string, n: number, seed: number): string[] {
  const bytes = new Uint8Array(readFileSync(join(FIX, `${name}.onnx`)));
  const model = readOnnx(join(FIX, `${name}.onnx`));
  const rng = new Rng(seed, "onnx-variants");
  return Array.from({ length: n }, (_, i) => {
    const values = new Map<string, Float32Array>();
    for (const [k, t] of model.graph.initializers) {
      if (t.dtype === "float32") values.set(k, Float32Array.from(t.data, (v) => v * (1 + 0.3 * (rng.uniform() - 0.5))));
    }
    const file = `${name}-${i}.onnx`;
    writeFileSync(join(dir, file), withInitializers(bytes, values, file));
    return file;
  });
}

test("onnx zoo: Small CNN exports import as one structure, evaluate as read, and train", async () => {
  const dir = mkdtempSync(join(tmpdir(), "probegen-onnx-zoo-"));
  const files = variedModels(dir, "small-cnn", 12, 3);
  writeFileSync(join(dir, "labels.csv"), "file,label\n" + files.map((f, i) => `${f},${i % 3}`).join("\n") + "\n");
  const out = join(dir, "zoo");
  const r = await importOnnx({ dir, labels: join(dir, "labels.csv"), out });
  assert.equal(r.imported, 12);
  const zoo = Zoo.open(out);
  assert.equal(zoo.manifest.family, "onnx");
  assert.equal(zoo.manifest.architectures.length, 1);
  assert.deepEqual(Object.values(zoo.manifest.splits).map((s) => s.reduce((a, [lo, hi]) => a + hi - lo, 0)), [9, 1, 2], "a 70/10/20 split of 12, rounded");
  const arch = networkArchitecture("onnx", zoo.manifest.architectures[0].architecture);
  assert.deepEqual(arch.probeShape, [1, 32, 32]);
  assert.equal(arch.outputsPerProbe, 10);
  assert.equal(arch.hiddenLayers, 3);

  // Network 5 as the zoo holds it answers as its own file does.
  noGrad(() => {
    const rng = new Rng(1, "probes");
    const probes = Tensor.from(Float32Array.from({ length: 4 * 1024 }, () => rng.uniform() * 2 - 1), [4, 1, 32, 32]);
    const net = zoo.network(5);
    const params = new Map([...net.params].map(([k, v]) => [k, Tensor.from(v, [1, ...v.length === 0 ? [] : zoo.manifest.architectures[0].parameters.find((p) => p.name === k)!.shape])]));
    const fromZoo = arch.forward(params, probes);
    const model = readOnnx(join(dir, files[5]));
    const plan = planOnnxGraph(model);
    assert.ok(isOnnxPlan(plan));
    const values = onnxParameterValues(plan, model.graph);
    const direct = onnxForward(plan, new Map([...values].map(([k, v]) => [k, Tensor.from(v, [1, ...plan.parameters.find((p) => p.name === k)!.shape])])), probes);
    assert.deepEqual([...fromZoo.data], [...direct.data]);
  });

  const run = train({ ...DEFAULT_TRAIN_CONFIG, zoo: out, epochs: 2, probes: 4, batch: 4, head: { width: 16, depth: 2 }, method: "vanilla", evalEvery: 100 }, join(dir, "run"));
  assert.equal(run.steps, 6, "9 training networks in batches of 4, 2 epochs");
  assert.ok(run.best !== null && Number.isFinite(run.best.val));

  // predict RUN model.onnx: a model file is predicted as the zoo's copy of it is.
  const trained = TrainedRun.open(join(dir, "run"));
  const fromFile = new InputCollector(trained, {});
  await fromFile.add(join(dir, files[5]));
  const fromZoo = new InputCollector(trained, { indices: [5] });
  await fromZoo.add(out);
  const a = (await predictNetworks(trained, fromFile.gather())).predictions[0], b = (await predictNetworks(trained, fromZoo.gather())).predictions[0];
  assert.ok(a.top !== undefined && a.top.length === 3 && a.label !== undefined);
  assert.deepEqual([a.label, a.top], [b.label, b.top]);
  const other = new InputCollector(trained, {});
  await assert.rejects(other.add(join(FIX, "resnet18-w8.onnx")), /resnet18-w8.onnx: .*architecture/);
});

test("onnx zoo: labels are the zoo's classes, whatever the models output; a numeric target imports", async () => {
  const dir = mkdtempSync(join(tmpdir(), "probegen-onnx-zoo-"));
  const files = variedModels(dir, "small-cnn", 2, 4);
  writeFileSync(join(dir, "labels.csv"), `file,label\n${files[0]},1\n${files[1]},12\n`);
  await importOnnx({ dir, labels: join(dir, "labels.csv"), out: join(dir, "zoo") });
  assert.equal(Zoo.open(join(dir, "zoo")).manifest.task.labelNames?.length, 13, "labels 0 to 12 of 10-output classifiers");
  writeFileSync(join(dir, "labels.csv"), `file,accuracy\n${files[0]},0.5\n${files[1]},0.75\n`);
  const r = await importOnnx({ dir, labels: join(dir, "labels.csv"), target: "accuracy", out: join(dir, "zoo-reg") });
  const zoo = Zoo.open(join(dir, "zoo-reg"));
  assert.equal(zoo.manifest.task.kind, "regression");
  assert.equal(r.imported, 2);
});

test("onnx zoo: MLPs on 28x28 inputs train with ProbeGen's generator cut to their size", async () => {
  const dir = mkdtempSync(join(tmpdir(), "probegen-onnx-zoo-"));
  const files = variedModels(dir, "mlp", 8, 5);
  writeFileSync(join(dir, "labels.csv"), "file,acc\n" + files.map((f, i) => `${f},${(i / 10).toFixed(2)}`).join("\n") + "\n");
  const out = join(dir, "zoo");
  await importOnnx({ dir, labels: join(dir, "labels.csv"), target: "acc", out });
  const run = train({ ...DEFAULT_TRAIN_CONFIG, zoo: out, epochs: 1, probes: 4, batch: 4, head: { width: 16, depth: 2 }, method: "probegen", evalEvery: 100 }, join(dir, "run"));
  assert.equal(run.method, "probegen");
  assert.equal(run.score, "kendallTau");
  const config = JSON.parse(readFileSync(join(dir, "run", "config.json"), "utf8")).config;
  assert.equal(config.probeInit, "dead-leaves", "a zoo of no known image set starts the generator from Dead Leaves");
});

test("onnx zoo: black-box prediction through onnxruntime agrees with the engine's, for any graph of the run's interface", async () => {
  const { predictBlackBox } = await import("../src/predict/predict.js");
  const dir = mkdtempSync(join(tmpdir(), "probegen-onnx-zoo-"));
  const files = variedModels(dir, "small-cnn", 8, 6);
  writeFileSync(join(dir, "labels.csv"), "file,label\n" + files.map((f, i) => `${f},${i % 2}`).join("\n") + "\n");
  const out = join(dir, "zoo");
  await importOnnx({ dir, labels: join(dir, "labels.csv"), out });
  train({ ...DEFAULT_TRAIN_CONFIG, zoo: out, epochs: 1, probes: 4, batch: 4, head: { width: 16, depth: 2 }, method: "dead-leaves", evalEvery: 100 }, join(dir, "run"));
  const run = TrainedRun.open(join(dir, "run"));
  const white = new InputCollector(run, {});
  for (const f of files.slice(0, 3)) await white.add(join(dir, f));
  const a = (await predictNetworks(run, white.gather())).predictions;
  const b = (await predictBlackBox(run, files.slice(0, 3).map((f) => join(dir, f)))).predictions;
  for (let i = 0; i < 3; i++) {
    assert.equal(b[i].label, a[i].label);
    assert.equal(b[i].top!.length, 2, "the zoo's 2 classes");
    for (let j = 0; j < 2; j++) assert.ok(Math.abs(b[i].top![j].probability - a[i].top![j].probability) < 1e-4, `${files[i]}: ${JSON.stringify(b[i].top)} against ${JSON.stringify(a[i].top)}`);
  }
  // A graph of another interface is refused by name: the ResNet takes 3 channels.
  await assert.rejects(predictBlackBox(run, [join(FIX, "resnet18-w8.onnx")]), /resnet18-w8.onnx: its input 'input' is \[batch,3,32,32\]; the run's probes are \[K,1,32,32\]/);
});

test("onnx zoo: small ViTs (attention, LayerNorm, GELU) import white-box and train with ProbeGen", async () => {
  const dir = mkdtempSync(join(tmpdir(), "probegen-onnx-zoo-"));
  const files = variedModels(dir, "tiny-vit", 6, 7);
  writeFileSync(join(dir, "labels.csv"), "file,label\n" + files.map((f, i) => `${f},${i % 3}`).join("\n") + "\n");
  const out = join(dir, "zoo");
  const r = await importOnnx({ dir, labels: join(dir, "labels.csv"), out });
  assert.equal(r.imported, 6);
  assert.equal(Zoo.open(out).manifest.architectures.length, 1);
  const run = train({ ...DEFAULT_TRAIN_CONFIG, zoo: out, epochs: 2, probes: 4, batch: 2, head: { width: 16, depth: 2 }, method: "probegen", probeInit: "random", evalEvery: 100 }, join(dir, "run"));
  assert.ok(run.best !== null && Number.isFinite(run.best.val));
  assert.equal(run.steps, 4, "4 training networks (a 70/10/20 split of 6) in batches of 2, 2 epochs");
});
