// Reordering a tensor's axes (ONNX's Transpose, torch's permute): out axis i is in axis perm[i].
// A copy by loops, as concat and crop: the tensors it serves (attention's heads and tokens) are
// small.
import { gradSink, record } from "../autograd.js";
import { ShapeError, fmtShape } from "../errors.js";
import { Tensor } from "../tensor.js";
import { stridedIndex } from "./strided-index.js";

export function permute(x: Tensor, perm: readonly number[]): Tensor {
  const rank = x.rank;
  if (perm.length !== rank || [...perm].sort((a, b) => a - b).some((p, i) => p !== i)) {
    throw new ShapeError("permute", `${JSON.stringify(perm)} is not an order of the ${rank} axes of ${fmtShape(x.shape)}`);
  }
  if (perm.every((p, i) => p === i)) return x;
  const shape = perm.map((p) => x.shape[p]);
  const inStrides = new Array<number>(rank);
  let s = 1;
  for (let i = rank - 1; i >= 0; i--) { inStrides[i] = s; s *= x.shape[i]; }
  const stride = perm.map((p) => inStrides[p]);
  // from[k]: the input element out element k copies.
  const n = x.size, from = stridedIndex(shape, stride);
  const y = Tensor.empty(shape);
  for (let k = 0; k < n; k++) y.data[k] = x.data[from[k]];
  return record(y, "permute", [x], (g) => {
    const sx = gradSink(x);
    if (sx === null) return;
    if (sx.acc) for (let k = 0; k < n; k++) sx.g[from[k]] += g[k];
    else for (let k = 0; k < n; k++) sx.g[from[k]] = g[k];
  });
}
