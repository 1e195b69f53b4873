// The hidden readout: the channel summary op against a direct computation on both backends and
// against finite differences; a mixed (ragged) batch equal to its networks one at a time; the
// SIREN, CNN and ResNet readouts keeping each network's outputs in their first columns.
import { test } from "node:test";
import assert from "node:assert/strict";
import { CHANNEL_SUMMARY_STATS, Rng, Tensor, channelSummary, concatLast, tidy, withBackend, type BackendName, type ChannelSummarySegment } from "../src/engine/index.js";
import { cnnForward, cnnForwardHidden, cnnParameterShapes, type CnnArchitecture } from "../src/nets/cnn.js";
import { cnnForwardRagged, packRaggedCnn, raggedCnnLayout, raggedCnnTensors } from "../src/nets/ragged-cnn.js";
import { DWSNETS_SIREN, sirenForward, sirenForwardHidden, sirenParameterShapes } from "../src/nets/siren.js";
import { resnet18, resnetForward, resnetForwardHidden, resnetHiddenLayers, resnetParameterShapes } from "../src/nets/resnet.js";
import { assertClose, fastBackends, gradCheck, randn } from "./helpers.js";

const S = CHANNEL_SUMMARY_STATS;

/** The six statistics of one image's [C, plane] block, in double precision. */
function expectedSummary(x: ArrayLike<number>, at: number, C: number, P: number): number[] {
  const m: number[] = [], s: number[] = [];
  for (let c = 0; c < C; c++) {
    let a = 0;
    for (let p = 0; p < P; p++) a += x[at + c * P + p];
    const mean = a / P;
    let v = 0;
    for (let p = 0; p < P; p++) v += (x[at + c * P + p] - mean) ** 2;
    m.push(mean);
    s.push(Math.sqrt(v / P + 1e-6));
  }
  const mm = m.reduce((a, b) => a + b, 0) / C;
  const vm = m.reduce((a, b) => a + (b - mm) ** 2, 0) / C;
  return [mm, Math.sqrt(vm + 1e-6), Math.max(...m), Math.min(...m), s.reduce((a, b) => a + b, 0) / C, Math.max(...s)];
}

for (const backend of [...fastBackends(), "reference"] as BackendName[]) {
  test(`${backend}: channelSummary gives each segment's statistics in its own columns, 0 elsewhere`, () => withBackend(backend, () => tidy(() => {
    const rng = new Rng(1, "summary");
    // Source 0: two networks' blocks tiling it (one kernel call); source 1: blocks of two plane
    // sizes with a gap (one call per block).
    const nImg = 3;
    const a = randn(rng, [2 * nImg * 4 * 5]);
    const b = randn(rng, [nImg * 2 * 9 + 7 + nImg * 3 * 1]);
    const segments: ChannelSummarySegment[] = [
      { source: 0, offset: 0, channels: 4, plane: 5, net: 0, column: 0 },
      { source: 0, offset: nImg * 20, channels: 4, plane: 5, net: 1, column: 0 },
      { source: 1, offset: 0, channels: 2, plane: 9, net: 0, column: S },
      { source: 1, offset: nImg * 18 + 7, channels: 3, plane: 1, net: 1, column: 2 * S },
    ];
    const y = channelSummary([a, b], segments, 2, nImg, 3 * S);
    assert.deepEqual(y.shape, [2, nImg, 3 * S]);
    const want = new Float64Array(2 * nImg * 3 * S);
    for (const s of segments) {
      const src = s.source === 0 ? a : b;
      for (let i = 0; i < nImg; i++) {
        const e = expectedSummary(src.data, s.offset + i * s.channels * s.plane, s.channels, s.plane);
        want.set(e, (s.net * nImg + i) * 3 * S + s.column);
      }
    }
    assertClose(y.data, want, 1e-5, 1e-6, "summary");
    // Network 1 has no slot-1 layer, network 0 no slot-2 layer: zeros there.
    for (let i = 0; i < nImg; i++) {
      assert.deepEqual(Array.from(y.data.subarray((nImg + i) * 3 * S + S, (nImg + i) * 3 * S + 2 * S)), [0, 0, 0, 0, 0, 0]);
      assert.deepEqual(Array.from(y.data.subarray(i * 3 * S + 2 * S, (i + 1) * 3 * S)), [0, 0, 0, 0, 0, 0]);
    }
    // A plane of one value has no spread: its standard deviations are sqrt(eps).
    assert.ok(Math.abs(y.data[(nImg) * 3 * S + 2 * S + 4] - 1e-3) < 1e-6);
    assert.throws(() => channelSummary([a], [{ ...segments[1], offset: nImg * 20 + 1 }], 2, nImg, S), /outside a source/);
    assert.throws(() => channelSummary([a], [{ ...segments[0], column: 1 }], 2, nImg, S), /outside/);
  })));

  test(`${backend}: channelSummary and concatLast against finite differences`, () => withBackend(backend, () => {
    const rng = new Rng(2, "summary-fd");
    const nImg = 2;
    const segments: ChannelSummarySegment[] = [
      { source: 0, offset: 0, channels: 3, plane: 6, net: 0, column: 0 },
      { source: 0, offset: nImg * 18, channels: 3, plane: 6, net: 1, column: 0 },
      { source: 1, offset: 5, channels: 4, plane: 4, net: 1, column: S },
    ];
    const inputs = [randn(rng, [2 * nImg * 18]).requireGrad(), randn(rng, [5 + nImg * 16 + 3]).requireGrad()];
    gradCheck(`${backend} channelSummary`, (x0, x1) => channelSummary([x0, x1], segments, 2, nImg, 2 * S), inputs, { eps: 1e-3, rtol: 2e-2, samples: 40 });
    gradCheck(`${backend} concatLast`, (p, q) => concatLast([p, q]), [randn(rng, [2, 3, 4]).requireGrad(), randn(rng, [2, 3, 2]).requireGrad()]);
  }));
}

/** Depths 1-3, widths 1-3, a residual: the networks of one mixed batch. */
const MIXED: CnnArchitecture[] = [
  { inChannels: 1, classes: 3, residual: [-1, -1, 0], layers: [
    { channels: 3, kernel: 3, stride: 1, padding: 1, activation: "tanh" },
    { channels: 1, kernel: 5, stride: 1, padding: 2, activation: "gelu" },
    { channels: 2, kernel: 3, stride: 1, padding: 1, activation: "relu" },
  ] },
  { inChannels: 1, classes: 3, layers: [{ channels: 2, kernel: 3, stride: 1, padding: 1, activation: "sigmoid" }] },
  { inChannels: 1, classes: 3, layers: [
    { channels: 2, kernel: 3, stride: 2, padding: 1, activation: "leaky_relu" },
    { channels: 3, kernel: 1, stride: 1, padding: 0, activation: "none" },
  ] },
];

function randomParams(rng: Rng, archs: readonly CnnArchitecture[]): Map<string, Float32Array>[] {
  return archs.map((a) => new Map(cnnParameterShapes(a).map(([n, s]) => [n, Float32Array.from({ length: s.reduce((x, y) => x * y, 1) }, () => rng.normal() * 0.5)])));
}

test("the hidden readout of a mixed batch equals each network's alone, and its gradients match finite differences", () => {
  const rng = new Rng(3, "hidden-ragged");
  const params = randomParams(rng, MIXED);
  const layout = raggedCnnLayout(MIXED);
  const packed = packRaggedCnn(layout, (n, name) => params[n].get(name)!, { persistent: true });
  const x = randn(rng, [4, 1, 6, 6]);
  const slots = 3, width = 3 + slots * S;
  tidy(() => {
    const mixed = cnnForwardRagged(layout, packed, x, { hiddenSlots: slots });
    assert.deepEqual(mixed.shape, [3, 4, width]);
    const alone = MIXED.flatMap((a, n) => tidy(() => {
      const stacked = new Map(cnnParameterShapes(a).map(([name, s]) => [name, Tensor.from(params[n].get(name)!, [1, ...s])]));
      const h = cnnForwardHidden(a, stacked, x, slots);
      // The first columns are the logits of the plain forward.
      const plain = cnnForward(a, stacked, x);
      for (let k = 0; k < 4; k++) assertClose(h.data.subarray(k * width, k * width + 3), plain.data.subarray(k * 3, k * 3 + 3), 1e-6, 1e-7, "logits columns");
      return Array.from(h.data);
    }));
    assertClose(mixed.data, alone, 1e-5, 1e-6, "mixed vs one at a time");
    // Network 1 has one layer: its slots 1 and 2 are zero; network 0's slot 2 is not.
    for (let k = 0; k < 4; k++) {
      assert.ok(Array.from(mixed.data.subarray((4 + k) * width + 3 + S, (5 + k) * width)).every((v) => v === 0));
      assert.ok(Array.from(mixed.data.subarray(k * width + 3 + 2 * S, (k + 1) * width)).some((v) => v !== 0));
    }
    assert.throws(() => cnnForwardRagged(layout, packed, x, { hiddenSlots: 2 }), /2 hidden slots for networks of up to 3 layers/);
  });
  const tensors = raggedCnnTensors(packed).map((t) => t.requireGrad());
  const rebuild = (ts: Tensor[]) => ({
    weights: layout.layers.map((_, i) => ts[2 * i]), biases: layout.layers.map((_, i) => ts[2 * i + 1]),
    fcWeight: ts[ts.length - 2], fcBias: ts[ts.length - 1],
  });
  gradCheck("ragged hidden", (xx, ...ts) => cnnForwardRagged(layout, rebuild(ts), xx, { hiddenSlots: slots }), [randn(rng, [2, 1, 5, 5]).requireGrad(), ...tensors], { eps: 1e-3, rtol: 3e-2, samples: 24 });
});

test("SIREN and ResNet hidden readouts: outputs first, then one summary per sine layer or per stem and block", () => {
  const rng = new Rng(4, "hidden-families");
  tidy(() => {
    const sp = new Map(sirenParameterShapes(DWSNETS_SIREN).map(([n, s]) => [n, randn(rng, [2, ...s], 0.3)]));
    const coords = randn(rng, [5, 2], 0.5).requireGrad();
    const h = sirenForwardHidden(DWSNETS_SIREN, sp, coords, 2);
    assert.deepEqual(h.shape, [2, 5, 1 + 2 * S]);
    const plain = sirenForward(DWSNETS_SIREN, sp, coords);
    for (let r = 0; r < 10; r++) assert.equal(h.data[r * (1 + 2 * S)], plain.data[r]);
    // Sine outputs lie in [-1, 1]: every channel mean and its extremes do too.
    for (let r = 0; r < 10; r++) for (const j of [1, 3, 4, 7, 9, 10]) assert.ok(Math.abs(h.data[r * (1 + 2 * S) + j]) <= 1);
    const arch = resnet18(2, "cifar", 3, 1);
    assert.equal(resnetHiddenLayers(arch), 9);
    const rp = new Map(resnetParameterShapes(arch).map(([n, s]) => [n, randn(rng, [2, ...s], 0.3)]));
    const img = randn(rng, [3, 1, 8, 8]);
    const rh = resnetForwardHidden(arch, rp, img, 9);
    assert.deepEqual(rh.shape, [2, 3, 3 + 9 * S]);
    const rl = resnetForward(arch, rp, img);
    for (let r = 0; r < 6; r++) assertClose(rh.data.subarray(r * (3 + 9 * S), r * (3 + 9 * S) + 3), rl.data.subarray(r * 3, r * 3 + 3), 1e-6, 1e-7, "resnet logits");
    // Block outputs are after a ReLU: channel minima are never negative.
    for (let r = 0; r < 6; r++) for (let l = 0; l < 9; l++) assert.ok(rh.data[r * (3 + 9 * S) + 3 + l * S + 3] >= 0);
  });
});
