// f32x4 transcendental functions. Range reduction and polynomials follow SLEEF's
// 3.5-ULP single-precision variants, written without FMA so that results do not
// depend on the host CPU.

// pi split so that q * PI_A is exact for |q| < 2^11 (SLEEF's PI_A2f / PI_B2f / PI_C2f).
const PI_A: f32 = 3.1414794921875;
const PI_B: f32 = 0.00011315941810607910156;
const PI_C: f32 = 1.9841872589410058936e-9;
const INV_PI: f32 = 0.318309886183790671538;

// Adding 1.5 * 2^23 rounds a float of magnitude < 2^22 to the nearest integer, which then sits
// in the low mantissa bits: cheaper than nearest + trunc_sat, which V8 expands to many ops.
const MAGIC: f32 = 12582912.0;
const MAGIC_BITS: i32 = 0x4b400000;

@inline function sinPoly(d: v128, s: v128): v128 {
  let u = f32x4.splat(2.6083159809786593541503e-6);
  u = f32x4.add(f32x4.mul(u, s), f32x4.splat(-0.0001981069071916863322258));
  u = f32x4.add(f32x4.mul(u, s), f32x4.splat(0.00833307858556509017944336));
  u = f32x4.add(f32x4.mul(u, s), f32x4.splat(-0.166666597127914428710938));
  return f32x4.add(f32x4.mul(s, f32x4.mul(u, d)), d);
}

@inline function reduce(x: v128, q: v128, half: bool): v128 {
  let qa = f32x4.mul(q, f32x4.splat(half ? PI_A * 0.5 : PI_A));
  let d = f32x4.sub(x, qa);
  d = f32x4.sub(d, f32x4.mul(q, f32x4.splat(half ? PI_B * 0.5 : PI_B)));
  return f32x4.sub(d, f32x4.mul(q, f32x4.splat(half ? PI_C * 0.5 : PI_C)));
}


// Lanes whose integer (in t's low bits, see MAGIC) is odd get their sign flipped.
@inline function flipOdd(d: v128, t: v128): v128 {
  return v128.xor(d, i32x4.shl(t, 31));
}

@inline export function vsin(x: v128): v128 {
  const t = f32x4.add(f32x4.mul(x, f32x4.splat(INV_PI)), f32x4.splat(MAGIC));
  const q = f32x4.sub(t, f32x4.splat(MAGIC));
  let d = reduce(x, q, false);
  const s = f32x4.mul(d, d);
  return sinPoly(flipOdd(d, t), s);
}

@inline export function vcos(x: v128): v128 {
  // q is the odd integer nearest to 2x/pi, so d = x - q*pi/2 lies in [-pi/2, pi/2].
  const qh = f32x4.sub(f32x4.add(f32x4.sub(f32x4.mul(x, f32x4.splat(INV_PI)), f32x4.splat(0.5)), f32x4.splat(MAGIC)), f32x4.splat(MAGIC));
  const q = f32x4.add(f32x4.add(qh, qh), f32x4.splat(1));
  const qi = i32x4.sub(f32x4.add(q, f32x4.splat(MAGIC)), i32x4.splat(MAGIC_BITS));
  let d = reduce(x, q, true);
  const s = f32x4.mul(d, d);
  // cos(x) = sin(d) when q = 1 mod 4, -sin(d) when q = 3 mod 4.
  d = v128.xor(d, v128.and(i32x4.eq(v128.and(qi, i32x4.splat(2)), i32x4.splat(0)), i32x4.splat(0x80000000)));
  return sinPoly(d, s);
}

// exp with Cody-Waite reduction and a degree-6 polynomial (Cephes expf).
@inline export function vexp(x: v128): v128 {
  x = f32x4.min(f32x4.max(x, f32x4.splat(-87.3365)), f32x4.splat(88.7228));
  const tn = f32x4.add(f32x4.mul(x, f32x4.splat(1.44269504088896341)), f32x4.splat(MAGIC));
  const n = f32x4.sub(tn, f32x4.splat(MAGIC));
  let r = f32x4.sub(x, f32x4.mul(n, f32x4.splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(-2.12194440e-4)));
  let p = f32x4.splat(1.9875691500e-4);
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.3981999507e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(8.3334519073e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(4.1665795894e-2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.6666665459e-1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(5.0000001201e-1));
  const y = f32x4.add(f32x4.add(f32x4.mul(f32x4.mul(p, r), r), r), f32x4.splat(1));
  // 2^n built in the exponent field; n in [-126, 128] after clamping. Split to avoid overflow at 128.
  const ni = i32x4.sub(tn, i32x4.splat(MAGIC_BITS));
  const h = i32x4.shr_s(ni, 1);
  const s1 = i32x4.shl(i32x4.add(h, i32x4.splat(127)), 23);
  const s2 = i32x4.shl(i32x4.add(i32x4.sub(ni, h), i32x4.splat(127)), 23);
  return f32x4.mul(f32x4.mul(y, s1), s2);
}

@inline export function vtanh(x: v128): v128 {
  const ax = f32x4.abs(x);
  const t = vexp(f32x4.mul(ax, f32x4.splat(-2)));
  const one = f32x4.splat(1);
  const y = f32x4.div(f32x4.sub(one, t), f32x4.add(one, t));
  return v128.or(y, v128.and(x, i32x4.splat(0x80000000)));
}

@inline export function vsigmoid(x: v128): v128 {
  const one = f32x4.splat(1);
  return f32x4.div(one, f32x4.add(one, vexp(f32x4.neg(x))));
}

// erf by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7).
@inline export function verf(x: v128): v128 {
  const ax = f32x4.abs(x);
  const one = f32x4.splat(1);
  const t = f32x4.div(one, f32x4.add(one, f32x4.mul(f32x4.splat(0.3275911), ax)));
  let p = f32x4.splat(1.061405429);
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(-1.453152027));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(1.421413741));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(-0.284496736));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(0.254829592));
  p = f32x4.mul(p, t);
  const y = f32x4.sub(one, f32x4.mul(p, vexp(f32x4.neg(f32x4.mul(ax, ax)))));
  return v128.or(y, v128.and(x, i32x4.splat(0x80000000)));
}

// cos on [-pi/2, pi/2] by its Taylor series to d^12 (truncation < 1e-8 there).
@inline function cosPoly(s: v128): v128 {
  let u = f32x4.splat(2.08767569878681e-9);
  u = f32x4.add(f32x4.mul(u, s), f32x4.splat(-2.75573192239859e-7));
  u = f32x4.add(f32x4.mul(u, s), f32x4.splat(2.48015873015873e-5));
  u = f32x4.add(f32x4.mul(u, s), f32x4.splat(-0.00138888888888889));
  u = f32x4.add(f32x4.mul(u, s), f32x4.splat(0.0416666666666667));
  u = f32x4.add(f32x4.mul(u, s), f32x4.splat(-0.5));
  return f32x4.add(f32x4.mul(u, s), f32x4.splat(1));
}

// sin(x) and cos(x) from one range reduction: x = q*pi + d, both flip sign when q is odd.
@inline export function vsincosTo(x: v128, sinOut: usize, cosOut: usize): void {
  const t = f32x4.add(f32x4.mul(x, f32x4.splat(INV_PI)), f32x4.splat(MAGIC));
  const q = f32x4.sub(t, f32x4.splat(MAGIC));
  const d = reduce(x, q, false);
  const s = f32x4.mul(d, d);
  const odd = i32x4.shl(t, 31);
  v128.store(sinOut, v128.xor(sinPoly(d, s), odd));
  v128.store(cosOut, v128.xor(cosPoly(s), odd));
}
