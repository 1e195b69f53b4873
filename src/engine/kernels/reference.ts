// Plain TypeScript kernels: straightforward loops, accumulated in double precision. They
// define what every kernel means; tests hold the WASM kernels to them.
import type { ConvGeometry, ConvTransposeShape, F32, Kernels } from "./kernels.js";

export function erf(x: number): number {
  // Series for |x| < 3, continued fraction for erfc beyond: both to ~1e-14.
  const a = Math.abs(x);
  let r: number;
  if (a < 3) {
    let term = a, s = a;
    for (let n = 1; n < 100; n++) {
      term *= (-a * a) / n;
      const t = term / (2 * n + 1);
      s += t;
      if (Math.abs(t) < 1e-17 * Math.abs(s)) break;
    }
    r = (2 / Math.sqrt(Math.PI)) * s;
  } else {
    let f = 0;
    for (let n = 60; n >= 1; n--) f = (n / 2) / (a + f);
    r = 1 - Math.exp(-a * a) / Math.sqrt(Math.PI) / (a + f);
  }
  return x < 0 ? -r : r;
}

const gelu = (x: number) => 0.5 * x * (1 + erf(x / Math.SQRT2));
const geluGrad = (x: number) => 0.5 * (1 + erf(x / Math.SQRT2)) + (x * Math.exp(-0.5 * x * x)) / Math.sqrt(2 * Math.PI);
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

function unary(x: F32, y: F32, f: (v: number) => number): void {
  for (let i = 0; i < y.length; i++) y[i] = f(x[i]);
}

function backward(a: F32, dy: F32, dx: F32, acc: boolean, f: (v: number, g: number) => number): void {
  for (let i = 0; i < dx.length; i++) {
    const v = f(a[i], dy[i]);
    dx[i] = acc ? dx[i] + v : v;
  }
}

function gemmInto(tA: boolean, tB: boolean, M: number, N: number, K: number, alpha: number,
  A: F32, aOff: number, lda: number, B: F32, bOff: number, ldb: number,
  beta: number, C: F32, cOff: number, ldc: number): void {
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let p = 0; p < K; p++) {
        const a = tA ? A[aOff + p * lda + i] : A[aOff + i * lda + p];
        const b = tB ? B[bOff + j * ldb + p] : B[bOff + p * ldb + j];
        s += a * b;
      }
      const c = cOff + i * ldc + j;
      C[c] = alpha * s + (beta === 0 ? 0 : beta * C[c]);
    }
  }
}

// Index into a [C, H, W] image of the input pixel under tap (i, j) of output (oh, ow), or -1.
function convAt(g: ConvGeometry, c: number, oh: number, ow: number, i: number, j: number): number {
  const ih = oh * g.strideH - g.padH + i;
  const iw = ow * g.strideW - g.padW + j;
  if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W) return -1;
  return (c * g.H + ih) * g.W + iw;
}

// y[o, oh, ow] = sum over c, i, j of w[o, c, i, j] x[c, ih, iw]; visit calls back each term.
function convTerms(g: ConvGeometry, visit: (xIdx: number, wIdx: number, yIdx: number) => void): void {
  for (let o = 0; o < g.O; o++)
    for (let oh = 0; oh < g.OH; oh++)
      for (let ow = 0; ow < g.OW; ow++)
        for (let c = 0; c < g.C; c++)
          for (let i = 0; i < g.KH; i++)
            for (let j = 0; j < g.KW; j++) {
              const xi = convAt(g, c, oh, ow, i, j);
              if (xi < 0) continue;
              visit(xi, ((o * g.C + c) * g.KH + i) * g.KW + j, (o * g.OH + oh) * g.OW + ow);
            }
}

// The conv2d that a transposed convolution is the adjoint of.
function adjointGeometry(s: ConvTransposeShape): ConvGeometry {
  return {
    C: s.Cout, H: s.OH, W: s.OW, O: s.Cin, OH: s.H, OW: s.W,
    KH: s.KH, KW: s.KW, strideH: s.strideH, strideW: s.strideW, padH: s.padH, padW: s.padW,
  };
}

export function createReferenceKernels(): Kernels {
  const termCache = new Map<string, Int32Array>();
  // (x, w, y) index triples of a conv geometry, computed once per geometry.
  const terms = (g: ConvGeometry): Int32Array => {
    const key = JSON.stringify(g);
    let t = termCache.get(key);
    if (t === undefined) {
      const list: number[] = [];
      convTerms(g, (xi, wi, yi) => list.push(xi, wi, yi));
      t = Int32Array.from(list);
      termCache.set(key, t);
    }
    return t;
  };

  return {
    name: "reference",
    gemm(tA, tB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc) {
      gemmInto(tA, tB, M, N, K, alpha, A, 0, lda, B, 0, ldb, beta, C, 0, ldc);
    },
    gemmBatched(batch, tA, tB, M, N, K, alpha, A, lda, sA, B, ldb, sB, beta, C, ldc, sC) {
      for (let i = 0; i < batch; i++) {
        const be = sC === 0 && i > 0 ? 1 : beta;
        gemmInto(tA, tB, M, N, K, alpha, A, i * sA, lda, B, i * sB, ldb, be, C, i * sC, ldc);
      }
    },
    fill: (y, v) => void y.fill(v),
    axpby(x, y, a, b) { for (let i = 0; i < y.length; i++) y[i] = a * x[i] + (b === 0 ? 0 : b * y[i]); },
    add(a, b, y) { for (let i = 0; i < y.length; i++) y[i] = a[i] + b[i]; },
    sub(a, b, y) { for (let i = 0; i < y.length; i++) y[i] = a[i] - b[i]; },
    mul(a, b, y, acc) { for (let i = 0; i < y.length; i++) y[i] = (acc ? y[i] : 0) + a[i] * b[i]; },
    addScalar(x, y, c) { for (let i = 0; i < y.length; i++) y[i] = x[i] + c; },
    sum(x) { let s = 0; for (let i = 0; i < x.length; i++) s += x[i]; return s; },
    dot(x, y) { let s = 0; for (let i = 0; i < x.length; i++) s += x[i] * y[i]; return s; },
    sinForward: (x, y, w) => unary(x, y, (v) => Math.sin(w * v)),
    sinBackward: (x, dy, dx, w, acc) => backward(x, dy, dx, acc, (v, g) => g * w * Math.cos(w * v)),
    gatherRows(src, per, rows, dst) {
      for (let i = 0; i < rows.length; i++) dst.set(src.subarray(rows[i] * per, (rows[i] + 1) * per), i * per);
    },
    dropoutMask(state, mode, keep, mask, per) {
      const rotl = (x: number, k: number) => (x << k) | (x >>> (32 - k));
      for (let b = 0; b < keep.length; b++) {
        const kind = mode[2 * b], threshold = mode[2 * b + 1] >>> 0, m = mask.subarray(b * per, (b + 1) * per);
        if (kind === 0) { m.fill(1); continue; }
        let [s0, s1, s2, s3] = state.subarray(4 * b, 4 * b + 4);
        for (let i = 0; i < per; i++) {
          const r = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
          const t = s1 << 9;
          s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t; s3 = rotl(s3, 11);
          m[i] = kind === 2 || r < threshold ? 0 : keep[b];
        }
        state.set([s0, s1, s2, s3], 4 * b);
      }
    },
    biasSinForward(z, bias, y, dydz, n0, n1, n2, w) {
      for (let a = 0; a < n0; a++) for (let r = 0; r < n1; r++) for (let c = 0; c < n2; c++) {
        const i = (a * n1 + r) * n2 + c;
        const arg = w * (z[i] + bias[a * n2 + c]);
        y[i] = Math.sin(arg);
        if (dydz !== null) dydz[i] = w * Math.cos(arg);
      }
    },
    cosForward: (x, y, w) => unary(x, y, (v) => Math.cos(w * v)),
    cosBackward: (x, dy, dx, w, acc) => backward(x, dy, dx, acc, (v, g) => -g * w * Math.sin(w * v)),
    expForward: (x, y) => unary(x, y, Math.exp),
    tanhForward: (x, y) => unary(x, y, Math.tanh),
    tanhBackward: (y, dy, dx, acc) => backward(y, dy, dx, acc, (v, g) => g * (1 - v * v)),
    sigmoidForward: (x, y) => unary(x, y, sigmoid),
    sigmoidBackward: (y, dy, dx, acc) => backward(y, dy, dx, acc, (v, g) => g * v * (1 - v)),
    leakyReluForward: (x, y, s) => unary(x, y, (v) => (v > 0 ? v : s * v)),
    leakyReluBackward: (x, dy, dx, s, acc) => backward(x, dy, dx, acc, (v, g) => (v > 0 ? g : s * g)),
    geluForward: (x, y) => unary(x, y, gelu),
    geluBackward: (x, dy, dx, acc) => backward(x, dy, dx, acc, (v, g) => g * geluGrad(v)),
    addChannel(x, bias, y, n0, n1, n2, n3) {
      for (let a = 0; a < n0; a++) for (let b = 0; b < n1; b++) for (let c = 0; c < n2; c++) for (let d = 0; d < n3; d++) {
        const i = ((a * n1 + b) * n2 + c) * n3 + d;
        y[i] = x[i] + bias[a * n2 + c];
      }
    },
    sumChannel(x, out, n0, n1, n2, n3, acc) {
      for (let a = 0; a < n0; a++) for (let c = 0; c < n2; c++) {
        let s = 0;
        for (let b = 0; b < n1; b++) for (let d = 0; d < n3; d++) s += x[((a * n1 + b) * n2 + c) * n3 + d];
        out[a * n2 + c] = (acc ? out[a * n2 + c] : 0) + s;
      }
    },
    meanLast(x, y, m, p) {
      for (let i = 0; i < m; i++) { let s = 0; for (let j = 0; j < p; j++) s += x[i * p + j]; y[i] = s / p; }
    },
    maxPool2dForward(x, y, argmax, planes, H, W, K, stride, pad, OH, OW) {
      for (let n = 0; n < planes; n++) {
        for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
          const h0 = Math.max(oh * stride - pad, 0), h1 = Math.min(oh * stride - pad + K, H);
          const w0 = Math.max(ow * stride - pad, 0), w1 = Math.min(ow * stride - pad + K, W);
          let best = -Infinity, at = h0 * W + w0;
          for (let ih = h0; ih < h1; ih++) for (let iw = w0; iw < w1; iw++) {
            const v = x[n * H * W + ih * W + iw];
            if (v > best || Number.isNaN(v)) { best = v; at = ih * W + iw; }
          }
          y[(n * OH + oh) * OW + ow] = best;
          argmax[(n * OH + oh) * OW + ow] = at;
        }
      }
    },
    maxPool2dBackward(dy, argmax, dx, planes, H, W, OH, OW, acc) {
      if (!acc) dx.fill(0, 0, planes * H * W);
      for (let n = 0; n < planes; n++) for (let q = 0; q < OH * OW; q++) dx[n * H * W + argmax[n * OH * OW + q]] += dy[n * OH * OW + q];
    },
    meanLastBackward(dy, dx, m, p, acc) {
      for (let i = 0; i < m; i++) for (let j = 0; j < p; j++) dx[i * p + j] = (acc ? dx[i * p + j] : 0) + dy[i] / p;
    },
    planeMoments(x, y, m, p, eps) {
      for (let i = 0; i < m; i++) {
        let s = 0;
        for (let j = 0; j < p; j++) s += x[i * p + j];
        const mean = s / p;
        let q = 0;
        for (let j = 0; j < p; j++) q += (x[i * p + j] - mean) ** 2;
        y[2 * i] = mean;
        y[2 * i + 1] = Math.sqrt(q / p + eps);
      }
    },
    planeMomentsBackward(x, y, dy, dx, m, p, acc) {
      for (let i = 0; i < m; i++) {
        const mean = y[2 * i], gm = dy[2 * i] / p, gs = dy[2 * i + 1] / (p * y[2 * i + 1]);
        for (let j = 0; j < p; j++) dx[i * p + j] = (acc ? dx[i * p + j] : 0) + gm + gs * (x[i * p + j] - mean);
      }
    },
    softmaxCrossEntropy(logits, labels, n, c, grad) {
      let total = 0;
      for (let i = 0; i < n; i++) {
        let mx = -Infinity;
        for (let j = 0; j < c; j++) mx = Math.max(mx, logits[i * c + j]);
        let z = 0;
        for (let j = 0; j < c; j++) z += Math.exp(logits[i * c + j] - mx);
        const logZ = Math.log(z) + mx;
        total += logZ - logits[i * c + labels[i]];
        if (grad !== null) {
          for (let j = 0; j < c; j++) grad[i * c + j] = (Math.exp(logits[i * c + j] - logZ) - (j === labels[i] ? 1 : 0)) / n;
        }
      }
      return total / n;
    },
    mse(pred, target, grad) {
      let total = 0;
      const n = pred.length;
      for (let i = 0; i < n; i++) {
        const d = pred[i] - target[i];
        total += d * d;
        if (grad !== null) grad[i] = (2 * d) / n;
      }
      return total / n;
    },
    adamStep(p, g, m, v, lr, b1, b2, eps, bc1, bc2Sqrt, wd) {
      for (let i = 0; i < p.length; i++) {
        const gi = g[i] + wd * p[i];
        m[i] = m[i] + (1 - b1) * (gi - m[i]);
        v[i] = b2 * v[i] + (1 - b2) * gi * gi;
        p[i] = p[i] - (lr / bc1) * (m[i] / (Math.sqrt(v[i]) / bc2Sqrt + eps));
      }
    },
    rmspropStep(p, g, v, lr, rho, eps) {
      for (let i = 0; i < p.length; i++) {
        v[i] = rho * v[i] + (1 - rho) * g[i] * g[i];
        p[i] -= (lr * g[i]) / (Math.sqrt(v[i]) + eps);
      }
    },
    im2col(x, g, cols) {
      const P = g.OH * g.OW;
      for (let c = 0; c < g.C; c++) for (let i = 0; i < g.KH; i++) for (let j = 0; j < g.KW; j++)
        for (let oh = 0; oh < g.OH; oh++) for (let ow = 0; ow < g.OW; ow++) {
          const xi = convAt(g, c, oh, ow, i, j);
          cols[((c * g.KH + i) * g.KW + j) * P + oh * g.OW + ow] = xi < 0 ? 0 : x[xi];
        }
    },
    col2im(cols, g, x) {
      const P = g.OH * g.OW;
      for (let c = 0; c < g.C; c++) for (let i = 0; i < g.KH; i++) for (let j = 0; j < g.KW; j++)
        for (let oh = 0; oh < g.OH; oh++) for (let ow = 0; ow < g.OW; ow++) {
          const xi = convAt(g, c, oh, ow, i, j);
          if (xi >= 0) x[xi] += cols[((c * g.KH + i) * g.KW + j) * P + oh * g.OW + ow];
        }
    },
    conv2dForward(s, x, w, y, bias, relu) {
      const t = terms(s), imgIn = s.C * s.H * s.W, imgOut = s.O * s.OH * s.OW, wSize = s.O * s.C * s.KH * s.KW;
      const P = s.OH * s.OW;
      for (let b = 0; b < s.nNet; b++) for (let k = 0; k < s.nImg; k++) {
        const xo = (s.xShared ? k : b * s.nImg + k) * imgIn, yo = (b * s.nImg + k) * imgOut, wo = b * wSize;
        const acc = new Float64Array(imgOut);
        for (let q = 0; q < t.length; q += 3) acc[t[q + 2]] += x[xo + t[q]] * w[wo + t[q + 1]];
        for (let i = 0; i < imgOut; i++) {
          const v = Math.fround(acc[i]) + (bias === null ? 0 : bias[b * s.O + Math.floor(i / P)]);
          y[yo + i] = relu ? Math.max(0, v) : v;
        }
      }
    },
    conv2dBackwardInput(s, dy0, w, dx, acc, mask = null) {
      const dy = mask === null ? dy0 : Float32Array.from(dy0, (g, i) => (mask[i] > 0 ? g : g * 0));
      const t = terms(s), imgIn = s.C * s.H * s.W, imgOut = s.O * s.OH * s.OW, wSize = s.O * s.C * s.KH * s.KW;
      const nX = s.xShared ? s.nImg : s.nNet * s.nImg;
      const sums = new Float64Array(nX * imgIn);
      for (let b = 0; b < s.nNet; b++) for (let k = 0; k < s.nImg; k++) {
        const xo = (s.xShared ? k : b * s.nImg + k) * imgIn, yo = (b * s.nImg + k) * imgOut, wo = b * wSize;
        for (let q = 0; q < t.length; q += 3) sums[xo + t[q]] += dy[yo + t[q + 2]] * w[wo + t[q + 1]];
      }
      for (let i = 0; i < sums.length; i++) dx[i] = (acc ? dx[i] : 0) + sums[i];
    },
    conv2dBackwardWeight(s, x, dy, dw, acc) {
      const t = terms(s), imgIn = s.C * s.H * s.W, imgOut = s.O * s.OH * s.OW, wSize = s.O * s.C * s.KH * s.KW;
      const sums = new Float64Array(s.nNet * wSize);
      for (let b = 0; b < s.nNet; b++) for (let k = 0; k < s.nImg; k++) {
        const xo = (s.xShared ? k : b * s.nImg + k) * imgIn, yo = (b * s.nImg + k) * imgOut, wo = b * wSize;
        for (let q = 0; q < t.length; q += 3) sums[wo + t[q + 1]] += dy[yo + t[q + 2]] * x[xo + t[q]];
      }
      for (let i = 0; i < sums.length; i++) dw[i] = (acc ? dw[i] : 0) + sums[i];
    },
    convTranspose2dForward(s, x, w, y) {
      // y = adjoint conv applied to x: y[c_out, ...] += w[c_in, c_out, i, j] x[c_in, ...]
      const g = adjointGeometry(s), t = terms(g), imgIn = s.Cin * s.H * s.W, imgOut = s.Cout * s.OH * s.OW;
      for (let n = 0; n < s.n; n++) {
        const acc = new Float64Array(imgOut);
        // In the adjoint conv, "x" is our output y and "y" is our input x; the weight layout
        // [O=Cin, C=Cout, KH, KW] is exactly ConvTranspose2d's [Cin, Cout, KH, KW].
        for (let q = 0; q < t.length; q += 3) acc[t[q]] += x[n * imgIn + t[q + 2]] * w[t[q + 1]];
        for (let i = 0; i < imgOut; i++) y[n * imgOut + i] = acc[i];
      }
    },
    convTranspose2dBackward(s, x, w, dy, dx, accX, dw, accW) {
      const g = adjointGeometry(s), t = terms(g), imgIn = s.Cin * s.H * s.W, imgOut = s.Cout * s.OH * s.OW;
      const sx = new Float64Array(s.n * imgIn), sw = new Float64Array(w.length);
      for (let n = 0; n < s.n; n++) {
        for (let q = 0; q < t.length; q += 3) {
          const g0 = dy[n * imgOut + t[q]];
          sx[n * imgIn + t[q + 2]] += g0 * w[t[q + 1]];
          sw[t[q + 1]] += g0 * x[n * imgIn + t[q + 2]];
        }
      }
      if (dx !== null) for (let i = 0; i < sx.length; i++) dx[i] = (accX ? dx[i] : 0) + sx[i];
      if (dw !== null) for (let i = 0; i < sw.length; i++) dw[i] = (accW ? dw[i] : 0) + sw[i];
    },
  };
}
