// Pooling: global average, and max pooling over square windows.
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

/**
 * Max pooling as torch.nn.functional.max_pool2d(x, kernel, stride, padding) over the last two
 * axes: [..., H, W] -> [..., OH, OW] (padding counts as -inf, so it is never the maximum).
 */
export function maxPool2d(x: Tensor, kernel: number, stride = kernel, padding = 0): Tensor {
  if (x.rank < 3) throw new ShapeError("maxPool2d", `input ${fmtShape(x.shape)} needs at least [C,H,W]`);
  const [H, W] = x.shape.slice(-2);
  if (![kernel, stride, padding].every(Number.isInteger) || !(kernel >= 1 && stride >= 1 && padding >= 0 && 2 * padding <= kernel)) {
    throw new ShapeError("maxPool2d", `kernel ${kernel}, stride ${stride}, padding ${padding}: whole numbers, kernel and stride >= 1, padding at most half the kernel`);
  }
  const OH = Math.floor((H + 2 * padding - kernel) / stride) + 1, OW = Math.floor((W + 2 * padding - kernel) / stride) + 1;
  if (OH < 1 || OW < 1) throw new ShapeError("maxPool2d", `input ${fmtShape(x.shape)} is smaller than the ${kernel}x${kernel} window`);
  const planes = x.size / (H * W);
  const y = Tensor.empty([...x.shape.slice(0, -2), OH, OW]);
  // argmax positions live in tensor memory (the kernels address it), as int32, and are freed
  // with the forward's other tensors (tidy scope or garbage collection)
  const argHolder = Tensor.empty([y.size]);
  const argmax = new Int32Array(argHolder.data.buffer, argHolder.data.byteOffset, y.size);
  const k = kernels();
  k.maxPool2dForward(x.data, y.data, argmax, planes, H, W, kernel, stride, padding, OH, OW);
  return record(y, "maxPool2d", [x], (g) => {
    const s = gradSink(x);
    if (s !== null) k.maxPool2dBackward(g, argmax, s.g, planes, H, W, OH, OW, s.acc);
  });
}
