// Classification metrics from predicted and true labels.

export interface ClassificationReport {
  accuracy: number;
  /** Accuracy within each true class (NaN for a class with no examples). */
  perClass: number[];
  /** confusion[true][predicted] counts. */
  confusion: number[][];
  count: number;
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
