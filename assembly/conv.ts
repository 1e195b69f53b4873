// Convolutions in NCHW as im2col/col2im around GEMM.
// Zoo-batched conv2d: nNet networks, each with its own filters w[b] = [O, C, KH, KW], applied
// to nImg images per network (x [nNet, nImg, C, H, W]) or to nImg images shared by all
// networks (x [nImg, C, H, W]). Output y [nNet, nImg, O, OH, OW].
import { gemm, packA, gemmPackedA, packedAFloats, GEMM_WORK_FLOATS } from "./gemm";

@inline function outSize(n: i32, k: i32, s: i32, p: i32): i32 { return (n + 2 * p - k) / s + 1; }
@inline function bytes(n: i32): usize { return (<usize>n) << 2; }
@inline function align16(n: i32): i32 { return (n + 15) & ~15; }

// cols[(c*KH + i)*KW + j, oh*OW + ow] = x[c, oh*sh - ph + i, ow*sw - pw + j] (0 outside)
export function im2col(
  x: usize, C: i32, H: i32, W: i32, KH: i32, KW: i32, sh: i32, sw: i32, ph: i32, pw: i32,
  OH: i32, OW: i32, cols: usize,
): void {
  const P = OH * OW;
  for (let c = 0; c < C; c++) {
    const xc = x + bytes(c * H * W);
    for (let i = 0; i < KH; i++) {
      for (let j = 0; j < KW; j++) {
        let dst = cols + bytes(((c * KH + i) * KW + j) * P);
        // ow range whose input column lies inside [0, W)
        let owLo = 0;
        if (pw - j > 0) owLo = (pw - j + sw - 1) / sw;
        let owHi = OW;
        const lim = W - 1 + pw - j; // ow*sw <= lim
        if (lim < 0) owHi = 0; else owHi = min(OW, lim / sw + 1);
        if (owLo > owHi) owLo = owHi;
        for (let oh = 0; oh < OH; oh++) {
          const ih = oh * sh - ph + i;
          if (ih < 0 || ih >= H) {
            memory.fill(dst, 0, bytes(OW));
          } else {
            if (owLo > 0) memory.fill(dst, 0, bytes(owLo));
            const row = xc + bytes(ih * W);
            if (sw == 1) {
              memory.copy(dst + bytes(owLo), row + bytes(owLo - pw + j), bytes(owHi - owLo));
            } else {
              let src = row + bytes(owLo * sw - pw + j);
              const step = bytes(sw);
              for (let ow = owLo; ow < owHi; ow++) {
                store<f32>(dst + bytes(ow), load<f32>(src));
                src += step;
              }
            }
            if (owHi < OW) memory.fill(dst + bytes(owHi), 0, bytes(OW - owHi));
          }
          dst += bytes(OW);
        }
      }
    }
  }
}

// x[c, ih, iw] += cols[...]: the adjoint of im2col (x is accumulated into, not cleared).
export function col2im(
  cols: usize, C: i32, H: i32, W: i32, KH: i32, KW: i32, sh: i32, sw: i32, ph: i32, pw: i32,
  OH: i32, OW: i32, x: usize,
): void {
  const P = OH * OW;
  for (let c = 0; c < C; c++) {
    const xc = x + bytes(c * H * W);
    for (let i = 0; i < KH; i++) {
      for (let j = 0; j < KW; j++) {
        let src = cols + bytes(((c * KH + i) * KW + j) * P);
        let owLo = 0;
        if (pw - j > 0) owLo = (pw - j + sw - 1) / sw;
        let owHi = OW;
        const lim = W - 1 + pw - j;
        if (lim < 0) owHi = 0; else owHi = min(OW, lim / sw + 1);
        if (owLo > owHi) owLo = owHi;
        for (let oh = 0; oh < OH; oh++) {
          const ih = oh * sh - ph + i;
          if (ih >= 0 && ih < H) {
            const row = xc + bytes(ih * W);
            if (sw == 1) {
              let ow = owLo;
              const d = row + bytes(owLo - pw + j);
              const s = src + bytes(owLo);
              for (; ow + 4 <= owHi; ow += 4) {
                const o = bytes(ow - owLo);
                v128.store(d + o, f32x4.add(v128.load(d + o), v128.load(s + o)));
              }
              for (; ow < owHi; ow++) {
                const o = bytes(ow - owLo);
                store<f32>(d + o, load<f32>(d + o) + load<f32>(s + o));
              }
            } else {
              let dp = row + bytes(owLo * sw - pw + j);
              const step = bytes(sw);
              for (let ow = owLo; ow < owHi; ow++) {
                store<f32>(dp, load<f32>(dp) + load<f32>(src + bytes(ow)));
                dp += step;
              }
            }
          }
          src += bytes(OW);
        }
      }
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

export function conv2dForward(
  nNet: i32, nImg: i32, xShared: bool, C: i32, H: i32, W: i32, O: i32, KH: i32, KW: i32,
  sh: i32, sw: i32, ph: i32, pw: i32, x: usize, w: usize, y: usize, work: usize,
): void {
  const OH = outSize(H, KH, sh, ph), OW = outSize(W, KW, sw, pw);
  const P = OH * OW, CKK = C * KH * KW;
  const direct = isPointwise(KH, KW, sh, sw, ph, pw);
  const gw = work;
  const cols = gw + bytes(GEMM_WORK_FLOATS);
  const packs = cols + bytes(align16(CKK * P));
  const packStride = align16(packedAFloats(O, CKK));
  for (let b = 0; b < nNet; b++) packA(false, w + bytes(b * O * CKK), CKK, O, CKK, packs + bytes(b * packStride));
  const imgIn = C * H * W, imgOut = O * P;
  if (xShared) {
    for (let k = 0; k < nImg; k++) {
      let src = x + bytes(k * imgIn);
      if (!direct) { im2col(src, C, H, W, KH, KW, sh, sw, ph, pw, OH, OW, cols); src = cols; }
      for (let b = 0; b < nNet; b++) {
        gemmPackedA(O, P, CKK, packs + bytes(b * packStride), false, src, P, 1, false, y + bytes((b * nImg + k) * imgOut), P, gw);
      }
    }
  } else {
    for (let b = 0; b < nNet; b++) {
      for (let k = 0; k < nImg; k++) {
        let src = x + bytes((b * nImg + k) * imgIn);
        if (!direct) { im2col(src, C, H, W, KH, KW, sh, sw, ph, pw, OH, OW, cols); src = cols; }
        gemmPackedA(O, P, CKK, packs + bytes(b * packStride), false, src, P, 1, false, y + bytes((b * nImg + k) * imgOut), P, gw);
      }
    }
  }
}

// dx (+)= d/dx. With a shared input the contributions of all networks are summed.
export function conv2dBackwardInput(
  nNet: i32, nImg: i32, xShared: bool, C: i32, H: i32, W: i32, O: i32, KH: i32, KW: i32,
  sh: i32, sw: i32, ph: i32, pw: i32, dy: usize, w: usize, dx: usize, acc: bool, work: usize,
): void {
  const OH = outSize(H, KH, sh, ph), OW = outSize(W, KW, sw, pw);
  const P = OH * OW, CKK = C * KH * KW;
  const direct = isPointwise(KH, KW, sh, sw, ph, pw);
  const gw = work;
  const cols = gw + bytes(GEMM_WORK_FLOATS);
  const packs = cols + bytes(align16(CKK * P));
  const packStride = align16(packedAFloats(CKK, O));
  for (let b = 0; b < nNet; b++) packA(true, w + bytes(b * O * CKK), CKK, CKK, O, packs + bytes(b * packStride));
  const imgIn = C * H * W, imgOut = O * P;
  const nX = xShared ? nImg : nNet * nImg;
  if (!acc && !direct) memory.fill(dx, 0, bytes(nX * imgIn));
  if (xShared) {
    for (let k = 0; k < nImg; k++) {
      const dxk = dx + bytes(k * imgIn);
      const dst = direct ? dxk : cols;
      for (let b = 0; b < nNet; b++) {
        const accumulate = b > 0 || (direct && acc);
        gemmPackedA(CKK, P, O, packs + bytes(b * packStride), false, dy + bytes((b * nImg + k) * imgOut), P, 1, accumulate, dst, P, gw);
      }
      if (!direct) col2im(cols, C, H, W, KH, KW, sh, sw, ph, pw, OH, OW, dxk);
    }
  } else {
    for (let b = 0; b < nNet; b++) {
      for (let k = 0; k < nImg; k++) {
        const dxk = dx + bytes((b * nImg + k) * imgIn);
        gemmPackedA(CKK, P, O, packs + bytes(b * packStride), false, dy + bytes((b * nImg + k) * imgOut), P, 1, direct && acc, direct ? dxk : cols, P, gw);
        if (!direct) col2im(cols, C, H, W, KH, KW, sh, sw, ph, pw, OH, OW, dxk);
      }
    }
  }
}

// dw[b] (+)= sum over images of dy[b,k] * im2col(x[b,k])^T.
export function conv2dBackwardWeight(
  nNet: i32, nImg: i32, xShared: bool, C: i32, H: i32, W: i32, O: i32, KH: i32, KW: i32,
  sh: i32, sw: i32, ph: i32, pw: i32, x: usize, dy: usize, dw: usize, acc: bool, work: usize,
): void {
  const OH = outSize(H, KH, sh, ph), OW = outSize(W, KW, sw, pw);
  const P = OH * OW, CKK = C * KH * KW;
  const direct = isPointwise(KH, KW, sh, sw, ph, pw);
  const gw = work;
  const cols = gw + bytes(GEMM_WORK_FLOATS);
  const imgIn = C * H * W, imgOut = O * P;
  if (xShared) {
    for (let k = 0; k < nImg; k++) {
      let src = x + bytes(k * imgIn);
      if (!direct) { im2col(src, C, H, W, KH, KW, sh, sw, ph, pw, OH, OW, cols); src = cols; }
      const beta: f32 = acc || k > 0 ? 1 : 0;
      for (let b = 0; b < nNet; b++) {
        gemm(false, true, O, CKK, P, 1, dy + bytes((b * nImg + k) * imgOut), P, src, P, beta, dw + bytes(b * O * CKK), CKK, gw);
      }
    }
  } else {
    for (let b = 0; b < nNet; b++) {
      for (let k = 0; k < nImg; k++) {
        let src = x + bytes((b * nImg + k) * imgIn);
        if (!direct) { im2col(src, C, H, W, KH, KW, sh, sw, ph, pw, OH, OW, cols); src = cols; }
        const beta: f32 = acc || k > 0 ? 1 : 0;
        gemm(false, true, O, CKK, P, 1, dy + bytes((b * nImg + k) * imgOut), P, src, P, beta, dw + bytes(b * O * CKK), CKK, gw);
      }
    }
  }
}

// Transposed convolution (one weight [Cin, Cout, KH, KW] as PyTorch's ConvTranspose2d) over
// n images x [n, Cin, H, W] -> y [n, Cout, OH, OW], OH = (H-1)*sh - 2*ph + KH + oph.
// It is the adjoint of a conv2d from [Cout, OH, OW] to [Cin, H, W].
export function convTranspose2dWorkFloats(Cin: i32, H: i32, W: i32, Cout: i32, KH: i32, KW: i32): i32 {
  const CKK = Cout * KH * KW;
  return GEMM_WORK_FLOATS + align16(CKK * H * W) + align16(max(packedAFloats(CKK, Cin), packedAFloats(Cin, CKK))) + 64;
}

// A 1x1 input with no padding whose output is exactly one kernel footprint makes col2im the
// identity, and the whole layer one GEMM over all images.
@inline function isFootprint(H: i32, W: i32, KH: i32, KW: i32, ph: i32, pw: i32, OH: i32, OW: i32): bool {
  return H == 1 && W == 1 && ph == 0 && pw == 0 && OH == KH && OW == KW;
}

export function convTranspose2dForward(
  n: i32, Cin: i32, H: i32, W: i32, Cout: i32, KH: i32, KW: i32, sh: i32, sw: i32, ph: i32, pw: i32,
  OH: i32, OW: i32, x: usize, w: usize, y: usize, work: usize,
): void {
  const CKK = Cout * KH * KW, HW = H * W;
  if (isFootprint(H, W, KH, KW, ph, pw, OH, OW)) {
    gemm(false, false, n, CKK, Cin, 1, x, Cin, w, CKK, 0, y, CKK, work);
    return;
  }
  const gw = work;
  const cols = gw + bytes(GEMM_WORK_FLOATS);
  const pa = cols + bytes(align16(CKK * HW));
  packA(true, w, CKK, CKK, Cin, pa);
  const imgOut = Cout * OH * OW;
  memory.fill(y, 0, bytes(n * imgOut));
  for (let i = 0; i < n; i++) {
    gemmPackedA(CKK, HW, Cin, pa, false, x + bytes(i * Cin * HW), HW, 1, false, cols, HW, gw);
    // the conv2d whose adjoint this is maps [Cout, OH, OW] to [Cin, H, W]
    col2im(cols, Cout, OH, OW, KH, KW, sh, sw, ph, pw, H, W, y + bytes(i * imgOut));
  }
}

// dx (+)= conv2d(dy, w); dw (+)= sum_i x_i * im2col(dy_i)^T. Either output may be 0 (skipped).
export function convTranspose2dBackward(
  n: i32, Cin: i32, H: i32, W: i32, Cout: i32, KH: i32, KW: i32, sh: i32, sw: i32, ph: i32, pw: i32,
  OH: i32, OW: i32, x: usize, w: usize, dy: usize, dx: usize, accX: bool, dw: usize, accW: bool, work: usize,
): void {
  const CKK = Cout * KH * KW, HW = H * W;
  if (isFootprint(H, W, KH, KW, ph, pw, OH, OW)) {
    if (dx != 0) gemm(false, true, n, Cin, CKK, 1, dy, CKK, w, CKK, accX ? 1 : 0, dx, Cin, work);
    if (dw != 0) gemm(true, false, Cin, CKK, n, 1, x, Cin, dy, CKK, accW ? 1 : 0, dw, CKK, work);
    return;
  }
  const gw = work;
  const cols = gw + bytes(GEMM_WORK_FLOATS);
  const pa = cols + bytes(align16(CKK * HW));
  if (dx != 0) packA(false, w, CKK, Cin, CKK, pa);
  const imgOut = Cout * OH * OW;
  for (let i = 0; i < n; i++) {
    im2col(dy + bytes(i * imgOut), Cout, OH, OW, KH, KW, sh, sw, ph, pw, H, W, cols);
    if (dx != 0) gemmPackedA(Cin, HW, CKK, pa, false, cols, HW, 1, accX, dx + bytes(i * Cin * HW), HW, gw);
    if (dw != 0) gemm(false, true, Cin, CKK, HW, 1, x + bytes(i * Cin * HW), HW, cols, HW, accW || i > 0 ? 1 : 0, dw, CKK, gw);
  }
}
