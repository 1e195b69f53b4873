// Single-precision GEMM: C = alpha * op(A) * op(B) + beta * C, beta in {0, 1}.
// GotoBLAS structure: B is packed into NR-wide column panels, A into MR-tall row
// panels, and a 4x8 f32x4 micro-kernel streams both panels from L1.
// All sizes are element counts; all pointers are byte offsets into linear memory.

export const MR: i32 = 4;
export const NR: i32 = 8;
export const KC: i32 = 256;
export const MC: i32 = 128;
export const NC: i32 = 2048;

// Scratch the caller must provide to gemm(): packed A block, packed B block, one edge tile.
export const GEMM_WORK_FLOATS: i32 = MC * KC + KC * NC + MR * NR * 2;

@inline function at(base: usize, row: i32, ld: i32, col: i32): usize {
  return base + ((<usize>row * <usize>ld + <usize>col) << 2);
}

// Stores the columns of the 4x4 block with rows a, b, c, d at dst, dst + step, dst + 2 step, ...
@inline function transpose4x4To(a: v128, b: v128, c: v128, d: v128, dst: usize, step: usize): void {
  const ab0 = v128.shuffle<f32>(a, b, 0, 4, 1, 5);
  const ab1 = v128.shuffle<f32>(a, b, 2, 6, 3, 7);
  const cd0 = v128.shuffle<f32>(c, d, 0, 4, 1, 5);
  const cd1 = v128.shuffle<f32>(c, d, 2, 6, 3, 7);
  v128.store(dst, v128.shuffle<f32>(ab0, cd0, 0, 1, 4, 5));
  v128.store(dst + step, v128.shuffle<f32>(ab0, cd0, 2, 3, 6, 7));
  v128.store(dst + 2 * step, v128.shuffle<f32>(ab1, cd1, 0, 1, 4, 5));
  v128.store(dst + 3 * step, v128.shuffle<f32>(ab1, cd1, 2, 3, 6, 7));
}

// Packs rows [0, mc) x cols [0, kc) of op(A) into MR-row panels laid out [panel][p][MR].
// A points at element (0, 0) of op(A). Rows past mc are zero-filled.
export function packA(trans: bool, A: usize, lda: i32, mc: i32, kc: i32, dst: usize): void {
  for (let i = 0; i < mc; i += MR) {
    const rows = min(MR, mc - i);
    if (rows == MR) {
      if (trans) {
        for (let p = 0; p < kc; p++) {
          v128.store(dst, v128.load(at(A, p, lda, i)));
          dst += 16;
        }
      } else {
        const r0 = at(A, i, lda, 0);
        const stride = <usize>lda << 2;
        const r1 = r0 + stride, r2 = r1 + stride, r3 = r2 + stride;
        let p = 0;
        // One 4x4 transpose per 4 columns keeps the loads vectorised.
        for (; p + 4 <= kc; p += 4) {
          const off = <usize>p << 2;
          transpose4x4To(v128.load(r0 + off), v128.load(r1 + off), v128.load(r2 + off), v128.load(r3 + off), dst, 16);
          dst += 64;
        }
        for (; p < kc; p++) {
          const off = <usize>p << 2;
          store<f32>(dst, load<f32>(r0 + off));
          store<f32>(dst, load<f32>(r1 + off), 4);
          store<f32>(dst, load<f32>(r2 + off), 8);
          store<f32>(dst, load<f32>(r3 + off), 12);
          dst += 16;
        }
      }
    } else {
      for (let p = 0; p < kc; p++) {
        for (let r = 0; r < MR; r++) {
          let v: f32 = 0;
          if (r < rows) v = trans ? load<f32>(at(A, p, lda, i + r)) : load<f32>(at(A, i + r, lda, p));
          store<f32>(dst + (<usize>r << 2), v);
        }
        dst += 16;
      }
    }
  }
}

// Packs rows [0, kc) x cols [0, nc) of op(B) into NR-column panels laid out [panel][p][NR].
export function packB(trans: bool, B: usize, ldb: i32, kc: i32, nc: i32, dst: usize): void {
  for (let j = 0; j < nc; j += NR) {
    const cols = min(NR, nc - j);
    if (cols == NR && !trans) {
      for (let p = 0; p < kc; p++) {
        const src = at(B, p, ldb, j);
        v128.store(dst, v128.load(src));
        v128.store(dst, v128.load(src, 16), 16);
        dst += 32;
      }
    } else if (cols == NR) {
      // op(B) = B^T: the panel's 8 columns are 8 rows of B; two 4x4 transposes per 4 steps of p.
      const stride = <usize>ldb << 2;
      const r0 = at(B, j, ldb, 0);
      const r1 = r0 + stride, r2 = r1 + stride, r3 = r2 + stride;
      const r4 = r3 + stride, r5 = r4 + stride, r6 = r5 + stride, r7 = r6 + stride;
      let p = 0;
      for (; p + 4 <= kc; p += 4) {
        const off = <usize>p << 2;
        transpose4x4To(v128.load(r0 + off), v128.load(r1 + off), v128.load(r2 + off), v128.load(r3 + off), dst, 32);
        transpose4x4To(v128.load(r4 + off), v128.load(r5 + off), v128.load(r6 + off), v128.load(r7 + off), dst + 16, 32);
        dst += 128;
      }
      for (; p < kc; p++) {
        const off = <usize>p << 2;
        store<f32>(dst, load<f32>(r0 + off)); store<f32>(dst, load<f32>(r1 + off), 4);
        store<f32>(dst, load<f32>(r2 + off), 8); store<f32>(dst, load<f32>(r3 + off), 12);
        store<f32>(dst, load<f32>(r4 + off), 16); store<f32>(dst, load<f32>(r5 + off), 20);
        store<f32>(dst, load<f32>(r6 + off), 24); store<f32>(dst, load<f32>(r7 + off), 28);
        dst += 32;
      }
    } else {
      for (let p = 0; p < kc; p++) {
        for (let c = 0; c < NR; c++) {
          let v: f32 = 0;
          if (c < cols) v = trans ? load<f32>(at(B, j + c, ldb, p)) : load<f32>(at(B, p, ldb, j + c));
          store<f32>(dst + (<usize>c << 2), v);
        }
        dst += 32;
      }
    }
  }
}

// c + a * b: one fused multiply-add in the relaxed-SIMD build (rounded once), a multiply and an
// add in the baseline build. The two builds differ in the last bits, each is deterministic.
@inline function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(c, f32x4.mul(a, b));
}

// packB (not transposed) of rows [p0, p0 + kc) of a matrix stacked from blocks of `rows` rows:
// row p sits at B + (p / rows) * blockStride + (p % rows) * ldb floats. Gradients summed over a
// zoo's networks stack each network's rows this way, so one GEMM sums them all.
export function packBBlocked(B: usize, ldb: i32, rows: i32, blockStride: i32, p0: i32, kc: i32, nc: i32, dst: usize): void {
  for (let j = 0; j < nc; j += NR) {
    const cols = min(NR, nc - j);
    for (let p = p0; p < p0 + kc; p++) {
      const src = B + ((<usize>(p / rows) * <usize>blockStride + <usize>(p % rows) * <usize>ldb + <usize>j) << 2);
      if (cols == NR) {
        v128.store(dst, v128.load(src));
        v128.store(dst, v128.load(src, 16), 16);
      } else {
        for (let c = 0; c < NR; c++) store<f32>(dst + (<usize>c << 2), c < cols ? load<f32>(src + (<usize>c << 2)) : 0);
      }
      dst += 32;
    }
  }
}

// 4x8 tile of C (row stride ldc) = alpha * pa * pb (+ C when accumulate).
@inline function micro(kc: i32, pa: usize, pb: usize, c: usize, ldc: i32, alpha: f32, accumulate: bool): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  for (let p = 0; p < kc; p++) {
    const b0 = v128.load(pb), b1 = v128.load(pb, 16);
    let a = v128.load32_splat(pa);
    c00 = madd(a, b0, c00);
    c01 = madd(a, b1, c01);
    a = v128.load32_splat(pa, 4);
    c10 = madd(a, b0, c10);
    c11 = madd(a, b1, c11);
    a = v128.load32_splat(pa, 8);
    c20 = madd(a, b0, c20);
    c21 = madd(a, b1, c21);
    a = v128.load32_splat(pa, 12);
    c30 = madd(a, b0, c30);
    c31 = madd(a, b1, c31);
    pa += 16;
    pb += 32;
  }
  if (alpha != 1) {
    const al = f32x4.splat(alpha);
    c00 = f32x4.mul(c00, al); c01 = f32x4.mul(c01, al);
    c10 = f32x4.mul(c10, al); c11 = f32x4.mul(c11, al);
    c20 = f32x4.mul(c20, al); c21 = f32x4.mul(c21, al);
    c30 = f32x4.mul(c30, al); c31 = f32x4.mul(c31, al);
  }
  const stride = <usize>ldc << 2;
  const r0 = c, r1 = c + stride, r2 = r1 + stride, r3 = r2 + stride;
  if (accumulate) {
    c00 = f32x4.add(c00, v128.load(r0)); c01 = f32x4.add(c01, v128.load(r0, 16));
    c10 = f32x4.add(c10, v128.load(r1)); c11 = f32x4.add(c11, v128.load(r1, 16));
    c20 = f32x4.add(c20, v128.load(r2)); c21 = f32x4.add(c21, v128.load(r2, 16));
    c30 = f32x4.add(c30, v128.load(r3)); c31 = f32x4.add(c31, v128.load(r3, 16));
  }
  v128.store(r0, c00); v128.store(r0, c01, 16);
  v128.store(r1, c10); v128.store(r1, c11, 16);
  v128.store(r2, c20); v128.store(r2, c21, 16);
  v128.store(r3, c30); v128.store(r3, c31, 16);
}

// C[mc x nc] (+)= alpha * packedA * packedB, both packed over kc.
export function macroKernel(
  mc: i32, nc: i32, kc: i32, pa: usize, pb: usize,
  C: usize, ldc: i32, alpha: f32, accumulate: bool, tile: usize,
): void {
  for (let j = 0; j < nc; j += NR) {
    const nr = min(NR, nc - j);
    const pbj = pb + ((<usize>j * <usize>kc) << 2);
    for (let i = 0; i < mc; i += MR) {
      const mr = min(MR, mc - i);
      const pai = pa + ((<usize>i * <usize>kc) << 2);
      const cp = at(C, i, ldc, j);
      if (mr == MR && nr == NR) {
        micro(kc, pai, pbj, cp, ldc, alpha, accumulate);
      } else {
        micro(kc, pai, pbj, tile, NR, alpha, false);
        for (let r = 0; r < mr; r++) {
          for (let c = 0; c < nr; c++) {
            const dst = at(cp, r, ldc, c);
            const v = load<f32>(at(tile, r, NR, c));
            store<f32>(dst, accumulate ? load<f32>(dst) + v : v);
          }
        }
      }
    }
  }
}

// C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C, with beta 0 (overwrite) or 1 (accumulate).
export function gemm(
  transA: bool, transB: bool, M: i32, N: i32, K: i32, alpha: f32,
  A: usize, lda: i32, B: usize, ldb: i32, beta: f32, C: usize, ldc: i32, work: usize,
): void {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    if (beta == 0) {
      for (let i = 0; i < M; i++) memory.fill(at(C, i, ldc, 0), 0, <usize>N << 2);
    }
    return;
  }
  // Not for M == 1 alone: a row of C must come out the same whatever the other rows (a network
  // predicted alone or in a batch), so single rows go through the tiles like any other.
  if ((N == 1 || K == 1) && 3 * max(M, max(N, K)) + 64 <= GEMM_WORK_FLOATS) {
    thinGemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, work);
    return;
  }
  const pa = work;
  const pb = pa + ((<usize>MC * <usize>KC) << 2);
  const tile = pb + ((<usize>KC * <usize>NC) << 2);
  for (let jc = 0; jc < N; jc += NC) {
    const nc = min(NC, N - jc);
    for (let pc = 0; pc < K; pc += KC) {
      const kc = min(KC, K - pc);
      const accumulate = beta != 0 || pc > 0;
      packB(transB, transB ? at(B, jc, ldb, pc) : at(B, pc, ldb, jc), ldb, kc, nc, pb);
      for (let ic = 0; ic < M; ic += MC) {
        const mc = min(MC, M - ic);
        packA(transA, transA ? at(A, pc, lda, ic) : at(A, ic, lda, pc), lda, mc, kc, pa);
        macroKernel(mc, nc, kc, pa, pb, at(C, ic, ldc, jc), ldc, alpha, accumulate, tile);
      }
    }
  }
}

// sum of x[i] * y[i] over n contiguous floats
@inline function dotf(x: usize, y: usize, n: i32): f32 {
  let s0 = f32x4.splat(0), s1 = f32x4.splat(0);
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const o = <usize>i << 2;
    s0 = f32x4.add(s0, f32x4.mul(v128.load(x + o), v128.load(y + o)));
    s1 = f32x4.add(s1, f32x4.mul(v128.load(x + o, 16), v128.load(y + o, 16)));
  }
  s0 = f32x4.add(s0, s1);
  let s = f32x4.extract_lane(s0, 0) + f32x4.extract_lane(s0, 1) + f32x4.extract_lane(s0, 2) + f32x4.extract_lane(s0, 3);
  for (; i < n; i++) s += load<f32>(x + (<usize>i << 2)) * load<f32>(y + (<usize>i << 2));
  return s;
}

// y[0..n) += a * x[0..n)
@inline function axpyf(a: f32, x: usize, y: usize, n: i32): void {
  const va = f32x4.splat(a);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(y + o, f32x4.add(v128.load(y + o), f32x4.mul(va, v128.load(x + o))));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(y + o, load<f32>(y + o) + a * load<f32>(x + o));
  }
}

// Copies n floats spaced `stride` apart into dst (contiguous), or returns src when already so.
@inline function contiguous(src: usize, stride: i32, n: i32, dst: usize): usize {
  if (stride == 1) return src;
  for (let i = 0; i < n; i++) store<f32>(dst + (<usize>i << 2), load<f32>(src + ((<usize>i * <usize>stride) << 2)));
  return dst;
}

// Matrix-vector and outer products (N or K equal to 1), where packing for the 4x8 tile would
// mostly compute zeros: dot products or axpys along whichever operand is contiguous.
function thinGemm(
  transA: bool, transB: bool, M: i32, N: i32, K: i32, alpha: f32,
  A: usize, lda: i32, B: usize, ldb: i32, beta: f32, C: usize, ldc: i32, work: usize,
): void {
  // y collects the result as a contiguous vector, then is written to C (strided when N == 1).
  const y = work;
  const tmp = work + ((<usize>max(M, N) + 16) << 2);
  if (K == 1) {
    // C = alpha a b^T (+ C): a = op(A)[:, 0], b = op(B)[0, :]
    const a = contiguous(A, transA ? 1 : lda, M, tmp);
    const b = contiguous(B, transB ? ldb : 1, N, tmp + ((<usize>M + 16) << 2));
    for (let i = 0; i < M; i++) {
      const row = C + ((<usize>i * <usize>ldc) << 2);
      if (beta == 0) memory.fill(row, 0, <usize>N << 2);
      axpyf(alpha * load<f32>(a + (<usize>i << 2)), b, row, N);
    }
    return;
  }
  if (N == 1) {
    // y[i] = sum_p op(A)[i, p] b[p], b = op(B)[:, 0]
    const b = contiguous(B, transB ? 1 : ldb, K, tmp);
    if (!transA) {
      for (let i = 0; i < M; i++) store<f32>(y + (<usize>i << 2), dotf(A + ((<usize>i * <usize>lda) << 2), b, K));
    } else {
      memory.fill(y, 0, <usize>M << 2);
      for (let p = 0; p < K; p++) axpyf(load<f32>(b + (<usize>p << 2)), A + ((<usize>p * <usize>lda) << 2), y, M);
    }
    for (let i = 0; i < M; i++) {
      const c = C + ((<usize>i * <usize>ldc) << 2);
      const v = alpha * load<f32>(y + (<usize>i << 2));
      store<f32>(c, beta == 0 ? v : load<f32>(c) + v);
    }
    return;
  }
}

// batch GEMMs whose operands sit strideA/strideB/strideC elements apart. strideC == 0 sums
// every product into one C (a reduction over the batch), which is how gradients of shared
// operands are formed.
export function gemmBatched(
  batch: i32, transA: bool, transB: bool, M: i32, N: i32, K: i32, alpha: f32,
  A: usize, lda: i32, strideA: i32, B: usize, ldb: i32, strideB: i32,
  beta: f32, C: usize, ldc: i32, strideC: i32, work: usize,
): void {
  for (let b = 0; b < batch; b++) {
    const betaB: f32 = strideC == 0 && b > 0 ? 1 : beta;
    gemm(
      transA, transB, M, N, K, alpha,
      A + ((<usize>b * <usize>strideA) << 2), lda,
      B + ((<usize>b * <usize>strideB) << 2), ldb,
      betaB, C + ((<usize>b * <usize>strideC) << 2), ldc, work,
    );
  }
}

// Floats of packed storage for an m x k operand packed by packA with kc = k.
export function packedAFloats(m: i32, k: i32): i32 {
  return ((m + MR - 1) / MR) * MR * k;
}

// C[M,N] (+)= alpha * A * op(B), where A was packed whole by packA(.., M, K, pa) so that it
// can be reused across many right-hand sides (conv kernels pack each network's filters once).
// work holds a packed B block and an edge tile (GEMM_WORK_FLOATS is always enough).
export function gemmPackedA(
  M: i32, N: i32, K: i32, pa: usize, transB: bool, B: usize, ldb: i32,
  alpha: f32, accumulate: bool, C: usize, ldc: i32, work: usize,
): void {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    if (!accumulate) for (let i = 0; i < M; i++) memory.fill(at(C, i, ldc, 0), 0, <usize>N << 2);
    return;
  }
  const budget = KC * NC + MC * KC;
  let ncMax = (budget / K) & ~(NR - 1);
  if (ncMax < NR) ncMax = NR;
  const pb = work;
  const tile = work + ((<usize>budget) << 2);
  for (let jc = 0; jc < N; jc += ncMax) {
    const nc = min(ncMax, N - jc);
    packB(transB, transB ? at(B, jc, ldb, 0) : at(B, 0, ldb, jc), ldb, K, nc, pb);
    macroKernel(M, nc, K, pa, pb, at(C, 0, ldc, jc), ldc, alpha, accumulate, tile);
  }
}
