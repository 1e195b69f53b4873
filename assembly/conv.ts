// Convolutions in NCHW as im2col/col2im around GEMM.
// Zoo-batched conv2d: nNet networks, each with its own filters w[b] = [O, C, KH, KW], applied
// to nImg images per network (x [nNet, nImg, C, H, W]) or to nImg images shared by all
// networks (x [nImg, C, H, W]). Output y [nNet, nImg, O, OH, OW].
import { gemm, packA, packB, packBBlocked, macroKernel, gemmPackedA, packedAFloats, GEMM_WORK_FLOATS, KC, NC, MC, MR, NR } from "./gemm";

@inline function outSize(n: i32, k: i32, s: i32, p: i32): i32 { return (n + 2 * p - k) / s + 1; }
@inline function bytes(n: i32): usize { return (<usize>n) << 2; }
@inline function align16(n: i32): i32 { return (n + 15) & ~15; }

// Short runs are common (a padded border column), where memory.fill's call costs more than stores.
@inline function zeros(dst: usize, n: i32): void {
  let k = 0;
  for (; k + 4 <= n; k += 4) v128.store(dst + bytes(k), f32x4.splat(0));
  for (; k < n; k++) store<f32>(dst + bytes(k), 0);
}

// cols[(c*KH + i)*KW + j, oh*OW + ow] = x[c, oh*sh - ph + i, ow*sw - pw + j] (0 outside)
export function im2col(
  x: usize, C: i32, H: i32, W: i32, KH: i32, KW: i32, sh: i32, sw: i32, ph: i32, pw: i32,
  OH: i32, OW: i32, cols: usize,
): void {
  im2colLd(x, C, H, W, KH, KW, sh, sw, ph, pw, OH, OW, cols, OH * OW);
}

// im2col into a matrix whose rows are ld floats apart (several images side by side).
export function im2colLd(
  x: usize, C: i32, H: i32, W: i32, KH: i32, KW: i32, sh: i32, sw: i32, ph: i32, pw: i32,
  OH: i32, OW: i32, cols: usize, ld: i32,
): void {
  im2colRows(x, C, H, W, KH, KW, sh, sw, ph, pw, OH, OW, cols, ld, 0, C * KH * KW);
}

// Rows [r0, r1) of im2col, row r stored at cols + (r - r0) * ld: a thread that owns some of a
// weight gradient's columns unfolds only the rows they need.
export function im2colRows(
  x: usize, C: i32, H: i32, W: i32, KH: i32, KW: i32, sh: i32, sw: i32, ph: i32, pw: i32,
  OH: i32, OW: i32, cols: usize, ld: i32, r0: i32, r1: i32,
): void {
  for (let r = r0; r < r1; r++) {
    const c = r / (KH * KW), i = (r / KW) % KH, j = r % KW;
    const xc = x + bytes(c * H * W);
    const dst = cols + bytes((r - r0) * ld);
    // output rows whose input row oh * sh - ph + i lies inside [0, H); the others are zero
    const ohLo = min(OH, ph - i > 0 ? (ph - i + sh - 1) / sh : 0);
    const lim = H - 1 + ph - i;
    const ohHi = max(ohLo, lim < 0 ? 0 : min(OH, lim / sh + 1));
    if (ohLo > 0) zeros(dst, ohLo * OW);
    if (ohHi < OH) zeros(dst + bytes(ohHi * OW), (OH - ohHi) * OW);
    // Column blocks outside, output rows inside: a block's border mask and source offset are
    // the same on every row, so they are worked out once.
    const rowStep = bytes(sh * W);
    const src0 = xc + bytes((ohLo * sh - ph + i) * W);
    let ow = 0;
    if (sw <= 2) {
      // Whole vectors, lanes outside [0, W) masked to zero. The loads may touch a few floats
      // before or after the row; they are never stored (the heap keeps slack).
      const lanes = i32x4.mul(i32x4(0, 1, 2, 3), i32x4.splat(sw));
      const width = i32x4.splat(W), zero = i32x4.splat(0);
      for (; ow + 4 <= OW; ow += 4) {
        const iw0 = ow * sw - pw + j;
        const iw = i32x4.add(lanes, i32x4.splat(iw0));
        const inside = v128.and(i32x4.ge_s(iw, zero), i32x4.lt_s(iw, width));
        let src = src0 + <usize>(<isize>iw0 << 2);
        let d = dst + bytes(ohLo * OW + ow);
        for (let oh = ohLo; oh < ohHi; oh++) {
          const v = sw == 1 ? v128.load(src) : v128.shuffle<f32>(v128.load(src), v128.load(src, 16), 0, 2, 4, 6);
          v128.store(d, v128.and(v, inside));
          src += rowStep;
          d += bytes(OW);
        }
      }
    }
    for (; ow < OW; ow++) {
      const iw = ow * sw - pw + j;
      const inside = iw >= 0 && iw < W;
      let src = src0 + <usize>(<isize>iw << 2);
      let d = dst + bytes(ohLo * OW + ow);
      for (let oh = ohLo; oh < ohHi; oh++) {
        store<f32>(d, inside ? load<f32>(src) : 0);
        src += rowStep;
        d += bytes(OW);
      }
    }
  }
}

// x[c, ih, iw] += cols[...]: the adjoint of im2col (x is accumulated into, not cleared).
export function col2im(
  cols: usize, C: i32, H: i32, W: i32, KH: i32, KW: i32, sh: i32, sw: i32, ph: i32, pw: i32,
  OH: i32, OW: i32, x: usize,
): void {
  col2imLd(cols, OH * OW, C, H, W, KH, KW, sh, sw, ph, pw, OH, OW, x);
}

export function col2imLd(
  cols: usize, ld: i32, C: i32, H: i32, W: i32, KH: i32, KW: i32, sh: i32, sw: i32, ph: i32, pw: i32,
  OH: i32, OW: i32, x: usize,
): void {
  for (let c = 0; c < C; c++) {
    const xc = x + bytes(c * H * W);
    for (let i = 0; i < KH; i++) {
      // output rows whose input row lies inside [0, H): they alone add anything
      const ohLo = min(OH, ph - i > 0 ? (ph - i + sh - 1) / sh : 0);
      const lim = H - 1 + ph - i;
      const ohHi = max(ohLo, lim < 0 ? 0 : min(OH, lim / sh + 1));
      if (ohHi <= ohLo) continue;
      const dst0 = xc + bytes((ohLo * sh - ph + i) * W);
      // kernel column j's row of cols, from output row ohLo
      const src0 = cols + bytes((c * KH + i) * KW * ld + ohLo * OW);
      let j = 0;
      if (sw == 2) {
        // Kernel columns j and j+1 land on alternate pixels of the same row: interleaved, they
        // fill whole vectors. Every pixel still gets its contributions in (i, j) order.
        for (; j + 1 < KW; j += 2) col2imPair(src0 + bytes(j * ld), src0 + bytes((j + 1) * ld), dst0, sh * W, ohHi - ohLo, W, pw, j, OW);
      }
      for (; j < KW; j++) col2imColumn(src0 + bytes(j * ld), dst0, sh * W, ohHi - ohLo, W, sw, pw, j, OW);
    }
  }
}

// The output columns ow whose pixel ow * sw - pw + j lies in [0, W): [owFirst, owEnd).
@inline function owFirst(pw: i32, j: i32, sw: i32): i32 { return pw - j > 0 ? (pw - j + sw - 1) / sw : 0; }
@inline function owEnd(W: i32, pw: i32, j: i32, sw: i32, OW: i32): i32 {
  const lim = W - 1 + pw - j;
  return lim < 0 ? 0 : min(OW, lim / sw + 1);
}

// Adds one kernel column's row of cols (rows output rows, OW values each) into the image rows
// starting at dst0, rowStep floats apart. Column blocks outside, rows inside: a block's bounds
// are worked out once.
function col2imColumn(src: usize, dst0: usize, rowStep: i32, rows: i32, W: i32, sw: i32, pw: i32, j: i32, OW: i32): void {
  const lo = owFirst(pw, j, sw), hi = max(lo, owEnd(W, pw, j, sw, OW));
  const step = bytes(rowStep), srcStep = bytes(OW);
  let ow = lo;
  if (sw == 1) {
    for (; ow + 4 <= hi; ow += 4) {
      let d = dst0 + bytes(ow - pw + j), s = src + bytes(ow);
      for (let r = 0; r < rows; r++) {
        v128.store(d, f32x4.add(v128.load(d), v128.load(s)));
        d += step; s += srcStep;
      }
    }
  } else if (sw == 2) {
    // a lone kernel column: interleaved with zeros into the even lanes; the 8-float window
    // stays inside the row
    const z = f32x4.splat(0);
    for (; ow + 4 <= hi && 2 * ow - pw + j + 8 <= W; ow += 4) {
      let d = dst0 + bytes(2 * ow - pw + j), s = src + bytes(ow);
      for (let r = 0; r < rows; r++) {
        const v = v128.load(s);
        v128.store(d, f32x4.add(v128.load(d), v128.shuffle<f32>(v, z, 0, 4, 1, 5)));
        v128.store(d, f32x4.add(v128.load(d, 16), v128.shuffle<f32>(v, z, 2, 6, 3, 7)), 16);
        d += step; s += srcStep;
      }
    }
  }
  for (; ow < hi; ow++) {
    let d = dst0 + bytes(ow * sw - pw + j), s = src + bytes(ow);
    for (let r = 0; r < rows; r++) {
      store<f32>(d, load<f32>(d) + load<f32>(s));
      d += step; s += srcStep;
    }
  }
}

// col2im of kernel columns j and j+1 (rows a and b of cols) at stride 2.
function col2imPair(a: usize, b: usize, dst0: usize, rowStep: i32, rows: i32, W: i32, pw: i32, j: i32, OW: i32): void {
  const lo0 = owFirst(pw, j, 2), hi0 = max(lo0, owEnd(W, pw, j, 2, OW));
  const lo1 = owFirst(pw, j + 1, 2), hi1 = max(lo1, owEnd(W, pw, j + 1, 2, OW));
  const lo = max(lo0, lo1);
  const hi = max(lo, min(hi0, hi1));
  const step = bytes(rowStep), srcStep = bytes(OW);
  col2imScalars(a, dst0, step, srcStep, rows, lo0, lo, 2 * lo0 - pw + j);
  col2imScalars(b, dst0, step, srcStep, rows, lo1, lo, 2 * lo1 - pw + j + 1);
  let ow = lo;
  // pixels 2ow - pw + j .. + 8 stay inside the row
  for (; ow + 4 <= hi && 2 * ow - pw + j + 8 <= W; ow += 4) {
    let d = dst0 + bytes(2 * ow - pw + j), sa = a + bytes(ow), sb = b + bytes(ow);
    for (let r = 0; r < rows; r++) {
      const va = v128.load(sa), vb = v128.load(sb);
      v128.store(d, f32x4.add(v128.load(d), v128.shuffle<f32>(va, vb, 0, 4, 1, 5)));
      v128.store(d, f32x4.add(v128.load(d, 16), v128.shuffle<f32>(va, vb, 2, 6, 3, 7)), 16);
      d += step; sa += srcStep; sb += srcStep;
    }
  }
  col2imScalars(a, dst0, step, srcStep, rows, ow, hi0, 2 * ow - pw + j);
  col2imScalars(b, dst0, step, srcStep, rows, ow, hi1, 2 * ow - pw + j + 1);
}

// Output columns [from, to) of one kernel column at stride 2, pixel p0 for column `from`.
@inline function col2imScalars(src: usize, dst0: usize, step: usize, srcStep: usize, rows: i32, from: i32, to: i32, p0: i32): void {
  for (let ow = from; ow < to; ow++) {
    let d = dst0 + bytes(p0 + 2 * (ow - from)), s = src + bytes(ow);
    for (let r = 0; r < rows; r++) {
      store<f32>(d, load<f32>(d) + load<f32>(s));
      d += step; s += srcStep;
    }
  }
}

// Input images of a zoo conv: nImg shared by all networks, or nImg per network. Image u
// feeds networks [firstNet, lastNet).
@inline function inputImages(nNet: i32, nImg: i32, xShared: bool): i32 { return xShared ? nImg : nNet * nImg; }
@inline function firstNet(u: i32, nImg: i32, xShared: bool): i32 { return xShared ? 0 : u / nImg; }
@inline function lastNet(u: i32, nNet: i32, nImg: i32, xShared: bool): i32 { return xShared ? nNet : u / nImg + 1; }

// rows [O, P]: row o += bias[o] (bias 0: none), then max(., 0) when relu
function biasRelu(y: usize, bias: usize, O: i32, P: i32, relu: bool): void {
  const zero = f32x4.splat(0);
  for (let o = 0; o < O; o++) {
    const bv: f32 = bias == 0 ? 0 : load<f32>(bias + bytes(o));
    const vb = f32x4.splat(bv);
    const row = y + bytes(o * P);
    let p = 0;
    for (; p + 4 <= P; p += 4) {
      let v = f32x4.add(v128.load(row + bytes(p)), vb);
      if (relu) v = f32x4.max(v, zero);
      v128.store(row + bytes(p), v);
    }
    for (; p < P; p++) {
      let v = load<f32>(row + bytes(p)) + bv;
      if (relu && !(v > 0)) v = 0;
      store<f32>(row + bytes(p), v);
    }
  }
}

@inline function isPointwise(KH: i32, KW: i32, sh: i32, sw: i32, ph: i32, pw: i32): bool {
  return KH == 1 && KW == 1 && sh == 1 && sw == 1 && ph == 0 && pw == 0;
}

// Scratch floats for any zoo conv2d kernel with these sizes.
export function conv2dWorkFloats(nNet: i32, C: i32, H: i32, W: i32, O: i32, KH: i32, KW: i32, sh: i32, sw: i32, ph: i32, pw: i32): i32 {
  const OH = outSize(H, KH, sh, ph), OW = outSize(W, KW, sw, pw);
  const CKK = C * KH * KW;
  const packed = max(packedAFloats(O, CKK), packedAFloats(CKK, O));
  return GEMM_WORK_FLOATS + align16(CKK * OH * OW) + nNet * align16(packed) + 64;
}

// The zoo conv kernels do the part of a call one thread owns: input images [u0, u1) (forward,
// backward to the input), or networks [b0, b1) and weight columns [r0, r1) (backward to the
// weights). Every output element is computed by one thread in the order a whole call uses, so
// the results do not depend on how a call is split.

// y[b,k] = conv(x, w[b]) (+ bias[b] when bias != 0), then ReLU when relu: the bias and the
// activation are applied to each image's output while it is still in cache.
export function conv2dForward(
  nNet: i32, nImg: i32, xShared: bool, C: i32, H: i32, W: i32, O: i32, KH: i32, KW: i32,
  sh: i32, sw: i32, ph: i32, pw: i32, x: usize, w: usize, bias: usize, relu: bool, y: usize, work: usize,
  u0: i32, u1: i32,
): void {
  if (u1 <= u0) return;
  const OH = outSize(H, KH, sh, ph), OW = outSize(W, KW, sw, pw);
  const P = OH * OW, CKK = C * KH * KW;
  const direct = isPointwise(KH, KW, sh, sw, ph, pw);
  const gw = work;
  const cols = gw + bytes(GEMM_WORK_FLOATS);
  const packs = cols + bytes(align16(CKK * P));
  const packStride = align16(packedAFloats(O, CKK));
  // only the filters of the networks these images feed
  for (let b = firstNet(u0, nImg, xShared); b < lastNet(u1 - 1, nNet, nImg, xShared); b++) {
    packA(false, w + bytes(b * O * CKK), CKK, O, CKK, packs + bytes(b * packStride));
  }
  const imgIn = C * H * W, imgOut = O * P;
  // Each input image once (im2col once); a shared image feeds every network.
  for (let u = u0; u < u1; u++) {
    let src = x + bytes(u * imgIn);
    if (!direct) { im2col(src, C, H, W, KH, KW, sh, sw, ph, pw, OH, OW, cols); src = cols; }
    const k = xShared ? u : u % nImg;
    const bLo = firstNet(u, nImg, xShared), bHi = lastNet(u, nNet, nImg, xShared);
    if (bHi - bLo > 1) {
      // A shared image is packed once for all networks (gemmPackedA would pack it per network).
      const budget = KC * NC + MC * KC;
      const ncMax = max(NR, (budget / CKK) & ~(NR - 1));
      const pb = gw, tile = gw + bytes(budget);
      for (let jc = 0; jc < P; jc += ncMax) {
        const nc = min(ncMax, P - jc);
        packB(false, src + bytes(jc), P, CKK, nc, pb);
        for (let b = bLo; b < bHi; b++) {
          macroKernel(O, nc, CKK, packs + bytes(b * packStride), pb, y + bytes((b * nImg + k) * imgOut + jc), P, 1, false, tile);
        }
      }
    } else {
      gemmPackedA(O, P, CKK, packs + bytes(bLo * packStride), false, src, P, 1, false, y + bytes((bLo * nImg + k) * imgOut), P, gw);
    }
    if (bias != 0 || relu) {
      for (let b = bLo; b < bHi; b++) biasRelu(y + bytes((b * nImg + k) * imgOut), bias == 0 ? 0 : bias + bytes(b * O), O, P, relu);
    }
  }
}

// Packed copies of op(A) in KC-deep slices, each [panels of MR rows][kc][MR], so that
// macroKernel can take any (rows, slice) block of it: the form a GEMM over K = nNet * O reads.
@inline function packedSlices(M: i32, K: i32): i32 { return ((M + MR - 1) / MR) * MR * K; }

// g[i] = y[i] > 0 ? g[i] : g[i] * 0 over n floats: ReLU's backward in place (leakyReluBackward's
// slope 0, a negative gradient's zero signed as it gives it).
function maskByPositive(g: usize, y: usize, n: i32): void {
  const zero = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = bytes(i);
    const gv = v128.load(g + o), yv = v128.load(y + o);
    v128.store(g + o, v128.bitselect(gv, f32x4.mul(gv, zero), f32x4.gt(yv, zero)));
  }
  for (; i < n; i++) {
    const o = bytes(i);
    const gv = load<f32>(g + o);
    store<f32>(g + o, load<f32>(y + o) > 0 ? gv : gv * 0);
  }
}

// dx (+)= d/dx. With a shared input the contributions of all networks are summed: one GEMM
// whose K runs over every network's output channels (W^T of all networks side by side, dy of
// all networks stacked), so the sum builds up in registers instead of in memory.
export function conv2dBackwardInput(
  nNet: i32, nImg: i32, xShared: bool, C: i32, H: i32, W: i32, O: i32, KH: i32, KW: i32,
  sh: i32, sw: i32, ph: i32, pw: i32, dy: usize, w: usize, dx: usize, acc: bool, work: usize,
  u0: i32, u1: i32, mask: usize,
): void {
  if (u1 <= u0) return;
  const OH = outSize(H, KH, sh, ph), OW = outSize(W, KW, sw, pw);
  const P = OH * OW, CKK = C * KH * KW;
  // A fused ReLU's backward: this part's images' dy masked in place by the layer's output.
  if (mask != 0) {
    for (let u = u0; u < u1; u++) {
      const k = xShared ? u : u % nImg;
      for (let b = firstNet(u, nImg, xShared); b < lastNet(u, nNet, nImg, xShared); b++) {
        const at = bytes((b * nImg + k) * O * P);
        maskByPositive(dy + at, mask + at, O * P);
      }
    }
  }
  const direct = isPointwise(KH, KW, sh, sw, ph, pw);
  const gw = work;
  const cols = gw + bytes(GEMM_WORK_FLOATS);
  const packs = cols + bytes(align16(CKK * P));
  const imgIn = C * H * W, imgOut = O * P;
  if (xShared && nNet > 1) {
    const K = nNet * O;
    // w viewed [nNet * O, CKK] is the stacked W^T: op(A) = (that)^T
    for (let pc = 0; pc < K; pc += KC) {
      packA(true, w + bytes(pc * CKK), CKK, CKK, min(KC, K - pc), packs + bytes(packedSlices(CKK, pc)));
    }
    const pb = gw, tile = gw + bytes(KC * NC);
    for (let u = u0; u < u1; u++) {
      const dxu = dx + bytes(u * imgIn);
      const dst = direct ? dxu : cols;
      for (let jc = 0; jc < P; jc += NC) {
        const nc = min(NC, P - jc);
        for (let pc = 0; pc < K; pc += KC) {
          const kc = min(KC, K - pc);
          packBBlocked(dy + bytes(u * imgOut + jc), P, O, nImg * imgOut, pc, kc, nc, pb);
          const slice = packs + bytes(packedSlices(CKK, pc));
          for (let ic = 0; ic < CKK; ic += MC) {
            macroKernel(min(MC, CKK - ic), nc, kc, slice + bytes(ic * kc), pb, dst + bytes(ic * P + jc), P, 1, pc > 0 || (direct && acc), tile);
          }
        }
      }
      if (!direct) {
        if (!acc) memory.fill(dxu, 0, bytes(imgIn));
        col2im(cols, C, H, W, KH, KW, sh, sw, ph, pw, OH, OW, dxu);
      }
    }
    return;
  }
  const packStride = align16(packedAFloats(CKK, O));
  for (let b = firstNet(u0, nImg, xShared); b < lastNet(u1 - 1, nNet, nImg, xShared); b++) {
    packA(true, w + bytes(b * O * CKK), CKK, CKK, O, packs + bytes(b * packStride));
  }
  const clear = !acc && !direct;
  for (let u = u0; u < u1; u++) {
    const dxu = dx + bytes(u * imgIn);
    if (clear) memory.fill(dxu, 0, bytes(imgIn));
    const dst = direct ? dxu : cols;
    const k = xShared ? u : u % nImg;
    const b0 = firstNet(u, nImg, xShared);
    for (let b = b0; b < lastNet(u, nNet, nImg, xShared); b++) {
      const accumulate = b > b0 || (direct && acc);
      gemmPackedA(CKK, P, O, packs + bytes(b * packStride), false, dy + bytes((b * nImg + k) * imgOut), P, 1, accumulate, dst, P, gw);
    }
    if (!direct) col2im(cols, C, H, W, KH, KW, sh, sw, ph, pw, OH, OW, dxu);
  }
}

// dw[b] (+)= sum over images of dy[b,k] * im2col(x[b,k])^T, for networks [b0, b1) and the
// columns [r0, r1) of each dw[b] (rows of im2col).
export function conv2dBackwardWeight(
  nNet: i32, nImg: i32, xShared: bool, C: i32, H: i32, W: i32, O: i32, KH: i32, KW: i32,
  sh: i32, sw: i32, ph: i32, pw: i32, x: usize, dy: usize, dw: usize, acc: bool, work: usize,
  b0: i32, b1: i32, r0: i32, r1: i32,
): void {
  if (b1 <= b0 || r1 <= r0) return;
  const OH = outSize(H, KH, sh, ph), OW = outSize(W, KW, sw, pw);
  const P = OH * OW, CKK = C * KH * KW;
  const direct = isPointwise(KH, KW, sh, sw, ph, pw);
  const gw = work;
  const cols = gw + bytes(GEMM_WORK_FLOATS);
  const imgIn = C * H * W, imgOut = O * P;
  const uLo = xShared ? 0 : b0 * nImg, uHi = xShared ? nImg : b1 * nImg;
  for (let u = uLo; u < uHi; u++) {
    let src = x + bytes(u * imgIn + r0 * P);
    if (!direct) { im2colRows(x + bytes(u * imgIn), C, H, W, KH, KW, sh, sw, ph, pw, OH, OW, cols, P, r0, r1); src = cols; }
    const k = xShared ? u : u % nImg;
    const beta: f32 = acc || k > 0 ? 1 : 0;
    for (let b = max(b0, firstNet(u, nImg, xShared)); b < min(b1, lastNet(u, nNet, nImg, xShared)); b++) {
      gemm(false, true, O, r1 - r0, P, 1, dy + bytes((b * nImg + k) * imgOut), P, src, P, beta, dw + bytes(b * O * CKK + r0), CKK, gw);
    }
  }
}

// Transposed convolution (one weight [Cin, Cout, KH, KW] as PyTorch's ConvTranspose2d) over
// n images x [n, Cin, H, W] -> y [n, Cout, OH, OW], OH = (H-1)*sh - 2*ph + KH + oph.
// It is the adjoint of a conv2d from [Cout, OH, OW] to [Cin, H, W]. Images are laid side by
// side in the GEMM's N dimension (chunks of up to CONVT_CHUNK_FLOATS of columns), so each chunk
// is one large GEMM instead of many thin ones.
const CONVT_CHUNK_FLOATS: i32 = 1 << 18;

@inline function convTChunk(n: i32, Cin: i32, HW: i32, CKK: i32): i32 {
  const perImage = (CKK + Cin) * HW;
  return max(1, min(n, CONVT_CHUNK_FLOATS / perImage));
}

export function convTranspose2dWorkFloats(n: i32, Cin: i32, H: i32, W: i32, Cout: i32, KH: i32, KW: i32): i32 {
  const CKK = Cout * KH * KW, HW = H * W;
  const chunk = convTChunk(n, Cin, HW, CKK);
  return GEMM_WORK_FLOATS + align16(CKK * HW * chunk) + align16(Cin * HW * chunk) + 64;
}

// A 1x1 input with no padding whose output is exactly one kernel footprint makes col2im the
// identity, and the whole layer one GEMM over all images.
@inline function isFootprint(H: i32, W: i32, KH: i32, KW: i32, ph: i32, pw: i32, OH: i32, OW: i32): bool {
  return H == 1 && W == 1 && ph == 0 && pw == 0 && OH == KH && OW == KW;
}

// [nc, C, HW] -> [C, nc * HW] (toCat) or back, adding into dst when acc.
function transposeImages(src: usize, dst: usize, nc: i32, C: i32, HW: i32, toCat: bool, acc: bool): void {
  const row = bytes(HW);
  for (let i = 0; i < nc; i++) {
    for (let c = 0; c < C; c++) {
      const a = src + bytes((i * C + c) * HW), b = dst + bytes((c * nc + i) * HW);
      if (toCat) { memory.copy(b, a, row); continue; }
      if (!acc) { memory.copy(a, b, row); continue; }
      let j = 0;
      for (; j + 4 <= HW; j += 4) {
        const o = bytes(j);
        v128.store(a + o, f32x4.add(v128.load(a + o), v128.load(b + o)));
      }
      for (; j < HW; j++) {
        const o = bytes(j);
        store<f32>(a + o, load<f32>(a + o) + load<f32>(b + o));
      }
    }
  }
}

// Images [i0, i1) of the batch; chunks as a whole call would cut them.
export function convTranspose2dForward(
  n: i32, Cin: i32, H: i32, W: i32, Cout: i32, KH: i32, KW: i32, sh: i32, sw: i32, ph: i32, pw: i32,
  OH: i32, OW: i32, x: usize, w: usize, y: usize, work: usize, i0: i32, i1: i32,
): void {
  if (i1 <= i0) return;
  const CKK = Cout * KH * KW, HW = H * W;
  if (isFootprint(H, W, KH, KW, ph, pw, OH, OW)) {
    gemm(false, false, i1 - i0, CKK, Cin, 1, x + bytes(i0 * Cin), Cin, w, CKK, 0, y + bytes(i0 * CKK), CKK, work);
    return;
  }
  const chunk = convTChunk(n, Cin, HW, CKK);
  const gw = work;
  const cols = gw + bytes(GEMM_WORK_FLOATS);
  const xcat = cols + bytes(align16(CKK * HW * chunk));
  const imgOut = Cout * OH * OW;
  memory.fill(y + bytes(i0 * imgOut), 0, bytes((i1 - i0) * imgOut));
  for (let n0 = i0; n0 < i1; n0 += chunk) {
    const nc = min(chunk, i1 - n0), NN = nc * HW;
    transposeImages(x + bytes(n0 * Cin * HW), xcat, nc, Cin, HW, true, false);
    gemm(true, false, CKK, NN, Cin, 1, w, CKK, xcat, NN, 0, cols, NN, gw);
    // the conv2d whose adjoint this is maps [Cout, OH, OW] to [Cin, H, W]
    for (let i = 0; i < nc; i++) {
      col2imLd(cols + bytes(i * HW), NN, Cout, OH, OW, KH, KW, sh, sw, ph, pw, H, W, y + bytes((n0 + i) * imgOut));
    }
  }
}

// dx (+)= conv2d(dy, w) for images [i0, i1); dw (+)= sum_i x_i * im2col(dy_i)^T for the rows
// [c0, c1) and columns [r0, r1) of dw, over every image in a whole call's chunks (so the sum's
// order does not depend on the split). Either output may be 0 (skipped).
export function convTranspose2dBackward(
  n: i32, Cin: i32, H: i32, W: i32, Cout: i32, KH: i32, KW: i32, sh: i32, sw: i32, ph: i32, pw: i32,
  OH: i32, OW: i32, x: usize, w: usize, dy: usize, dx: usize, accX: bool, dw: usize, accW: bool, work: usize,
  i0: i32, i1: i32, r0: i32, r1: i32, c0: i32, c1: i32,
): void {
  const CKK = Cout * KH * KW, HW = H * W;
  const doX = dx != 0 && i1 > i0, doW = dw != 0 && r1 > r0 && c1 > c0;
  if (isFootprint(H, W, KH, KW, ph, pw, OH, OW)) {
    if (doX) gemm(false, true, i1 - i0, Cin, CKK, 1, dy + bytes(i0 * CKK), CKK, w, CKK, accX ? 1 : 0, dx + bytes(i0 * Cin), Cin, work);
    if (doW) gemm(true, false, c1 - c0, r1 - r0, n, 1, x + bytes(c0), Cin, dy + bytes(r0), CKK, accW ? 1 : 0, dw + bytes(c0 * CKK + r0), CKK, work);
    return;
  }
  const chunk = convTChunk(n, Cin, HW, CKK);
  const gw = work;
  const cols = gw + bytes(GEMM_WORK_FLOATS);
  const xcat = cols + bytes(align16(CKK * HW * chunk));
  const imgOut = Cout * OH * OW;
  const whole = doX && doW && i0 == 0 && i1 == n && r0 == 0 && r1 == CKK && c0 == 0 && c1 == Cin;
  if (doW) {
    for (let n0 = 0; n0 < n; n0 += chunk) {
      const nc = min(chunk, n - n0), NN = nc * HW;
      for (let i = 0; i < nc; i++) {
        im2colRows(dy + bytes((n0 + i) * imgOut), Cout, OH, OW, KH, KW, sh, sw, ph, pw, H, W, cols + bytes(i * HW), NN, r0, r1);
      }
      // channels [c0, c1) of the chunk's images side by side
      for (let i = 0; i < nc; i++) {
        for (let c = c0; c < c1; c++) memory.copy(xcat + bytes((c - c0) * NN + i * HW), x + bytes(((n0 + i) * Cin + c) * HW), bytes(HW));
      }
      gemm(false, true, c1 - c0, r1 - r0, NN, 1, xcat, NN, cols, NN, accW || n0 > 0 ? 1 : 0, dw + bytes(c0 * CKK + r0), CKK, gw);
      if (whole) {
        // one thread does all: the columns just unfolded serve dx too
        gemm(false, false, Cin, NN, CKK, 1, w, CKK, cols, NN, 0, xcat, NN, gw);
        transposeImages(dx + bytes(n0 * Cin * HW), xcat, nc, Cin, HW, false, accX);
      }
    }
  }
  if (doX && !whole) {
    for (let n0 = i0; n0 < i1; n0 += chunk) {
      const nc = min(chunk, i1 - n0), NN = nc * HW;
      for (let i = 0; i < nc; i++) {
        im2colLd(dy + bytes((n0 + i) * imgOut), Cout, OH, OW, KH, KW, sh, sw, ph, pw, H, W, cols + bytes(i * HW), NN);
      }
      gemm(false, false, Cin, NN, CKK, 1, w, CKK, cols, NN, 0, xcat, NN, gw);
      transposeImages(dx + bytes(n0 * Cin * HW), xcat, nc, Cin, HW, false, accX);
    }
  }
}
