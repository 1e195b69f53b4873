// Builds a CNN Wild Park zoo (Neural Graphs) on MNIST or Fashion-MNIST: N networks of drawn
// architectures (wild-park-architecture.ts), each trained with AdamW and kept at several
// epochs; every kept checkpoint is a sample whose target is its test accuracy, and all
// checkpoints of a network fall in one split. Networks are trained in cohorts of mixed
// architectures (wild-park-train.ts), shard by shard and resumably (shard-build.ts).
import { join } from "node:path";
import { Rng } from "../../engine/index.js";
import { CNN_INPUT_DESCRIPTION, CNN_INPUT_SIZE } from "../../data/cnn-input.js";
import { loadImageSet } from "../../data/image-sets.js";
import { cnnParameterShapes, type CnnArchitecture } from "../../nets/cnn.js";
import { writeFileAtomic } from "../../io/atomic.js";
import { encodeShard, indicesToRanges, shardFileName, type ZooManifest } from "../format.js";
import { ShardCollector, type ShardBuildReport } from "../shard-build.js";
import { checkRecipeInt, imagePools, type ImagePool } from "./image-pools.js";
import { buildZooLocally, type ImageZooBuildOptions } from "./local-build.js";
import { PROBEGEN_VERSION } from "../../version.js";
import { WIDE_CHANNELS, WIDE_LAYERS, WILD_PARK_SPACE, drawWildParkArchitecture, type WildParkSpace } from "./wild-park-architecture.js";
import { trainWildParkCohort, type WildParkJob, type WildParkRecipe, type WildParkResult } from "./wild-park-train.js";

/** A Wild Park's options (batch 8, shards of 32 networks by default). */
export interface WildParkZooOptions extends ImageZooBuildOptions<WildParkProgress> {
  recipe?: Partial<WildParkRecipe>;
  /** Depths 2-8 instead of 2-5 (Neural Graphs' later configuration). */
  wideLayers?: boolean;
  /** Widths up to 64. */
  wideChannels?: boolean;
}

export interface WildParkProgress {
  network: number;
  attempt: number;
}

/**
 * Why these defaults: every network trains on the same 1,000-image pool at 32x32 (FMNIST padded
 * as the Small CNN Zoo's), batch 8, and is kept after epochs 1 and 3. A mixed cohort trains
 * about 100-170 images per network per second on one core of this 2-core machine, so a network
 * costs about 20-30 s of one core and a 100-network park about 30 minutes on both cores; probing
 * is the dearer half (each checkpoint answers K probe images at 32x32 through up to 5 wide
 * layers). Batch 8 rather than 32: the convolutions run image by image, so a step of 8 costs a
 * quarter of a step of 32, and four times the steps for the same images lift test accuracy
 * after 3 epochs from 19-31% to 24-51% on the same six networks (measured here), which gives
 * the spread of accuracies the task needs. The public park trains at batch 512 for far longer
 * on GPUs.
 */
export const DEFAULT_WILD_PARK_RECIPE: WildParkRecipe = {
  trainImages: 1000,
  testImages: 1000,
  batchSize: 8,
  lr: 1e-3,
  weightDecay: 0.01,
  checkpoints: [1, 3],
};

const FIELDS: ZooManifest["fields"] = [
  { name: "test_accuracy", dtype: "F32", description: "accuracy on the zoo's test images at this checkpoint" },
  { name: "test_loss", dtype: "F32", description: "mean cross-entropy on the test images" },
  { name: "train_loss", dtype: "F32", description: "mean minibatch cross-entropy over the epoch that ended at this checkpoint" },
  { name: "epoch", dtype: "I32", description: "epochs trained at this checkpoint" },
  { name: "step", dtype: "I32", description: "optimiser steps taken at this checkpoint" },
  { name: "network", dtype: "I32", description: "which trained network this is a checkpoint of" },
  { name: "architecture", dtype: "I32", description: "index of the network's architecture in zoo.json" },
  { name: "layers", dtype: "U8", description: "conv layers" },
  { name: "attempts", dtype: "U8", description: "tries: a network whose training diverged was trained again from a new initialisation and data order" },
];

/** Networks trained at once by default (--batch); the zoo does not depend on it. */
export const DEFAULT_PARK_COHORT = 8;

export interface WildParkBuild {
  opts: WildParkZooOptions;
  seed: number;
  recipe: WildParkRecipe;
  space: WildParkSpace;
  manifest: ZooManifest;
  pool: ImagePool;
  test: ImagePool;
  /** First attempt of every network, by network index. */
  jobs: WildParkJob[];
  /** Each network's architecture: its index in manifest.architectures. */
  archOf: number[];
}

/**
 * Splits networks, not samples: the first 70% of networks train, the next 10% (at least one)
 * validate, the last 20% (at least one) test.
 */
function networkSplits(networks: number, perNetwork: number): ZooManifest["splits"] {
  const val = Math.max(1, Math.round(networks * 0.1)), train = networks - val - Math.max(1, Math.round(networks * 0.2));
  const range = (a: number, b: number) => indicesToRanges(Array.from({ length: (b - a) * perNetwork }, (_, i) => a * perNetwork + i));
  return { train: range(0, train), val: range(train, train + val), test: range(train + val, networks) };
}

/** Derives a build from its options without touching the output folder (workers use it). */
export function describeWildParkBuild(opts: WildParkZooOptions): WildParkBuild {
  const seed = opts.seed ?? 0;
  const recipe: WildParkRecipe = { ...DEFAULT_WILD_PARK_RECIPE, ...opts.recipe };
  const set = loadImageSet(opts.dataset, opts.dataDir);
  const check = checkRecipeInt;
  // One network each to train, validate and test on, at least.
  check("--count", opts.count, 3, 1e6);
  check("--batch-size", recipe.batchSize, 1, 4096);
  check("--train-images", recipe.trainImages, recipe.batchSize, set.train.count);
  check("--test-images", recipe.testImages, 1, set.test.count);
  if (recipe.checkpoints.length === 0 || !recipe.checkpoints.every((e, i) => Number.isInteger(e) && e >= 1 && (i === 0 || e > recipe.checkpoints[i - 1]))) {
    throw new RangeError(`--checkpoints must be increasing epochs from 1, got ${recipe.checkpoints.join(",")}`);
  }
  if (!(recipe.lr > 0) || !(recipe.weightDecay >= 0)) throw new RangeError(`--lr must be positive and the weight decay not negative`);
  const space: WildParkSpace = {
    ...WILD_PARK_SPACE,
    layers: opts.wideLayers ? WIDE_LAYERS : WILD_PARK_SPACE.layers,
    channels: opts.wideChannels ? WIDE_CHANNELS : WILD_PARK_SPACE.channels,
  };
  const classes = set.labelNames.length;
  const jobs = Array.from({ length: opts.count }, (_, i): WildParkJob => ({
    index: i, seed, stream: `wild-park:${i}`, attempt: 0,
    arch: drawWildParkArchitecture(space, new Rng(seed, `wild-park:${i}:architecture`), 1, classes),
  }));
  const keys = new Map<string, number>();
  const archOf = jobs.map((j) => {
    const key = JSON.stringify(j.arch);
    if (!keys.has(key)) keys.set(key, keys.size);
    return keys.get(key)!;
  });
  const architectures = [...keys.keys()].map((key) => {
    const arch = { ...(JSON.parse(key) as CnnArchitecture), inputSize: CNN_INPUT_SIZE };
    return { architecture: arch as unknown as Record<string, unknown>, parameters: cnnParameterShapes(arch).map(([name, shape]) => ({ name, shape })) };
  });
  const C = recipe.checkpoints.length;
  const shardSize = opts.shardSize ?? 32;
  check("--shard-size", shardSize, 1, 1e6);
  const shards = [];
  for (let n = 0, i = 0; n < opts.count; n += shardSize, i++) {
    shards.push({ file: shardFileName(i), start: n * C, count: Math.min(shardSize, opts.count - n) * C });
  }
  const several = architectures.length > 1;
  const manifest: ZooManifest = {
    format: "probegen-zoo", version: several ? 2 : 1, family: "cnn", architectures,
    ...(several ? { architectureField: "architecture" } : {}),
    fields: FIELDS, strings: [],
    task: { kind: "regression", target: "test_accuracy" },
    count: opts.count * C,
    splits: networkSplits(opts.count, C),
    shards,
    provenance: {
      builder: "probegen zoo build wild-park", probegenVersion: PROBEGEN_VERSION, dataset: opts.dataset, seed, networks: opts.count,
      recipe: {
        ...recipe, optimizer: "AdamW (torch.optim.AdamW: betas 0.9, 0.999, eps 1e-8, decoupled weight decay)",
        init: "PyTorch's default Conv2d/Linear init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases",
        loss: "softmax cross-entropy, mean over each network's own minibatch; every network sees the whole pool each epoch in its own order",
        space, residualDraw: "layer i >= 2: none or one of layers 0..i-2, equally likely",
      },
      residuals: "Neural Graphs' rule: residual[i] = j adds layer j's activated output to the first min(channels) channels of layer i, before its activation",
      input: CNN_INPUT_DESCRIPTION,
      splitProtocol: "by network: the first 70% of networks train, the next 10% validate, the last 20% test; a network's checkpoints are consecutive samples",
    },
  };
  const { pool, test } = imagePools(set, seed, "wild-park", recipe.trainImages, recipe.testImages);
  return { opts, seed, recipe, space, manifest, pool, test, jobs, archOf };
}

const MAX_ATTEMPTS = 10;

/** Trains the networks of the given shards in cohorts, writing each shard as it completes. */
export function trainWildParkShards(b: WildParkBuild, shards: readonly number[], onDone: (p: WildParkProgress) => void): number {
  const { manifest, recipe, opts } = b;
  const C = recipe.checkpoints.length;
  const collector = new ShardCollector<{ r: WildParkResult; c: number }>(manifest, shards, (si, entries) => {
    const nets = entries.map(({ r, c }) => ({ architecture: b.archOf[r.job.index], params: r.checkpoints[c].params }));
    const at = (f: (e: { r: WildParkResult; c: number }) => number) => entries.map(f);
    writeFileAtomic(join(opts.out, manifest.shards[si].file), encodeShard(manifest, si, nets, {
      test_accuracy: at(({ r, c }) => r.checkpoints[c].testAccuracy),
      test_loss: at(({ r, c }) => r.checkpoints[c].testLoss),
      train_loss: at(({ r, c }) => r.checkpoints[c].trainLoss),
      epoch: at(({ r, c }) => r.checkpoints[c].epoch),
      step: at(({ r, c }) => r.checkpoints[c].step),
      network: at(({ r }) => r.job.index),
      architecture: nets.map((n) => n.architecture),
      layers: at(({ r }) => r.job.arch.layers.length),
      attempts: at(({ r }) => r.job.attempt + 1),
    }));
  });
  const batch = opts.batch ?? DEFAULT_PARK_COHORT;
  let trained = 0;
  for (const si of shards) {
    const s = manifest.shards[si];
    let queue = b.jobs.slice(s.start / C, (s.start + s.count) / C);
    while (queue.length > 0) {
      const retry: WildParkJob[] = [];
      for (let i = 0; i < queue.length; i += batch) {
        const { done, diverged } = trainWildParkCohort(queue.slice(i, i + batch), recipe, b.pool, b.test);
        for (const r of done) {
          r.checkpoints.forEach((_, c) => collector.add(r.job.index * C + c, { r, c }));
          trained++;
          onDone({ network: r.job.index, attempt: r.job.attempt });
        }
        for (const j of diverged) {
          if (j.attempt + 1 >= MAX_ATTEMPTS) throw new Error(`Wild Park network ${j.index}: training diverged ${MAX_ATTEMPTS} times`);
          retry.push({ ...j, attempt: j.attempt + 1 });
        }
      }
      queue = retry;
    }
  }
  return trained;
}

export type WildParkBuildReport = ShardBuildReport;

/** Builds (or resumes) a Wild Park zoo on this thread or on `workers` worker threads (whole shards each; the zoo is the same). */
export async function buildWildParkZoo(opts: WildParkZooOptions, workers = 1): Promise<WildParkBuildReport> {
  const b = describeWildParkBuild(opts);
  // Progress counts samples: a finished network brings all its checkpoints.
  return buildZooLocally<WildParkProgress>("wild-park", opts, b.manifest, workers, (pending, onDone) => trainWildParkShards(b, pending, onDone), b.recipe.checkpoints.length);
}
