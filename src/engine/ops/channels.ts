// Adding one feature map into the leading channels of another: Neural Graphs' residual, which
// adds an earlier layer's output to the first min(C_y, C_r) channels of a later one.
import { kernels } from "../backend.js";
import { gradSink, record } from "../autograd.js";
import { ShapeError, fmtShape } from "../errors.js";
import { Tensor } from "../tensor.js";

/**
 * y + r on the first min(C_y, C_r) channels, y elsewhere. y [..., C_y, H, W] and r [..., C_r, H, W]
 * share every other axis.
 */
export function addLeadingChannels(y: Tensor, r: Tensor): Tensor {
  const n = y.rank;
  if (n < 3 || r.rank !== n || y.shape.some((d, i) => i !== n - 3 && d !== r.shape[i])) {
    throw new ShapeError("addLeadingChannels", `${fmtShape(r.shape)} cannot be added to the channels of ${fmtShape(y.shape)} (all axes but the channels must agree)`);
  }
  const cy = y.shape[n - 3], cr = r.shape[n - 3];
  const plane = y.shape[n - 2] * y.shape[n - 1];
  const outer = y.size / (cy * plane);
  const block = Math.min(cy, cr) * plane;
  const k = kernels();
  const out = Tensor.empty(y.shape);
  out.data.set(y.data);
  for (let o = 0; o < outer; o++) {
    const dst = out.data.subarray(o * cy * plane, o * cy * plane + block);
    k.axpby(r.data.subarray(o * cr * plane, o * cr * plane + block), dst, 1, 1);
  }
  return record(out, "addLeadingChannels", [y, r], (g) => {
    const sy = gradSink(y);
    if (sy !== null) k.axpby(g, sy.g, 1, sy.acc ? 1 : 0);
    const sr = gradSink(r);
    if (sr === null) return;
    if (!sr.acc) sr.g.fill(0);
    for (let o = 0; o < outer; o++) {
      k.axpby(g.subarray(o * cy * plane, o * cy * plane + block), sr.g.subarray(o * cr * plane, o * cr * plane + block), 1, 1);
    }
  });
}
