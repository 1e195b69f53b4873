// Losses of many networks trained at once, each network its own: the zoo builders train a batch
// of networks in one forward and backward pass, and every network's optimiser step follows the
// gradient of its own mean loss. Not recorded on the tape: they fill the seed gradient that
// backward() starts from, and return each network's loss for the caller to judge.
import { kernels } from "../backend.js";
import { ShapeError, fmtShape } from "../errors.js";
import type { Tensor } from "../tensor.js";

function perNetwork(what: string, t: Tensor, nets: number, grad: Tensor): number {
  if (nets < 1 || t.size % nets !== 0) throw new ShapeError(what, `${fmtShape(t.shape)} does not split into ${nets} networks`);
  if (grad.size !== t.size) throw new ShapeError(what, `gradient ${fmtShape(grad.shape)} and ${fmtShape(t.shape)} differ in size`);
  return t.size / nets;
}

/**
 * Each network's mean softmax cross-entropy over its own rows. `logits` holds the `nets`
 * networks one after another (rows of its last dimension's classes), `labels` the rows' classes
 * in the same order (a view of tensor memory); `grad` receives each network's gradient of its
 * own loss. A network whose loss is not finite gets NaN or Infinity: the caller decides.
 */
export function perNetworkCrossEntropy(logits: Tensor, labels: Int32Array, nets: number, grad: Tensor): Float64Array {
  const per = perNetwork("perNetworkCrossEntropy", logits, nets, grad);
  const classes = logits.shape[logits.rank - 1], rows = per / classes;
  if (labels.length < nets * rows) throw new ShapeError("perNetworkCrossEntropy", `${labels.length} labels for ${nets} networks of ${rows} rows`);
  const k = kernels(), out = new Float64Array(nets);
  for (let n = 0; n < nets; n++) {
    out[n] = k.softmaxCrossEntropy(logits.data.subarray(n * per, (n + 1) * per), labels.subarray(n * rows, (n + 1) * rows), rows, classes,
      grad.data.subarray(n * per, (n + 1) * per));
  }
  return out;
}

/**
 * Each network's mean squared error against its own targets (the same layout as `pred`);
 * `grad` receives each network's gradient. Networks `only` leaves out get a zero gradient and
 * NaN.
 */
export function perNetworkMse(pred: Tensor, target: Tensor, nets: number, grad: Tensor, only?: (n: number) => boolean): Float64Array {
  const per = perNetwork("perNetworkMse", pred, nets, grad);
  if (target.size !== pred.size) throw new ShapeError("perNetworkMse", `prediction ${fmtShape(pred.shape)} and target ${fmtShape(target.shape)} differ in size`);
  const k = kernels(), out = new Float64Array(nets);
  for (let n = 0; n < nets; n++) {
    const g = grad.data.subarray(n * per, (n + 1) * per);
    if (only !== undefined && !only(n)) { g.fill(0); out[n] = NaN; continue; }
    out[n] = k.mse(pred.data.subarray(n * per, (n + 1) * per), target.data.subarray(n * per, (n + 1) * per), g);
  }
  return out;
}
