// Cutting the central window out of images: [..., S, T] -> [..., H, W] with H <= S, W <= T, the
// window starting at ((S - H) / 2, (T - W) / 2) rounded down. The probe generator makes images
// of a power-of-two side and cuts them to a network's input (28x28 from 32x32). Rows are short
// and few (K probes), so plain loops, as concatLast.
import { gradSink, record } from "../autograd.js";
import { ShapeError, fmtShape } from "../errors.js";
import { Tensor } from "../tensor.js";

export function cropCenter(x: Tensor, H: number, W: number): Tensor {
  if (x.rank < 2) throw new ShapeError("cropCenter", `input ${fmtShape(x.shape)} needs at least [H,W]`);
  const S = x.shape[x.rank - 2], T = x.shape[x.rank - 1];
  if (!Number.isInteger(H) || !Number.isInteger(W) || H < 1 || W < 1 || H > S || W > T) {
    throw new ShapeError("cropCenter", `a ${H}x${W} window does not fit in ${fmtShape(x.shape)}`);
  }
  if (H === S && W === T) return x;
  const top = Math.floor((S - H) / 2), left = Math.floor((T - W) / 2);
  const planes = x.size / (S * T);
  const y = Tensor.empty([...x.shape.slice(0, -2), H, W]);
  for (let p = 0; p < planes; p++) {
    for (let r = 0; r < H; r++) {
      const from = p * S * T + (top + r) * T + left;
      y.data.set(x.data.subarray(from, from + W), (p * H + r) * W);
    }
  }
  return record(y, "cropCenter", [x], (g) => {
    const s = gradSink(x);
    if (s === null) return;
    if (!s.acc) s.g.fill(0);
    for (let p = 0; p < planes; p++) {
      for (let r = 0; r < H; r++) {
        const to = p * S * T + (top + r) * T + left, from = (p * H + r) * W;
        for (let c = 0; c < W; c++) s.g[to + c] += g[from + c];
      }
    }
  });
}
