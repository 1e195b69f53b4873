// The primitive kernels every op is composed from. Two implementations share this contract:
// `wasm` (AssemblyScript, SIMD; the default) and `reference` (plain TypeScript loops, the
// yardstick tests compare against). Buffers are Float32Array views; backward kernels take
// `acc` — true adds into the gradient buffer, false overwrites it.
//
// Adding a kernel:
//   1. assembly/<area>.ts: the kernel, exported (assembly/index.ts re-exports the file). Its
//      signature is the type of its calls: `npm run build:wasm` writes build/kernels.d.ts.
//   2. Here: its contract in `Kernels`, in Float32Array views.
//   3. reference.ts: the same contract as plain loops.
//   4. wasm.ts: the binding, a `run`/`map` call whose name and arguments the compiler checks
//      against step 1; split into parts only where every part's result is independent of the
//      split (threads.test.ts checks the bytes on 1, 2 and 3 threads).
//   5. test/kernels.test.ts: wasm against reference on shapes with remainders (and
//      test/simd.test.ts when the relaxed build may round differently).
//   6. The op that uses it, in ops/, with its backward checked against finite differences in
//      test/gradients.test.ts. Code outside src/engine calls ops, not kernels.

/** Geometry of a 2-D convolution from [C, H, W] to [O, OH, OW]. */
export interface ConvGeometry {
  C: number; H: number; W: number;
  O: number; OH: number; OW: number;
  KH: number; KW: number;
  strideH: number; strideW: number;
  padH: number; padW: number;
}

/** A zoo of nNet networks applied to nImg images each, or to nImg images they all share. */
export interface ZooConvShape extends ConvGeometry {
  nNet: number;
  nImg: number;
  xShared: boolean;
}

/**
 * A transposed convolution from [Cin, H, W] to [Cout, OH, OW] over n images with one weight
 * [Cin, Cout, KH, KW]; it is the adjoint of the conv2d from [Cout, OH, OW] to [Cin, H, W].
 */
export interface ConvTransposeShape {
  n: number;
  Cin: number; H: number; W: number;
  Cout: number; OH: number; OW: number;
  KH: number; KW: number;
  strideH: number; strideW: number;
  padH: number; padW: number;
}

export type F32 = Float32Array;

export interface Kernels {
  readonly name: "wasm" | "native" | "reference";
  /** C = alpha op(A) op(B) + beta C with beta 0 or 1; lda/ldb/ldc are row strides. */
  gemm(transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number,
    A: F32, lda: number, B: F32, ldb: number, beta: number, C: F32, ldc: number): void;
  /** batch GEMMs strideA/B/C elements apart; strideC 0 sums all products into one C. */
  gemmBatched(batch: number, transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number,
    A: F32, lda: number, strideA: number, B: F32, ldb: number, strideB: number,
    beta: number, C: F32, ldc: number, strideC: number): void;

  fill(y: F32, value: number): void;
  /** y = a x + b y (b = 0: y's old contents are ignored) */
  axpby(x: F32, y: F32, a: number, b: number): void;
  add(a: F32, b: F32, y: F32): void;
  sub(a: F32, b: F32, y: F32): void;
  /** y (+)= a * b */
  mul(a: F32, b: F32, y: F32, acc: boolean): void;
  addScalar(x: F32, y: F32, c: number): void;
  sum(x: F32): number;
  dot(x: F32, y: F32): number;

  /** Row i of dst = row rows[i] of src, rows of `per` floats (every row index must lie inside src). */
  gatherRows(src: F32, per: number, rows: Int32Array, dst: F32): void;
  /**
   * Dropout masks of keep.length networks, `per` floats each, from each network's xoshiro128**
   * state (4 words of `state`, advanced in place as Rng.next would): mode holds [kind, threshold]
   * per network; kind 0: all 1, no draws; 1: 0 where the draw (uint32) < threshold, else keep[b];
   * 2: a draw per element, all 0.
   */
  dropoutMask(state: Int32Array, mode: Int32Array, keep: F32, mask: F32, per: number): void;
  /** y = sin(w x) */
  sinForward(x: F32, y: F32, w: number): void;
  sinBackward(x: F32, dy: F32, dx: F32, w: number, acc: boolean): void;
  /** z viewed [n0, n1, n2], bias [n0, n2]: y = sin(w (z + bias)), dydz = w cos(w (z + bias)) (skipped when null) */
  biasSinForward(z: F32, bias: F32, y: F32, dydz: F32 | null, n0: number, n1: number, n2: number, w: number): void;
  /** y = cos(w x) */
  cosForward(x: F32, y: F32, w: number): void;
  cosBackward(x: F32, dy: F32, dx: F32, w: number, acc: boolean): void;
  expForward(x: F32, y: F32): void;
  tanhForward(x: F32, y: F32): void;
  /** from the forward output y */
  tanhBackward(y: F32, dy: F32, dx: F32, acc: boolean): void;
  sigmoidForward(x: F32, y: F32): void;
  /** from the forward output y */
  sigmoidBackward(y: F32, dy: F32, dx: F32, acc: boolean): void;
  /** slope 0 is ReLU */
  leakyReluForward(x: F32, y: F32, slope: number): void;
  leakyReluBackward(x: F32, dy: F32, dx: F32, slope: number, acc: boolean): void;
  geluForward(x: F32, y: F32): void;
  geluBackward(x: F32, dy: F32, dx: F32, acc: boolean): void;

  /** x viewed [n0, n1, n2, n3]: y = x + bias[i0, i2] */
  addChannel(x: F32, bias: F32, y: F32, n0: number, n1: number, n2: number, n3: number): void;
  /** out[i0, i2] (+)= sum over i1, i3 of x[i0, i1, i2, i3] */
  sumChannel(x: F32, out: F32, n0: number, n1: number, n2: number, n3: number, acc: boolean): void;
  /** y[m] = mean of x[m, 0..p) */
  meanLast(x: F32, y: F32, m: number, p: number): void;
  meanLastBackward(dy: F32, dx: F32, m: number, p: number, acc: boolean): void;
  /** y[2i] = mean of x[i, 0..p), y[2i + 1] = sqrt(variance + eps) (the population variance) */
  planeMoments(x: F32, y: F32, m: number, p: number, eps: number): void;
  /** dx[i, j] (+)= dy[2i] / p + dy[2i + 1] (x[i, j] - mean_i) / (p std_i), with y from planeMoments */
  planeMomentsBackward(x: F32, y: F32, dy: F32, dx: F32, m: number, p: number, acc: boolean): void;

  /** mean softmax cross-entropy of logits [n, c]; writes d(mean)/d(logits) when grad is given */
  softmaxCrossEntropy(logits: F32, labels: Int32Array, n: number, c: number, grad: F32 | null): number;
  /** mean squared error; writes d(mean)/d(pred) when grad is given */
  mse(pred: F32, target: F32, grad: F32 | null): number;

  /** PyTorch Adam arithmetic; bc1 = 1 - b1^t, bc2Sqrt = sqrt(1 - b2^t) */
  adamStep(p: F32, g: F32, m: F32, v: F32, lr: number, beta1: number, beta2: number, eps: number,
    bc1: number, bc2Sqrt: number, weightDecay: number): void;
  /** Keras RMSProp arithmetic, each element in double precision rounded once to float32 */
  rmspropStep(p: F32, g: F32, v: F32, lr: number, rho: number, eps: number): void;

  /** Max pooling of planes [planes, H, W] with a square window K, stride and padding; argmax
   * gets each output's position in its plane (PyTorch's: the first strict maximum, NaN wins) */
  maxPool2dForward(x: F32, y: F32, argmax: Int32Array, planes: number, H: number, W: number, K: number, stride: number, pad: number, OH: number, OW: number): void;
  /** dx (+)= dy routed to each window's maximum */
  maxPool2dBackward(dy: F32, argmax: Int32Array, dx: F32, planes: number, H: number, W: number, OH: number, OW: number, acc: boolean): void;

  im2col(x: F32, g: ConvGeometry, cols: F32): void;
  /** x += col2im(cols) */
  col2im(cols: F32, g: ConvGeometry, x: F32): void;
  /** y [nNet, nImg, O, OH, OW] from x and w [nNet, O, C, KH, KW], plus bias [nNet, O] when
   * given, then ReLU when relu */
  conv2dForward(s: ZooConvShape, x: F32, w: F32, y: F32, bias: F32 | null, relu: boolean): void;
  /**
   * mask: the fused ReLU's output y (dy's shape), when dy is the gradient of y and the ReLU's
   * backward is to be applied here: dy counts where y > 0, dy * 0 elsewhere (leakyReluBackward's
   * slope 0). dy may be left so masked. null: dy as given.
   */
  conv2dBackwardInput(s: ZooConvShape, dy: F32, w: F32, dx: F32, acc: boolean, mask?: F32 | null): void;
  conv2dBackwardWeight(s: ZooConvShape, x: F32, dy: F32, dw: F32, acc: boolean): void;
  /** y [n, Cout, OH, OW]; no bias */
  convTranspose2dForward(s: ConvTransposeShape, x: F32, w: F32, y: F32): void;
  convTranspose2dBackward(s: ConvTransposeShape, x: F32, w: F32, dy: F32,
    dx: F32 | null, accX: boolean, dw: F32 | null, accW: boolean): void;
}
