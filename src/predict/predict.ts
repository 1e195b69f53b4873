// Predicting with a trained run: which class each network is (with the top probabilities), or
// its score, zoo-batched in chunks; and the same from responses computed elsewhere (a model
// probegen cannot load answers the run's exported probes, and its answers come back as a
// [N, K, outputs] array). Both paths put the same numbers through the same head in the same
// chunks, so the same answers give the same predictions, bit for bit.
import { headText, type OutputKind } from "../io/output-file.js";
import { Tensor, noGrad, reshape, threadCount, tidy } from "../engine/index.js";
import { onnxAnswersMany } from "../nets/onnx-runtime.js";
import { runProbes } from "./probes-export.js";
import { labelledAnswers } from "../train/readouts.js";
import { join } from "node:path";
import { FileFormatError } from "../file-error.js";
import { NpyRowReader } from "../io/npy.js";
import { kendallTau } from "../train/kendall.js";
import { regressionMetrics } from "../train/evaluate.js";
import type { PredictionInputs } from "./inputs.js";
import type { TrainedRun } from "./run-model.js";
import { ZooData } from "../train/zoo-data.js";
import { ZooForward } from "../train/zoo-forward.js";
import { zooArchitectures } from "../zoo/architectures.js";

/** Networks per forward pass. */
export const PREDICT_CHUNK = 256;

export interface Prediction {
  name: string;
  /** Classification: the class index, its name, and the top classes with their probabilities. */
  label?: number;
  labelName?: string;
  top?: { label: string; probability: number }[];
  /** Regression: the predicted value. */
  score?: number;
  /** What the network truly is, when its input says: a class name, or a value. */
  truth?: string | number;
  correct?: boolean;
}

/** What `predict --out` files say they are, first thing. */
export const PREDICTION_GENERATOR = "probegen predict";

/** A prediction file: its generator field, or (files written before it had one) a report's first fields. */
export const PREDICTION_FILE: OutputKind = {
  what: "a probegen prediction file",
  recognise: (head) => {
    const t = headText(head);
    return t.startsWith(`{\n  "generator": "${PREDICTION_GENERATOR}"`) || (t.startsWith('{\n  "run": "') && t.includes('\n  "predictions": ['));
  },
};

/** The text of a prediction file for `report`. */
export function predictionFileText(report: PredictionReport): string {
  return `${JSON.stringify({ generator: PREDICTION_GENERATOR, ...report }, null, 2)}\n`;
}

export interface PredictionReport {
  run: string;
  checkpoint: string;
  task: "classification" | "regression";
  count: number;
  predictions: Prediction[];
  /** Over the networks whose truth is known. */
  metrics: { known: number; accuracy?: number; kendallTau?: number; r2?: number; mae?: number } | null;
  seconds: number;
  networksPerSec: number;
}

function softmax(row: Float32Array): number[] {
  let max = -Infinity;
  for (const v of row) max = Math.max(max, v);
  const e = Array.from(row, (v) => Math.exp(v - max));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

/** Predictions from the head's outputs [n, outputs] (rows in order). */
function fromOutputs(run: TrainedRun, outputs: Float32Array, names: string[], truth: ArrayLike<number>, t0: number): PredictionReport {
  const n = names.length;
  const k = run.outputs;
  const predictions: Prediction[] = [];
  for (let i = 0; i < n; i++) {
    const row = outputs.subarray(i * k, (i + 1) * k);
    const known = Number.isFinite(truth[i]);
    if (run.task === "classification") {
      const p = softmax(row);
      const order = p.map((v, c) => [v, c] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
      const label = order[0][1];
      const nameOf = (c: number) => run.labelNames[c] ?? String(c);
      predictions.push({
        name: names[i], label, labelName: nameOf(label),
        top: order.slice(0, 3).map(([v, c]) => ({ label: nameOf(c), probability: v })),
        ...(known ? { truth: nameOf(truth[i]), correct: truth[i] === label } : {}),
      });
    } else {
      predictions.push({ name: names[i], score: row[0], ...(known ? { truth: truth[i] } : {}) });
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  return { run: run.dir, checkpoint: run.checkpoint, task: run.task, count: n, predictions, metrics: predictionMetrics(run.task, predictions), seconds, networksPerSec: n / Math.max(seconds, 1e-9) };
}

/** The score over the predictions whose truth is known (null when none is). */
export function predictionMetrics(task: PredictionReport["task"], predictions: readonly Prediction[]): PredictionReport["metrics"] {
  const known = predictions.filter((p) => p.truth !== undefined);
  if (known.length === 0) return null;
  if (task === "classification") return { known: known.length, accuracy: known.filter((p) => p.correct).length / known.length };
  const pred = known.map((p) => p.score!), actual = known.map((p) => Number(p.truth));
  const m = known.length > 1 ? regressionMetrics(pred, actual) : { kendallTau: NaN, r2: NaN, mae: Math.abs(pred[0] - actual[0]) };
  return { known: known.length, kendallTau: known.length > 1 ? kendallTau(pred, actual) : NaN, r2: m.r2, mae: m.mae };
}

/**
 * The run's predictions for the gathered networks: the engine's through the run's model, the
 * black-box ones (an ONNX zoo's) answered by onnxruntime on the run's probes and read by its head.
 */
export async function predictNetworks(run: TrainedRun, inputs: PredictionInputs): Promise<PredictionReport> {
  const t0 = performance.now();
  const n = inputs.names.length;
  const outputs = new Float32Array(n * run.outputs);
  const black = new Set(inputs.blackBox.map((b) => b.at));
  if (inputs.zoo !== null) {
    const white = Array.from({ length: n }, (_, i) => i).filter((i) => !black.has(i));
    const { model, data } = run.model(inputs.zoo);
    try {
      noGrad(() => {
        const chunk = Math.min(PREDICT_CHUNK, model.representation.networksPerPass());
        for (let s = 0; s < white.length; s += chunk) {
          const idx = Int32Array.from({ length: Math.min(chunk, white.length - s) }, (_, j) => s + j);
          tidy(() => {
            const rows = model.forward(data, idx).data;
            idx.forEach((_, j) => outputs.set(rows.subarray(j * run.outputs, (j + 1) * run.outputs), white[s + j] * run.outputs));
          });
        }
      });
    } finally {
      data.dispose();
    }
  }
  if (inputs.blackBox.length > 0) {
    const files = inputs.blackBox.map((b) => b.file);
    const rows = headOutputs(run, files.length, await blackBoxAnswers(run, files), files[0]);
    inputs.blackBox.forEach((b, j) => outputs.set(rows.subarray(j * run.outputs, (j + 1) * run.outputs), b.at * run.outputs));
  }
  return fromOutputs(run, outputs, inputs.names, inputs.truth, t0);
}

/** Models' answers to the run's probes through onnxruntime: [files.length * K * outputs]. */
async function blackBoxAnswers(run: TrainedRun, files: readonly string[]): Promise<(s: number, m: number, rows: Float32Array) => void> {
  if (!run.usesProbes) throw new FileFormatError(files[0] ?? run.dir, "the run represents networks by weight statistics, not by answers to probes; black-box models can only be probed");
  run.requireOutputsOnly("black-box models");
  const features = run.probes * run.outputsPerProbe;
  const answers = new Float32Array(files.length * features);
  (await onnxAnswersMany(files, runProbes(run), run.probeShape, run.outputsPerProbe, threadCount())).forEach((a, i) => answers.set(a, i * features));
  return (s, m, rows) => rows.set(answers.subarray(s * features, (s + m) * features));
}

/**
 * The head's outputs [n, outputs] for networks' answers to the run's probes: fill(s, m, rows)
 * writes the answers of networks s..s+m-1 ([m, K * outputs]) into rows; `where` names the
 * answers in errors.
 */
function headOutputs(run: TrainedRun, n: number, fill: (s: number, m: number, rows: Float32Array) => void, where: string): Float32Array {
  const k = run.probes, out = run.outputsPerProbe, features = k * out;
  const { model } = run.headOnly();
  // A labelled run reads the answers with its probes' classes, as it did in training.
  const labels = run.runFile.config.readout === "labelled" ? run.probeSource().labels ?? null : null;
  if (run.runFile.config.readout === "labelled" && labels === null) {
    throw new FileFormatError(join(run.dir, "config.json"), `records the labelled readout, but its ${run.runFile.config.method} probes carry no classes`);
  }
  const outputs = new Float32Array(n * run.outputs);
  const rows = new Float32Array(PREDICT_CHUNK * features);
  noGrad(() => {
    for (let s = 0; s < n; s += PREDICT_CHUNK) {
      const m = Math.min(PREDICT_CHUNK, n - s);
      fill(s, m, rows);
      const bad = rows.subarray(0, m * features).findIndex((v) => !Number.isFinite(v));
      if (bad >= 0) throw new FileFormatError(where, `response ${bad % features} of network ${s + Math.floor(bad / features)} is ${rows[bad]}`);
      tidy(() => {
        const answers = Tensor.from(rows.subarray(0, m * features), [m, features]);
        const x = labels === null ? answers : labelledAnswers(reshape(answers, [m, k, out]), labels);
        outputs.set(model.forward(x).data, s * run.outputs);
      });
    }
  });
  return outputs;
}

/**
 * The run's predictions from responses [N, K, outputs] in a .npy file, computed anywhere:
 * network n's answers to the run's exported probes, in the probes' order.
 */
export function predictResponses(run: TrainedRun, file: string): PredictionReport {
  const t0 = performance.now();
  if (!run.usesProbes) throw new FileFormatError(file, "the run represents networks by weight statistics, not by answers to probes");
  run.requireOutputsOnly(`responses (${file})`);
  const reader = new NpyRowReader(file);
  const { shape } = reader.header;
  const k = run.probes, out = run.outputsPerProbe;
  try {
    if (shape.length !== 3 || shape[1] !== k || shape[2] !== out) {
      throw new FileFormatError(file, `holds responses of shape [${shape.join(",")}]; this run needs [N, ${k}, ${out}] (N networks, ${k} probes, ${out} output${out > 1 ? "s" : ""} each)`);
    }
    const n = shape[0];
    if (n === 0) throw new FileFormatError(file, "holds the responses of no networks (N = 0)");
    if (reader.header.dtype.kind !== "f") throw new FileFormatError(file, `holds ${reader.header.dtype.descr} values; responses are a network's outputs, floating point (float32)`);
    const features = k * out;
    const outputs = headOutputs(run, n, (s, m, rows) => { for (let j = 0; j < m; j++) reader.readRow(s + j, rows, j * features); }, file);
    return fromOutputs(run, outputs, Array.from({ length: n }, (_, i) => `${file}#${i}`), new Float64Array(n).fill(NaN), t0);
  } finally {
    reader.close();
  }
}

/**
 * The run's predictions for ONNX models run black-box by onnxruntime on the run's probes: any
 * graph that takes the probes' shape and gives the run's outputs per probe.
 */
export async function predictBlackBox(run: TrainedRun, files: readonly string[]): Promise<PredictionReport> {
  const t0 = performance.now();
  const outputs = headOutputs(run, files.length, await blackBoxAnswers(run, files), files[0] ?? run.dir);
  return fromOutputs(run, outputs, [...files], new Float64Array(files.length).fill(NaN), t0);
}

/**
 * What the engine's networks among `inputs` answer to the run's probes, [n, K * outputs] in
 * order (the report's pictures of a network's answers); black-box networks' rows are left at 0.
 */
export function networkAnswers(run: TrainedRun, inputs: PredictionInputs): Float32Array {
  const features = run.probes * run.outputsPerProbe;
  const out = new Float32Array(inputs.names.length * features);
  if (inputs.zoo === null) return out;
  const black = new Set(inputs.blackBox.map((b) => b.at));
  const white = inputs.names.map((_, i) => i).filter((i) => !black.has(i));
  const data = new ZooData(inputs.zoo, { unlabelled: true, skipNonFinite: false });
  try {
    const probes = run.probeSource();
    const forward = new ZooForward(zooArchitectures(inputs.zoo.manifest, inputs.zoo.dir), data, undefined);
    noGrad(() => tidy(() => {
      const rows = forward.answers(data, Int32Array.from(white, (_, j) => j), probes.forward()).data;
      white.forEach((i, j) => out.set(rows.subarray(j * features, (j + 1) * features), i * features));
    }));
  } finally {
    data.dispose();
  }
  return out;
}
