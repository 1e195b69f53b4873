// Paper-scale probing runs, timed from opening the zoo to the last evaluation: MNIST-INR (55k
// training / 5k val / 10k test SIRENs, K = 64, 30 epochs, about 51.6k steps) and the Small CNN
// Zoo (12k / 3k / 15k, K = 64, 150 epochs, about 56k steps). The zoos hold random weights and
// labels (training 70k real INRs or 30k CNNs takes days here): the cost of a step does not
// depend on the values.
import { mkdtempSync, rmSync } from "node:fs";
import { makeDirectory } from "../io/dirs.js";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Rng } from "../engine/index.js";
import { DWSNETS_SIREN, initSiren, sirenParameterShapes } from "../nets/siren.js";
import { DEFAULT_TRAIN_CONFIG, type TrainConfig } from "../train/config.js";
import { smallCnnZooArchitecture } from "../nets/small-cnn.js";
import { cnnParameterShapes } from "../nets/cnn.js";
import { train } from "../train/trainer.js";
import { writeFileAtomic } from "../io/atomic.js";
import { manifestJson, planShards, type ZooManifest } from "../zoo/format.js";
import { encodeSafetensors, type SafeArray } from "../io/safetensors.js";

export interface PaperScaleFigures {
  networks: number;
  epochs: number;
  steps: number;
  seconds: number;
  stepsPerSec: number;
  modelsPerSec: number;
  /** Opening the zoo, building the model (with the generator's fit to its starting images) and closing the run: once per run. */
  setupSeconds: number;
  /** The training steps alone. */
  stepSeconds: number;
  /** The evaluations of val and test, and their checkpoints. */
  evalSeconds: number;
  evaluations: number;
  /**
   * The paper's epoch count, and the run's time at that many epochs when fewer were run: the
   * setup once, the steps and the evaluations scaled to their counts in the paper's run. Scaling
   * the whole time would count the setup (the generator's 500-step fit, the zoo's loading) once
   * per 10 epochs.
   */
  paperEpochs: number;
  projectedSeconds: number;
}

export interface SyntheticFamily {
  family: ZooManifest["family"];
  architecture: ZooManifest["architectures"][number]["architecture"];
  shapes: [string, number[]][];
  fields: ZooManifest["fields"];
  task: ZooManifest["task"];
  /** Fills one network's parameters (one view per shape). */
  init(rng: Rng, views: Float32Array[]): void;
  /** The label field's values for a shard. */
  labels(rng: Rng, count: number): Int32Array | Float32Array;
  shardSize: number;
}

export function writeSyntheticZoo(dir: string, splits: { train: number; val: number; test: number }, seed: number, f: SyntheticFamily): void {
  const count = splits.train + splits.val + splits.test;
  const manifest: ZooManifest = {
    format: "probegen-zoo", version: 1, family: f.family,
    architectures: [{ architecture: f.architecture, parameters: f.shapes.map(([name, shape]) => ({ name, shape })) }],
    fields: f.fields,
    strings: [],
    task: f.task,
    count,
    splits: { train: [[0, splits.train]], val: [[splits.train, splits.train + splits.val]], test: [[splits.train + splits.val, count]] },
    shards: planShards(count, f.shardSize),
    provenance: { builder: "bench/paper-scale.ts (synthetic)", seed },
  };
  makeDirectory(dir);
  const rng = new Rng(seed, "synthetic-zoo");
  for (const s of manifest.shards) {
    const sizes = f.shapes.map(([, shape]) => shape.reduce((a, b) => a * b, 1));
    const arrays = sizes.map((per) => new Float32Array(s.count * per));
    for (let i = 0; i < s.count; i++) f.init(rng, arrays.map((a, j) => a.subarray(i * sizes[j], (i + 1) * sizes[j])));
    const tensors: [string, { shape: number[]; data: SafeArray }][] = f.shapes.map(([name, shape], j) => [name, { shape: [s.count, ...shape], data: arrays[j] }]);
    tensors.push([f.fields[0].name, { shape: [s.count], data: f.labels(rng, s.count) }]);
    writeFileAtomic(join(dir, s.file), encodeSafetensors(tensors));
  }
  writeFileAtomic(join(dir, "zoo.json"), manifestJson(manifest));
}

export function writeSyntheticInrZoo(dir: string, splits: { train: number; val: number; test: number }, seed = 0): void {
  const shapes = sirenParameterShapes(DWSNETS_SIREN);
  writeSyntheticZoo(dir, splits, seed, {
    family: "siren", architecture: { ...DWSNETS_SIREN }, shapes,
    fields: [{ name: "label", dtype: "I32", description: "random label" }],
    task: { kind: "classification", labelNames: ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"] },
    init: (rng, views) => initSiren(DWSNETS_SIREN, "siren", rng, views),
    labels: (rng, n) => Int32Array.from({ length: n }, () => rng.int(10)),
    shardSize: 10000,
  });
}

/** Small CNN Zoo networks with He-normal weights and a random test accuracy each. */
export function writeSyntheticSmallCnnZoo(dir: string, splits: { train: number; val: number; test: number }, seed = 0): void {
  const arch = smallCnnZooArchitecture();
  const shapes = cnnParameterShapes(arch);
  writeSyntheticZoo(dir, splits, seed, {
    family: "cnn", architecture: { ...arch }, shapes,
    fields: [{ name: "test_accuracy", dtype: "F32", description: "random accuracy" }],
    task: { kind: "regression", target: "test_accuracy" },
    init: (rng, views) => views.forEach((v, j) => {
      const shape = shapes[j][1];
      const fanIn = shape.slice(1).reduce((a, b) => a * b, 1);
      if (shapes[j][0].endsWith("bias")) rng.fillNormal(v, 0, 0.05);
      else rng.fillNormal(v, 0, Math.sqrt(2 / fanIn));
    }),
    labels: (rng, n) => Float32Array.from({ length: n }, () => rng.uniform()),
    shardSize: 5000,
  });
}

function timedRun(dir: string, config: TrainConfig, networks: number, paperEpochs: number): PaperScaleFigures {
  const t0 = performance.now();
  let mark = t0, stepMs = 0, evalMs = 0, evaluations = 0;
  const r = train(config, join(dir, "run"), {
    onStart: () => { mark = performance.now(); },
    onStep: () => { const now = performance.now(); stepMs += now - mark; mark = now; },
    onEval: () => { const now = performance.now(); evalMs += now - mark; mark = now; evaluations++; },
  });
  const seconds = (performance.now() - t0) / 1000, stepSeconds = stepMs / 1000, evalSeconds = evalMs / 1000;
  const paperSteps = (r.steps / config.epochs) * paperEpochs;
  // Evaluations come every evalEvery steps and after the last step.
  const evaluationsAt = (steps: number) => Math.ceil(steps / config.evalEvery);
  const setupSeconds = seconds - stepSeconds - evalSeconds;
  const projectedSeconds = setupSeconds + (stepSeconds * paperSteps) / r.steps + (evaluations > 0 ? (evalSeconds / evaluations) * evaluationsAt(paperSteps) : 0);
  return {
    networks, epochs: config.epochs, steps: r.steps, seconds,
    stepsPerSec: r.steps / seconds, modelsPerSec: (r.steps * config.batch) / seconds,
    setupSeconds, stepSeconds, evalSeconds, evaluations,
    paperEpochs, projectedSeconds,
  };
}

/** MNIST-INR at the paper's scale: 55k/5k/10k SIRENs, K=64, 30 epochs (fewer with `epochs`). */
export function paperScaleBench(splits = { train: 55000, val: 5000, test: 10000 }, epochs = 30): PaperScaleFigures {
  const dir = mkdtempSync(join(tmpdir(), "probegen-paper-"));
  try {
    writeSyntheticInrZoo(join(dir, "zoo"), splits);
    return timedRun(dir, { ...DEFAULT_TRAIN_CONFIG, zoo: join(dir, "zoo"), epochs }, splits.train, 30);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The Small CNN Zoo at the paper's scale: NFN's split of its 30k networks (12k train, 3k val,
 * 15k test), K=64, 150 epochs (fewer with `epochs`), val and test evaluated every 10 epochs and
 * at the end: evaluating 18k networks after every 500 steps would take longer than training.
 */
export function paperCnnBench(splits = { train: 12000, val: 3000, test: 15000 }, epochs = 150): PaperScaleFigures {
  const dir = mkdtempSync(join(tmpdir(), "probegen-paper-cnn-"));
  try {
    writeSyntheticSmallCnnZoo(join(dir, "zoo"), splits);
    const stepsPerEpoch = Math.ceil(splits.train / DEFAULT_TRAIN_CONFIG.batch);
    return timedRun(dir, { ...DEFAULT_TRAIN_CONFIG, zoo: join(dir, "zoo"), epochs, evalEvery: 10 * stepsPerEpoch }, splits.train, 150);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
