// Classification metrics from predicted and true labels.

export interface ClassificationReport {
  accuracy: number;
  /** Accuracy within each true class (NaN for a class with no examples). */
  perClass: number[];
  /** confusion[true][predicted] counts. */
  confusion: number[][];
  count: number;
}

/**
 * One row of logits (out[row .. row + classes)) against its label: the cross-entropy, by
 * log-sum-exp from the row's maximum, and whether the largest logit is the label's. A row whose
 * maximum is not finite (a diverged network) is never counted correct; its loss is not finite.
 * The zoo builders score their networks with it.
 */
export function scoreLogitsRow(out: ArrayLike<number>, row: number, classes: number, label: number): { loss: number; correct: boolean } {
  let best = 0, max = -Infinity;
  for (let c = 0; c < classes; c++) if (out[row + c] > max) { max = out[row + c]; best = c; }
  let z = 0;
  for (let c = 0; c < classes; c++) z += Math.exp(out[row + c] - max);
  return { loss: Math.log(z) + max - out[row + label], correct: best === label && Number.isFinite(max) };
}

export function argmaxRows(logits: Float32Array, rows: number, cols: number): Int32Array {
  const out = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    let best = 0;
    for (let j = 1; j < cols; j++) if (logits[i * cols + j] > logits[i * cols + best]) best = j;
    out[i] = best;
  }
  return out;
}

export function classificationReport(predicted: ArrayLike<number>, actual: ArrayLike<number>, classes: number): ClassificationReport {
  const confusion = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  let correct = 0;
  for (let i = 0; i < actual.length; i++) {
    confusion[actual[i]][predicted[i]]++;
    if (predicted[i] === actual[i]) correct++;
  }
  const perClass = confusion.map((row, c) => {
    const n = row.reduce((a, b) => a + b, 0);
    return n === 0 ? NaN : row[c] / n;
  });
  return { accuracy: actual.length === 0 ? NaN : correct / actual.length, perClass, confusion, count: actual.length };
}
