// Kernels split over threads: every split kernel, at shapes large enough to be split, gives the
// same bytes on 1, 2 and 3 threads and matches the reference; a training step does too.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { Rng, Tensor, getRuntime, setThreads, threadCount, kernels, withBackend, type Kernels, type ZooConvShape, type ConvTransposeShape } from "../src/engine/index.js";
import { splitRange } from "../src/engine/kernels/wasm.js";
import { KernelPool, defaultThreads, type KernelPart } from "../src/engine/threads.js";
import { nativeRunner } from "../src/engine/kernels/native.js";
import type { PartRunner } from "../src/engine/kernels/bindings.js";
import type { KernelName } from "../src/engine/kernels/wasm-exports.js";
import { makeW1, makeW2, makeW4, trainer } from "../src/workloads/workloads.js";
import { assertClose, fastBackends } from "./helpers.js";

const rng = new Rng(77, "threads");
const vec = (n: number) => { const a = new Float32Array(n); rng.fillNormal(a); return a; };
const initial = threadCount();
after(() => setThreads(initial));

/**
 * Runs `call` with each fast backend's kernels on 1, 2 and 3 threads and with the reference kernels,
 * each on fresh copies of the inputs; asserts the outputs are the same bytes on every count and
 * close to the reference.
 */
function acrossThreads(what: string, inputs: Float32Array[], call: (k: Kernels, bufs: Float32Array[]) => void, outIdx: number[], tol = 1e-5): void {
  for (const backend of fastBackends()) acrossThreadsOn(backend, what, inputs, call, outIdx, tol);
}

function acrossThreadsOn(backend: "wasm" | "native", what: string, inputs: Float32Array[], call: (k: Kernels, bufs: Float32Array[]) => void, outIdx: number[], tol: number): void {
  const run = (k: Kernels) => {
    const bufs = inputs.map((b) => { const t = Tensor.empty([b.length]); t.data.set(b); return t.data; });
    call(k, bufs);
    return outIdx.map((i) => Float32Array.from(bufs[i]));
  };
  // the call must really be split on 2 and 3 threads, or the comparison proves nothing
  let most = 0;
  withBackend(backend, () => kernels());
  const watched: { run: PartRunner["run"] } = backend === "wasm" ? KernelPool.prototype : nativeRunner()!;
  const plain = watched.run;
  watched.run = function <N extends KernelName>(this: PartRunner, name: N, parts: readonly KernelPart<N>[]) {
    most = Math.max(most, parts.length);
    plain.call(this, name, parts);
  };
  let outs: Float32Array[][];
  try {
    outs = [1, 2, 3].map((t) => {
      setThreads(t);
      most = 0;
      const o = withBackend(backend, () => run(kernels()));
      if (t > 1) assert.ok(most > 1, `${backend} ${what}: not split on ${t} threads`);
      return o;
    });
  } finally {
    watched.run = plain;
  }
  for (const [t, o] of [[2, outs[1]], [3, outs[2]]] as const) {
    o.forEach((a, i) => assert.deepEqual(Buffer.from(a.buffer), Buffer.from(outs[0][i].buffer), `${backend} ${what}: output ${i} on ${t} threads differs from 1 thread`));
  }
  const ref = withBackend("reference", () => run(kernels()));
  ref.forEach((r, i) => assertClose(outs[0][i], r, tol, tol, `${backend} ${what} (output ${i}) against the reference`));
}

test("splitRange covers the range in unit-aligned parts and never leaves a part of one", () => {
  assert.deepEqual(splitRange(64, 4, 2), [[0, 32], [32, 64]]);
  assert.deepEqual(splitRange(9, 4, 2), [[0, 4], [4, 9]]);
  // a last part of a single row would take GEMM's matrix-vector path: merged
  assert.deepEqual(splitRange(5, 4, 2), [[0, 5]]);
  assert.deepEqual(splitRange(9, 8, 2), [[0, 9]]);
  assert.deepEqual(splitRange(3, 1, 8), [[0, 1], [1, 2], [2, 3]]);
  assert.deepEqual(splitRange(100, 16, 3), [[0, 32], [32, 64], [64, 100]]);
});

test("GEMM split by columns or rows: same bytes on any thread count, all transposes", () => {
  for (const [M, N, K] of [[40, 300, 70], [300, 40, 70], [33, 129, 257], [130, 9, 600]]) {
    for (const tA of [false, true]) for (const tB of [false, true]) for (const beta of [0, 1]) {
      acrossThreads(`gemm ${M}x${N}x${K} tA=${tA} tB=${tB} beta=${beta}`, [vec(M * K), vec(K * N), vec(M * N)],
        (k, [a, b, c]) => k.gemm(tA, tB, M, N, K, 0.5, a, tA ? M : K, b, tB ? K : N, beta, c, N), [2], 1e-4);
    }
  }
});

test("batched GEMM: split by products, and the summing mode split by columns", () => {
  const [B, M, N, K] = [6, 24, 40, 48];
  acrossThreads("gemmBatched", [vec(B * M * K), vec(B * K * N), vec(B * M * N)],
    (k, [a, b, c]) => k.gemmBatched(B, false, true, M, N, K, 1, a, K, M * K, b, K, K * N, 0, c, N, M * N), [2], 1e-4);
  acrossThreads("gemmBatched strideC 0", [vec(B * M * K), vec(B * K * N), vec(M * N)],
    (k, [a, b, c]) => k.gemmBatched(B, true, false, M, N, K, 1, a, M, M * K, b, N, K * N, 1, c, N, 0), [2], 1e-4);
});

test("element-wise, broadcast and optimiser kernels split by rows", () => {
  const n = 100_003;
  acrossThreads("leakyReluBackward", [vec(n), vec(n), vec(n)], (k, [x, dy, dx]) => k.leakyReluBackward(x, dy, dx, 0.01, true), [2]);
  acrossThreads("axpby", [vec(n), vec(n)], (k, [x, y]) => k.axpby(x, y, 0.3, -2), [1]);
  acrossThreads("adamStep", [vec(n), vec(n), vec(n), vec(n).map(Math.abs)],
    (k, [p, g, m, v]) => k.adamStep(p, g, m, v, 1e-3, 0.9, 0.999, 1e-8, 0.1, 0.03, 0.01), [0, 2, 3]);
  const [n0, n1, n2, n3] = [8, 40, 16, 30];
  acrossThreads("addChannel", [vec(n0 * n1 * n2 * n3), vec(n0 * n2), vec(n0 * n1 * n2 * n3)], (k, [x, b, y]) => k.addChannel(x, b, y, n0, n1, n2, n3), [2]);
  acrossThreads("addChannel n0=1", [vec(n1 * n2 * n3 * 8), vec(n2), vec(n1 * n2 * n3 * 8)], (k, [x, b, y]) => k.addChannel(x, b, y, 1, n1 * 8, n2, n3), [2]);
  acrossThreads("sumChannel", [vec(n0 * n1 * n2 * n3), vec(n0 * n2)], (k, [x, o]) => k.sumChannel(x, o, n0, n1, n2, n3, true), [1], 1e-4);
  acrossThreads("meanLast", [vec(5000 * 20), vec(5000)], (k, [x, y]) => k.meanLast(x, y, 5000, 20), [1]);
  acrossThreads("planeMoments", [vec(5000 * 20), vec(2 * 5000)], (k, [x, y]) => k.planeMoments(x, y, 5000, 20, 1e-6), [1]);
  acrossThreads("planeMomentsBackward", [vec(5000 * 20), vec(2 * 5000).map(Math.abs), vec(2 * 5000), vec(5000 * 20)],
    (k, [x, y, dy, dx]) => k.planeMomentsBackward(x, y, dy, dx, 5000, 20, true), [3]);
  acrossThreads("biasSinForward", [vec(16 * 64 * 64), vec(16 * 64), vec(16 * 64 * 64), vec(16 * 64 * 64)],
    (k, [z, b, y, d]) => k.biasSinForward(z, b, y, d, 16, 64, 64, 30), [2, 3], 1e-4);
  {
    const r = Tensor.empty([64]);
    const rows = new Int32Array(r.data.buffer, r.data.byteOffset, 64);
    rows.set(Array.from({ length: 64 }, (_, i) => (i * 37) % 500));
    acrossThreads("gatherRows", [vec(500 * 1024), vec(64 * 1024)], (k, [src, dst]) => k.gatherRows(src, 1024, rows, dst), [1], 0);
  }
  acrossThreads("biasSinForward without dydz", [vec(16 * 64 * 64), vec(16 * 64), vec(16 * 64 * 64)],
    (k, [z, b, y]) => k.biasSinForward(z, b, y, null, 16, 64, 64, 30), [2], 1e-4);
});

const conv = (c: Omit<ZooConvShape, "OH" | "OW">): ZooConvShape =>
  ({ ...c, OH: Math.floor((c.H + 2 * c.padH - c.KH) / c.strideH) + 1, OW: Math.floor((c.W + 2 * c.padW - c.KW) / c.strideW) + 1 });

test("zoo convolutions split by images, networks or weight columns: same bytes on any thread count", () => {
  const cases: ZooConvShape[] = [
    // shared probes feeding many networks (the first layer): the backward sums over networks
    conv({ nNet: 6, nImg: 9, xShared: true, C: 1, H: 16, W: 16, O: 8, KH: 3, KW: 3, strideH: 2, strideW: 2, padH: 1, padW: 1 }),
    // per-network images, stride 2 (a Small CNN's later layers)
    conv({ nNet: 5, nImg: 7, xShared: false, C: 6, H: 12, W: 12, O: 8, KH: 3, KW: 3, strideH: 2, strideW: 2, padH: 1, padW: 1 }),
    // one network of a ragged batch, stride 1 and a wide kernel: weight columns split
    conv({ nNet: 1, nImg: 11, xShared: false, C: 4, H: 13, W: 11, O: 6, KH: 5, KW: 5, strideH: 1, strideW: 1, padH: 2, padW: 2 }),
  ];
  for (const s of cases) {
    const nX = (s.xShared ? 1 : s.nNet) * s.nImg * s.C * s.H * s.W;
    const nW = s.nNet * s.O * s.C * s.KH * s.KW, nY = s.nNet * s.nImg * s.O * s.OH * s.OW;
    const tag = `${s.nNet} nets, ${s.nImg} images, shared=${s.xShared}, ${s.KH}x${s.KW}/${s.strideH}`;
    acrossThreads(`conv2dForward ${tag}`, [vec(nX), vec(nW), vec(nY), vec(s.nNet * s.O)],
      (k, [x, w, y, b]) => k.conv2dForward(s, x, w, y, b, true), [2]);
    for (const acc of [false, true]) {
      acrossThreads(`conv2dBackwardInput acc=${acc} ${tag}`, [vec(nY), vec(nW), vec(nX)], (k, [dy, w, dx]) => k.conv2dBackwardInput(s, dy, w, dx, acc), [2], 1e-4);
      acrossThreads(`conv2dBackwardInput masked acc=${acc} ${tag}`, [vec(nY), vec(nW), vec(nX), vec(nY)], (k, [dy, w, dx, y]) => k.conv2dBackwardInput(s, dy, w, dx, acc, y), [2], 1e-4);
      acrossThreads(`conv2dBackwardWeight acc=${acc} ${tag}`, [vec(nX), vec(nY), vec(nW)], (k, [x, dy, dw]) => k.conv2dBackwardWeight(s, x, dy, dw, acc), [2], 1e-4);
    }
  }
});

test("transposed convolutions: images, weight columns or input channels per thread, same bytes", () => {
  const cases: ConvTransposeShape[] = [
    // 1x1 latents (the generator's first layer): two GEMMs
    { n: 24, Cin: 16, H: 1, W: 1, Cout: 32, OH: 4, OW: 4, KH: 4, KW: 4, strideH: 1, strideW: 1, padH: 0, padW: 0 },
    // stride 2 with many weight columns: dw split by columns
    { n: 20, Cin: 16, H: 8, W: 8, Cout: 8, OH: 16, OW: 16, KH: 4, KW: 4, strideH: 2, strideW: 2, padH: 1, padW: 1 },
    // an image's last layer: few weight columns, dw split by input channel
    { n: 20, Cin: 16, H: 16, W: 16, Cout: 1, OH: 16, OW: 16, KH: 3, KW: 3, strideH: 1, strideW: 1, padH: 1, padW: 1 },
  ];
  for (const s of cases) {
    const nX = s.n * s.Cin * s.H * s.W, nW = s.Cin * s.Cout * s.KH * s.KW, nY = s.n * s.Cout * s.OH * s.OW;
    const tag = `${s.Cin}->${s.Cout} ${s.H}->${s.OH}`;
    acrossThreads(`convTranspose2dForward ${tag}`, [vec(nX), vec(nW), vec(nY)], (k, [x, w, y]) => k.convTranspose2dForward(s, x, w, y), [2], 1e-4);
    acrossThreads(`convTranspose2dBackward ${tag}`, [vec(nX), vec(nW), vec(nY), vec(nX), vec(nW)],
      (k, [x, w, dy, dx, dw]) => k.convTranspose2dBackward(s, x, w, dy, dx, false, dw, true), [3, 4], 1e-4);
    acrossThreads(`convTranspose2dBackward dw only ${tag}`, [vec(nX), vec(nW), vec(nY), vec(nW)],
      (k, [x, w, dy, dw]) => k.convTranspose2dBackward(s, x, w, dy, null, false, dw, false), [3], 1e-4);
  }
});

test("training steps of W1, W2 and W4 are the same bytes on 1 and 2 threads, on each fast backend", () => {
  const run = (make: () => ReturnType<typeof makeW1>, threads: number, steps: number) => {
    setThreads(threads);
    const w = make();
    const step = trainer(w);
    const losses: number[] = [];
    for (let i = 0; i < steps; i++) losses.push(step());
    const h = createHash("sha256");
    for (const t of w.params.values()) h.update(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    return { losses, hash: h.digest("hex") };
  };
  for (const backend of fastBackends()) {
    for (const [name, make, steps] of [["W1", () => makeW1(1, 8, 16), 3], ["W2", () => makeW2(1, 6, 16), 2], ["W4", () => makeW4(1, 4, 8), 1]] as const) {
      const one = withBackend(backend, () => run(make, 1, steps)), two = withBackend(backend, () => run(make, 2, steps));
      assert.ok(one.losses.every(Number.isFinite), `${backend} ${name} losses are finite`);
      assert.deepEqual(two.losses, one.losses, `${backend} ${name} losses on 2 threads`);
      assert.equal(two.hash, one.hash, `${backend} ${name} parameters after ${steps} steps on 2 threads`);
    }
  }
});

test("PROBEGEN_THREADS takes decimal digits only, within the pool's limit", () => {
  const saved = process.env.PROBEGEN_THREADS;
  try {
    process.env.PROBEGEN_THREADS = "3";
    assert.equal(defaultThreads(), 3);
    for (const bad of ["1e3", "0x10", "0", "2048", " 2", "two"]) {
      process.env.PROBEGEN_THREADS = bad;
      assert.throws(() => defaultThreads(), /PROBEGEN_THREADS must be a whole number in \[1, 1024\]/, bad);
    }
  } finally {
    if (saved === undefined) delete process.env.PROBEGEN_THREADS; else process.env.PROBEGEN_THREADS = saved;
  }
  assert.throws(() => setThreads(0), /threads must be a whole number in \[1, 1024\], got 0/);
});

test("a pool says when its threads have started (what a web page awaits), and counts the calls it split", async () => {
  const { module, memory, exports } = getRuntime();
  const pool = new KernelPool(3, module, memory, exports);
  try {
    await pool.started();
    assert.equal(pool.splitCalls, 0);
    const x = Tensor.from(Array.from({ length: 64 }, (_, i) => i)), y = Tensor.full([64], 2);
    const out = Tensor.zeros([64]);
    const at = (t: Tensor) => getRuntime().heap.addressOf(t.data)!;
    // each thread adds its half: thread 0 the first 32, thread 1 the rest
    pool.run("add", [[at(x), at(y), at(out), 32], [at(x) + 128, at(y) + 128, at(out) + 128, 32]]);
    assert.equal(pool.splitCalls, 1);
    assert.deepEqual(Array.from(out.data), Array.from({ length: 64 }, (_, i) => i + 2));
  } finally {
    pool.close();
  }
  // A thread that cannot start (here its module wants an import the kernels' do not give) is
  // reported by started(), not waited on for ever.
  const wantsMissing = new WebAssembly.Module(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 4, 1, 0x60, 0, 0, 2, 15, 1, 3, 0x65, 0x6e, 0x76, 7, 0x6d, 0x69, 0x73, 0x73, 0x69, 0x6e, 0x67, 0, 0]));
  const broken = new KernelPool(2, wantsMissing, memory, exports);
  try {
    await assert.rejects(broken.started(), /kernel thread 1 failed/);
  } finally {
    broken.close();
  }
});
