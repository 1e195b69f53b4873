// Evaluating a probing model on a split of its zoo, without gradients.
import { crossEntropy, noGrad, tidy } from "../engine/index.js";
import { argmaxRows, classificationReport, type ClassificationReport } from "./metrics.js";
import type { ProbingModel } from "./probing-model.js";
import type { ZooData } from "./zoo-data.js";

export interface SplitEvaluation extends ClassificationReport {
  loss: number;
  predictions: Int32Array;
}

export function evaluateSplit(model: ProbingModel, data: ZooData, indices: Int32Array, chunk = 256): SplitEvaluation {
  const predictions = new Int32Array(indices.length);
  let lossSum = 0;
  noGrad(() => {
    for (let s = 0; s < indices.length; s += chunk) {
      const idx = indices.subarray(s, Math.min(indices.length, s + chunk));
      tidy(() => {
        const logits = model.forward(data, idx);
        const labels = Array.from(idx, (i) => data.labels[i]);
        lossSum += crossEntropy(logits, labels).item() * idx.length;
        predictions.set(argmaxRows(logits.data, idx.length, data.classes), s);
      });
    }
  });
  const actual = Array.from(indices, (i) => data.labels[i]);
  return { ...classificationReport(predictions, actual, data.classes), loss: indices.length ? lossSum / indices.length : NaN, predictions };
}
