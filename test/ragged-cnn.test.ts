// Mixed CNN architectures (CNN Wild Park) evaluated together in ragged batches, checked against
// one network at a time and against finite differences; the Wild Park architecture sampler.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng, Tensor, tidy } from "../src/engine/index.js";
import { cnnForward, cnnParameterShapes, type CnnArchitecture } from "../src/nets/cnn.js";
import { cnnForwardRagged, packRaggedCnn, raggedCnnLayout, raggedCnnTensors, unpackRaggedCnn } from "../src/nets/ragged-cnn.js";
import { cnnForwardMixed } from "../src/nets/groups.js";
import { WILD_PARK_SPACE, drawWildParkArchitecture } from "../src/zoo/build/wild-park-architecture.js";
import { assertClose, gradCheck, randn } from "./helpers.js";

/** Depths 1-4, widths 1-3, kernels 1/3/5, every activation, residuals from wider and narrower layers. */
const MIXED: CnnArchitecture[] = [
  { inChannels: 2, classes: 3, residual: [-1, -1, 0, 1], layers: [
    { channels: 3, kernel: 3, stride: 1, padding: 1, activation: "sigmoid" },
    { channels: 1, kernel: 5, stride: 1, padding: 2, activation: "gelu" },
    { channels: 2, kernel: 1, stride: 1, padding: 0, activation: "tanh" },
    { channels: 3, kernel: 3, stride: 1, padding: 1, activation: "leaky_relu" },
  ] },
  { inChannels: 2, classes: 3, layers: [{ channels: 2, kernel: 5, stride: 1, padding: 2, activation: "relu" }] },
  { inChannels: 2, classes: 3, residual: [-1, -1, 0], layers: [
    { channels: 1, kernel: 3, stride: 1, padding: 1, activation: "none" },
    { channels: 3, kernel: 3, stride: 1, padding: 1, activation: "relu" },
    { channels: 2, kernel: 5, stride: 1, padding: 2, activation: "sigmoid" },
  ] },
  { inChannels: 2, classes: 3, residual: [-1, -1], layers: [
    { channels: 2, kernel: 3, stride: 2, padding: 1, activation: "tanh" },
    { channels: 2, kernel: 3, stride: 1, padding: 0, activation: "gelu" },
  ] },
];

function randomParams(rng: Rng, archs: readonly CnnArchitecture[]): Map<string, Float32Array>[] {
  return archs.map((a) => new Map(cnnParameterShapes(a).map(([n, s]) => [n, Float32Array.from({ length: s.reduce((x, y) => x * y, 1) }, () => rng.normal() * 0.5)])));
}

/** Each network alone through cnnForward: the reference the ragged forward must equal. */
function oneByOne(archs: readonly CnnArchitecture[], params: Map<string, Float32Array>[], x: Tensor): number[] {
  return archs.flatMap((a, n) => tidy(() => {
    const stacked = new Map(cnnParameterShapes(a).map(([name, s]) => [name, Tensor.from(params[n].get(name)!, [1, ...s])]));
    const xn = x.rank === 4 ? x : Tensor.from(x.data.subarray(n * x.size / archs.length, (n + 1) * x.size / archs.length), [1, ...x.shape.slice(1)]);
    return cnnForward(a, stacked, xn).toArray() as number[];
  }));
}

test("mixed CNNs in one ragged batch give each network's own logits, shared or per-network images", () => {
  const rng = new Rng(3, "ragged");
  const params = randomParams(rng, MIXED);
  const layout = raggedCnnLayout(MIXED);
  const packed = packRaggedCnn(layout, (n, name) => params[n].get(name)!);
  for (const x of [randn(rng, [3, 2, 7, 7]), randn(rng, [MIXED.length, 3, 2, 7, 7])]) {
    const out = cnnForwardRagged(layout, packed, x);
    assert.deepEqual(out.shape, [MIXED.length, 3, 3]);
    assertClose(out.data, oneByOne(MIXED, params, x), 1e-5, 1e-6, "ragged vs one by one");
  }
  // Packing round-trips, and the residual wiring is used: without it network 0 answers differently.
  assert.deepEqual(unpackRaggedCnn(layout, packed, 2), cnnParameterShapes(MIXED[2]).map(([n]) => params[2].get(n)));
  const x = randn(rng, [3, 2, 7, 7]);
  const plain = [{ ...MIXED[0], residual: undefined }, ...MIXED.slice(1)];
  const a = cnnForwardRagged(layout, packed, x).data.slice(0, 9);
  const b = cnnForwardRagged(raggedCnnLayout(plain), packed, x).data.slice(0, 9);
  assert.ok(a.some((v, i) => Math.abs(v - b[i]) > 1e-4), "the residuals change network 0's logits");
  assert.throws(() => raggedCnnLayout([MIXED[0], { ...MIXED[1], classes: 4 }]), /network 1 takes 2 channels to 4 classes, network 0 2 to 3/);
});

test("finite differences through a mixed batch: depths, kernels, activations and residuals in one step", () => {
  const rng = new Rng(5, "ragged-fd");
  const params = randomParams(rng, MIXED);
  const layout = raggedCnnLayout(MIXED);
  const packed = packRaggedCnn(layout, (n, name) => params[n].get(name)!, { persistent: true });
  const tensors = raggedCnnTensors(packed).map((t) => t.requireGrad());
  const rebuild = (ts: Tensor[]) => ({
    weights: layout.layers.map((_, i) => ts[2 * i]), biases: layout.layers.map((_, i) => ts[2 * i + 1]),
    fcWeight: ts[ts.length - 2], fcBias: ts[ts.length - 1],
  });
  // Probes shared by every network (their gradient sums over networks), and per-network images.
  gradCheck("ragged shared", (x, ...ts) => cnnForwardRagged(layout, rebuild(ts), x), [randn(rng, [2, 2, 6, 6]).requireGrad(), ...tensors], { eps: 1e-3, rtol: 2e-2, samples: 16 });
  gradCheck("ragged per network", (x, ...ts) => cnnForwardRagged(layout, rebuild(ts), x), [randn(rng, [MIXED.length, 2, 2, 6, 6]).requireGrad(), ...tensors], { eps: 1e-3, rtol: 2e-2, samples: 16 });
});

test("the Wild Park sampler draws the park's space: depths, widths, kernels, activations, residual sources", () => {
  const rng = new Rng(0, "sampler");
  const archs = Array.from({ length: 400 }, () => drawWildParkArchitecture(WILD_PARK_SPACE, rng, 1, 10));
  const depths = new Set(archs.map((a) => a.layers.length));
  assert.deepEqual([...depths].sort(), [2, 3, 4, 5]);
  const all = archs.flatMap((a) => a.layers);
  assert.deepEqual([...new Set(all.map((l) => l.channels))].sort((a, b) => a - b), [4, 8, 16, 32]);
  assert.deepEqual([...new Set(all.map((l) => l.kernel))].sort(), [3, 5, 7]);
  assert.equal(new Set(all.map((l) => l.activation)).size, 6);
  assert.ok(all.every((l) => l.stride === 1 && l.padding === l.kernel >> 1));
  for (const a of archs) {
    const r = a.residual as number[];
    assert.equal(r[0], -1);
    assert.equal(r[1], -1);
    r.forEach((j, i) => assert.ok(j === -1 || (j >= 0 && j <= i - 2), `residual[${i}] = ${j}`));
  }
  const withResidual = archs.filter((a) => (a.residual as number[]).some((j) => j >= 0)).length;
  assert.ok(withResidual > 150 && withResidual < 350, `${withResidual} of 400 have a residual`);
  // Seeded: the same draws again.
  assert.deepEqual(drawWildParkArchitecture(WILD_PARK_SPACE, new Rng(0, "sampler"), 1, 10), archs[0]);
});

test("probing a mixed zoo evaluates each batch in one ragged forward, equal to one network at a time", () => {
  const rng = new Rng(9, "ragged-probe");
  const archs = Array.from({ length: 5 }, () => drawWildParkArchitecture(WILD_PARK_SPACE, rng, 1, 10));
  const params = randomParams(rng, archs);
  const x = randn(rng, [3, 1, 12, 12]);
  const nets = archs.map((arch, n) => ({ arch, params: params[n] }));
  assertClose(cnnForwardMixed(nets, x).data, oneByOne(archs, params, x), 1e-5, 1e-6, "drawn architectures");
});

