// Softmax over the last axis (attention's weights), each row from its largest value so that
// exp never overflows; in double, then stored.
import { gradSink, record } from "../autograd.js";
import { ShapeError, fmtShape } from "../errors.js";
import { Tensor } from "../tensor.js";

export function softmaxLast(x: Tensor): Tensor {
  if (x.rank < 1) throw new ShapeError("softmaxLast", `input ${fmtShape(x.shape)} has no last axis`);
  const n = x.shape[x.rank - 1], rows = x.size / n;
  const y = Tensor.empty(x.shape);
  for (let r = 0; r < rows; r++) {
    const o = r * n;
    let max = -Infinity;
    for (let j = 0; j < n; j++) max = Math.max(max, x.data[o + j]);
    let sum = 0;
    for (let j = 0; j < n; j++) sum += Math.exp(x.data[o + j] - max);
    for (let j = 0; j < n; j++) y.data[o + j] = Math.exp(x.data[o + j] - max) / sum;
  }
  return record(y, "softmaxLast", [x], (g) => {
    const sx = gradSink(x);
    if (sx === null) return;
    for (let r = 0; r < rows; r++) {
      const o = r * n;
      let dot = 0;
      for (let j = 0; j < n; j++) dot += g[o + j] * y.data[o + j];
      for (let j = 0; j < n; j++) {
        const d = y.data[o + j] * (g[o + j] - dot);
        sx.g[o + j] = sx.acc ? sx.g[o + j] + d : d;
      }
    }
  });
}
