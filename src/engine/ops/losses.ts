// Losses: scalar means whose gradients are formed in the same pass as the value.
import { kernels } from "../backend.js";
import { gradSink, needsGrad, record } from "../autograd.js";
import { ShapeError, fmtShape } from "../errors.js";
import { getRuntime } from "../memory.js";
import { Tensor } from "../tensor.js";

/** Mean softmax cross-entropy of logits [N, C] against integer class labels (length N). */
export function crossEntropy(logits: Tensor, labels: ArrayLike<number>): Tensor {
  if (logits.rank !== 2) throw new ShapeError("crossEntropy", `logits ${fmtShape(logits.shape)} must be [N,C]`);
  const [n, c] = logits.shape;
  if (labels.length !== n) throw new ShapeError("crossEntropy", `logits ${fmtShape(logits.shape)} and ${labels.length} labels disagree`);
  const heap = getRuntime().heap;
  const lp = heap.alloc(n * 4);
  const lab = heap.i32(lp, n);
  for (let i = 0; i < n; i++) {
    const v = labels[i];
    if (!Number.isInteger(v) || v < 0 || v >= c) {
      heap.free(lp, n * 4);
      throw new RangeError(`crossEntropy: label ${v} at row ${i} is not a class index in [0, ${c})`);
    }
    lab[i] = v;
  }
  const grad = needsGrad(logits) ? Tensor.empty(logits.shape) : null;
  const value = kernels().softmaxCrossEntropy(logits.data, lab, n, c, grad?.data ?? null);
  heap.free(lp, n * 4);
  const y = Tensor.scalar(value);
  if (grad === null) return y;
  return record(y, "crossEntropy", [logits], (g) => {
    const s = gradSink(logits);
    if (s !== null) kernels().axpby(grad.data, s.g, g[0], s.acc ? 1 : 0);
  });
}

/** Mean squared error between pred and target of the same size (e.g. [N,1] and [N]). */
export function mseLoss(pred: Tensor, target: Tensor | ArrayLike<number>): Tensor {
  const t = target instanceof Tensor ? target : Tensor.from(target);
  if (t.size !== pred.size) throw new ShapeError("mseLoss", `prediction ${fmtShape(pred.shape)} and target ${fmtShape(t.shape)} differ in size`);
  const grad = needsGrad(pred, t) ? Tensor.empty(pred.shape) : null;
  const value = kernels().mse(pred.data, t.data, grad?.data ?? null);
  if (!(target instanceof Tensor)) t.dispose();
  const y = Tensor.scalar(value);
  if (grad === null) return y;
  // d/d(target) is the negative of d/d(pred)
  return record(y, "mseLoss", [pred, t], (g) => {
    const sp = gradSink(pred);
    if (sp !== null) kernels().axpby(grad.data, sp.g, g[0], sp.acc ? 1 : 0);
    const st = gradSink(t);
    if (st !== null) kernels().axpby(grad.data, st.g, -g[0], st.acc ? 1 : 0);
  });
}
