// Products of stacks of matrices, a [..., m, k] times b [..., k, n] -> [..., m, n], one batched
// GEMM over the leading axes (attention's scores and weighted values); b without leading axes is
// one matrix for every item of a's stack.
import { kernels } from "../backend.js";
import { gradSink, record } from "../autograd.js";
import { ShapeError, fmtShape } from "../errors.js";
import { Tensor } from "../tensor.js";

export function matmul(a: Tensor, b: Tensor): Tensor {
  if (a.rank < 2 || b.rank < 2) throw new ShapeError("matmul", `operands ${fmtShape(a.shape)} and ${fmtShape(b.shape)} must be matrices or stacks of them`);
  const [m, k] = a.shape.slice(-2), [k2, n] = b.shape.slice(-2);
  const lead = a.shape.slice(0, -2), bLead = b.shape.slice(0, -2);
  const shared = bLead.length === 0;
  if (k !== k2 || (!shared && (bLead.length !== lead.length || bLead.some((d, i) => d !== lead[i])))) {
    throw new ShapeError("matmul", `${fmtShape(a.shape)} times ${fmtShape(b.shape)}: inner sizes or stacks differ`);
  }
  const batch = lead.reduce((p, d) => p * d, 1);
  const sb = shared ? 0 : k * n;
  const y = Tensor.empty([...lead, m, n]);
  const K = kernels();
  K.gemmBatched(batch, false, false, m, n, k, 1, a.data, k, m * k, b.data, n, sb, 0, y.data, n, m * n);
  return record(y, "matmul", [a, b], (g) => {
    const ga = gradSink(a);
    if (ga !== null) K.gemmBatched(batch, false, true, m, k, n, 1, g, n, m * n, b.data, n, sb, ga.acc ? 1 : 0, ga.g, k, m * k);
    const gb = gradSink(b);
    // A shared b collects every item's gradient: strideC 0 sums over the batch.
    if (gb !== null) K.gemmBatched(batch, true, false, k, n, m, 1, a.data, k, m * k, g, n, m * n, gb.acc ? 1 : 0, gb.g, n, sb);
  });
}
