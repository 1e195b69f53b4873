// Finite-difference checks of every differentiable op, on every kernel backend.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  Rng, Tensor, withBackend, linear, conv2d, convTranspose2d, globalAvgPool, crossEntropy, mseLoss,
  sin, biasSin, cos, tanh, sigmoid, relu, leakyRelu, gelu, add, sub, mul, scale, addScalar, reshape, sum, mean,
  perNetworkCrossEntropy, perNetworkMse, noGrad, tidy, cropCenter, broadcast, permute, narrow, concatAxis, matmul, softmaxLast, sqrt, powScalar, erf, type BackendName,
} from "../src/engine/index.js";
import { fastBackends, gradCheck, randAwayFromZero, randn } from "./helpers.js";

const backends: BackendName[] = [...fastBackends(), "reference"];
const leaf = (t: Tensor) => t.requireGrad();

for (const backend of backends) {
  const rng = new Rng(11, `grad-${backend}`);
  const r = (shape: number[], std = 1) => leaf(randn(rng, shape, std));
  const check = (name: string, f: (...xs: Tensor[]) => Tensor, inputs: Tensor[], opts = {}) =>
    withBackend(backend, () => gradCheck(`${backend} ${name}`, f, inputs, opts));

  test(`${backend}: activations`, () => {
    check("sin w0=3", (x) => sin(x, 3), [r([5, 7], 0.5)], { eps: 1e-3 });
    check("cos w0=2", (x) => cos(x, 2), [r([13])], { eps: 1e-3 });
    check("biasSin shared w0=3", (z, b) => biasSin(z, b, 3), [r([4, 5], 0.5), r([5], 0.5)], { eps: 1e-3 });
    check("biasSin zoo w0=2", (z, b) => biasSin(z, b, 2), [r([3, 4, 5], 0.5), r([3, 5], 0.5)], { eps: 1e-3 });
    check("biasSin into a used input", (z, b) => add(biasSin(z, b, 2), z), [r([3, 6], 0.5), r([6], 0.5)], { eps: 1e-3 });
    check("tanh", tanh, [r([4, 9])], { eps: 1e-3 });
    check("sigmoid", sigmoid, [r([4, 9], 2)], { eps: 1e-3 });
    check("gelu", gelu, [r([23], 2)], { eps: 1e-3 });
    check("relu", relu, [leaf(randAwayFromZero(rng, [6, 5]))]);
    check("leakyRelu", (x) => leakyRelu(x, 0.2), [leaf(randAwayFromZero(rng, [17]))]);
  });

  test(`${backend}: elementwise arithmetic, reshape and reductions`, () => {
    check("add", add, [r([3, 5]), r([3, 5])]);
    check("sub", sub, [r([7]), r([7])]);
    check("mul", mul, [r([2, 9]), r([2, 9])]);
    check("scale", (x) => scale(x, -1.7), [r([5])]);
    check("addScalar", (x) => addScalar(x, 0.5), [r([5])]);
    check("reshape", (x) => mul(reshape(x, [6, -1]), reshape(x, [6, 2])), [r([3, 4])]);
    // The window of an odd margin starts at the floor of half of it; the sum of the crop with
    // the input's own corner checks that the gradient lands where the window was.
    check("cropCenter", (x) => add(cropCenter(x, 3, 2), cropCenter(x, 3, 2)), [r([2, 1, 6, 5])]);
  });

  test(`${backend}: the ops ONNX graphs need: broadcasting, permute, matmul, softmax, sqrt, pow, erf`, () => {
    for (const op of ["add", "sub", "mul", "div"] as const) {
      const away = (shape: number[]) => leaf(randAwayFromZero(rng, shape, 0.5));
      check(`broadcast ${op} [2,3,4] [4]`, (a, b) => broadcast(op, a, b), [r([2, 3, 4]), away([4])]);
      check(`broadcast ${op} [2,1,4] [3,1]`, (a, b) => broadcast(op, a, b), [r([2, 1, 4]), away([3, 1])]);
      check(`broadcast ${op} [1] [2,3]`, (a, b) => broadcast(op, a, b), [r([1]), away([2, 3])]);
      check(`broadcast ${op} same shape`, (a, b) => broadcast(op, a, b), [r([3, 2]), away([3, 2])]);
    }
    check("permute [2,0,3,1]", (x) => permute(x, [2, 0, 3, 1]), [r([2, 3, 4, 5])]);
    check("permute into a used input", (x) => add(reshape(permute(x, [1, 0]), [3, 2]), reshape(x, [3, 2])), [r([2, 3])]);
    check("narrow", (x) => add(narrow(x, 1, 1, 3), narrow(x, 1, 2, 4)), [r([2, 4, 3])]);
    check("concatAxis", (a, b) => concatAxis([a, b, a], 1), [r([2, 1, 3]), r([2, 2, 3])]);
    assert.deepEqual([...concatAxis([Tensor.from(Float32Array.of(1, 2), [2, 1]), Tensor.from(Float32Array.of(3, 4, 5, 6), [2, 2])], 1).data], [1, 3, 4, 2, 5, 6]);
    assert.deepEqual([...narrow(Tensor.from(Float32Array.of(1, 2, 3, 4, 5, 6), [2, 3]), 1, 1, 3).data], [2, 3, 5, 6]);
    check("matmul stacked", matmul, [r([2, 3, 4, 5]), r([2, 3, 5, 2])]);
    check("matmul shared", matmul, [r([3, 4, 5]), r([5, 6])]);
    check("softmaxLast", (x) => mul(softmaxLast(x), x), [r([3, 5], 2)], { eps: 1e-3 });
    check("sqrt", sqrt, [leaf(Tensor.from(Float32Array.from({ length: 7 }, (_, i) => 0.5 + i), [7]))], { eps: 1e-3 });
    check("pow 2", (x) => powScalar(x, 2), [r([6])], { eps: 1e-3 });
    check("pow 3", (x) => powScalar(x, 3), [r([6])], { eps: 1e-3 });
    check("erf", erf, [r([9], 1.5)], { eps: 1e-3 });
    const probe = Tensor.from(Float32Array.of(-0.5, 0, 0.5, 2), [4]);
    assert.deepEqual([...erf(probe).data].map((v) => v.toFixed(6)), ["-0.520500", "0.000000", "0.520500", "0.995322"]);
    const s = softmaxLast(Tensor.from(Float32Array.of(1000, 1001, 0, 0), [2, 2]));
    assert.deepEqual([...s.data].map((v) => v.toFixed(6)), ["0.268941", "0.731059", "0.500000", "0.500000"], "large logits do not overflow");
    assert.deepEqual([...broadcast("sub", Tensor.from(Float32Array.of(1, 2, 3, 4, 5, 6), [2, 3]), Tensor.from(Float32Array.of(1, 4), [2, 1])).data], [0, 1, 2, 0, 1, 2]);
    assert.deepEqual(permute(Tensor.from(Float32Array.of(1, 2, 3, 4, 5, 6), [2, 3]), [1, 0]).shape, [3, 2]);
    assert.deepEqual([...permute(Tensor.from(Float32Array.of(1, 2, 3, 4, 5, 6), [2, 3]), [1, 0]).data], [1, 4, 2, 5, 3, 6]);
    check("sum", (x) => sum(mul(x, x)), [r([11])]);
    check("mean", (x) => mean(mul(x, x)), [r([3, 3])]);
  });

  test(`${backend}: shared linear, with and without bias, rank-3 input`, () => {
    check("linear", linear, [r([6, 5]), r([4, 5]), r([4])]);
    check("linear nobias", (x, w) => linear(x, w), [r([2, 3, 5]), r([7, 5])]);
  });

  test(`${backend}: zoo linear, per-network and shared inputs`, () => {
    check("zoo linear per-network", linear, [r([3, 4, 5]), r([3, 6, 5]), r([3, 6])]);
    check("zoo linear shared", linear, [r([4, 5]), r([3, 6, 5]), r([3, 6])]);
    check("zoo linear shared nobias", (x, w) => linear(x, w), [r([9, 2]), r([2, 3, 2])]);
  });

  test(`${backend}: conv2d, stride 1 and 2, padding 0 and 1, kernels 3, 4 and 5`, () => {
    const cases: [number[], number[], number, number][] = [
      [[2, 3, 6, 6], [4, 3, 3, 3], 1, 1],
      [[2, 2, 7, 7], [3, 2, 3, 3], 2, 1],
      [[1, 2, 8, 8], [3, 2, 4, 4], 2, 0],
      [[2, 1, 7, 6], [2, 1, 5, 5], 1, 0],
      [[1, 2, 9, 9], [2, 2, 5, 5], 2, 1],
    ];
    for (const [xs, ws, stride, padding] of cases) {
      check(`conv2d x${xs} w${ws} s${stride} p${padding}`, (x, w, b) => conv2d(x, w, b, { stride, padding }),
        [r(xs), r(ws, 0.5), r([ws[0]])]);
    }
  });

  test(`${backend}: zoo conv2d, per-network and shared inputs (B > 1, K > 1)`, () => {
    check("zoo conv2d per-network s2 p1 k3", (x, w, b) => conv2d(x, w, b, { stride: 2, padding: 1 }),
      [r([3, 2, 2, 7, 7]), r([3, 4, 2, 3, 3], 0.5), r([3, 4])]);
    check("zoo conv2d shared s1 p0 k4", (x, w, b) => conv2d(x, w, b, { stride: 1, padding: 0 }),
      [r([2, 2, 6, 6]), r([3, 2, 2, 4, 4], 0.5), r([3, 2])]);
    check("zoo conv2d shared s2 p1 k5", (x, w) => conv2d(x, w, null, { stride: 2, padding: 1 }),
      [r([3, 1, 8, 8]), r([2, 2, 1, 5, 5], 0.5)]);
    check("zoo conv2d pointwise", (x, w, b) => conv2d(x, w, b), [r([2, 3, 3, 4, 4]), r([2, 2, 3, 1, 1]), r([2, 2])]);
    // A pre-activation within the step of zero would flip under the finite difference: inputs
    // are drawn until every one is at least 10 steps from the kink.
    let fused: Tensor[];
    do {
      fused = [r([2, 2, 7, 7]), r([3, 4, 2, 3, 3], 0.5), r([3, 4])];
    } while (noGrad(() => tidy(() => Array.from(conv2d(fused[0], fused[1], fused[2], { stride: 2, padding: 1 }).data).some((z) => Math.abs(z) < 1e-2))));
    check("zoo conv2d with fused relu", (x, w, b) => conv2d(x, w, b, { stride: 2, padding: 1, activation: "relu" }), fused, { eps: 1e-3 });
  });

  test(`${backend}: transposed conv2d, stride 1 and 2`, () => {
    check("convT 1x1->4x4 k4 s1 p0", (x, w, b) => convTranspose2d(x, w, b, { stride: 1, padding: 0 }),
      [r([3, 4, 1, 1]), r([4, 2, 4, 4], 0.5), r([2])]);
    check("convT k4 s2 p1", (x, w, b) => convTranspose2d(x, w, b, { stride: 2, padding: 1 }),
      [r([2, 3, 3, 3]), r([3, 2, 4, 4], 0.5), r([2])]);
    check("convT k3 s1 p1", (x, w, b) => convTranspose2d(x, w, b, { stride: 1, padding: 1 }),
      [r([2, 2, 5, 4]), r([2, 3, 3, 3], 0.5), r([3])]);
    check("convT k5 s2 p2 op1", (x, w) => convTranspose2d(x, w, null, { stride: 2, padding: 2, outputPadding: 1 }),
      [r([1, 2, 3, 3]), r([2, 2, 5, 5], 0.5)]);
  });

  test(`${backend}: global average pooling and losses`, () => {
    check("globalAvgPool", globalAvgPool, [r([2, 3, 4, 5])]);
    const labels = [0, 3, 2, 3, 1];
    check("crossEntropy", (x) => crossEntropy(x, labels), [r([5, 4], 2)], { eps: 1e-3 });
    check("mseLoss", (p, t) => mseLoss(p, t), [r([6, 1]), r([6])], { eps: 1e-3 });
  });
}

// The builders' per-network losses are not on the tape: each network's seed gradient is checked
// here against central differences of that network's own loss, and the loss against the op of
// one network at a time.
for (const backend of backends) {
  test(`${backend}: per-network losses give each network the gradient of its own loss`, () => {
    withBackend(backend, () => {
      const rng = new Rng(5, `per-network-${backend}`);
      const nets = 3, rows = 4, classes = 5;
      const logits = randn(rng, [nets, rows, classes]);
      const labelsHolder = Tensor.empty([nets * rows]);
      const labels = new Int32Array(labelsHolder.data.buffer, labelsHolder.data.byteOffset, nets * rows);
      for (let i = 0; i < labels.length; i++) labels[i] = (i * 3 + 1) % classes;
      const grad = Tensor.zeros([nets, rows, classes]);
      const losses = perNetworkCrossEntropy(logits, labels, nets, grad);
      const per = rows * classes, eps = 1e-2;
      for (let n = 0; n < nets; n++) {
        const own = crossEntropy(Tensor.from(logits.data.slice(n * per, (n + 1) * per), [rows, classes]), Array.from(labels.subarray(n * rows, (n + 1) * rows)));
        assert.ok(Math.abs(own.data[0] - losses[n]) < 1e-6, `network ${n}: ${losses[n]} against ${own.data[0]}`);
        for (const i of [0, 7, per - 1]) {
          const at = n * per + i, v = logits.data[at];
          const loss = (x: number) => {
            logits.data[at] = x;
            const l = perNetworkCrossEntropy(logits, labels, nets, Tensor.zeros([nets, rows, classes]))[n];
            logits.data[at] = v;
            return l;
          };
          const fd = (loss(v + eps) - loss(v - eps)) / (2 * eps);
          assert.ok(Math.abs(fd - grad.data[at]) < 2e-3, `network ${n} logit ${i}: gradient ${grad.data[at]}, finite difference ${fd}`);
          // another network's logit leaves this network's loss alone
          const other = ((n + 1) % nets) * per + i, w = logits.data[other];
          logits.data[other] = w + 1;
          assert.equal(perNetworkCrossEntropy(logits, labels, nets, Tensor.zeros([nets, rows, classes]))[n], losses[n]);
          logits.data[other] = w;
        }
      }
      const pred = randn(rng, [nets, 6, 1]), target = randn(rng, [nets, 6, 1]);
      const g = Tensor.zeros([nets, 6, 1]);
      g.data.fill(9);
      const mses = perNetworkMse(pred, target, nets, g, (n) => n !== 1);
      assert.ok(Number.isNaN(mses[1]) && g.data.subarray(6, 12).every((x) => x === 0), "a network left out gets NaN and a zero gradient");
      for (const n of [0, 2]) {
        let s = 0;
        for (let i = n * 6; i < (n + 1) * 6; i++) s += (pred.data[i] - target.data[i]) ** 2;
        assert.ok(Math.abs(mses[n] - s / 6) < 1e-6, `network ${n}: mse ${mses[n]} against ${s / 6}`);
        for (let i = n * 6; i < (n + 1) * 6; i++) assert.ok(Math.abs(g.data[i] - (2 * (pred.data[i] - target.data[i])) / 6) < 1e-6);
      }
    });
  });
}
