// Evaluating a probing model on a split of its zoo, without gradients: accuracy (with per-class
// accuracy and the confusion matrix) for classification; Kendall's tau, R^2 and MAE for
// regression. `score` is what selects the best checkpoint: accuracy or tau.
import { crossEntropy, mseLoss, noGrad, tidy } from "../engine/index.js";
import { kendallTau } from "./kendall.js";
import { argmaxRows, classificationReport, type ClassificationReport } from "./metrics.js";
import type { ProbingModel } from "./probing-model.js";
import type { ZooData } from "./zoo-data.js";

export interface ClassificationEvaluation extends ClassificationReport {
  kind: "classification";
  loss: number;
  score: number;
  predictions: Int32Array;
}

export interface RegressionEvaluation {
  kind: "regression";
  loss: number;
  score: number;
  count: number;
  kendallTau: number;
  r2: number;
  mae: number;
  predictions: Float32Array;
}

export type SplitEvaluation = ClassificationEvaluation | RegressionEvaluation;

export function regressionMetrics(pred: ArrayLike<number>, actual: ArrayLike<number>): { kendallTau: number; r2: number; mae: number; mse: number } {
  const n = actual.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += actual[i] / n;
  let ssRes = 0, ssTot = 0, abs = 0;
  for (let i = 0; i < n; i++) {
    ssRes += (pred[i] - actual[i]) ** 2;
    ssTot += (actual[i] - mean) ** 2;
    abs += Math.abs(pred[i] - actual[i]);
  }
  return { kendallTau: kendallTau(pred, actual), r2: ssTot > 0 ? 1 - ssRes / ssTot : NaN, mae: abs / n, mse: ssRes / n };
}

export function evaluateSplit(model: ProbingModel, data: ZooData, indices: Int32Array, chunk = model.representation.networksPerPass()): SplitEvaluation {
  const regression = data.task === "regression";
  const labels = new Int32Array(indices.length);
  const values = new Float32Array(indices.length);
  let lossSum = 0;
  noGrad(() => {
    for (let s = 0; s < indices.length; s += chunk) {
      const idx = indices.subarray(s, Math.min(indices.length, s + chunk));
      tidy(() => {
        const out = model.forward(data, idx);
        if (regression) {
          lossSum += mseLoss(out, Array.from(idx, (i) => data.targets[i])).item() * idx.length;
          values.set(out.data, s);
        } else {
          lossSum += crossEntropy(out, Array.from(idx, (i) => data.labels[i])).item() * idx.length;
          labels.set(argmaxRows(out.data, idx.length, data.classes), s);
        }
      });
    }
  });
  const loss = indices.length ? lossSum / indices.length : NaN;
  if (regression) {
    const m = regressionMetrics(values, Array.from(indices, (i) => data.targets[i]));
    return { kind: "regression", loss, score: m.kendallTau, count: indices.length, kendallTau: m.kendallTau, r2: m.r2, mae: m.mae, predictions: values };
  }
  const report = classificationReport(labels, Array.from(indices, (i) => data.labels[i]), data.classes);
  return { kind: "classification", ...report, loss, score: report.accuracy, predictions: labels };
}
