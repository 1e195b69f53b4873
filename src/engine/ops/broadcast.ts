// Arithmetic between tensors of different shapes, by numpy's broadcasting: shapes aligned at
// their last axes, and an axis of size 1 (or a missing leading one) repeated over the other's.
// An ONNX graph adds a LayerNorm's [dim] weights to [B, K, tokens, dim] maps, or subtracts a
// [.., 1] mean from its rows; the gradient of a repeated operand sums over the repeats. Equal
// shapes go to the elementwise kernels; the rest are loops over the output (such graphs are
// small: a ViT's token maps, not a CNN's feature maps).
import { gradSink, record } from "../autograd.js";
import { ShapeError, fmtShape } from "../errors.js";
import { Tensor } from "../tensor.js";
import { add, mul, sub } from "./elementwise.js";
import { stridedIndex } from "./strided-index.js";

export type BroadcastOp = "add" | "sub" | "mul" | "div";

/** The shape a and b broadcast to, or a ShapeError. */
export function broadcastShape(op: string, a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  return Array.from({ length: rank }, (_, i) => {
    const x = a[a.length - rank + i] ?? 1, y = b[b.length - rank + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) throw new ShapeError(op, `shapes ${fmtShape(a)} and ${fmtShape(b)} do not broadcast (axis ${i}: ${x} against ${y})`);
    return Math.max(x, y);
  });
}

/** For each output element, the element of an operand of shape `from` it reads. */
function sourceIndex(from: readonly number[], out: readonly number[]): Int32Array {
  const rank = out.length;
  const strides = new Array<number>(rank).fill(0);
  let s = 1;
  for (let i = rank - 1; i >= 0; i--) {
    const d = from[from.length - rank + i] ?? 1;
    strides[i] = d === 1 ? 0 : s;
    s *= d;
  }
  return stridedIndex(out, strides);
}

export function broadcast(op: BroadcastOp, a: Tensor, b: Tensor): Tensor {
  const same = a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);
  if (same && op !== "div") return op === "add" ? add(a, b) : op === "sub" ? sub(a, b) : mul(a, b);
  const shape = broadcastShape(op, a.shape, b.shape);
  const ia = sourceIndex(a.shape, shape), ib = sourceIndex(b.shape, shape);
  const y = Tensor.empty(shape);
  const A = a.data, B = b.data, Y = y.data, n = y.size;
  if (op === "add") for (let k = 0; k < n; k++) Y[k] = A[ia[k]] + B[ib[k]];
  else if (op === "sub") for (let k = 0; k < n; k++) Y[k] = A[ia[k]] - B[ib[k]];
  else if (op === "mul") for (let k = 0; k < n; k++) Y[k] = A[ia[k]] * B[ib[k]];
  else for (let k = 0; k < n; k++) Y[k] = A[ia[k]] / B[ib[k]];
  return record(y, `broadcast-${op}`, [a, b], (g) => {
    // Summed in double, then stored: the repeats of one operand element add up.
    const sa = gradSink(a), sb = gradSink(b);
    if (sa !== null) {
      const acc = new Float64Array(a.size);
      for (let k = 0; k < n; k++) acc[ia[k]] += op === "mul" ? g[k] * B[ib[k]] : op === "div" ? g[k] / B[ib[k]] : g[k];
      for (let i = 0; i < a.size; i++) sa.g[i] = (sa.acc ? sa.g[i] : 0) + acc[i];
    }
    if (sb !== null) {
      const acc = new Float64Array(b.size);
      for (let k = 0; k < n; k++) acc[ib[k]] += op === "mul" ? g[k] * A[ia[k]] : op === "div" ? (-g[k] * A[ia[k]]) / (B[ib[k]] * B[ib[k]]) : op === "sub" ? -g[k] : g[k];
      for (let i = 0; i < b.size; i++) sb.g[i] = (sb.acc ? sb.g[i] : 0) + acc[i];
    }
  });
}
