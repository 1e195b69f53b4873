// How the zoo builders score a trained classifier on its test (and train) images: one row of
// logits at a time, so that the CNN and Wild Park builders score a network the same way.

/**
 * One row of logits (out[row .. row + classes)) against its label: the cross-entropy, by
 * log-sum-exp from the row's maximum, and whether the largest logit is the label's. A row whose
 * maximum is not finite (a diverged network) is never counted correct; its loss is not finite.
 */
export function scoreLogitsRow(out: ArrayLike<number>, row: number, classes: number, label: number): { loss: number; correct: boolean } {
  let best = 0, max = -Infinity;
  for (let c = 0; c < classes; c++) if (out[row + c] > max) { max = out[row + c]; best = c; }
  let z = 0;
  for (let c = 0; c < classes; c++) z += Math.exp(out[row + c] - max);
  return { loss: Math.log(z) + max - out[row + label], correct: best === label && Number.isFinite(max) };
}
