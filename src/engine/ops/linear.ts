// Linear layers: one weight shared by all rows, or a zoo of B networks each with its own
// weight, evaluated as one batched GEMM.
import { kernels } from "../backend.js";
import { gradSink, record } from "../autograd.js";
import { ShapeError, fmtShape } from "../errors.js";
import { Tensor } from "../tensor.js";

/**
 * y = x W^T + b with PyTorch's layout.
 * - W [out, in], b [out]: x [..., in] -> y [..., out].
 * - W [B, out, in], b [B, out] (a zoo): x [B, K, in] -> y [B, K, out], or x [K, in] shared by
 *   all B networks -> y [B, K, out].
 */
export function linear(x: Tensor, w: Tensor, b: Tensor | null = null): Tensor {
  if (w.rank === 2) return sharedLinear(x, w, b);
  if (w.rank === 3) return zooLinear(x, w, b);
  throw new ShapeError("linear", `weight ${fmtShape(w.shape)} must be [out,in] or [B,out,in]`);
}

function sharedLinear(x: Tensor, w: Tensor, b: Tensor | null): Tensor {
  const [out, inF] = w.shape;
  if (x.rank < 1 || x.shape[x.rank - 1] !== inF) {
    throw new ShapeError("linear", `input ${fmtShape(x.shape)} does not match weight ${fmtShape(w.shape)} (expects last axis ${inF})`);
  }
  if (b !== null && (b.rank !== 1 || b.shape[0] !== out)) {
    throw new ShapeError("linear", `bias ${fmtShape(b.shape)} does not match weight ${fmtShape(w.shape)} (expects [${out}])`);
  }
  const rows = x.size / inF;
  const y = Tensor.empty([...x.shape.slice(0, -1), out]);
  const k = kernels();
  k.gemm(false, true, rows, out, inF, 1, x.data, inF, w.data, inF, 0, y.data, out);
  if (b !== null) k.addChannel(y.data, b.data, y.data, 1, rows, out, 1);
  return record(y, "linear", [x, w, b], (g) => {
    const sx = gradSink(x);
    if (sx !== null) k.gemm(false, false, rows, inF, out, 1, g, out, w.data, inF, sx.acc ? 1 : 0, sx.g, inF);
    const sw = gradSink(w);
    if (sw !== null) k.gemm(true, false, out, inF, rows, 1, g, out, x.data, inF, sw.acc ? 1 : 0, sw.g, inF);
    const sb = gradSink(b);
    if (sb !== null) k.sumChannel(g, sb.g, 1, rows, out, 1, sb.acc);
  });
}

function zooLinear(x: Tensor, w: Tensor, b: Tensor | null): Tensor {
  const [B, out, inF] = w.shape;
  const shared = x.rank === 2;
  const ok = shared ? x.shape[1] === inF : x.rank === 3 && x.shape[0] === B && x.shape[2] === inF;
  if (!ok) {
    throw new ShapeError("linear", `input ${fmtShape(x.shape)} does not match zoo weight ${fmtShape(w.shape)} (expects [${B},K,${inF}] or shared [K,${inF}])`);
  }
  if (b !== null && (b.rank !== 2 || b.shape[0] !== B || b.shape[1] !== out)) {
    throw new ShapeError("linear", `bias ${fmtShape(b.shape)} does not match zoo weight ${fmtShape(w.shape)} (expects [${B},${out}])`);
  }
  const K = shared ? x.shape[0] : x.shape[1];
  const strideX = shared ? 0 : K * inF;
  const y = Tensor.empty([B, K, out]);
  const k = kernels();
  k.gemmBatched(B, false, true, K, out, inF, 1, x.data, inF, strideX, w.data, inF, out * inF, 0, y.data, out, K * out);
  if (b !== null) k.addChannel(y.data, b.data, y.data, B, K, out, 1);
  return record(y, "zooLinear", [x, w, b], (g) => {
    const sx = gradSink(x);
    // A shared input collects the gradient of every network: strideC 0 sums over the batch.
    if (sx !== null) k.gemmBatched(B, false, false, K, inF, out, 1, g, out, K * out, w.data, inF, out * inF, sx.acc ? 1 : 0, sx.g, inF, strideX);
    const sw = gradSink(w);
    if (sw !== null) k.gemmBatched(B, true, false, out, inF, K, 1, g, out, K * out, x.data, inF, strideX, sw.acc ? 1 : 0, sw.g, inF, out * inF);
    const sb = gradSink(b);
    if (sb !== null) k.sumChannel(g, sb.g, B, K, out, 1, sb.acc);
  });
}
