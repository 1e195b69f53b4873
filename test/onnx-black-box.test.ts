// Black-box ONNX models in a zoo: graphs with an op the engine lacks (PyTorch's CumSum export,
// its weights varied per network) import beside white-box ones, are kept whole in the zoo, and
// answer a run's fixed probes through onnxruntime: their answers are the model's own (computed
// here by hand from its weights), training and evaluation agree, and the methods that need
// what a black box hides are refused, naming why.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Rng, noGrad } from "../src/engine/index.js";
import { readOnnx } from "../src/io/onnx.js";
import { withInitializers } from "../src/io/onnx-write.js";
import { buildOnnxModel } from "../src/io/onnx-build.js";
import { ModelProtoType } from "../src/io/onnx-schema.js";
import { Zoo } from "../src/zoo/format.js";
import { importOnnx } from "../src/zoo/interop/onnx.js";
import { exportOnnx } from "../src/zoo/interop/onnx-export.js";
import { blackBoxModelFiles } from "../src/zoo/black-box-models.js";
import { DEFAULT_TRAIN_CONFIG, type TrainConfig } from "../src/train/config.js";
import { answerBlackBox, train, trainYielding } from "../src/train/trainer.js";
import { ProbingModel } from "../src/train/probing-model.js";
import { ZooData } from "../src/train/zoo-data.js";

const FIX = fileURLToPath(new URL("../../test/fixtures/onnx/", import.meta.url));
const cli = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));

/** y = W x + b, W [4, 8] row-major: the Gemm (transB) both kinds of model end in. */
function linear(w: Float32Array, b: Float32Array, x: ArrayLike<number>): number[] {
  return Array.from({ length: 4 }, (_, o) => {
    let s = b[o];
    for (let i = 0; i < 8; i++) s += w[o * 8 + i] * x[i];
    return s;
  });
}

/** A zoo folder: 6 CumSum models (black-box) and 6 Gemm models (white-box), labels alternating. */
function mixedModels(dir: string): { file: string; w: Float32Array; b: Float32Array; blackBox: boolean }[] {
  const src = join(FIX, "unsupported-cumsum.onnx");
  const template = new Uint8Array(readFileSync(src));
  const init = readOnnx(src).graph.initializers;
  const rng = new Rng(21, "black-box-models");
  const vary = (t: ArrayLike<number>) => Float32Array.from(t, (v) => v * (1 + 0.5 * (rng.uniform() - 0.5)));
  const models = [];
  for (let i = 0; i < 12; i++) {
    const w = vary(init.get("fc.weight")!.data), b = vary(init.get("fc.bias")!.data);
    const blackBox = i % 2 === 0;
    const file = `${blackBox ? "cumsum" : "gemm"}-${i}.onnx`;
    const bytes = blackBox
      ? withInitializers(template, new Map([["fc.weight", w], ["fc.bias", b]]), file)
      : buildOnnxModel({
        input: { name: "x", shape: [8] }, output: { name: "y", shape: [4] },
        nodes: [{ op: "Gemm", inputs: ["x", "w", "b"], outputs: ["y"], attributes: { transB: { int: 1 } } }],
        floats: [{ name: "w", dims: [4, 8], data: w }, { name: "b", dims: [4], data: b }],
      });
    writeFileSync(join(dir, file), bytes);
    models.push({ file, w, b, blackBox });
  }
  writeFileSync(join(dir, "labels.csv"), "file,label\n" + models.map((m, i) => `${m.file},${Math.floor(i / 2) % 2}`).join("\n") + "\n");
  return models;
}

const config = (zoo: string, method: TrainConfig["method"]): TrainConfig =>
  ({ ...DEFAULT_TRAIN_CONFIG, zoo, method, probes: 4, epochs: 3, batch: 4, head: { width: 16, depth: 2 }, evalEvery: 100 });

test("onnx zoo: black-box models import whole beside white-box ones, answer through onnxruntime, and train", async () => {
  const dir = mkdtempSync(join(tmpdir(), "probegen-onnx-black-box-"));
  const models = mixedModels(dir);
  const out = join(dir, "zoo");
  const r = await importOnnx({ dir, labels: join(dir, "labels.csv"), out });
  assert.equal(r.imported, 12);
  const zoo = Zoo.open(out);
  const m = zoo.manifest;
  assert.equal(m.architectures.length, 2, "one white-box structure, one black-box interface");
  const blackArch = m.architectures.findIndex((a) => a.parameters.length === 0);
  const spec = m.architectures[blackArch].architecture as { blackBox: { opType: string; node: string }; input: { shape: number[] }; outputs: number };
  assert.equal(spec.blackBox.opType, "CumSum");
  assert.deepEqual([spec.input.shape, spec.outputs], [[8], 4]);
  const all = zoo.readAll();
  models.forEach((model, i) => {
    assert.equal(all.architecture[i], model.blackBox ? blackArch : 1 - blackArch, `network ${i}'s structure`);
    assert.equal(all.strings.get("model")![i], model.blackBox ? `models/${i}.onnx` : "");
    if (model.blackBox) assert.deepEqual(readFileSync(join(out, "models", `${i}.onnx`)), readFileSync(join(dir, model.file)), "kept byte for byte");
  });

  // The answers the head reads: onnxruntime's for a black-box network, the engine's for the
  // others, each what its own weights give on the run's probes.
  const data = new ZooData(zoo);
  const model = new ProbingModel(config(out, "uniform"), data.outputs, data);
  const request = model.representation.blackBoxRequest!(data)!;
  assert.equal(request.files.length, 6);
  assert.equal(request.probes.length, 4 * 8);
  await answerBlackBox(request);
  noGrad(() => {
    for (const i of [0, 1, 4]) {
      const got = model.represent(data, [i]).data;
      const { w, b, blackBox } = models[i];
      for (let k = 0; k < 4; k++) {
        const x = request.probes.subarray(k * 8, (k + 1) * 8);
        const input = blackBox ? x.map((_, j) => x.slice(0, j + 1).reduce((s, v) => s + v, 0)) : x;
        linear(w, b, input).forEach((y, o) => assert.ok(Math.abs(got[k * 4 + o] - y) < 1e-5, `network ${i}, probe ${k}, output ${o}: ${got[k * 4 + o]} against ${y}`));
      }
    }
  });
  data.dispose();

  const first = await trainYielding(config(out, "uniform"), join(dir, "run"));
  const again = await trainYielding(config(out, "uniform"), join(dir, "run-again"));
  assert.equal(first.steps, 9, "9 training networks (70% of 12) in batches of 4, 3 epochs");
  assert.ok(first.last.test !== null && Number.isFinite(first.last.test));
  assert.deepEqual([again.best, again.last], [first.best, first.last], "seeded: the same metrics again");

  // `probegen eval` has onnxruntime answer the black-box networks too, and agrees with training.
  const evaluated = spawnSync(process.execPath, [cli, "eval", join(dir, "run"), "--checkpoint", "last", "--json"], { encoding: "utf8", timeout: 120_000 });
  assert.equal(evaluated.status, 0, evaluated.stderr);
  assert.equal(JSON.parse(evaluated.stdout).accuracy, first.last.test);
  // `probegen predict RUN ZOO` too: the test split scores as in training, and a black-box
  // network is predicted as its kept file is, in the order asked.
  const cliJson = (...args: string[]) => {
    const r = spawnSync(process.execPath, [cli, ...args, "--json"], { encoding: "utf8", timeout: 120_000 });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout);
  };
  assert.equal(cliJson("predict", join(dir, "run"), out).metrics.accuracy, first.best!.test);
  const picked = cliJson("predict", join(dir, "run"), out, "--index", "3,2,0").predictions;
  assert.deepEqual(picked.map((p: { name: string }) => p.name), [3, 2, 0].map((i) => `${out}#${i} (${models[i].file})`));
  const kept = cliJson("predict", join(dir, "run"), "--black-box", join(out, "models", "2.onnx")).predictions[0];
  assert.deepEqual(picked[1].top, kept.top);
  const info = spawnSync(process.execPath, [cli, "zoo", "info", out], { encoding: "utf8", timeout: 60_000 });
  assert.equal(info.status, 0, info.stderr);
  assert.match(info.stdout, new RegExp(`graph ${blackArch}: 6 networks, input \\[8\\]: black-box, run by onnxruntime on fixed probes: the engine cannot run node .*CumSum.* \\(CumSum\\)`));
  assert.match(info.stdout, new RegExp(`graph ${1 - blackArch}: 6 networks, input \\[8\\]: white-box, run by probegen's engine; 1 step \\(linear 1\\)`));

  // Exported, black-box networks are their kept files; imported back, the zoo trains to the same metrics.
  exportOnnx({ zoo: out, out: join(dir, "export") });
  const exported = join(dir, "export", "networks");
  assert.deepEqual(readFileSync(join(exported, "000002.onnx")), readFileSync(join(dir, models[2].file)));
  await importOnnx({ dir: exported, labels: join(exported, "labels.csv"), out: join(dir, "back") });
  assert.deepEqual(Zoo.open(join(dir, "back")).manifest.architectures, m.architectures);
  const back = await trainYielding(config(join(dir, "back"), "uniform"), join(dir, "run-back"));
  assert.deepEqual([back.best, back.last], [first.best, first.last]);

  // The default predictor takes fixed probes on such a zoo: uniform noise for vector inputs.
  const auto = await trainYielding({ ...config(out, "auto"), epochs: 1 }, join(dir, "run-auto"));
  assert.equal(auto.method, "uniform");
  const imported = spawnSync(process.execPath, [cli, "zoo", "import", "onnx", dir, "--labels", join(dir, "labels.csv"), "--out", join(dir, "zoo-cli")], { encoding: "utf8", timeout: 120_000 });
  assert.equal(imported.status, 0, imported.stderr);
  assert.match(imported.stdout, /graph \d: 6 networks, input \[8\]: black-box, run by onnxruntime on fixed probes/);

  // What a black box cannot give is refused before any run folder is made.
  await assert.rejects(trainYielding(config(out, "vanilla"), join(dir, "r1")), /6 of the zoo's networks are black-box .*CumSum.*: vanilla probes learn through every network's gradients/);
  await assert.rejects(trainYielding(config(out, "statnn"), join(dir, "r2")), /6 of the zoo's networks are black-box ONNX models, whose weights the engine does not read/);
  await assert.rejects(trainYielding({ ...config(out, "uniform"), readout: "hidden" }, join(dir, "r3")), /black-box .*the hidden readout reads layers inside each network/);
  assert.throws(() => train(config(out, "uniform"), join(dir, "r4")), /black-box networks, which onnxruntime answers asynchronously/);
  for (const k of ["r1", "r2", "r3", "r4"]) assert.ok(!existsSync(join(dir, k)), `${k}: no run folder`);
});

test("onnx zoo: a black-box network's recorded model path never leads out of the zoo's folder", () => {
  assert.deepEqual(blackBoxModelFiles("/z/zoo.json", ["models/0.onnx", "", "models/12.onnx"], [0, 2]), ["/z/models/0.onnx", "/z/models/12.onnx"]);
  for (const bad of ["../x.onnx", "models/../../x.onnx", "/etc/x.onnx", "models/1.onnx.bak", ""]) {
    assert.throws(() => blackBoxModelFiles("/z/zoo.json", [bad], [0]), (e: Error) => e.message === `/z/zoo.json: network 0 is black-box, and its model file is recorded as '${bad}', not models/<number>.onnx inside the zoo`, bad);
  }
  assert.throws(() => blackBoxModelFiles("/z/zoo.json", undefined, [3]), /network 3 is black-box, and its model file is not recorded/);
});

test("onnx zoo: a model neither the engine nor onnxruntime can probe is refused, naming the file and why", async () => {
  const dir = mkdtempSync(join(tmpdir(), "probegen-onnx-black-box-"));
  // The CumSum export with its batch fixed at 2: the probes cannot be fed in a batch of K.
  const proto = ModelProtoType.decode(readFileSync(join(FIX, "unsupported-cumsum.onnx"))) as unknown as { graph: { input: { type: { tensorType: { shape: { dim: Record<string, unknown>[] } } } }[] } };
  proto.graph.input[0].type.tensorType.shape.dim[0] = { dimValue: 2 };
  writeFileSync(join(dir, "fixed.onnx"), ModelProtoType.encode(ModelProtoType.fromObject(proto)).finish());
  writeFileSync(join(dir, "labels.csv"), "file,label\nfixed.onnx,0\n");
  await assert.rejects(importOnnx({ dir, labels: join(dir, "labels.csv"), out: join(dir, "zoo") }),
    /fixed.onnx: cannot be probed: the engine cannot run it \(node .* \(CumSum\): .*\), and onnxruntime cannot either: its input's batch is fixed at 2/);
  assert.ok(!existsSync(join(dir, "zoo", "zoo.json")));
});
