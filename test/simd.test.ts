// Both builds of the WASM kernels: the baseline SIMD one and the relaxed-SIMD one (fused
// multiply-add), each chosen with PROBEGEN_SIMD in a child process, against the reference
// kernels computed here.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Rng, Tensor, kernels, withBackend } from "../src/engine/index.js";
import { assertClose, fastBackends } from "./helpers.js";

const engine = fileURLToPath(new URL("../src/engine/index.js", import.meta.url));
const [M, N, K] = [37, 45, 300];

// A GEMM and a zoo convolution on seeded inputs, run by the chosen build on 2 threads.
const CHILD = `
import { Rng, Tensor, kernels, getRuntime, setThreads } from ${JSON.stringify(engine)};
setThreads(2);
const rng = new Rng(5, "simd");
const t = (n) => { const x = Tensor.empty([n]); rng.fillNormal(x.data); return x.data; };
const [M, N, K] = [${M}, ${N}, ${K}];
const a = t(M * K), b = t(K * N), c = t(M * N);
kernels().gemm(false, false, M, N, K, 1, a, K, b, N, 0, c, N);
const s = { nNet: 3, nImg: 4, xShared: false, C: 3, H: 9, W: 9, O: 5, KH: 3, KW: 3, strideH: 2, strideW: 2, padH: 1, padW: 1, OH: 5, OW: 5 };
const x = t(3 * 4 * 3 * 81), w = t(3 * 5 * 27), y = t(3 * 4 * 5 * 25);
kernels().conv2dForward(s, x, w, y, null, false);
console.log(JSON.stringify({ simd: getRuntime().simd, gemm: Array.from(c), conv: Array.from(y) }));
`;

function child(simd: string): { simd: string; gemm: number[]; conv: number[] } {
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", CHILD], { env: { ...process.env, PROBEGEN_SIMD: simd }, encoding: "utf8" });
  return JSON.parse(out) as { simd: string; gemm: number[]; conv: number[] };
}

test("the baseline and the relaxed-SIMD builds both match the reference kernels", () => {
  const rng = new Rng(5, "simd");
  const t = (n: number) => { const x = Tensor.empty([n]); rng.fillNormal(x.data); return x.data; };
  const a = t(M * K), b = t(K * N), c = t(M * N);
  const s = { nNet: 3, nImg: 4, xShared: false, C: 3, H: 9, W: 9, O: 5, KH: 3, KW: 3, strideH: 2, strideW: 2, padH: 1, padW: 1, OH: 5, OW: 5 };
  const x = t(3 * 4 * 3 * 81), w = t(3 * 5 * 27), y = t(3 * 4 * 5 * 25);
  withBackend("reference", () => {
    kernels().gemm(false, false, M, N, K, 1, a, K, b, N, 0, c, N);
    kernels().conv2dForward(s, x, w, y, null, false);
  });
  const seen = new Map<string, { gemm: number[]; conv: number[] }>();
  for (const build of ["baseline", "relaxed"]) {
    const r = child(build);
    assert.equal(r.simd, build, `PROBEGEN_SIMD=${build} runs the ${build} build`);
    assertClose(r.gemm, c, 1e-5, 1e-5, `${build} gemm`);
    assertClose(r.conv, y, 1e-5, 1e-5, `${build} conv2dForward`);
    seen.set(build, r);
  }
  // each build is deterministic: a second run gives the same bytes
  assert.deepEqual(child("relaxed").gemm, seen.get("relaxed")!.gemm);
});

test("PROBEGEN_SIMD rejects an unknown build by name", () => {
  assert.throws(() => execFileSync(process.execPath, ["--input-type=module", "-e", CHILD], { env: { ...process.env, PROBEGEN_SIMD: "avx" }, encoding: "utf8", stdio: "pipe" }),
    (e: Error & { stderr?: string }) => /PROBEGEN_SIMD must be "baseline" or "relaxed", got "avx"/.test(e.stderr ?? ""));
});

// Three W1 and W2 training steps on the native kernels, in a child process whose GEMM build
// PROBEGEN_NATIVE_SIMD chooses: a hash of every trained parameter's bytes.
const workloads = fileURLToPath(new URL("../src/workloads/workloads.js", import.meta.url));
const native = fileURLToPath(new URL("../src/engine/kernels/native.js", import.meta.url));
const TRAIN_CHILD = `
import { createHash } from "node:crypto";
import { makeW1, makeW2, trainer } from ${JSON.stringify(workloads)};
import { nativeSimd } from ${JSON.stringify(native)};
import { setThreads } from ${JSON.stringify(engine)};
setThreads(2);
const h = createHash("sha256");
for (const make of [makeW1, makeW2]) {
  const w = make(0, 8, 16), step = trainer(w);
  for (let i = 0; i < 3; i++) step();
  for (const p of w.params.values()) h.update(new Uint8Array(p.data.buffer, p.data.byteOffset, p.data.byteLength));
}
console.log(JSON.stringify({ simd: nativeSimd(), hash: h.digest("hex") }));
`;

test("native: the AVX-512 and AVX2 builds train to the same bytes; the portable one (no FMA) does not", { skip: fastBackends().includes("native") ? false : "native kernels unavailable" }, () => {
  const run = (simd: string) => JSON.parse(execFileSync(process.execPath, ["--input-type=module", "-e", TRAIN_CHILD], {
    env: { ...process.env, PROBEGEN_BACKEND: "native", PROBEGEN_NATIVE_SIMD: simd }, encoding: "utf8",
  })) as { simd: string; hash: string };
  const builds = ["avx512", "avx2", "portable"].map(run);
  const portable = builds.find((b) => b.simd === "portable")!;
  assert.ok(portable !== undefined, "PROBEGEN_NATIVE_SIMD=portable runs the portable build");
  const fma = builds.filter((b) => b.simd !== "portable");
  // Each element is one FMA chain over k in the same blocks whatever the tile width.
  for (const b of fma) assert.equal(b.hash, fma[0].hash, `${b.simd} against ${fma[0].simd}`);
  if (fma.length > 0) assert.notEqual(portable.hash, fma[0].hash, "unfused products round differently: the hash sees the build");
});

// The AVX-512 build convolves layers with few channels directly (no im2col: forward, input and
// weight gradients; stride 1 on wide maps over pixels) and runs the probe generator's transposed convolutions through those
// kernels; the AVX2 build takes the im2col and GEMM path. Shapes at the direct kernels' edges: channel counts that leave a
// vector part empty (20, 17), more than one KC block of taps (40 x 3 x 3 = 360), strides 1-3,
// shared images summed over networks, accumulation into a gradient, output padding.
const DIRECT_CHILD = `
import { createHash } from "node:crypto";
import { Rng, Tensor, kernels, setThreads } from ${JSON.stringify(engine)};
import { nativeSimd } from ${JSON.stringify(native)};
setThreads(2);
const rng = new Rng(9, "direct");
const t = (n) => { const x = Tensor.empty([n]); rng.fillNormal(x.data); return x.data; };
const h = createHash("sha256");
const put = (a) => h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
const k = kernels();
// Stride 1 on maps a vector wide or more (a Wild Park's 32x32 layers) is vectorised over pixels:
// a part-empty last block (20, 21 wide), channel groups part empty (17, 5, 3 channels), padding
// 0 and 3, one network per image (not shared) in the input gradient, whose one- and two-channel
// layers take more pixel blocks instead of channels.
for (const [C, O, H, K, st, pd, shared] of [[16, 16, 16, 3, 2, 1, false], [17, 20, 11, 5, 2, 2, true], [40, 8, 9, 3, 1, 1, false], [16, 32, 13, 3, 3, 1, true], [24, 16, 10, 2, 2, 0, false],
  [4, 5, 32, 7, 1, 3, true], [17, 6, 20, 5, 1, 2, false], [3, 5, 21, 5, 1, 0, false], [40, 9, 16, 3, 1, 1, false],
  [1, 6, 24, 5, 1, 2, false], [2, 4, 18, 3, 1, 1, false]]) {
  const OH = Math.floor((H + 2 * pd - K) / st) + 1, nNet = 3, nImg = 5, nX = (shared ? 1 : nNet) * nImg * C * H * H;
  const s = { nNet, nImg, xShared: shared, C, H, W: H, O, OH, OW: OH, KH: K, KW: K, strideH: st, strideW: st, padH: pd, padW: pd };
  const x = t(nX), w = t(nNet * O * C * K * K), y = t(nNet * nImg * O * OH * OH), b = t(nNet * O);
  k.conv2dForward(s, x, w, y, b, true); put(y);
  k.conv2dForward(s, x, w, y, null, false); put(y);
  for (const acc of [false, true]) { const dx = t(nX); k.conv2dBackwardInput(s, y, w, dx, acc); put(dx); }
}
// Weight gradients over 33 images: runs of up to 28 images (two runs), each run's columns in
// several KC blocks; 9 taps (one group of 8 and a remainder); shared images.
for (const [C, O, H, K, st, pd, shared] of [[16, 16, 16, 3, 2, 1, false], [1, 16, 28, 3, 2, 1, true], [17, 20, 11, 5, 2, 2, true]]) {
  const OH = Math.floor((H + 2 * pd - K) / st) + 1, nNet = 2, nImg = 33, nX = (shared ? 1 : nNet) * nImg * C * H * H;
  const s = { nNet, nImg, xShared: shared, C, H, W: H, O, OH, OW: OH, KH: K, KW: K, strideH: st, strideW: st, padH: pd, padW: pd };
  const x = t(nX), dy = t(nNet * nImg * O * OH * OH);
  for (const acc of [false, true]) { const dw = t(nNet * O * C * K * K); k.conv2dBackwardWeight(s, x, dy, dw, acc); put(dw); }
}
for (const [Cin, Cout, H, K, st, pd, op] of [[32, 16, 16, 4, 2, 1, 0], [64, 32, 8, 4, 2, 1, 0], [32, 24, 5, 3, 2, 1, 1]]) {
  const n = 6, OH = (H - 1) * st - 2 * pd + K + op;
  const s = { n, Cin, H, W: H, Cout, OH, OW: OH, KH: K, KW: K, strideH: st, strideW: st, padH: pd, padW: pd };
  const x = t(n * Cin * H * H), w = t(Cin * Cout * K * K), y = t(n * Cout * OH * OH);
  k.convTranspose2dForward(s, x, w, y); put(y);
  for (const acc of [false, true]) { const dx = t(n * Cin * H * H), dw = t(Cin * Cout * K * K); k.convTranspose2dBackward(s, x, w, y, dx, acc, dw, acc); put(dx); put(dw); }
}
console.log(JSON.stringify({ simd: nativeSimd(), hash: h.digest("hex") }));
`;

test("native: the AVX-512 build's direct convolutions give the im2col path's bytes", { skip: fastBackends().includes("native") ? false : "native kernels unavailable" }, (t) => {
  const run = (simd: string) => JSON.parse(execFileSync(process.execPath, ["--input-type=module", "-e", DIRECT_CHILD], {
    env: { ...process.env, PROBEGEN_BACKEND: "native", PROBEGEN_NATIVE_SIMD: simd }, encoding: "utf8",
  })) as { simd: string; hash: string };
  const [wide, narrow] = [run("avx512"), run("avx2")];
  if (wide.simd !== "avx512") { t.skip("this CPU has no AVX-512: both builds take the im2col path"); return; }
  assert.equal(narrow.simd, "avx2");
  assert.equal(wide.hash, narrow.hash, "direct and im2col convolutions differ");
});
