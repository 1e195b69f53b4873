// Training a probing model on a zoo: shuffled batches of networks, cross-entropy on labels or
// MSE on a scalar target, Adam with cosine annealing to 0 over all steps, val and test evaluated
// every evalEvery steps and at the end, and the checkpoint with the best validation score
// (accuracy, or Kendall's tau for regression) kept. The run folder (run-folder.ts) holds the
// settings, metrics and checkpoints; a stopped run resumes and ends with the same metrics.
import { join, resolve } from "node:path";
import { Adam, Rng, backward, cosineLr, crossEntropy, kernels, mseLoss, threadCount, tidy, type Tensor } from "../engine/index.js";
import { MANIFEST_FILE, Zoo, ZooFormatError, type ZooManifest } from "../zoo/format.js";
import { PROBEGEN_VERSION } from "../version.js";
import type { OptimizerState } from "./checkpoint.js";
import { validateTrainConfig, type TrainConfig } from "./config.js";
import { evaluateSplit, type SplitEvaluation } from "./evaluate.js";
import { ProbingModel } from "./probing-model.js";
import { checkpointedStep } from "./checkpointed-step.js";
import { RunFolder, type MetricsRecord, type RunFile, type SplitMetrics } from "./run-folder.js";
import { ZooData } from "./zoo-data.js";
import type { BlackBoxRequest } from "./probe-representation.js";
import { onnxAnswersMany } from "../nets/onnx-runtime.js";

export { readRunFile, type MetricsRecord, type RunFile, type SplitMetrics } from "./run-folder.js";

export interface RunResult {
  run: string;
  method: string;
  /** What the head read (readouts.ts); absent in results from before --readout (logits). */
  readout?: string;
  probes: number;
  steps: number;
  /** Scores (accuracy, or Kendall's tau for regression) at the best validation score. */
  best: { step: number; val: number; test: number } | null;
  last: { step: number; val: number | null; test: number | null };
  /** What the scores are. */
  score: "accuracy" | "kendallTau";
  flopsPerNetwork: number;
  trainSeconds: number;
  /** Networks left out of the zoo for holding non-finite weights (with skipNonFinite). */
  skippedNonFinite: number;
  /** The kernels the run (its last part) trained on: seeded runs are the same bytes for one backend. */
  kernels?: string;
}

export interface TrainOptions {
  /** Continue the run in `out` from its last checkpoint. */
  resume?: boolean;
  /** Called after every evaluation. */
  onEval?: (r: MetricsRecord) => void;
  /** Called once before the first step: the run's total steps, the step it starts at, and its settings as resolved (what "auto" chose). */
  onStart?: (total: number, start: number, config: TrainConfig) => void;
  /** Called after every step with (step, total). */
  onStep?: (step: number, total: number) => void;
  /** Stop after this many steps in this call (tests use it to interrupt a run). */
  stopAfter?: number;
}

/** A training loss that is not a number: the run stops, keeping its last good checkpoint. */
export class NonFiniteLossError extends Error {}

/** How a run file records the zoo's architecture: the one, or the list. */
export function runArchitecture(m: ZooManifest): Pick<RunFile, "architecture" | "architectures"> {
  return m.architectures.length === 1 ? { architecture: m.architectures[0].architecture } : { architectures: m.architectures.map((a) => a.architecture) };
}

/** The training networks of each step: epoch e visits the train split in a permutation seeded by (seed, e). */
class BatchSchedule {
  readonly perEpoch: number;
  readonly total: number;
  private cached: { epoch: number; order: Int32Array } | null = null;

  constructor(private readonly train: Int32Array, private readonly batch: number, epochs: number, private readonly seed: number) {
    this.perEpoch = Math.ceil(train.length / batch);
    this.total = epochs * this.perEpoch;
  }

  at(step: number): Int32Array {
    const epoch = Math.floor(step / this.perEpoch), pos = step % this.perEpoch;
    if (this.cached?.epoch !== epoch) this.cached = { epoch, order: new Rng(this.seed, `epoch:${epoch}`).shuffle(Int32Array.from(this.train)) };
    return this.cached.order.subarray(pos * this.batch, Math.min(this.train.length, (pos + 1) * this.batch));
  }
}

/** One step: the batch's loss, its gradient, and Adam's update (skipped when the loss is not finite). */
function trainStep(model: ProbingModel, data: ZooData, batch: Int32Array, opt: Adam): number {
  opt.zeroGrad();
  const lossOf = (out: Tensor) => data.task === "classification"
    ? crossEntropy(out, Array.from(batch, (i) => data.labels[i]))
    : mseLoss(out, Array.from(batch, (i) => data.targets[i]));
  const rep = model.representation;
  const passes = rep.stepPasses(data, batch);
  const loss = passes.length > 1
    ? checkpointedStep({
      probes: () => rep.stepProbes(),
      passes,
      representPass: (at, probes) => rep.representOn(data, at.map((p) => batch[p]), probes),
      loss: (r) => lossOf(model.head.forward(r)),
    })
    : tidy(() => {
      const l = lossOf(model.forward(data, batch));
      backward(l);
      return l.item();
    });
  if (Number.isFinite(loss)) opt.step();
  return loss;
}

/** The zoo as the run sees it: with the image set --dataset names, when the zoo records none. */
function withDataset(zoo: Zoo, dataset: string | undefined): Zoo {
  if (dataset === undefined) return zoo;
  const recorded = zoo.manifest.provenance.dataset;
  if (typeof recorded === "string" && recorded !== "" && recorded !== dataset) {
    throw new ZooFormatError(join(zoo.dir, MANIFEST_FILE), `records that its networks were trained on ${recorded}; --dataset ${dataset} contradicts it`);
  }
  zoo.manifest.provenance = { ...zoo.manifest.provenance, dataset };
  return zoo;
}

/** Trains a probing model on a zoo into the run folder `out` (or resumes it); returns the run's result. */
export function train(config: TrainConfig, out: string, opts: TrainOptions = {}): RunResult {
  const steps = trainSteps(config, out, opts);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
    // Thrown into the loop, which lets go of the zoo's tensors and throws it on.
    if (r.value !== undefined) steps.throw(new Error(`${config.zoo}: the zoo holds black-box networks, which onnxruntime answers asynchronously; train them with trainYielding (as \`probegen train\` does)`));
  }
}

/**
 * train, giving the event loop a turn between steps (every YIELD_MS at most), so that a signal
 * (Ctrl-C, a scheduler's SIGTERM) is handled at a step boundary: the lock released and nothing
 * half-written (src/io/interrupts.ts). The command line trains this way.
 */
export async function trainYielding(config: TrainConfig, out: string, opts: TrainOptions = {}): Promise<RunResult> {
  const steps = trainSteps(config, out, opts);
  let last = performance.now();
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
    if (r.value !== undefined) {
      try {
        await answerBlackBox(r.value);
      } catch (e) {
        steps.throw(e);
        throw e;
      }
      last = performance.now();
    } else if (performance.now() - last >= YIELD_MS) {
      await new Promise((resolve) => setImmediate(resolve));
      last = performance.now();
    }
  }
}

/** Has onnxruntime answer a zoo's black-box networks on the run's probes, and keeps the answers. */
export async function answerBlackBox(q: BlackBoxRequest): Promise<void> {
  q.keep(await onnxAnswersMany(q.files, q.probes, q.probeShape, q.outputs, threadCount()));
}

/** Milliseconds of training between turns of the event loop. */
const YIELD_MS = 50;

/**
 * The training loop, one step per iteration; the result when it ends. Before the first step it
 * yields the zoo's black-box networks once, if it has any, for the caller to have onnxruntime
 * answer (trainYielding).
 */
function* trainSteps(config: TrainConfig, out: string, opts: TrainOptions): Generator<BlackBoxRequest | undefined, RunResult> {
  validateTrainConfig(config);
  const zooDir = resolve(config.zoo);
  const zoo = withDataset(Zoo.open(zooDir), config.dataset);
  const data = new ZooData(zoo, { skipNonFinite: config.skipNonFinite });
  // The model is built before the run folder, so a setting the zoo cannot take leaves no folder behind.
  let model: ProbingModel;
  try {
    model = new ProbingModel({ ...config, zoo: zooDir }, data.outputs, data, { startProbes: true });
  } catch (e) {
    // Say which settings did not fit, and for which zoo, not only how many bytes.
    if (e instanceof RangeError && e.message.startsWith("out of tensor memory")) {
      const outputs = data.outputs;
      data.dispose();
      throw new RangeError(`${out}: a model of ${config.probes} probes and a ${config.head.width}-wide head for ${zooDir}'s ${outputs} outputs does not fit: ${e.message}; use fewer --probes or a narrower --head-width`);
    }
    throw e;
  }
  try {
    const request = model.representation.blackBoxRequest?.(data) ?? null;
    if (request !== null) yield request;
  } catch (e) {
    data.dispose();
    throw e;
  }
  // The run records where its generator started and what it read, not "auto".
  const cfg = { ...config, zoo: zooDir, method: model.method, probeInit: model.probeStart, readout: model.readout };
  const runFile: RunFile = {
    config: cfg, family: zoo.manifest.family, ...runArchitecture(zoo.manifest), classes: data.classes, task: data.task,
    labelNames: zoo.manifest.task.labelNames ?? [],
    ...(zoo.manifest.task.target !== undefined ? { target: zoo.manifest.task.target } : {}),
    ...(typeof zoo.manifest.provenance.dataset === "string" ? { dataset: zoo.manifest.provenance.dataset } : {}),
    zooCount: zoo.count, probegenVersion: PROBEGEN_VERSION,
  };
  const run = opts.resume ? RunFolder.resume(out, cfg) : RunFolder.create(out, runFile);
  try {
    const saved = model.savedTensors(), params = model.trainableParameters();
    // The probe source may learn at its own rate; the cosine schedule scales both.
    const lrScales = params.map(([name]) => (name.startsWith("probe.") && cfg.probeLr !== undefined ? cfg.probeLr / cfg.lr : 1));
    const opt = new Adam(params.map(([, t]) => t), { lr: cfg.lr, weightDecay: cfg.weightDecay, lrScales });
    const optimizer: OptimizerState = { adam: opt, params };
    const schedule = new BatchSchedule(data.splits.train, cfg.batch, cfg.epochs, cfg.seed);
    let { step: start, best, seconds: priorSeconds } = run.restore(saved, optimizer) ?? { step: 0, best: null, seconds: 0 };
    const stopAt = Math.min(schedule.total, start + (opts.stopAfter ?? Infinity));
    let lossSum = 0, lossCount = 0, seen = 0, windowStart = performance.now();
    const t0 = performance.now();
    opts.onStart?.(schedule.total, start, cfg);
    for (let step = start; step < stopAt; step++) {
      opt.lr = cosineLr(cfg.lr, step, schedule.total);
      const batch = schedule.at(step);
      const loss = trainStep(model, data, batch, opt);
      const stop = (what: string, value: number) => new NonFiniteLossError(`step ${step + 1}: the ${what} loss is ${value}; the run stopped, ${start > 0 ? `and its last checkpoint (step ${start}${best !== null ? `, best at step ${best.step}` : ""}) is kept` : "before its first checkpoint"}. A smaller --lr may help, or \`probegen zoo info\` shows whether the zoo holds non-finite weights`);
      if (!Number.isFinite(loss)) throw stop("training", loss);
      lossSum += loss; lossCount++; seen += batch.length;
      opts.onStep?.(step + 1, schedule.total);
      run.heartbeat();
      if ((step + 1) % cfg.evalEvery !== 0 && step + 1 !== schedule.total) {
        yield;
        continue;
      }
      // Evaluate, log, and keep the best and last checkpoints.
      const now = performance.now();
      const val = data.splits.val.length > 0 ? evaluateSplit(model, data, data.splits.val) : null;
      const test = data.splits.test.length > 0 ? evaluateSplit(model, data, data.splits.test) : null;
      if (val !== null && !Number.isFinite(val.loss)) throw stop("validation", val.loss);
      if (test !== null && !Number.isFinite(test.loss)) throw stop("test", test.loss);
      const record: MetricsRecord = {
        step: step + 1, epoch: (step + 1) / schedule.perEpoch, lr: opt.lr, trainLoss: lossSum / lossCount,
        val: val && splitMetrics(val), test: test && splitMetrics(test),
        modelsPerSec: seen / ((now - windowStart) / 1000), seconds: priorSeconds + (now - t0) / 1000,
      };
      run.log(record);
      const metricsLines = run.loggedRecords;
      if (val !== null && isBetter(val.score, best?.valScore)) {
        best = { step: step + 1, valScore: val.score };
        run.checkpoint("best", saved, { step: step + 1, adamSteps: opt.t, best, metricsLines, seconds: record.seconds });
      }
      run.checkpoint("last", saved, { step: step + 1, adamSteps: opt.t, best, metricsLines, seconds: record.seconds }, optimizer);
      start = step + 1;
      opts.onEval?.(record);
      lossSum = 0; lossCount = 0; seen = 0; windowStart = performance.now();
      yield;
    }
    const result = summarize(run, cfg, data, model.flopsPerNetwork(), priorSeconds + (performance.now() - t0) / 1000, stopAt);
    if (stopAt === schedule.total) run.writeResult(result);
    return result;
  } finally {
    run.close();
    data.dispose();
  }
}

/** Whether a validation score beats the best so far: any number beats none, and NaN (a constant prediction's tau) beats nothing. */
function isBetter(score: number, best: number | undefined): boolean {
  if (best === undefined) return true;
  if (Number.isNaN(score)) return false;
  return Number.isNaN(best) || score > best;
}

function splitMetrics(e: SplitEvaluation): SplitMetrics {
  return e.kind === "classification"
    ? { loss: e.loss, score: e.score, accuracy: e.accuracy }
    : { loss: e.loss, score: e.score, kendallTau: e.kendallTau, r2: e.r2, mae: e.mae };
}

function summarize(run: RunFolder, cfg: TrainConfig, data: ZooData, flops: number, seconds: number, steps: number): RunResult {
  const records = run.records();
  const last = records[records.length - 1] ?? null;
  let best: RunResult["best"] = null;
  for (const r of records) {
    // JSON records a NaN score (a constant prediction's Kendall's tau) as null.
    const score = r.val?.score ?? NaN;
    if (r.val !== null && isBetter(score, best?.val)) best = { step: r.step, val: score, test: r.test?.score ?? NaN };
  }
  return {
    run: run.dir, method: cfg.method, readout: cfg.readout, probes: cfg.probes, steps,
    best,
    last: { step: last?.step ?? 0, val: last?.val?.score ?? null, test: last?.test?.score ?? null },
    score: data.task === "classification" ? "accuracy" : "kendallTau",
    flopsPerNetwork: flops,
    trainSeconds: last !== null ? last.seconds : seconds,
    skippedNonFinite: data.skippedNonFinite.length,
    kernels: kernels().name,
  };
}
