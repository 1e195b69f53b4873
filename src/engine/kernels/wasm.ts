// The default kernels: the AssemblyScript module compiled to WASM SIMD. A Float32Array view
// into the shared memory is passed as its byteOffset, so nothing is copied.
import { getRuntime, type KernelExports } from "../memory.js";
import type { ConvGeometry, ConvTransposeShape, F32, Kernels, ZooConvShape } from "./kernels.js";

type Fn = (...args: number[]) => number;

function exported(ex: KernelExports, name: string): Fn {
  const f = ex[name];
  if (typeof f !== "function") throw new Error(`probegen: WASM kernel ${name} missing; rebuild with \`npm run build\``);
  return f as Fn;
}

export function createWasmKernels(): Kernels {
  const { heap, exports: ex } = getRuntime();
  const k = (name: string) => exported(ex, name);
  const gemmWork = ex.gemmWorkFloats();
  let workPtr = 0;
  let workFloats = 0;
  // One scratch block reused by every kernel call (kernels run one at a time per thread).
  const work = (floats: number): number => {
    if (floats > workFloats) {
      if (workPtr !== 0) heap.free(workPtr, workFloats * 4);
      workFloats = Math.max(floats, Math.ceil(workFloats * 1.5));
      workPtr = heap.alloc(workFloats * 4);
    }
    return workPtr;
  };
  // A view outside the shared memory would be read as an unrelated address: refuse it.
  const p = (a: F32 | Int32Array) => {
    if (!(a.buffer instanceof SharedArrayBuffer)) {
      throw new TypeError("probegen: WASM kernels take views of tensor memory (Tensor.empty/Tensor.from), not a plain typed array");
    }
    return a.byteOffset;
  };
  const n = (a: F32) => a.length;
  const b = (v: boolean) => (v ? 1 : 0);

  const gemm = k("gemm"), gemmBatched = k("gemmBatched");
  const fill = k("fill"), axpby = k("axpby"), add = k("add"), sub = k("sub"), mul = k("mul");
  const addScalar = k("addScalar"), sum = k("sum"), dot = k("dot");
  const sinF = k("sinForward"), sinB = k("sinBackward"), cosF = k("cosForward"), cosB = k("cosBackward");
  const biasSinF = k("biasSinForward");
  const expF = k("expForward"), tanhF = k("tanhForward"), tanhB = k("tanhBackward");
  const sigF = k("sigmoidForward"), sigB = k("sigmoidBackward");
  const lreluF = k("leakyReluForward"), lreluB = k("leakyReluBackward");
  const geluF = k("geluForward"), geluB = k("geluBackward");
  const addChannel = k("addChannel"), sumChannel = k("sumChannel");
  const meanLast = k("meanLast"), meanLastB = k("meanLastBackward");
  const ce = k("softmaxCrossEntropy"), mse = k("mse"), adam = k("adamStep"), rmsprop = k("rmspropStep");
  const im2col = k("im2col"), col2im = k("col2im");
  const convWork = k("conv2dWorkFloats"), convF = k("conv2dForward");
  const convBI = k("conv2dBackwardInput"), convBW = k("conv2dBackwardWeight");
  const convTWork = k("convTranspose2dWorkFloats"), convTF = k("convTranspose2dForward");
  const convTB = k("convTranspose2dBackward");

  const geo = (g: ConvGeometry) => [g.C, g.H, g.W, g.KH, g.KW, g.strideH, g.strideW, g.padH, g.padW, g.OH, g.OW];
  const zoo = (s: ZooConvShape) =>
    [s.nNet, s.nImg, b(s.xShared), s.C, s.H, s.W, s.O, s.KH, s.KW, s.strideH, s.strideW, s.padH, s.padW];
  const zooWork = (s: ZooConvShape) =>
    work(convWork(s.nNet, s.C, s.H, s.W, s.O, s.KH, s.KW, s.strideH, s.strideW, s.padH, s.padW));
  const convT = (s: ConvTransposeShape) =>
    [s.n, s.Cin, s.H, s.W, s.Cout, s.KH, s.KW, s.strideH, s.strideW, s.padH, s.padW, s.OH, s.OW];

  return {
    name: "wasm",
    gemm(tA, tB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc) {
      gemm(b(tA), b(tB), M, N, K, alpha, p(A), lda, p(B), ldb, beta, p(C), ldc, work(gemmWork));
    },
    gemmBatched(batch, tA, tB, M, N, K, alpha, A, lda, sA, B, ldb, sB, beta, C, ldc, sC) {
      gemmBatched(batch, b(tA), b(tB), M, N, K, alpha, p(A), lda, sA, p(B), ldb, sB, beta, p(C), ldc, sC, work(gemmWork));
    },
    fill: (y, v) => void fill(p(y), n(y), v),
    axpby: (x, y, a, bb) => void axpby(p(x), p(y), n(y), a, bb),
    add: (a, bb, y) => void add(p(a), p(bb), p(y), n(y)),
    sub: (a, bb, y) => void sub(p(a), p(bb), p(y), n(y)),
    mul: (a, bb, y, acc) => void mul(p(a), p(bb), p(y), n(y), b(acc)),
    addScalar: (x, y, c) => void addScalar(p(x), p(y), n(y), c),
    sum: (x) => sum(p(x), n(x)),
    dot: (x, y) => dot(p(x), p(y), n(x)),
    sinForward: (x, y, w) => void sinF(p(x), p(y), n(y), w),
    sinBackward: (x, dy, dx, w, acc) => void sinB(p(x), p(dy), p(dx), n(dx), w, b(acc)),
    biasSinForward: (z, bias, y, dydz, n0, n1, n2, w) => void biasSinF(p(z), p(bias), p(y), p(dydz), n0, n1, n2, w),
    cosForward: (x, y, w) => void cosF(p(x), p(y), n(y), w),
    cosBackward: (x, dy, dx, w, acc) => void cosB(p(x), p(dy), p(dx), n(dx), w, b(acc)),
    expForward: (x, y) => void expF(p(x), p(y), n(y)),
    tanhForward: (x, y) => void tanhF(p(x), p(y), n(y)),
    tanhBackward: (y, dy, dx, acc) => void tanhB(p(y), p(dy), p(dx), n(dx), b(acc)),
    sigmoidForward: (x, y) => void sigF(p(x), p(y), n(y)),
    sigmoidBackward: (y, dy, dx, acc) => void sigB(p(y), p(dy), p(dx), n(dx), b(acc)),
    leakyReluForward: (x, y, s) => void lreluF(p(x), p(y), n(y), s),
    leakyReluBackward: (x, dy, dx, s, acc) => void lreluB(p(x), p(dy), p(dx), n(dx), s, b(acc)),
    geluForward: (x, y) => void geluF(p(x), p(y), n(y)),
    geluBackward: (x, dy, dx, acc) => void geluB(p(x), p(dy), p(dx), n(dx), b(acc)),
    addChannel: (x, bias, y, n0, n1, n2, n3) => void addChannel(p(x), p(bias), p(y), n0, n1, n2, n3),
    sumChannel: (x, out, n0, n1, n2, n3, acc) => void sumChannel(p(x), p(out), n0, n1, n2, n3, b(acc)),
    meanLast: (x, y, m, pp) => void meanLast(p(x), p(y), m, pp),
    meanLastBackward: (dy, dx, m, pp, acc) => void meanLastB(p(dy), p(dx), m, pp, b(acc)),
    softmaxCrossEntropy: (logits, labels, nn, c, grad) =>
      ce(p(logits), p(labels), nn, c, grad === null ? 0 : p(grad)),
    mse: (pred, target, grad) => mse(p(pred), p(target), n(pred), grad === null ? 0 : p(grad)),
    adamStep: (pp, g, m, v, lr, b1, b2, eps, bc1, bc2Sqrt, wd) =>
      void adam(p(pp), p(g), p(m), p(v), n(pp), lr, b1, b2, eps, bc1, bc2Sqrt, wd),
    rmspropStep: (pp, g, v, lr, rho, eps) => void rmsprop(p(pp), p(g), p(v), n(pp), lr, rho, eps),
    im2col: (x, g, cols) => void im2col(p(x), ...geo(g), p(cols)),
    col2im: (cols, g, x) => void col2im(p(cols), ...geo(g), p(x)),
    conv2dForward: (s, x, w, y, bias, relu) => void convF(...zoo(s), p(x), p(w), bias === null ? 0 : p(bias), b(relu), p(y), zooWork(s)),
    conv2dBackwardInput: (s, dy, w, dx, acc) => void convBI(...zoo(s), p(dy), p(w), p(dx), b(acc), zooWork(s)),
    conv2dBackwardWeight: (s, x, dy, dw, acc) => void convBW(...zoo(s), p(x), p(dy), p(dw), b(acc), zooWork(s)),
    convTranspose2dForward: (s, x, w, y) =>
      void convTF(...convT(s), p(x), p(w), p(y), work(convTWork(s.n, s.Cin, s.H, s.W, s.Cout, s.KH, s.KW))),
    convTranspose2dBackward: (s, x, w, dy, dx, accX, dw, accW) =>
      void convTB(...convT(s), p(x), p(w), p(dy), dx === null ? 0 : p(dx), b(accX), dw === null ? 0 : p(dw), b(accW),
        work(convTWork(s.n, s.Cin, s.H, s.W, s.Cout, s.KH, s.KW))),
  };
}
