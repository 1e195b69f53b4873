// Training a probing model on a zoo: Adam with cosine annealing to 0 over all steps, shuffled
// batches of networks, cross-entropy on labels or MSE on a scalar target, evaluation of val and
// test every evalEvery steps and at the end, the checkpoint with the best validation score
// (accuracy, or Kendall's tau for regression) kept. A run folder holds config.json,
// metrics.jsonl (one record per evaluation), best/last checkpoints and result.json; a run that
// stopped resumes from its last checkpoint and ends with the same metrics.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { Adam, Rng, backward, cosineLr, crossEntropy, mseLoss, tidy } from "../engine/index.js";
import { Zoo, type ZooManifest } from "../zoo/format.js";
import { writeFileAtomic } from "../io/atomic.js";
import { PROBEGEN_VERSION } from "../version.js";
import { loadCheckpoint, saveCheckpoint, type CheckpointInfo } from "./checkpoint.js";
import { validateTrainConfig, type TrainConfig } from "./config.js";
import { evaluateSplit, type SplitEvaluation } from "./evaluate.js";
import { ProbingModel } from "./probing-model.js";
import { ZooData } from "./zoo-data.js";

/** What an evaluation logs: the loss, the selection score, and the task's metrics. */
export interface SplitMetrics {
  loss: number;
  score: number;
  accuracy?: number;
  kendallTau?: number;
  r2?: number;
  mae?: number;
}

export interface MetricsRecord {
  step: number;
  epoch: number;
  lr: number;
  trainLoss: number;
  val: SplitMetrics | null;
  test: SplitMetrics | null;
  modelsPerSec: number;
  seconds: number;
}

export interface RunResult {
  run: string;
  method: string;
  probes: number;
  steps: number;
  /** Scores (accuracy, or Kendall's tau for regression) at the best validation score. */
  best: { step: number; val: number; test: number } | null;
  last: { step: number; val: number | null; test: number | null };
  /** What the scores are. */
  score: "accuracy" | "kendallTau";
  flopsPerNetwork: number;
  trainSeconds: number;
}

export interface RunFile {
  config: TrainConfig;
  family: string;
  /** The zoo's architecture (a zoo of one). */
  architecture?: Record<string, unknown>;
  /** The zoo's architectures (a zoo of several). */
  architectures?: Record<string, unknown>[];
  task: "classification" | "regression";
  classes: number;
  labelNames: string[];
  zooCount: number;
  probegenVersion: string;
}

export interface TrainOptions {
  /** Continue the run in `out` from its last checkpoint. */
  resume?: boolean;
  /** Called after every evaluation. */
  onEval?: (r: MetricsRecord) => void;
  /** Called once before the first step: the run's total steps and the step it starts at. */
  onStart?: (total: number, start: number) => void;
  /** Called after every step with (step, total). */
  onStep?: (step: number, total: number) => void;
  /** Stop after this many steps in this call (tests use it to interrupt a run). */
  stopAfter?: number;
}

function configsDiffer(a: TrainConfig, b: TrainConfig): string[] {
  return (Object.keys(a) as (keyof TrainConfig)[]).filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));
}

export function readRunFile(run: string): RunFile {
  const file = join(run, "config.json");
  if (!existsSync(file)) throw new Error(`${file}: not found (is ${run} a probegen run folder?)`);
  try {
    return JSON.parse(readFileSync(file, "utf8")) as RunFile;
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${(e as Error).message})`);
  }
}

/** How a run file records the zoo's architecture: the one, or the list. */
export function runArchitecture(m: ZooManifest): Pick<RunFile, "architecture" | "architectures"> {
  return m.architectures.length === 1 ? { architecture: m.architectures[0].architecture } : { architectures: m.architectures.map((a) => a.architecture) };
}

export function train(config: TrainConfig, out: string, opts: TrainOptions = {}): RunResult {
  validateTrainConfig(config);
  const cfg = { ...config, zoo: resolve(config.zoo) };
  const zoo = Zoo.open(cfg.zoo);
  const data = new ZooData(zoo);
  const configFile = join(out, "config.json");
  const metricsFile = join(out, "metrics.jsonl");
  const runFile: RunFile = {
    config: cfg, family: zoo.manifest.family, ...runArchitecture(zoo.manifest), classes: data.classes, task: data.task,
    labelNames: zoo.manifest.task.labelNames ?? [], zooCount: zoo.count, probegenVersion: PROBEGEN_VERSION,
  };
  // Built before anything is written, so a setting the zoo cannot take leaves no run folder behind.
  const model = new ProbingModel(cfg, zoo.manifest, data.outputs, data);
  if (opts.resume) {
    const prior = readRunFile(out);
    const diff = configsDiffer(prior.config, cfg);
    if (diff.length > 0) throw new Error(`${configFile}: --resume with different settings (${diff.join(", ")}); resume with the run's own settings`);
  } else if (existsSync(configFile)) {
    throw new Error(`${out} already holds a run; pass --resume to continue it, or choose another --out`);
  } else {
    mkdirSync(out, { recursive: true });
    writeFileAtomic(configFile, `${JSON.stringify(runFile, null, 2)}\n`);
  }

  const params = model.namedParameters();
  const opt = new Adam(params.map(([, t]) => t), { lr: cfg.lr, weightDecay: cfg.weightDecay });
  const nTrain = data.splits.train.length;
  const perEpoch = Math.ceil(nTrain / cfg.batch);
  const total = cfg.epochs * perEpoch;

  let start = 0;
  let best: CheckpointInfo["best"] = null;
  let metricsLines = 0;
  let priorSeconds = 0;
  if (opts.resume && existsSync(join(out, "last.json"))) {
    const info = loadCheckpoint(out, "last", params, opt);
    start = info.step;
    best = info.best;
    metricsLines = info.metricsLines;
    priorSeconds = info.seconds;
    // Drop evaluations logged after the checkpoint: they will be made again.
    const lines = existsSync(metricsFile) ? readFileSync(metricsFile, "utf8").split("\n").filter((l) => l !== "") : [];
    writeFileAtomic(metricsFile, lines.slice(0, metricsLines).map((l) => `${l}\n`).join(""));
  } else if (!opts.resume || !existsSync(metricsFile)) {
    writeFileSync(metricsFile, "");
  }

  const permCache = new Map<number, Int32Array>();
  const permutation = (epoch: number) => {
    let p = permCache.get(epoch);
    if (p === undefined) {
      p = new Rng(cfg.seed, `epoch:${epoch}`).shuffle(Int32Array.from(data.splits.train));
      permCache.clear();
      permCache.set(epoch, p);
    }
    return p;
  };

  let lossSum = 0, lossCount = 0, seen = 0;
  let windowStart = performance.now();
  const t0 = performance.now();
  let lastRecord: MetricsRecord | null = null;
  const stopAt = opts.stopAfter === undefined ? total : Math.min(total, start + opts.stopAfter);
  opts.onStart?.(total, start);
  for (let step = start; step < stopAt; step++) {
    const epoch = Math.floor(step / perEpoch);
    const pos = step % perEpoch;
    const perm = permutation(epoch);
    const idx = perm.subarray(pos * cfg.batch, Math.min(nTrain, (pos + 1) * cfg.batch));
    opt.lr = cosineLr(cfg.lr, step, total);
    opt.zeroGrad();
    lossSum += tidy(() => {
      const out = model.forward(data, idx);
      const loss = data.task === "classification"
        ? crossEntropy(out, Array.from(idx, (i) => data.labels[i]))
        : mseLoss(out, Array.from(idx, (i) => data.targets[i]));
      backward(loss);
      return loss.item();
    });
    lossCount++;
    seen += idx.length;
    opt.step();
    opts.onStep?.(step + 1, total);
    if ((step + 1) % cfg.evalEvery === 0 || step + 1 === total) {
      const now = performance.now();
      const val = data.splits.val.length > 0 ? evaluateSplit(model, data, data.splits.val) : null;
      const test = data.splits.test.length > 0 ? evaluateSplit(model, data, data.splits.test) : null;
      const record: MetricsRecord = {
        step: step + 1, epoch: (step + 1) / perEpoch, lr: opt.lr, trainLoss: lossSum / lossCount,
        val: val && splitMetrics(val), test: test && splitMetrics(test),
        modelsPerSec: seen / ((now - windowStart) / 1000), seconds: priorSeconds + (now - t0) / 1000,
      };
      writeFileSync(metricsFile, `${JSON.stringify(record)}\n`, { flag: "a" });
      metricsLines++;
      if (val !== null && (best === null || val.score > best.valScore)) {
        best = { step: step + 1, valScore: val.score };
        saveCheckpoint(out, "best", params, { step: step + 1, adamSteps: opt.t, best, metricsLines, seconds: record.seconds });
      }
      saveCheckpoint(out, "last", params, { step: step + 1, adamSteps: opt.t, best, metricsLines, seconds: record.seconds }, opt);
      lastRecord = record;
      opts.onEval?.(record);
      lossSum = 0; lossCount = 0; seen = 0;
      windowStart = performance.now();
    }
  }
  const result = summarize(out, cfg, data.task, model.flopsPerNetwork(), priorSeconds + (performance.now() - t0) / 1000, lastRecord, stopAt);
  if (stopAt === total) writeFileAtomic(join(out, "result.json"), `${JSON.stringify(result, null, 2)}\n`);
  data.dispose();
  return result;
}

function splitMetrics(e: SplitEvaluation): SplitMetrics {
  return e.kind === "classification"
    ? { loss: e.loss, score: e.score, accuracy: e.accuracy }
    : { loss: e.loss, score: e.score, kendallTau: e.kendallTau, r2: e.r2, mae: e.mae };
}

function summarize(out: string, cfg: TrainConfig, task: "classification" | "regression", flops: number, seconds: number, last: MetricsRecord | null, steps: number): RunResult {
  const records = readFileSync(join(out, "metrics.jsonl"), "utf8").split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as MetricsRecord);
  const lastRec = last ?? records[records.length - 1] ?? null;
  let best: RunResult["best"] = null;
  for (const r of records) {
    if (r.val !== null && (best === null || r.val.score > best.val)) best = { step: r.step, val: r.val.score, test: r.test?.score ?? NaN };
  }
  return {
    run: out, method: cfg.method, probes: cfg.probes, steps,
    best,
    last: { step: lastRec?.step ?? 0, val: lastRec?.val?.score ?? null, test: lastRec?.test?.score ?? null },
    score: task === "classification" ? "accuracy" : "kendallTau",
    flopsPerNetwork: flops,
    trainSeconds: records.length > 0 ? records[records.length - 1].seconds : seconds,
  };
}
