// What the head reads of a network's answers to its probes:
// - logits: the outputs for each probe, as the paper;
// - hidden: the outputs and every hidden layer's channel summaries (nets/hidden-readout.ts);
// - labelled: for probes that carry a class (real images of the set the zoo's networks were
//   trained on), each probe's softmax probabilities and what they say of its true class: its
//   probability, its logit margin over the best other class, and whether it is the network's
//   prediction. The head then sees how the network does on K labelled images, not only what it
//   answers.
import { Tensor, needsGrad, ShapeError } from "../engine/index.js";

export type Readout = "logits" | "hidden" | "labelled";
export const READOUTS: readonly Readout[] = ["logits", "hidden", "labelled"];

/** Values the labelled readout gives per probe of a network with `outputs` classes. */
export function labelledFeaturesPerProbe(outputs: number): number {
  return outputs + 3;
}

/**
 * out [B, K, classes] (a batch's answers to K labelled probes) -> [B, K * (classes + 3)]: per
 * probe the softmax probabilities, then p(true class), z(true) - max other z, and 1 when the
 * true class is the arg max. The probes are fixed (data probes), so nothing flows back: a
 * learned source cannot carry labels.
 */
export function labelledAnswers(out: Tensor, labels: ArrayLike<number>): Tensor {
  const [B, K, C] = out.shape;
  if (out.rank !== 3 || labels.length !== K) throw new ShapeError("labelledAnswers", `answers [${out.shape.join(",")}] for ${labels.length} labelled probes`);
  if (needsGrad(out)) throw new ShapeError("labelledAnswers", "the labelled readout is for fixed probes; these answers need a gradient");
  for (let k = 0; k < K; k++) {
    if (!(Number.isInteger(labels[k]) && labels[k] >= 0 && labels[k] < C)) throw new RangeError(`labelledAnswers: probe ${k}'s class ${labels[k]} is not one of the ${C} outputs`);
  }
  const F = labelledFeaturesPerProbe(C);
  const y = Tensor.empty([B, K * F]);
  const z = out.data, o = y.data;
  for (let r = 0; r < B * K; r++) {
    const label = labels[r % K];
    const at = r * C, to = r * F;
    let max = -Infinity, arg = 0, other = -Infinity;
    for (let j = 0; j < C; j++) if (z[at + j] > max) { max = z[at + j]; arg = j; }
    for (let j = 0; j < C; j++) if (j !== label && z[at + j] > other) other = z[at + j];
    let sum = 0;
    for (let j = 0; j < C; j++) sum += Math.exp(z[at + j] - max);
    for (let j = 0; j < C; j++) o[to + j] = Math.exp(z[at + j] - max) / sum;
    o[to + C] = o[to + label];
    o[to + C + 1] = z[at + label] - other;
    o[to + C + 2] = arg === label ? 1 : 0;
  }
  return y;
}
