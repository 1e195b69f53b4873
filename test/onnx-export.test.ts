// A zoo exported as ONNX and imported back: the same parameters byte for byte, files that
// onnxruntime answers as the engine does, and a run on the imported zoo that ends with the
// original's metrics exactly (the engine runs the same kernels in the same order).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
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

test("zoo export --format onnx refuses what it cannot write, before writing anything", async () => {
  const { existsSync } = await import("node:fs");
  const { writeSyntheticInrZoo } = await import("../src/workloads/paper-scale.js");
  const dir = mkdtempSync(join(tmpdir(), "probegen-onnx-export-"));
  writeSyntheticInrZoo(join(dir, "inrs"), { train: 2, val: 1, test: 1 });
  assert.throws(() => exportOnnx({ zoo: join(dir, "inrs"), out: join(dir, "out") }), /zoo.json: exporting siren networks as ONNX is not supported yet/);
  assert.ok(!existsSync(join(dir, "out")), "no folder is made for an export that cannot be written");
});
