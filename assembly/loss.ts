// Losses return their mean value (f64) and, when grad != 0, write d(mean loss)/d(input).

// Softmax cross-entropy over rows of logits [n, c] against integer labels [n].
export function softmaxCrossEntropy(logits: usize, labels: usize, n: i32, c: i32, grad: usize): f64 {
  let total: f64 = 0;
  const invN: f64 = 1 / <f64>n;
  for (let i = 0; i < n; i++) {
    const row = logits + ((<usize>i * <usize>c) << 2);
    let mx: f64 = -Infinity;
    for (let j = 0; j < c; j++) mx = max(mx, <f64>load<f32>(row + (<usize>j << 2)));
    let z: f64 = 0;
    for (let j = 0; j < c; j++) z += Math.exp(<f64>load<f32>(row + (<usize>j << 2)) - mx);
    const label = load<i32>(labels + (<usize>i << 2));
    const logZ = Math.log(z) + mx;
    total += logZ - <f64>load<f32>(row + (<usize>label << 2));
    if (grad != 0) {
      const g = grad + ((<usize>i * <usize>c) << 2);
      for (let j = 0; j < c; j++) {
        const p = Math.exp(<f64>load<f32>(row + (<usize>j << 2)) - logZ);
        store<f32>(g + (<usize>j << 2), <f32>((p - (j == label ? 1.0 : 0.0)) * invN));
      }
    }
  }
  return total * invN;
}

// Mean squared error between pred [n] and target [n].
export function mse(pred: usize, target: usize, n: i32, grad: usize): f64 {
  let total: f64 = 0;
  const s: f64 = 2 / <f64>n;
  for (let i = 0; i < n; i++) {
    const d = <f64>load<f32>(pred + (<usize>i << 2)) - <f64>load<f32>(target + (<usize>i << 2));
    total += d * d;
    if (grad != 0) store<f32>(grad + (<usize>i << 2), <f32>(s * d));
  }
  return total / <f64>n;
}
