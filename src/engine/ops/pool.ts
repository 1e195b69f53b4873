// Global average pooling.
import { kernels } from "../backend.js";
import { gradSink, record } from "../autograd.js";
import { ShapeError, fmtShape } from "../errors.js";
import { Tensor } from "../tensor.js";

/** Mean over the last two axes: [..., H, W] -> [...]. */
export function globalAvgPool(x: Tensor): Tensor {
  if (x.rank < 3) throw new ShapeError("globalAvgPool", `input ${fmtShape(x.shape)} needs at least [C,H,W]`);
  const p = x.shape[x.rank - 1] * x.shape[x.rank - 2];
  const m = x.size / p;
  const y = Tensor.empty(x.shape.slice(0, -2));
  const k = kernels();
  k.meanLast(x.data, y.data, m, p);
  return record(y, "globalAvgPool", [x], (g) => {
    const s = gradSink(x);
    if (s !== null) k.meanLastBackward(g, s.g, m, p, s.acc);
  });
}
