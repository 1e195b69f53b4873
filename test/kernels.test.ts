// Every WASM and native kernel against the plain-TypeScript reference on random inputs, including
// lengths that are not multiples of the SIMD width and shapes that cross the GEMM blocks.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng, Tensor, withBackend, kernels, type Kernels, type ZooConvShape, type ConvTransposeShape } from "../src/engine/index.js";
import { assertClose, fastBackends, randn } from "./helpers.js";

const rng = new Rng(2024, "kernels");
for (const backend of fastBackends()) {
  const under = (): Kernels => withBackend(backend, () => kernels());
  const ref = (): Kernels => withBackend("reference", () => kernels());

  /** Runs the same call on both backends on copies of the inputs; returns both outputs. */
  function both(make: () => Float32Array[], call: (k: Kernels, bufs: Float32Array[]) => void, outIdx: number[]): [Float32Array[], Float32Array[]] {
    const base = make();
    const run = (k: Kernels) => {
      const bufs = base.map((b) => { const t = Tensor.empty([b.length]); t.data.set(b); return t.data; });
      call(k, bufs);
      return outIdx.map((i) => Float32Array.from(bufs[i]));
    };
    return [run(under()), run(ref())];
  }

  const vec = (n: number, std = 1) => randn(rng, [n], std).data;

  test(`${backend}: gemm matches the reference for all transposes, alpha and beta, across block edges`, () => {
    const cases: [number, number, number][] = [[1, 1, 1], [3, 5, 7], [4, 8, 16], [17, 9, 33], [130, 20, 260], [5, 2100, 3], [64, 64, 600],
      // matrix-vector and outer products take their own path
      [1, 37, 19], [23, 1, 17], [13, 9, 1], [1, 1, 50], [1, 6, 1], [7, 1, 1]];
    for (const [M, N, K] of cases) {
      for (const tA of [false, true]) for (const tB of [false, true]) for (const [alpha, beta] of [[1, 0], [0.5, 1]]) {
        const [w, r] = both(() => [vec(M * K), vec(K * N), vec(M * N)],
          (k, [A, B, C]) => k.gemm(tA, tB, M, N, K, alpha, A, tA ? M : K, B, tB ? K : N, beta, C, N), [2]);
        assertClose(w[0], r[0], 1e-5, 1e-5, `gemm ${M}x${N}x${K} tA=${tA} tB=${tB} beta=${beta}`);
      }
    }
  });

  test(`${backend}: gemm honours leading dimensions larger than the matrix`, () => {
    for (const [M, N, K] of [[6, 10, 5], [1, 10, 5], [6, 1, 5], [6, 10, 1]]) {
      for (const tA of [false, true]) for (const tB of [false, true]) {
        const lda = (tA ? M : K) + 3, ldb = (tB ? K : N) + 2, ldc = N + 4;
        const [w, r] = both(() => [vec((tA ? K : M) * lda), vec((tB ? N : K) * ldb), vec(M * ldc)],
          (k, [A, B, C]) => k.gemm(tA, tB, M, N, K, 0.7, A, lda, B, ldb, 1, C, ldc), [2]);
        // Columns beyond N of each C row must be untouched.
        assertClose(w[0], r[0], 1e-5, 1e-6, `gemm ${M}x${N}x${K} tA=${tA} tB=${tB} with padding`);
      }
    }
  });

  test(`${backend}: batched gemm: independent outputs and the summing mode (strideC = 0)`, () => {
    const [batch, M, N, K] = [5, 7, 9, 11];
    for (const sC of [M * N, 0]) {
      for (const sA of [M * K, 0]) {
        const [w, r] = both(() => [vec(batch * M * K), vec(batch * K * N), vec(batch * M * N)],
          (k, [A, B, C]) => k.gemmBatched(batch, false, true, M, N, K, 1, A, K, sA, B, K, K * N, 1, C, N, sC), [2]);
        assertClose(w[0], r[0], 1e-5, 1e-5, `gemmBatched strideC=${sC} strideA=${sA}`);
      }
    }
  });

  test(`${backend}: elementwise kernels and their backward match, odd lengths included`, () => {
    for (const n of [1, 3, 4, 13, 1027]) {
      const unary: [string, (k: Kernels, b: Float32Array[]) => void][] = [
        ["sin", (k, [x, y]) => k.sinForward(x, y, 30)],
        ["cos", (k, [x, y]) => k.cosForward(x, y, 3)],
        ["exp", (k, [x, y]) => k.expForward(x, y)],
        ["tanh", (k, [x, y]) => k.tanhForward(x, y)],
        ["sigmoid", (k, [x, y]) => k.sigmoidForward(x, y)],
        ["relu", (k, [x, y]) => k.leakyReluForward(x, y, 0)],
        ["leakyRelu", (k, [x, y]) => k.leakyReluForward(x, y, 0.2)],
        ["gelu", (k, [x, y]) => k.geluForward(x, y)],
        ["addScalar", (k, [x, y]) => k.addScalar(x, y, 0.5)],
        ["axpby", (k, [x, y]) => k.axpby(x, y, 0.3, -2)],
        ["fill", (k, [, y]) => k.fill(y, 1.5)],
      ];
      for (const [name, call] of unary) {
        const [w, r] = both(() => [vec(n, 3), vec(n)], call, [1]);
        // sin(30x) reaches |30x| ~ 300 where one float32 ulp of the argument is 3e-5.
        assertClose(w[0], r[0], 1e-6, name === "sin" ? 1e-4 : 2e-6, `${name} n=${n}`);
      }
      const back: [string, (k: Kernels, b: Float32Array[]) => void][] = [
        ["sin'", (k, [x, dy, dx]) => k.sinBackward(x, dy, dx, 3, true)],
        ["cos'", (k, [x, dy, dx]) => k.cosBackward(x, dy, dx, 3, false)],
        ["tanh'", (k, [y, dy, dx]) => k.tanhBackward(y, dy, dx, true)],
        ["sigmoid'", (k, [y, dy, dx]) => k.sigmoidBackward(y, dy, dx, false)],
        ["leakyRelu'", (k, [x, dy, dx]) => k.leakyReluBackward(x, dy, dx, 0.1, true)],
        ["gelu'", (k, [x, dy, dx]) => k.geluBackward(x, dy, dx, false)],
        ["mul", (k, [a, b, y]) => k.mul(a, b, y, true)],
        ["add", (k, [a, b, y]) => k.add(a, b, y)],
        ["sub", (k, [a, b, y]) => k.sub(a, b, y)],
      ];
      for (const [name, call] of back) {
        const [w, r] = both(() => [vec(n, 2), vec(n), vec(n)], call, [2]);
        assertClose(w[0], r[0], 1e-6, 5e-6, `${name} n=${n}`);
      }
      for (const [n0, n2] of [[1, n], [3, 5]]) {
        const n1 = 2;
        const zIn = vec(n0 * n1 * n2), bIn = vec(n0 * n2);
        const [w, r] = both(() => [zIn, bIn, vec(n0 * n1 * n2), vec(n0 * n1 * n2)],
          (k, [z, b, y, d]) => k.biasSinForward(z, b, y, d, n0, n1, n2, 30), [2, 3]);
        assertClose(w[0], r[0], 0, 1e-4, `biasSin y n=${n}`);
        assertClose(w[1], r[1], 0, 30 * 1e-4, `biasSin dydz n=${n}`);
        // Without the derivative (evaluation): the same sine, bit for bit, and nothing else written.
        const [w0, r0] = both(() => [zIn, bIn, vec(n0 * n1 * n2)],
          (k, [z, b, y]) => k.biasSinForward(z, b, y, null, n0, n1, n2, 30), [2]);
        assert.deepEqual(w0[0], w[0], `biasSin without dydz n=${n}: y differs from the y computed with it`);
        assertClose(w0[0], r0[0], 0, 1e-4, `biasSin y (no dydz) n=${n}`);
      }
      const x = vec(n);
      const sw = under().sum(x), sr = ref().sum(x);
      assert.ok(Math.abs(sw - sr) < 1e-9 * n + 1e-12, `sum n=${n}: ${sw} vs ${sr}`);
      const y = vec(n);
      assert.ok(Math.abs(under().dot(x, y) - ref().dot(x, y)) < 1e-6 * n, `dot n=${n}`);
    }
  });

  test(`${backend}: transcendental kernels are accurate far from zero`, () => {
    const n = 4096;
    const xs = Float32Array.from({ length: n }, (_, i) => -400 + (800 * i) / n);
    const x = Tensor.from(xs), y = Tensor.empty([n]);
    under().sinForward(x.data, y.data, 1);
    for (let i = 0; i < n; i++) assert.ok(Math.abs(y.data[i] - Math.sin(xs[i])) < 3e-6, `sin(${xs[i]})`);
    under().cosForward(x.data, y.data, 1);
    for (let i = 0; i < n; i++) assert.ok(Math.abs(y.data[i] - Math.cos(xs[i])) < 3e-6, `cos(${xs[i]})`);
    const big = Tensor.from([-100, -88, -20, 0, 20, 88, 100]), out = Tensor.empty([7]);
    under().tanhForward(big.data, out.data);
    assert.deepEqual(Array.from(out.data).map((v) => Math.round(v * 1e6) / 1e6), [-1, -1, -1, 0, 1, 1, 1]);
    under().sigmoidForward(big.data, out.data);
    assert.ok(out.data[0] >= 0 && out.data[0] < 1e-30 && out.data[6] === 1 && out.data[3] === 0.5);
    under().expForward(Tensor.from([0, 1, -1, 10]).data, out.data.subarray(0, 4));
    assertClose(out.data.subarray(0, 4), [1, Math.E, 1 / Math.E, Math.exp(10)], 2e-7, 0, "exp");
  });

  test(`${backend}: channel broadcast, channel sums, last-axis means and plane moments match`, () => {
    for (const [n0, n1, n2, n3] of [[1, 5, 7, 1], [3, 4, 6, 1], [2, 3, 5, 9], [2, 2, 16, 16]]) {
      const n = n0 * n1 * n2 * n3;
      let [w, r] = both(() => [vec(n), vec(n0 * n2), vec(n)], (k, [x, b, y]) => k.addChannel(x, b, y, n0, n1, n2, n3), [2]);
      assertClose(w[0], r[0], 1e-6, 1e-6, "addChannel");
      [w, r] = both(() => [vec(n), vec(n0 * n2)], (k, [x, o]) => k.sumChannel(x, o, n0, n1, n2, n3, true), [1]);
      assertClose(w[0], r[0], 1e-5, 1e-5, "sumChannel");
      [w, r] = both(() => [vec(n), vec(n0 * n1 * n2)], (k, [x, y]) => k.meanLast(x, y, n0 * n1 * n2, n3), [1]);
      assertClose(w[0], r[0], 1e-5, 1e-6, "meanLast");
      [w, r] = both(() => [vec(n0 * n1 * n2), vec(n)], (k, [dy, dx]) => k.meanLastBackward(dy, dx, n0 * n1 * n2, n3, true), [1]);
      assertClose(w[0], r[0], 1e-6, 1e-6, "meanLastBackward");
      const m = n0 * n1 * n2;
      [w, r] = both(() => [vec(n), vec(2 * m)], (k, [x, y]) => k.planeMoments(x, y, m, n3, 1e-6), [1]);
      assertClose(w[0], r[0], 1e-5, 1e-6, "planeMoments");
      const moments = w[0];
      [w, r] = both(() => [vec(n), Tensor.from(moments).data, vec(2 * m), vec(n)], (k, [x, y, dy, dx]) => k.planeMomentsBackward(x, y, dy, dx, m, n3, true), [3]);
      assertClose(w[0], r[0], 1e-5, 1e-5, "planeMomentsBackward");
    }
  });

  test(`${backend}: losses match the reference in value and gradient`, () => {
    const [n, c] = [9, 10];
    const logits = randn(rng, [n, c], 3);
    const labels = Int32Array.from({ length: n }, () => rng.int(c));
    const gw = Tensor.empty([n, c]), gr = Tensor.empty([n, c]);
    const lab = (() => { const t = Tensor.empty([n]); const a = new Int32Array(t.data.buffer, t.data.byteOffset, n); a.set(labels); return a; })();
    const vw = under().softmaxCrossEntropy(logits.data, lab, n, c, gw.data);
    const vr = ref().softmaxCrossEntropy(logits.data, labels, n, c, gr.data);
    assert.ok(Math.abs(vw - vr) < 1e-6 * Math.abs(vr));
    assertClose(gw.data, gr.data, 1e-6, 1e-7, "cross-entropy gradient");
    const p = randn(rng, [13]), t = randn(rng, [13]);
    const mw = Tensor.empty([13]), mr = Tensor.empty([13]);
    assert.ok(Math.abs(under().mse(p.data, t.data, mw.data) - ref().mse(p.data, t.data, mr.data)) < 1e-6);
    assertClose(mw.data, mr.data, 1e-6, 1e-7, "mse gradient");
  });

  // Rates 0 (no draws), 0.3, 0.7, and a threshold of 2^32 (kind 2: draws, drops all); on WASM
  // the call splits over threads. The native kernel runs 16 generators side by side in whole
  // groups of 16 drawing networks, and cuts each left-over network's stream into 16 segments
  // started at jumped states, with a few draws left after the last. 83 networks, 63 drawing,
  // 5,001 floats each (not whole vectors): 3 groups, 15 networks cut. 1, 2 and 5 networks (one of
  // the 5 not drawing): cut only. 3 networks of 4,099 floats: segments of 256, the shortest it
  // cuts. 800 floats, 1 and 20 networks: too short to cut, so groups of 16 with a partial one.
  const dropoutCases: [number, number][] = [[83, 5001], [1, 131075], [2, 5001], [5, 40_001], [3, 4099], [1, 800], [20, 800]];
  for (const [nets, per] of dropoutCases) test(`${backend}: dropoutMask draws each network's mask as its Rng.next() would, and leaves each generator where next() would (${nets} networks of ${per} floats)`, () => {
    const pattern = nets === 83 ? [[0.3, 1], [0, 0], [0.7, 1], [0.3, 2]] : [[0.3, 1], [0.7, 1], [0.3, 2], [0.5, 1], [0, 0]];
    const rates = Array.from({ length: nets }, (_, b) => pattern[b % pattern.length][0]), kinds = Array.from({ length: nets }, (_, b) => pattern[b % pattern.length][1]);
    const seeds = rates.map((_, b) => new Rng(7 + b, `drop:${b}`));
    const want = new Float32Array(rates.length * per);
    const after = rates.map((p, b) => {
      const r = new Rng(7 + b, `drop:${b}`), threshold = kinds[b] === 2 ? 2 ** 32 : Math.round(p * 2 ** 32), keep = Math.fround(1 / (1 - p));
      for (let i = 0; i < per; i++) want[b * per + i] = kinds[b] === 0 ? 1 : r.next() < threshold ? 0 : keep;
      return r.next();
    });
    for (const k of [under(), ref()]) {
      const words = Tensor.empty([4 * rates.length]), modes = Tensor.empty([2 * rates.length]), keep = Tensor.empty([rates.length]), mask = Tensor.empty([rates.length * per]);
      const st = new Int32Array(words.data.buffer, words.data.byteOffset, 4 * rates.length);
      const md = new Int32Array(modes.data.buffer, modes.data.byteOffset, 2 * rates.length);
      const gens = seeds.map((_, b) => new Rng(7 + b, `drop:${b}`));
      gens.forEach((g, b) => {
        g.saveState(st, 4 * b);
        md[2 * b] = kinds[b];
        md[2 * b + 1] = kinds[b] === 2 ? 0 : Math.round(rates[b] * 2 ** 32) | 0;
        keep.data[b] = 1 / (1 - rates[b]);
      });
      k.dropoutMask(st, md, keep.data, mask.data, per);
      // deepEqual over 131,075 floats would print them all on a failure: the first difference
      const bad = mask.data.findIndex((v, i) => v !== want[i]);
      assert.equal(bad, -1, `${k.name}: the masks differ first at float ${bad} (network ${Math.floor(bad / per)}, draw ${bad % per})`);
      gens.forEach((g, b) => {
        g.loadState(st, 4 * b);
        // A rate-0 network draws nothing: its generator is where it started.
        assert.equal(g.next(), kinds[b] === 0 ? new Rng(7 + b, `drop:${b}`).next() : after[b], `${k.name}: network ${b}'s generator afterwards`);
      });
      for (const t of [words, modes, keep, mask]) t.dispose();
    }
  });

  test(`${backend}: gatherRows copies the chosen rows as the reference does, and refuses rows outside the source`, () => {
    for (const [rowsIn, per] of [[100, 37], [5, 1], [300, 1024]] as const) {
      const src = vec(rowsIn * per);
      const picks = Int32Array.from({ length: 40 }, (_, i) => (i * 7919 + 3) % rowsIn);
      const outs = [under(), ref()].map((k) => {
        const s = Tensor.empty([src.length]); s.data.set(src);
        const r = Tensor.empty([picks.length]);
        const rows = new Int32Array(r.data.buffer, r.data.byteOffset, picks.length); rows.set(picks);
        const d = Tensor.empty([picks.length * per]);
        k.gatherRows(s.data, per, rows, d.data);
        return Float32Array.from(d.data);
      });
      assert.deepEqual(outs[0], outs[1], `rows of ${per}`);
      // Row i is source row picks[i], checked directly.
      const i = 17, r = picks[i];
      assert.deepEqual(outs[0].subarray(i * per, (i + 1) * per), src.subarray(r * per, (r + 1) * per));
    }
    const s = Tensor.empty([20]), d = Tensor.empty([8]), r = Tensor.empty([2]);
    const rows = new Int32Array(r.data.buffer, r.data.byteOffset, 2);
    rows.set([1, 5]);
    assert.throws(() => under().gatherRows(s.data, 4, rows, d.data), /row 5 is outside the 5 rows of the source/);
    rows.set([1, -1]);
    assert.throws(() => under().gatherRows(s.data, 4, rows, d.data), /row -1 is outside/);
    // A source that ends inside a row: that partial row is not a row (it would read past the source).
    const ragged = Tensor.empty([22]);
    rows.set([0, 5]);
    assert.throws(() => under().gatherRows(ragged.data, 4, rows, d.data), /row 5 is outside the 5 rows of the source/);
  });

  test(`${backend}: adam kernel matches the reference, with and without weight decay`, () => {
    for (const wd of [0, 0.01]) {
      const [w, r] = both(() => [vec(37), vec(37), vec(37, 0.1), vec(37, 0.1).map(Math.abs)],
        (k, [p, g, m, v]) => k.adamStep(p, g, m, v, 1e-3, 0.9, 0.999, 1e-8, 1 - 0.9 ** 3, Math.sqrt(1 - 0.999 ** 3), wd), [0, 2, 3]);
      for (let i = 0; i < 3; i++) assertClose(w[i], r[i], 1e-6, 1e-7, `adam output ${i} wd=${wd}`);
    }
  });

  test(`${backend}: rmsprop kernel equals the reference bit for bit (both compute each element in double precision)`, () => {
    const [w, r] = both(() => [vec(37), vec(37), vec(37, 0.1).map(Math.abs)],
      (k, [p, g, v]) => k.rmspropStep(p, g, v, 0.0123, 0.9, 1e-7), [0, 2]);
    for (let i = 0; i < 2; i++) assert.deepEqual(Array.from(w[i]), Array.from(r[i]), `rmsprop output ${i}`);
    // One element by hand: v = 0.9 v + 0.1 g^2; p -= lr g / (sqrt(v) + eps).
    const [p1] = both(() => [Float32Array.of(1), Float32Array.of(0.5), Float32Array.of(0.04)], (k, [p, g, v]) => k.rmspropStep(p, g, v, 0.1, 0.9, 1e-7), [0]);
    const v = Math.fround(0.9 * Math.fround(0.04) + 0.1 * 0.5 * 0.5);
    assert.equal(p1[0][0], Math.fround(1 - (0.1 * 0.5) / (Math.sqrt(v) + 1e-7)));
  });

  const convCases: Omit<ZooConvShape, "OH" | "OW">[] = [
    { nNet: 1, nImg: 2, xShared: true, C: 3, H: 7, W: 6, O: 4, KH: 3, KW: 3, strideH: 1, strideW: 1, padH: 1, padW: 1 },
    { nNet: 3, nImg: 2, xShared: true, C: 2, H: 9, W: 9, O: 5, KH: 3, KW: 3, strideH: 2, strideW: 2, padH: 1, padW: 1 },
    { nNet: 2, nImg: 3, xShared: false, C: 3, H: 8, W: 10, O: 6, KH: 4, KW: 4, strideH: 2, strideW: 2, padH: 0, padW: 0 },
    { nNet: 2, nImg: 2, xShared: false, C: 2, H: 11, W: 9, O: 3, KH: 5, KW: 5, strideH: 1, strideW: 2, padH: 2, padW: 1 },
    { nNet: 2, nImg: 3, xShared: true, C: 4, H: 5, W: 5, O: 3, KH: 1, KW: 1, strideH: 1, strideW: 1, padH: 0, padW: 0 },
    { nNet: 2, nImg: 2, xShared: false, C: 16, H: 16, W: 16, O: 16, KH: 3, KW: 3, strideH: 2, strideW: 2, padH: 1, padW: 1 },
    // Runs shorter than the images, rounded up to whole 16-pixel panels (native: 3 images of
    // 4608 x 16 columns become 4): a run that overshot a network's images or the scratch it
    // was sized for would write the wrong outputs.
    { nNet: 2, nImg: 5, xShared: false, C: 512, H: 4, W: 4, O: 9, KH: 3, KW: 3, strideH: 1, strideW: 1, padH: 1, padW: 1 },
    { nNet: 2, nImg: 7, xShared: true, C: 512, H: 4, W: 4, O: 9, KH: 3, KW: 3, strideH: 1, strideW: 1, padH: 1, padW: 1 },
    // The AVX-512 direct kernels: a vector of 20 output (17 input) channels part empty, shared
    // images summed over networks, and 360 taps, more than one KC block.
    { nNet: 2, nImg: 3, xShared: true, C: 17, H: 11, W: 11, O: 20, KH: 5, KW: 5, strideH: 2, strideW: 2, padH: 2, padW: 2 },
    { nNet: 2, nImg: 2, xShared: false, C: 40, H: 9, W: 9, O: 8, KH: 3, KW: 3, strideH: 1, strideW: 1, padH: 1, padW: 1 },
    // Stride 1 on maps a vector wide (AVX-512: vectorised over pixels): one network on shared
    // images (a ragged park layer) and networks on their own, a part-empty last block of each row,
    // channel groups part empty, more than one KC block of taps (20 x 5 x 5 = 500).
    { nNet: 1, nImg: 3, xShared: true, C: 5, H: 18, W: 20, O: 6, KH: 5, KW: 5, strideH: 1, strideW: 1, padH: 2, padW: 2 },
    { nNet: 2, nImg: 2, xShared: false, C: 20, H: 16, W: 17, O: 3, KH: 5, KW: 5, strideH: 1, strideW: 1, padH: 1, padW: 1 },
  ];

  const withOut = (s: Omit<ZooConvShape, "OH" | "OW">): ZooConvShape => ({
    ...s,
    OH: Math.floor((s.H + 2 * s.padH - s.KH) / s.strideH) + 1,
    OW: Math.floor((s.W + 2 * s.padW - s.KW) / s.strideW) + 1,
  });

  test(`${backend}: im2col and col2im match the reference`, () => {
    for (const c of convCases) {
      const s = withOut(c);
      const nCols = s.C * s.KH * s.KW * s.OH * s.OW, nIn = s.C * s.H * s.W;
      let [w, r] = both(() => [vec(nIn), vec(nCols)], (k, [x, cols]) => k.im2col(x, s, cols), [1]);
      assertClose(w[0], r[0], 0, 0, "im2col");
      [w, r] = both(() => [vec(nCols), vec(nIn)], (k, [cols, x]) => k.col2im(cols, s, x), [1]);
      assertClose(w[0], r[0], 1e-6, 1e-6, "col2im");
    }
  });

  test(`${backend}: zoo conv2d forward, input and weight gradients match the reference`, () => {
    for (const c of convCases) {
      const s = withOut(c);
      const nX = (s.xShared ? 1 : s.nNet) * s.nImg * s.C * s.H * s.W;
      const nW = s.nNet * s.O * s.C * s.KH * s.KW, nY = s.nNet * s.nImg * s.O * s.OH * s.OW;
      const tag = JSON.stringify(c);
      let [w, r] = both(() => [vec(nX), vec(nW), vec(nY)], (k, [x, wt, y]) => k.conv2dForward(s, x, wt, y, null, false), [2]);
      assertClose(w[0], r[0], 1e-5, 1e-5, `conv2dForward ${tag}`);
      [w, r] = both(() => [vec(nX), vec(nW), vec(nY), vec(s.nNet * s.O)], (k, [x, wt, y, bias]) => k.conv2dForward(s, x, wt, y, bias, true), [2]);
      assertClose(w[0], r[0], 1e-5, 1e-5, `conv2dForward + bias + relu ${tag}`);
      assert.ok(w[0].some((v) => v === 0) && w[0].some((v) => v > 0), "the fused ReLU clips");
      for (const acc of [false, true]) {
        [w, r] = both(() => [vec(nY), vec(nW), vec(nX)], (k, [dy, wt, dx]) => k.conv2dBackwardInput(s, dy, wt, dx, acc), [2]);
        assertClose(w[0], r[0], 1e-5, 1e-5, `conv2dBackwardInput acc=${acc} ${tag}`);
        // Masked by a fused ReLU's output: as the reference, and the same bytes as the mask applied first.
        const inputs = [vec(nY), vec(nW), vec(nX), vec(nY)];
        [w, r] = both(() => inputs, (k, [dy, wt, dx, y]) => k.conv2dBackwardInput(s, dy, wt, dx, acc, y), [2]);
        assertClose(w[0], r[0], 1e-5, 1e-5, `conv2dBackwardInput masked acc=${acc} ${tag}`);
        const [composed] = both(() => inputs, (k, [dy, wt, dx, y]) => { k.leakyReluBackward(y, dy, dy, 0, false); k.conv2dBackwardInput(s, dy, wt, dx, acc); }, [2]);
        assertClose(w[0], composed[0], 0, 0, `conv2dBackwardInput masked = mask, then the gradient, acc=${acc} ${tag}`);
        const [unmasked] = both(() => inputs, (k, [dy, wt, dx]) => k.conv2dBackwardInput(s, dy, wt, dx, acc), [2]);
        assert.ok(unmasked[0].some((v, i) => v !== w[0][i]), "the mask changes the gradient");
        [w, r] = both(() => [vec(nX), vec(nY), vec(nW)], (k, [x, dy, dw]) => k.conv2dBackwardWeight(s, x, dy, dw, acc), [2]);
        assertClose(w[0], r[0], 1e-5, 1e-5, `conv2dBackwardWeight acc=${acc} ${tag}`);
      }
    }
  });

  test(`${backend}: transposed conv2d forward and backward match the reference`, () => {
    const cases: ConvTransposeShape[] = [
      { n: 3, Cin: 4, H: 1, W: 1, Cout: 5, OH: 4, OW: 4, KH: 4, KW: 4, strideH: 1, strideW: 1, padH: 0, padW: 0 },
      { n: 2, Cin: 3, H: 4, W: 4, Cout: 2, OH: 8, OW: 8, KH: 4, KW: 4, strideH: 2, strideW: 2, padH: 1, padW: 1 },
      { n: 2, Cin: 3, H: 5, W: 6, Cout: 2, OH: 5, OW: 6, KH: 3, KW: 3, strideH: 1, strideW: 1, padH: 1, padW: 1 },
      { n: 2, Cin: 2, H: 3, W: 3, Cout: 3, OH: 8, OW: 8, KH: 5, KW: 5, strideH: 2, strideW: 2, padH: 1, padW: 1 },
      { n: 2, Cin: 2, H: 3, W: 4, Cout: 3, OH: 8, OW: 10, KH: 4, KW: 4, strideH: 2, strideW: 2, padH: 1, padW: 1 },
      // Past 32 input channels the native weight gradient sums groups of images in one product
      // (3 images of 144 pixels here: groups of 3, 3 and 1), over dw's panels and a partial one;
      // and images past KC = 256 pixels in two pieces each.
      { n: 7, Cin: 37, H: 12, W: 12, Cout: 3, OH: 24, OW: 24, KH: 4, KW: 4, strideH: 2, strideW: 2, padH: 1, padW: 1 },
      { n: 3, Cin: 33, H: 17, W: 17, Cout: 2, OH: 17, OW: 17, KH: 5, KW: 5, strideH: 1, strideW: 1, padH: 2, padW: 2 },
      // Past 32 input channels the native input gradient gathers im2col(dy) into its packed
      // panels: 320 rows here (two blocks of K), 48 pixels (a panel and a partial one).
      { n: 3, Cin: 40, H: 4, W: 4, Cout: 20, OH: 8, OW: 8, KH: 4, KW: 4, strideH: 2, strideW: 2, padH: 1, padW: 1 },
      // The image generator's last layer (16 -> 1, 3x3 at 32x32): on AVX-512 a direct forward
      // over pixels, and an input gradient as a direct convolution of 9 taps.
      { n: 3, Cin: 16, H: 32, W: 32, Cout: 1, OH: 32, OW: 32, KH: 3, KW: 3, strideH: 1, strideW: 1, padH: 1, padW: 1 },
    ];
    for (const s of cases) {
      const nX = s.n * s.Cin * s.H * s.W, nW = s.Cin * s.Cout * s.KH * s.KW, nY = s.n * s.Cout * s.OH * s.OW;
      const tag = JSON.stringify(s);
      let [w, r] = both(() => [vec(nX), vec(nW), vec(nY)], (k, [x, wt, y]) => k.convTranspose2dForward(s, x, wt, y), [2]);
      assertClose(w[0], r[0], 1e-5, 1e-5, `convTranspose2dForward ${tag}`);
      for (const acc of [false, true]) {
        [w, r] = both(() => [vec(nX), vec(nW), vec(nY), vec(nX), vec(nW)],
          (k, [x, wt, dy, dx, dw]) => k.convTranspose2dBackward(s, x, wt, dy, dx, acc, dw, !acc), [3, 4]);
        assertClose(w[0], r[0], 1e-5, 1e-5, `convTranspose2dBackward dx acc=${acc} ${tag}`);
        assertClose(w[1], r[1], 1e-5, 1e-5, `convTranspose2dBackward dw acc=${!acc} ${tag}`);
      }
    }
  });

  // The WASM kernel computes a one-column product as a matrix-vector product, summed in another
  // order; the native one keeps one FMA chain per element on every path.
  if (backend === "native") test(`${backend}: a GEMM column does not depend on the other columns: a narrow product is the same bits as inside a wide one`, () => {
    // Narrow products (N <= 32: a SIREN's layers and their gradients) take the native kernel's
    // in-place path, wide ones the packed path; the first n columns of the wide product must
    // be the same bits. K = 600 spans three K blocks; M = 13 and 1 leave edge rows; beta 1
    // adds to C.
    const k = under();
    const rng = new Rng(12, "column-invariance");
    for (const [M, K] of [[13, 600], [1, 600], [96, 2], [40, 33]] as const) {
      for (const n of [1, 2, 7, 16, 17, 32]) {
        const wide = n + 40;
        for (const [tA, tB] of [[false, false], [false, true], [true, false], [true, true]] as const) for (const beta of [0, 1]) {
          const A = randn(rng, [M * K]), B = randn(rng, [K * wide]), C0 = randn(rng, [M * wide]);
          const lda = tA ? M : K, ldb = tB ? K : wide;
          const full = Tensor.zeros([M * wide]); full.data.set(C0.data);
          k.gemm(tA, tB, M, wide, K, 0.75, A.data, lda, B.data, ldb, beta, full.data, wide);
          const part = Tensor.zeros([M * wide]); part.data.set(C0.data);
          k.gemm(tA, tB, M, n, K, 0.75, A.data, lda, B.data, ldb, beta, part.data, wide);
          for (let i = 0; i < M; i++) {
            const row = (t: Tensor) => Array.from(t.data.subarray(i * wide, i * wide + n));
            assert.deepEqual(row(part), row(full), `${M}x${n}x${K} tA=${tA} tB=${tB} beta=${beta}: row ${i}`);
            // Columns past n of C are left as they were.
            assert.deepEqual(Array.from(part.data.subarray(i * wide + n, (i + 1) * wide)), Array.from(C0.data.subarray(i * wide + n, (i + 1) * wide)));
          }
        }
      }
    }
  });

  test(`${backend}: a GEMM row does not depend on the other rows: a network alone is computed as in a batch`, () => {
    const k = under();
    const rng = new Rng(11, "row-invariance");
    // K = 600 spans three of the kernel's K blocks; N = 40 spans full and edge column tiles.
    const M = 12, N = 40, K = 600;
    for (const [transA, transB] of [[false, false], [false, true], [true, false], [true, true]] as const) {
      const A = randn(rng, [M * K]), B = randn(rng, [K * N]);
      const lda = transA ? M : K, ldb = transB ? K : N;
      const full = Tensor.zeros([M * N]);
      k.gemm(transA, transB, M, N, K, 1, A.data, lda, B.data, ldb, 0, full.data, N);
      for (const m of [1, 2, 3, 5, 9]) {
        // The first m rows of op(A): for transA, a [K, m] slice of the [K, M] matrix keeps lda = M.
        const part = Tensor.zeros([m * N]);
        k.gemm(transA, transB, m, N, K, 1, A.data, lda, B.data, ldb, 0, part.data, N);
        assert.deepEqual(Array.from(part.data), Array.from(full.data.subarray(0, m * N)), `transA ${transA}, transB ${transB}: ${m} rows`);
      }
    }
  });
}
