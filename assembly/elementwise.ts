// Elementwise kernels over n contiguous f32. Backward kernels take `acc`: true adds
// into dx, false overwrites it, so a fresh gradient buffer needs no zero-fill.
import { vsin, vcos, vexp, vtanh, vsigmoid, verf, vsincosTo } from "./vmath";

@inline function ld(p: usize, i: i32): v128 { return v128.load(p + (<usize>i << 2)); }
@inline function st(p: usize, i: i32, v: v128): void { v128.store(p + (<usize>i << 2), v); }
@inline function lds(p: usize, i: i32): v128 { return f32x4.splat(load<f32>(p + (<usize>i << 2))); }
@inline function sts(p: usize, i: i32, v: v128): void { store<f32>(p + (<usize>i << 2), f32x4.extract_lane(v, 0)); }
@inline function accum(dx: usize, i: i32, v: v128, acc: bool): void { st(dx, i, acc ? f32x4.add(ld(dx, i), v) : v); }
@inline function accums(dx: usize, i: i32, v: v128, acc: bool): void { sts(dx, i, acc ? f32x4.add(lds(dx, i), v) : v); }

export function fill(y: usize, n: i32, value: f32): void {
  const v = f32x4.splat(value);
  let i = 0;
  for (; i + 4 <= n; i += 4) st(y, i, v);
  for (; i < n; i++) store<f32>(y + (<usize>i << 2), value);
}

// y = a * x + b * y (b = 0 ignores y's old contents, so y may be uninitialised).
export function axpby(x: usize, y: usize, n: i32, a: f32, b: f32): void {
  const va = f32x4.splat(a), vb = f32x4.splat(b);
  let i = 0;
  if (b == 0) {
    for (; i + 4 <= n; i += 4) st(y, i, f32x4.mul(va, ld(x, i)));
    for (; i < n; i++) sts(y, i, f32x4.mul(va, lds(x, i)));
  } else {
    for (; i + 4 <= n; i += 4) st(y, i, f32x4.add(f32x4.mul(va, ld(x, i)), f32x4.mul(vb, ld(y, i))));
    for (; i < n; i++) sts(y, i, f32x4.add(f32x4.mul(va, lds(x, i)), f32x4.mul(vb, lds(y, i))));
  }
}

export function add(a: usize, b: usize, y: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) st(y, i, f32x4.add(ld(a, i), ld(b, i)));
  for (; i < n; i++) sts(y, i, f32x4.add(lds(a, i), lds(b, i)));
}

export function sub(a: usize, b: usize, y: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) st(y, i, f32x4.sub(ld(a, i), ld(b, i)));
  for (; i < n; i++) sts(y, i, f32x4.sub(lds(a, i), lds(b, i)));
}

// y (+)= a * b
export function mul(a: usize, b: usize, y: usize, n: i32, acc: bool): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) accum(y, i, f32x4.mul(ld(a, i), ld(b, i)), acc);
  for (; i < n; i++) accums(y, i, f32x4.mul(lds(a, i), lds(b, i)), acc);
}

// y = x + c
export function addScalar(x: usize, y: usize, n: i32, c: f32): void {
  const vc = f32x4.splat(c);
  let i = 0;
  for (; i + 4 <= n; i += 4) st(y, i, f32x4.add(ld(x, i), vc));
  for (; i < n; i++) sts(y, i, f32x4.add(lds(x, i), vc));
}

// y = sin(w * x)
export function sinForward(x: usize, y: usize, n: i32, w: f32): void {
  const vw = f32x4.splat(w);
  let i = 0;
  for (; i + 4 <= n; i += 4) st(y, i, vsin(f32x4.mul(vw, ld(x, i))));
  for (; i < n; i++) sts(y, i, vsin(f32x4.mul(vw, lds(x, i))));
}

// dx (+)= dy * w * cos(w * x)
export function sinBackward(x: usize, dy: usize, dx: usize, n: i32, w: f32, acc: bool): void {
  const vw = f32x4.splat(w);
  let i = 0;
  for (; i + 4 <= n; i += 4) accum(dx, i, f32x4.mul(f32x4.mul(ld(dy, i), vw), vcos(f32x4.mul(vw, ld(x, i)))), acc);
  for (; i < n; i++) accums(dx, i, f32x4.mul(f32x4.mul(lds(dy, i), vw), vcos(f32x4.mul(vw, lds(x, i)))), acc);
}

// SIREN layer activation, fused: for z viewed [n0, n1, n2] with bias [n0, n2],
// y = sin(w (z + bias)) and dydz = w cos(w (z + bias)), the derivative kept for backward.
// dydz = 0: no derivative (nothing will go backward), the sine alone, the same bits.
export function biasSinForward(z: usize, bias: usize, y: usize, dydz: usize, n0: i32, n1: i32, n2: i32, w: f32): void {
  const vw = f32x4.splat(w);
  if (dydz == 0) {
    for (let a = 0; a < n0; a++) {
      const brow = bias + ((<usize>a * <usize>n2) << 2);
      for (let r = 0; r < n1; r++) {
        const base = (a * n1 + r) * n2;
        let c = 0;
        for (; c + 4 <= n2; c += 4) st(y, base + c, vsin(f32x4.mul(vw, f32x4.add(ld(z, base + c), v128.load(brow + (<usize>c << 2))))));
        for (; c < n2; c++) sts(y, base + c, vsin(f32x4.mul(vw, f32x4.add(lds(z, base + c), f32x4.splat(load<f32>(brow + (<usize>c << 2)))))));
      }
    }
    return;
  }
  for (let a = 0; a < n0; a++) {
    const brow = bias + ((<usize>a * <usize>n2) << 2);
    for (let r = 0; r < n1; r++) {
      const base = (a * n1 + r) * n2;
      let c = 0;
      for (; c + 4 <= n2; c += 4) {
        const i = base + c;
        const arg = f32x4.mul(vw, f32x4.add(ld(z, i), v128.load(brow + (<usize>c << 2))));
        vsincosTo(arg, y + (<usize>i << 2), dydz + (<usize>i << 2));
        st(dydz, i, f32x4.mul(vw, ld(dydz, i)));
      }
      for (; c < n2; c++) {
        const i = base + c;
        const arg = f32x4.mul(vw, f32x4.add(lds(z, i), f32x4.splat(load<f32>(brow + (<usize>c << 2)))));
        sts(y, i, vsin(arg));
        sts(dydz, i, f32x4.mul(vw, vcos(arg)));
      }
    }
  }
}

export function cosForward(x: usize, y: usize, n: i32, w: f32): void {
  const vw = f32x4.splat(w);
  let i = 0;
  for (; i + 4 <= n; i += 4) st(y, i, vcos(f32x4.mul(vw, ld(x, i))));
  for (; i < n; i++) sts(y, i, vcos(f32x4.mul(vw, lds(x, i))));
}

// dx (+)= -dy * w * sin(w * x)
export function cosBackward(x: usize, dy: usize, dx: usize, n: i32, w: f32, acc: bool): void {
  const vw = f32x4.splat(-w);
  const pw = f32x4.splat(w);
  let i = 0;
  for (; i + 4 <= n; i += 4) accum(dx, i, f32x4.mul(f32x4.mul(ld(dy, i), vw), vsin(f32x4.mul(pw, ld(x, i)))), acc);
  for (; i < n; i++) accums(dx, i, f32x4.mul(f32x4.mul(lds(dy, i), vw), vsin(f32x4.mul(pw, lds(x, i)))), acc);
}

export function expForward(x: usize, y: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) st(y, i, vexp(ld(x, i)));
  for (; i < n; i++) sts(y, i, vexp(lds(x, i)));
}

export function tanhForward(x: usize, y: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) st(y, i, vtanh(ld(x, i)));
  for (; i < n; i++) sts(y, i, vtanh(lds(x, i)));
}

// dx (+)= dy * (1 - y^2), from the forward output y
export function tanhBackward(y: usize, dy: usize, dx: usize, n: i32, acc: bool): void {
  const one = f32x4.splat(1);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const v = ld(y, i);
    accum(dx, i, f32x4.mul(ld(dy, i), f32x4.sub(one, f32x4.mul(v, v))), acc);
  }
  for (; i < n; i++) {
    const v = lds(y, i);
    accums(dx, i, f32x4.mul(lds(dy, i), f32x4.sub(one, f32x4.mul(v, v))), acc);
  }
}

export function sigmoidForward(x: usize, y: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) st(y, i, vsigmoid(ld(x, i)));
  for (; i < n; i++) sts(y, i, vsigmoid(lds(x, i)));
}

// dx (+)= dy * y * (1 - y), from the forward output y
export function sigmoidBackward(y: usize, dy: usize, dx: usize, n: i32, acc: bool): void {
  const one = f32x4.splat(1);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const v = ld(y, i);
    accum(dx, i, f32x4.mul(ld(dy, i), f32x4.mul(v, f32x4.sub(one, v))), acc);
  }
  for (; i < n; i++) {
    const v = lds(y, i);
    accums(dx, i, f32x4.mul(lds(dy, i), f32x4.mul(v, f32x4.sub(one, v))), acc);
  }
}

// y = x for x > 0, slope * x otherwise (slope 0 is ReLU)
export function leakyReluForward(x: usize, y: usize, n: i32, slope: f32): void {
  const zero = f32x4.splat(0), vs = f32x4.splat(slope);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const v = ld(x, i);
    st(y, i, v128.bitselect(v, f32x4.mul(v, vs), f32x4.gt(v, zero)));
  }
  for (; i < n; i++) {
    const v = lds(x, i);
    sts(y, i, v128.bitselect(v, f32x4.mul(v, vs), f32x4.gt(v, zero)));
  }
}

// dx (+)= dy where x > 0, slope * dy elsewhere
export function leakyReluBackward(x: usize, dy: usize, dx: usize, n: i32, slope: f32, acc: bool): void {
  const zero = f32x4.splat(0), vs = f32x4.splat(slope);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const g = ld(dy, i);
    accum(dx, i, v128.bitselect(g, f32x4.mul(g, vs), f32x4.gt(ld(x, i), zero)), acc);
  }
  for (; i < n; i++) {
    const g = lds(dy, i);
    accums(dx, i, v128.bitselect(g, f32x4.mul(g, vs), f32x4.gt(lds(x, i), zero)), acc);
  }
}

// GELU with the exact erf form, as torch.nn.GELU() by default.
@inline function geluv(x: v128): v128 {
  const half = f32x4.splat(0.5);
  return f32x4.mul(f32x4.mul(half, x), f32x4.add(f32x4.splat(1), verf(f32x4.mul(x, f32x4.splat(0.7071067811865476)))));
}

@inline function geluGradv(x: v128): v128 {
  const cdf = f32x4.mul(f32x4.splat(0.5), f32x4.add(f32x4.splat(1), verf(f32x4.mul(x, f32x4.splat(0.7071067811865476)))));
  const pdf = f32x4.mul(f32x4.splat(0.3989422804014327), vexp(f32x4.mul(f32x4.splat(-0.5), f32x4.mul(x, x))));
  return f32x4.add(cdf, f32x4.mul(x, pdf));
}

export function geluForward(x: usize, y: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) st(y, i, geluv(ld(x, i)));
  for (; i < n; i++) sts(y, i, geluv(lds(x, i)));
}

export function geluBackward(x: usize, dy: usize, dx: usize, n: i32, acc: bool): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) accum(dx, i, f32x4.mul(ld(dy, i), geluGradv(ld(x, i))), acc);
  for (; i < n; i++) accums(dx, i, f32x4.mul(lds(dy, i), geluGradv(lds(x, i))), acc);
}

// Sum of n floats, accumulated in f64 lanes.
export function sum(x: usize, n: i32): f64 {
  let s0 = f64x2.splat(0), s1 = f64x2.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const v = ld(x, i);
    s0 = f64x2.add(s0, f64x2.promote_low_f32x4(v));
    s1 = f64x2.add(s1, f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1)));
  }
  let s = f64x2.extract_lane(s0, 0) + f64x2.extract_lane(s0, 1) + f64x2.extract_lane(s1, 0) + f64x2.extract_lane(s1, 1);
  for (; i < n; i++) s += <f64>load<f32>(x + (<usize>i << 2));
  return s;
}

// Sum of x * y, accumulated in f64.
export function dot(x: usize, y: usize, n: i32): f64 {
  let s0 = f64x2.splat(0), s1 = f64x2.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const v = f32x4.mul(ld(x, i), ld(y, i));
    s0 = f64x2.add(s0, f64x2.promote_low_f32x4(v));
    s1 = f64x2.add(s1, f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1)));
  }
  let s = f64x2.extract_lane(s0, 0) + f64x2.extract_lane(s0, 1) + f64x2.extract_lane(s1, 0) + f64x2.extract_lane(s1, 1);
  for (; i < n; i++) s += <f64>load<f32>(x + (<usize>i << 2)) * <f64>load<f32>(y + (<usize>i << 2));
  return s;
}

// Rows of a stacked tensor, gathered: row i of dst is row rows[i] of src, each `per` floats
// (a training batch's networks out of a zoo). One bulk copy per row; the caller checks the rows.
export function gatherRows(src: usize, per: i32, rows: usize, count: i32, dst: usize): void {
  const bytes = <usize>per << 2;
  for (let i = 0; i < count; i++) {
    const r = <usize>load<i32>(rows + (<usize>i << 2));
    memory.copy(dst + <usize>i * bytes, src + r * bytes, bytes);
  }
}

// Dropout masks of networks trained side by side, each from its own xoshiro128** generator
// (src/engine/random.ts's Rng.next, the same arithmetic): state holds 4 words per network and is
// advanced in place; mode holds 2 per network, [kind, threshold]: kind 0 fills 1 and draws
// nothing (rate 0), 1 zeroes an element when its draw is below the threshold (unsigned), 2
// draws and zeroes every element (a threshold past 2^32 - 1). Kept elements get keep[b].
export function dropoutMask(state: usize, mode: usize, keep: usize, mask: usize, nets: i32, per: i32): void {
  for (let b = 0; b < nets; b++) {
    const st = state + (<usize>b << 4);
    const kind = load<i32>(mode + (<usize>b << 3));
    const threshold = <u32>load<i32>(mode + (<usize>b << 3) + 4);
    const k = load<f32>(keep + (<usize>b << 2));
    const m = mask + <usize>b * (<usize>per << 2);
    if (kind == 0) {
      for (let i = 0; i < per; i++) store<f32>(m + (<usize>i << 2), 1);
      continue;
    }
    let s0 = load<i32>(st), s1 = load<i32>(st, 4), s2 = load<i32>(st, 8), s3 = load<i32>(st, 12);
    for (let i = 0; i < per; i++) {
      const r = <u32>(rotl<i32>(s1 * 5, 7) * 9);
      const t = s1 << 9;
      s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t; s3 = rotl<i32>(s3, 11);
      store<f32>(m + (<usize>i << 2), kind == 2 || r < threshold ? 0 : k);
    }
    store<i32>(st, s0); store<i32>(st, s1, 4); store<i32>(st, s2, 8); store<i32>(st, s3, 12);
  }
}
