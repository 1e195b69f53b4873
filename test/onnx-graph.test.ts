// ONNX graphs evaluated by the engine, zoo-batched: PyTorch's exports of an MLP, the Small CNN,
// a width-8 ResNet-18, a CNN with max-pooling and x.view(x.size(0), -1) (shape arithmetic
// resolved at planning), a SIREN and a ViT encoder (attention, LayerNorm and GELU as opset 13
// spells them) give PyTorch's outputs to 1e-5, each network of a batch
// gives what it gives alone, and graphs with ops outside the set are black-box with the reason.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Tensor, noGrad, Rng } from "../src/engine/index.js";
import { readOnnx } from "../src/io/onnx.js";
import { isOnnxPlan, onnxForward, onnxParameterValues, planOnnxGraph, type OnnxPlan } from "../src/nets/onnx-graph.js";

const FIX = fileURLToPath(new URL("../../test/fixtures/onnx/", import.meta.url));
interface Expected { file: string; inputShape: number[]; outputShape: number[]; input: number[]; output: number[] }
const EXPECTED = JSON.parse(readFileSync(join(FIX, "expected.json"), "utf8")).models as Record<string, Expected>;

/** B networks of one plan: the fixture's own first, then copies with every weight perturbed. */
function zoo(plan: OnnxPlan, values: Map<string, Float32Array>, B: number): Map<string, Tensor> {
  const rng = new Rng(11, "onnx-zoo");
  const params = new Map<string, Tensor>();
  for (const p of plan.parameters) {
    const v = values.get(p.name)!, all = new Float32Array(B * v.length);
    for (let b = 0; b < B; b++) for (let i = 0; i < v.length; i++) all[b * v.length + i] = b === 0 ? v[i] : v[i] * (1 + 0.2 * (rng.uniform() - 0.5));
    params.set(p.name, Tensor.from(all, [B, ...p.shape]));
  }
  return params;
}

for (const name of ["mlp", "small-cnn", "resnet18-w8", "view-cnn", "siren", "tiny-vit"]) {
  test(`onnx graph: ${name} through the engine gives PyTorch's outputs, batched as alone`, () => noGrad(() => {
    const e = EXPECTED[name];
    const model = readOnnx(join(FIX, e.file));
    const plan = planOnnxGraph(model);
    assert.ok(isOnnxPlan(plan), `white-box: ${JSON.stringify(plan)}`);
    assert.deepEqual(plan.input.shape, e.inputShape);
    assert.deepEqual(plan.output.shape, e.outputShape);
    const values = onnxParameterValues(plan, model.graph);
    const probes = Tensor.from(Float32Array.from(e.input), [2, ...e.inputShape]);
    const out = onnxForward(plan, zoo(plan, values, 3), probes);
    const per = e.output.length;
    assert.deepEqual(out.shape, [3, 2, ...e.outputShape]);
    for (let i = 0; i < e.output.length; i++) {
      assert.ok(Math.abs(out.data[i] - e.output[i]) < 1e-5, `${name} output ${i}: ${out.data[i]} against PyTorch's ${e.output[i]}`);
    }
    // The perturbed networks answer differently, and each as it does alone.
    let differs = 0;
    for (let i = 0; i < per; i++) if (Math.abs(out.data[per + i] - out.data[i]) > 1e-4) differs++;
    assert.ok(differs > per / 2, `${name}: network 1 differs from network 0 in ${differs} of ${per} outputs`);
    const params = zoo(plan, values, 3);
    for (const b of [1, 2]) {
      const alone = new Map([...params].map(([k, t]) => [k, Tensor.from(t.data.slice(b * t.size / 3, (b + 1) * t.size / 3), [1, ...t.shape.slice(1)])]));
      const one = onnxForward(plan, alone, probes);
      for (let i = 0; i < per; i++) assert.ok(Math.abs(one.data[i] - out.data[b * per + i]) <= 1e-6 * (1 + Math.abs(one.data[i])), `${name} network ${b} output ${i} batched ${out.data[b * per + i]} alone ${one.data[i]}`);
    }
  }));
}

test("onnx graph: graphs with ops outside the set are black-box, with the first such node; the ViT is white-box", () => {
  const cumsum = planOnnxGraph(readOnnx(join(FIX, "unsupported-cumsum.onnx")));
  assert.ok(!isOnnxPlan(cumsum));
  assert.equal(cumsum.opType, "CumSum");
  assert.match(cumsum.reason, /does not have this op/);
  const vit = planOnnxGraph(readOnnx(join(FIX, "tiny-vit.onnx")));
  assert.ok(isOnnxPlan(vit), "the ViT's attention, LayerNorm and GELU are in the set");
  const kinds = new Set(vit.steps.map((st) => st.op));
  for (const k of ["permute", "narrow", "concat", "binary", "expand", "unary", "matmul"]) assert.ok(kinds.has(k as never), `the ViT's plan has ${k} steps`);
  // Every LayerNorm's weights are per-network parameters, also where the exporter named one
  // initializer twice (through Identity): none is baked into the plan as network 0's constant.
  const names = vit.parameters.map((p) => p.name);
  for (const n of ["cls", "pos", "blocks.0.ln1.weight", "blocks.0.ln1.bias", "patch.weight", "head.weight"]) assert.ok(names.includes(n), `${n} is a parameter`);
  assert.ok(vit.steps.every((st) => st.op !== "binary" || [st.a, st.b].every((o) => !("constant" in o) || o.constant.length === 1)), "only scalars are constants");
});

test("onnx graph: one structure key for models that differ only in weights", () => {
  const a = planOnnxGraph(readOnnx(join(FIX, "small-cnn.onnx")));
  const b = planOnnxGraph(readOnnx(join(FIX, "resnet18-w8.onnx")));
  assert.ok(isOnnxPlan(a) && isOnnxPlan(b));
  assert.match(a.key, /^[0-9a-f]{16}$/);
  assert.notEqual(a.key, b.key);
  const again = planOnnxGraph(readOnnx(join(FIX, "small-cnn.onnx")));
  assert.ok(isOnnxPlan(again) && again.key === a.key);
});

test("onnx graph: a plan as zoo.json records it reads back the same, and a tampered one is refused by field", async () => {
  const { onnxPlanSpec, parseOnnxPlan } = await import("../src/nets/onnx-graph.js");
  for (const name of ["mlp", "small-cnn", "resnet18-w8", "view-cnn", "siren", "tiny-vit"]) {
    const plan = planOnnxGraph(readOnnx(join(FIX, `${name}.onnx`)));
    assert.ok(isOnnxPlan(plan));
    const back = parseOnnxPlan(JSON.parse(JSON.stringify(onnxPlanSpec(plan))));
    assert.equal(back.key, plan.key, name);
    assert.deepEqual([...back.shapes], [...plan.shapes], name);
  }
  const plan = planOnnxGraph(readOnnx(join(FIX, "small-cnn.onnx")));
  assert.ok(isOnnxPlan(plan));
  const spec = () => JSON.parse(JSON.stringify(onnxPlanSpec(plan)));
  const bad = spec(); bad.steps[1].input = "later";
  assert.throws(() => parseOnnxPlan(bad), /steps\[1\]: input "later" is not a value written before it/);
  const wide = spec(); wide.parameters[0].shape = [16, 3, 3, 3];
  assert.throws(() => parseOnnxPlan(wide), /steps\[0\]: a convolution of \[1,32,32\] by \[16,3,3,3\]/);
  const reshaped = spec(); reshaped.steps.push({ op: "reshape", input: reshaped.output.name, output: "r", shape: [7] });
  assert.throws(() => parseOnnxPlan(reshaped), /reshapes \[10\] to \[7\]/);
});
