// The generic CNN family and the image probe generators: finite-difference gradients through
// every activation, the residual path, and both transposed-conv generators.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng, Tensor, addLeadingChannels, sum } from "../src/engine/index.js";
import { cnnFeatureSizes, cnnFlopsPerImage, cnnForward, cnnParameterShapes, type CnnArchitecture, type CnnActivation } from "../src/nets/cnn.js";
import { cnnForwardMixed } from "../src/nets/groups.js";
import { ImageGenerator } from "../src/probes/image-generator.js";
import { assertClose, gradCheck, randn } from "./helpers.js";

const rng = new Rng(21, "cnn");

function zooParams(arch: CnnArchitecture, B: number): Map<string, Tensor> {
  return new Map(cnnParameterShapes(arch).map(([n, s]) => [n, randn(rng, [B, ...s], 0.5).requireGrad()]));
}

const arch = (act: CnnActivation): CnnArchitecture => ({
  inChannels: 2,
  layers: [
    { channels: 3, kernel: 3, stride: 2, padding: 1, activation: act, w0: 2 },
    { channels: 3, kernel: 3, stride: 1, padding: 1, activation: act, w0: 2 },
  ],
  classes: 4,
});

/** Neural Graphs' wiring: layers 2 and 3 take layer 0's activated output (3 channels) into their first 3 and 2 channels. */
const residualArch = (residual?: number[]): CnnArchitecture => ({
  inChannels: 2,
  layers: [
    { channels: 3, kernel: 3, stride: 2, padding: 1, activation: "relu" },
    { channels: 2, kernel: 3, stride: 1, padding: 1, activation: "tanh" },
    { channels: 4, kernel: 5, stride: 1, padding: 2, activation: "relu" },
    { channels: 2, kernel: 3, stride: 1, padding: 1, activation: "gelu" },
  ],
  residual, classes: 4,
});

test("CNN family: parameter names and shapes, feature sizes and FLOPs", () => {
  const a = arch("relu");
  assert.deepEqual(cnnParameterShapes(a), [
    ["layers.0.weight", [3, 2, 3, 3]], ["layers.0.bias", [3]], ["layers.1.weight", [3, 3, 3, 3]], ["layers.1.bias", [3]],
    ["fc.weight", [4, 3]], ["fc.bias", [4]],
  ]);
  assert.deepEqual(cnnFeatureSizes(a, 8), [4, 4]);
  // conv0: 16 px * 3 out * 2*9 MACs; conv1: 16 * 3 * 3*9; biases; pool 16*3; fc 3*4.
  assert.equal(cnnFlopsPerImage(a, 8), 2 * 16 * 3 * 18 + 2 * 16 * 3 + 2 * 16 * 3 * 27 + 2 * 16 * 3 + 16 * 3 + 2 * 3 * 4);
  const out = cnnForward(a, zooParams(a, 2), randn(rng, [5, 2, 8, 8]));
  assert.deepEqual(out.shape, [2, 5, 4]);
});

for (const act of ["relu", "gelu", "tanh", "sigmoid", "leaky_relu", "sin", "none"] as CnnActivation[]) {
  test(`CNN family gradients with ${act} activations, shared probes`, () => {
    const a = arch(act);
    const params = zooParams(a, 2);
    const names = [...params.keys()];
    // Inputs bounded away from ReLU kinks are not guaranteed after a conv; a small eps keeps
    // crossings rare, and the tolerance is relative to the largest gradient.
    gradCheck(`cnn ${act}`, (x, ...ps) => cnnForward(a, new Map(names.map((n, i) => [n, ps[i]])), x),
      [randn(rng, [3, 2, 8, 8]).requireGrad(), ...names.map((n) => params.get(n)!)], { eps: 1e-3, rtol: 2e-2 });
  });
}

test("CNN family gradients through Neural Graphs' residuals (wider and narrower targets), per-network inputs", () => {
  const a = residualArch([-1, -1, 0, 0]);
  const params = zooParams(a, 2);
  const names = [...params.keys()];
  const f = (x: Tensor, ...ps: Tensor[]) => cnnForward(a, new Map(names.map((n, i) => [n, ps[i]])), x);
  gradCheck("cnn residual", f, [randn(rng, [2, 3, 2, 8, 8]).requireGrad(), ...names.map((n) => params.get(n)!)], { eps: 1e-3, rtol: 2e-2 });
  // The residuals are really there: the same weights without them give another output.
  const x = randn(rng, [2, 3, 2, 8, 8]);
  const withRes = f(x, ...names.map((n) => params.get(n)!)).toArray();
  assert.notDeepEqual(withRes, cnnForward(residualArch(), params, x).toArray());
  assert.notDeepEqual(withRes, cnnForward(residualArch([-1, -1, 0, -1]), params, x).toArray());
  assert.throws(() => cnnForward(residualArch([-1, 1, -1, -1]), params, x), /residual\[1\] = 1: a layer's residual must come from an earlier layer/);
  assert.throws(() => cnnForward(residualArch([-1, -1, 0]), params, x), /must have one entry per layer \(4\)/);
});

test("addLeadingChannels adds into the first min(C) channels and sends gradients back to those channels only", () => {
  const y = randn(rng, [2, 3, 2, 2]).requireGrad(), r = randn(rng, [2, 2, 2, 2]).requireGrad();
  const out = addLeadingChannels(y, r);
  for (let b = 0; b < 2; b++) {
    for (let c = 0; c < 3; c++) {
      for (let p = 0; p < 4; p++) {
        const expect = y.data[(b * 3 + c) * 4 + p] + (c < 2 ? r.data[(b * 2 + c) * 4 + p] : 0);
        assert.equal(out.data[(b * 3 + c) * 4 + p], Math.fround(expect));
      }
    }
  }
  gradCheck("addLeadingChannels", (p, q) => addLeadingChannels(p, q), [y, r]);
  gradCheck("addLeadingChannels, wider source", (p, q) => addLeadingChannels(q, p), [y, r]);
  assert.throws(() => addLeadingChannels(y, randn(rng, [2, 2, 3, 2])), /addLeadingChannels: \[2,2,3,2\] cannot be added/);
});

for (const layers of [5, 6] as const) {
  test(`image generator deep_linear_${layers}: shapes, tanh range and gradients into latents and layers`, () => {
    const gen = new ImageGenerator(2, new Rng(layers), { layers, widthMultiplier: 0.125, latentDim: 4 });
    const probes = gen.forward();
    assert.deepEqual(probes.shape, [2, 1, 32, 32]);
    assert.ok(probes.data.every((v) => v > -1 && v < 1));
    assert.equal(gen.layers.length, layers);
    const named = gen.namedParameters();
    gradCheck(`deep_linear_${layers}`, () => gen.forward(), named.map(([, t]) => t), { eps: 1e-2, samples: 6 });
    assert.ok(Number.isFinite(sum(probes).item()));
  });
}

test("CNNs of mixed architectures are evaluated in one ragged batch, rows in the networks' order", () => {
  const deep: CnnArchitecture = { inChannels: 1, classes: 4, layers: [
    { channels: 3, kernel: 3, stride: 2, padding: 1, activation: "relu" },
    { channels: 5, kernel: 5, stride: 1, padding: 2, activation: "gelu" },
  ] };
  const shallow: CnnArchitecture = { inChannels: 1, classes: 4, layers: [{ channels: 2, kernel: 3, stride: 1, padding: 0, activation: "tanh" }] };
  const archs = [deep, shallow, deep, shallow, shallow];
  const networks = archs.map((a) => ({
    arch: a,
    params: new Map(cnnParameterShapes(a).map(([n, s]) => [n, rng.fillNormal(new Float32Array(s.reduce((x, y) => x * y, 1)), 0, 0.5)])),
  }));
  const x = randn(rng, [3, 1, 8, 8]).requireGrad();
  const y = cnnForwardMixed(networks, x);
  assert.deepEqual(y.shape, [5, 3, 4]);
  networks.forEach((n, i) => {
    const one = cnnForward(n.arch, new Map([...n.params].map(([k, v]) => [k, Tensor.from(v, [1, ...cnnParameterShapes(n.arch).find(([m]) => m === k)![1]])])), x);
    assertClose(y.data.subarray(i * 12, (i + 1) * 12), one.data, 1e-6, 1e-7, `network ${i}`);
  });
  gradCheck("cnnForwardMixed wrt shared images", (img) => cnnForwardMixed(networks, img), [x], { eps: 1e-2, rtol: 2e-2 });
  assert.throws(() => cnnForwardMixed([{ arch: deep, params: networks[1].params }], x), /network 0: parameter layers\.0\.weight is of size 18, its architecture needs \[3,1,3,3\]/);
});
