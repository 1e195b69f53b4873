// Probing a CNN zoo with image probes: the generator, learned images, Dead Leaves and weight
// statistics, on a small synthetic regression zoo in the zoo format.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Rng } from "../src/engine/index.js";
import { cnnParameterShapes } from "../src/nets/cnn.js";
import type { SizedCnnArchitecture } from "../src/nets/family.js";
import { DEFAULT_TRAIN_CONFIG } from "../src/train/config.js";
import { train } from "../src/train/trainer.js";
import { manifestJson, planShards, type ZooManifest } from "../src/zoo/format.js";
import { encodeSafetensors, type SafeArray } from "../src/io/safetensors.js";

const ARCH: SizedCnnArchitecture = {
  inChannels: 1, inputSize: 32, residual: false, classes: 10,
  layers: [
    { channels: 4, kernel: 3, stride: 2, padding: 1, activation: "relu" },
    { channels: 4, kernel: 3, stride: 2, padding: 1, activation: "relu" },
  ],
};

function syntheticCnnZoo(dir: string, count: number): void {
  const shapes = cnnParameterShapes(ARCH);
  const rng = new Rng(3, "cnn-zoo");
  const tensors: [string, { shape: number[]; data: SafeArray }][] = shapes.map(([name, shape]) => {
    const per = shape.reduce((a, b) => a * b, 1);
    return [name, { shape: [count, ...shape], data: rng.fillNormal(new Float32Array(count * per), 0, 0.4) }];
  });
  // A target the probes can see: the scale of the last layer's weights.
  const fc = tensors[shapes.length - 2][1].data as Float32Array;
  const per = 10 * 4;
  const target = Float32Array.from({ length: count }, (_, i) => fc.subarray(i * per, (i + 1) * per).reduce((a, v) => a + Math.abs(v), 0) / per);
  tensors.push(["test_accuracy", { shape: [count], data: target }]);
  const m: ZooManifest = {
    format: "probegen-zoo", version: 1, family: "cnn",
    architectures: [{ architecture: { ...ARCH }, parameters: shapes.map(([name, shape]) => ({ name, shape })) }],
    fields: [{ name: "test_accuracy", dtype: "F32", description: "synthetic target" }],
    strings: [],
    task: { kind: "regression", target: "test_accuracy" },
    count, splits: { train: [[0, count - 20]], val: [[count - 20, count - 10]], test: [[count - 10, count]] },
    shards: planShards(count, count), provenance: { builder: "test" },
  };
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, m.shards[0].file), encodeSafetensors(tensors));
  writeFileSync(join(dir, "zoo.json"), manifestJson(m));
}

test("image probes on a CNN zoo: every method trains, scores by Kendall's tau and reports FLOPs", () => {
  const root = mkdtempSync(join(tmpdir(), "probegen-cnn-"));
  const zoo = join(root, "zoo");
  syntheticCnnZoo(zoo, 80);
  const base = { ...DEFAULT_TRAIN_CONFIG, zoo, probes: 4, epochs: 3, batch: 16, evalEvery: 5, head: { width: 32, depth: 3 } };
  for (const method of ["probegen", "vanilla", "dead-leaves", "statnn"] as const) {
    const r = train({ ...base, method }, join(root, method));
    assert.equal(r.score, "kendallTau");
    assert.ok(r.best !== null && Math.abs(r.best.val) <= 1, method);
    assert.ok(r.flopsPerNetwork > 0);
  }
  const six = train({ ...base, method: "probegen", generator: { ...base.generator, layers: 6 } }, join(root, "pg6"));
  assert.ok(six.best !== null);
  assert.throws(() => train({ ...base, method: "uniform" }, join(root, "uniform")),
    /uniform probes are coordinates; image inputs \[1,32,32\] take dead-leaves, data, vanilla or probegen probes/);
  assert.ok(!existsSync(join(root, "uniform")), "a refused run leaves no folder");
});
