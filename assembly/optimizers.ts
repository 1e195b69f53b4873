// Optimiser steps on float32 parameters. Adam with PyTorch's arithmetic (torch.optim.Adam, foreach=False):
//   g += wd * p;  m = lerp(m, g, 1 - b1);  v = b2 * v + (1 - b2) * g * g
//   p -= (lr / bc1) * m / (sqrt(v) / sqrt(bc2) + eps)
export function adamStep(
  p: usize, g: usize, m: usize, v: usize, n: i32,
  lr: f32, beta1: f32, beta2: f32, eps: f32, bc1: f32, bc2Sqrt: f32, weightDecay: f32,
): void {
  const stepSize = f32x4.splat(lr / bc1);
  const w1 = f32x4.splat(1 - beta1), vb2 = f32x4.splat(beta2), w2 = f32x4.splat(1 - beta2);
  const vbc2 = f32x4.splat(bc2Sqrt), veps = f32x4.splat(eps), wd = f32x4.splat(weightDecay);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const pv = v128.load(p + o);
    let gv = v128.load(g + o);
    if (weightDecay != 0) gv = f32x4.add(gv, f32x4.mul(wd, pv));
    let mv = v128.load(m + o);
    mv = f32x4.add(mv, f32x4.mul(w1, f32x4.sub(gv, mv)));
    let vv = f32x4.add(f32x4.mul(vb2, v128.load(v + o)), f32x4.mul(w2, f32x4.mul(gv, gv)));
    v128.store(m + o, mv);
    v128.store(v + o, vv);
    const denom = f32x4.add(f32x4.div(f32x4.sqrt(vv), vbc2), veps);
    v128.store(p + o, f32x4.sub(pv, f32x4.mul(stepSize, f32x4.div(mv, denom))));
  }
  const ss: f32 = lr / bc1;
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const pv = load<f32>(p + o);
    let gv = load<f32>(g + o);
    if (weightDecay != 0) gv += weightDecay * pv;
    let mv = load<f32>(m + o);
    mv = mv + (1 - beta1) * (gv - mv);
    const vv = beta2 * load<f32>(v + o) + (1 - beta2) * gv * gv;
    store<f32>(m + o, mv);
    store<f32>(v + o, vv);
    store<f32>(p + o, pv - ss * (mv / (Mathf.sqrt(vv) / bc2Sqrt + eps)));
  }
}

// One RMSProp step with Keras' arithmetic (tf.keras.optimizers.RMSprop, no momentum, not
// centered): v = rho * v + (1 - rho) * g * g;  p -= lr * g / (sqrt(v) + eps).
// Each element is computed in double precision and rounded once into its float32 slot, so the
// result is bit for bit what the same expression in JavaScript gives (the reference kernel).
export function rmspropStep(p: usize, g: usize, v: usize, n: i32, lr: f64, rho: f64, eps: f64): void {
  for (let i = 0; i < n; i++) {
    const o = <usize>i << 2;
    const gi = <f64>load<f32>(g + o);
    const vi = <f32>(rho * <f64>load<f32>(v + o) + (1 - rho) * gi * gi);
    store<f32>(v + o, vi);
    store<f32>(p + o, <f32>(<f64>load<f32>(p + o) - (lr * gi) / (Math.sqrt(<f64>vi) + eps)));
  }
}
