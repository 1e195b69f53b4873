// Builds a Small-CNN zoo (Unterthiner et al. 2020, on MNIST or Fashion-MNIST): N networks of
// 3 x [Conv 16, 3x3, stride 2, padding 1] + global average pooling + Linear(16, 10), each trained
// with its own hyperparameters, then scored on the image set's test images. Shard by shard and
// resumable (shard-build.ts); split by the NFN protocol; the target is test accuracy. The same
// recipe builds a zoo of ResNet-18s (`network: "resnet18"`): ReLU, no dropout, no BatchNorm.
import { join } from "node:path";
import { CNN_INPUT_DESCRIPTION } from "../../data/cnn-input.js";
import { loadImageSet } from "../../data/image-sets.js";
import { cnnParameterShapes, withActivation } from "../../nets/cnn.js";
import type { SizedCnnArchitecture } from "../../nets/family.js";
import { smallCnnZooArchitecture } from "../../nets/small-cnn.js";
import { resnet18, resnetParameterShapes, type SizedResNetArchitecture } from "../../nets/resnet.js";
import { writeFileAtomic } from "../../io/atomic.js";
import {
  CNN_ACTIVATIONS, CNN_INITS, CNN_OPTIMIZERS, DEFAULT_CNN_RECIPE, drawHyperparameters, trainingSize,
  type CnnHyperparameters, type CnnRecipe, type CnnZooActivation,
} from "./cnn-recipe.js";
import { CnnTrainer, jobRng, resnetNet, scoreCnns, type CnnJob, type CnnResult, type CnnScore } from "./cnn-train.js";
import { encodeShard, planShards, type ZooManifest } from "../format.js";
import { nfnSplits } from "../nfn-split.js";
import { ShardCollector, type ShardBuildReport } from "../shard-build.js";
import { checkRecipeInt, imagePools, pickSorted, type ImagePool } from "./image-pools.js";
import { buildZooLocally, type ImageZooBuildOptions } from "./local-build.js";
import { PROBEGEN_VERSION } from "../../version.js";

/** A Small-CNN (or ResNet) zoo's options (batch 32, shards of 250 or 50 ResNets by default). */
export interface CnnZooOptions extends ImageZooBuildOptions<CnnProgress> {
  recipe?: Partial<CnnRecipe>;
  /** The Small CNN Zoo's CNN (default), or ResNet-18s of `width` (8) with the CIFAR stem on the 32x32 inputs. */
  network?: "small-cnn" | "resnet18";
  width?: number;
}

/** What a finished network reports while the zoo is built. */
export interface CnnProgress {
  index: number;
  steps: number;
  attempt: number;
}

/** The Small CNN Zoo architecture whose networks each take their activation from the
 * `activation` field (codes into activationByField.names). */
export function smallCnnZooVariants(): SizedCnnArchitecture & { activationByField: { field: string; names: string[] } } {
  return { ...smallCnnZooArchitecture(), activationByField: { field: "activation", names: [...CNN_ACTIVATIONS] } };
}

const FIELDS: ZooManifest["fields"] = [
  { name: "test_accuracy", dtype: "F32", description: "accuracy on the zoo's test images (from the image set's test split)" },
  { name: "train_accuracy", dtype: "F32", description: "accuracy on (up to trainEvalImages of) the network's own training images" },
  { name: "test_loss", dtype: "F32", description: "mean cross-entropy on the test images" },
  { name: "train_loss", dtype: "F32", description: "mean cross-entropy on the train-accuracy images" },
  { name: "last_epoch_loss", dtype: "F32", description: "mean minibatch cross-entropy over the last training epoch (dropout on, no L2 term)" },
  { name: "activation", dtype: "U8", description: `activation after each conv layer: ${CNN_ACTIVATIONS.map((a, i) => `${i} ${a}`).join(", ")}` },
  { name: "init", dtype: "U8", description: `kernel initialiser (Keras semantics, zero biases): ${CNN_INITS.map((a, i) => `${i} ${a}`).join(", ")}` },
  { name: "init_std", dtype: "F32", description: "std of the random_normal / truncated_normal initialisers" },
  { name: "optimizer", dtype: "U8", description: `optimiser: ${CNN_OPTIMIZERS.map((a, i) => `${i} ${a}`).join(", ")}` },
  { name: "lr", dtype: "F32", description: "learning rate" },
  { name: "l2", dtype: "F32", description: "L2 penalty coefficient on conv and dense kernels" },
  { name: "dropout", dtype: "F32", description: "dropout rate after each conv layer's activation" },
  { name: "train_fraction", dtype: "F32", description: "fraction of the zoo's training images the network trained on" },
  { name: "epochs", dtype: "I32", description: "epochs over its training images" },
  { name: "steps", dtype: "I32", description: "optimiser steps taken" },
  { name: "attempts", dtype: "U8", description: "tries: a network whose training diverged (non-finite loss or weight) was trained again with new draws, keeping its activation" },
];

/** Networks trained at once by default (--batch); the zoo does not depend on it. */
export const DEFAULT_CNN_COHORT = 32;

/** Everything a build derives from its options. */
export interface CnnBuild {
  opts: CnnZooOptions;
  seed: number;
  recipe: CnnRecipe;
  arch: ReturnType<typeof smallCnnZooVariants>;
  /** The ResNet every network is, in a ResNet zoo (null: the Small CNN Zoo's CNN). */
  resnet: SizedResNetArchitecture | null;
  manifest: ZooManifest;
  /** The training image pool every network draws its images from, and the test images. */
  pool: ImagePool;
  test: ImagePool;
  /** First attempt of every network, without its training images (drawn by withSubset). */
  jobs: CnnPlan[];
}

/** A job before its training images are drawn. A build plans every network up front, but holds
 * a network's image indices (up to trainImages of them) only while it trains: planned with them,
 * a 10,000-network build held 24 KB per network on every thread (240 MB each). */
export type CnnPlan = Omit<CnnJob, "subset">;

type PlanSource = { seed: number; recipe: CnnRecipe; resnet: SizedResNetArchitecture | null };

function planJob(b: PlanSource, index: number, attempt: number, keep?: CnnZooActivation): CnnPlan {
  const job = { seed: b.seed, stream: `cnn:${index}`, attempt };
  const hp = drawHyperparameters(b.recipe, jobRng(job, "hp"));
  if (keep !== undefined) hp.activation = keep;
  // A ResNet is ReLU throughout and has no dropout; the other draws are the recipe's.
  if (b.resnet !== null) Object.assign(hp, { activation: "relu", dropout: 0 });
  return { ...job, index, hp, steps: trainingSize(b.recipe, hp).steps };
}

/** The job with its training images: their own stream, so drawing them late changes nothing. */
function withSubset(b: PlanSource, plan: CnnPlan): CnnJob {
  const { images } = trainingSize(b.recipe, plan.hp);
  return { ...plan, subset: pickSorted(jobRng(plan, "subset"), images, b.recipe.trainImages) };
}

/** Derives a build from its options without touching the output folder (workers use it). */
export function describeCnnBuild(opts: CnnZooOptions): CnnBuild {
  const seed = opts.seed ?? 0;
  const recipe: CnnRecipe = { ...DEFAULT_CNN_RECIPE, ...opts.recipe };
  const set = loadImageSet(opts.dataset, opts.dataDir);
  if (!Number.isInteger(opts.count) || opts.count < 1) throw new RangeError(`--count must be a positive integer, got ${opts.count}`);
  checkRecipeInt("--train-images", recipe.trainImages, recipe.batchSize * 10, set.train.count);
  checkRecipeInt("--test-images", recipe.testImages, 1, set.test.count);
  checkRecipeInt("--train-eval-images", recipe.trainEvalImages, 1, set.train.count);
  checkRecipeInt("--epochs", recipe.epochsRange[0], 1, recipe.epochsRange[1]);
  const arch = smallCnnZooVariants();
  const width = opts.width ?? 8;
  if (!Number.isInteger(width) || width < 1 || width > 64) throw new RangeError(`--width must be an integer in [1, 64], got ${width}`);
  const resnet: SizedResNetArchitecture | null = opts.network === "resnet18" ? { ...resnet18(width, "cifar", 10, 1), inputSize: arch.inputSize } : null;
  const { pool, test } = imagePools(set, seed, "cnn-zoo", recipe.trainImages, recipe.testImages);
  const jobs = Array.from({ length: opts.count }, (_, i) => planJob({ seed, recipe, resnet }, i, 0));
  const manifest: ZooManifest = {
    format: "probegen-zoo",
    version: 1,
    family: resnet === null ? "cnn" : "resnet",
    architectures: [resnet === null
      ? { architecture: { ...arch }, parameters: cnnParameterShapes(arch).map(([name, shape]) => ({ name, shape })) }
      : { architecture: { ...resnet }, parameters: resnetParameterShapes(resnet).map(([name, shape]) => ({ name, shape })) }],
    fields: FIELDS,
    strings: [],
    task: { kind: "regression", target: "test_accuracy" },
    count: opts.count,
    splits: nfnSplits(opts.count),
    shards: planShards(opts.count, opts.shardSize ?? (resnet === null ? 250 : 50)),
    provenance: {
      builder: resnet === null ? "probegen zoo build cnn" : "probegen zoo build resnet",
      probegenVersion: PROBEGEN_VERSION,
      dataset: opts.dataset,
      seed,
      recipe: {
        ...recipe,
        activations: CNN_ACTIVATIONS, inits: CNN_INITS, optimizers: CNN_OPTIMIZERS, trainFractions: [0.1, 0.25, 0.5, 1],
        draws: "activation, init, optimiser, train fraction uniform over their lists; lr, l2, init std log-uniform; dropout and epochs uniform",
        optimizerSettings: "adam(beta1=0.9, beta2=0.999, eps=1e-7), rmsprop(rho=0.9, eps=1e-7), sgd (no momentum): Keras defaults",
        loss: "softmax cross-entropy, mean over each network's own minibatch, plus l2 * sum of squared kernel weights",
        ...(resnet === null ? { padding: "1 (as the ProbeGen code re-implements the zoo; the original TF models use 'valid')" } : {
          network: "ResNet-18 layout without BatchNorm (convolutions with biases, as the family's folded form): relu, no dropout; each block's second convolution starts at zero (Fixup), so a network starts as its stem, shortcuts and fc",
        }),
      },
      input: CNN_INPUT_DESCRIPTION,
      splitProtocol: "NFN: the second half is test; the first half shuffled by Python random.Random(0) into 80% train, 20% val",
    },
  };
  return { opts, seed, recipe, arch, resnet, manifest, pool, test, jobs };
}

function encodeCnnShard(b: CnnBuild, si: number, results: CnnResult[], scores: { test: CnnScore[]; train: CnnScore[] }): Uint8Array {
  const hp = (f: (h: CnnHyperparameters) => number) => results.map((r) => f(r.hp));
  return encodeShard(b.manifest, si, results, {
    test_accuracy: scores.test.map((s) => s.accuracy),
    train_accuracy: scores.train.map((s) => s.accuracy),
    test_loss: scores.test.map((s) => s.loss),
    train_loss: scores.train.map((s) => s.loss),
    last_epoch_loss: results.map((r) => r.lastEpochLoss),
    activation: hp((h) => CNN_ACTIVATIONS.indexOf(h.activation)),
    init: hp((h) => CNN_INITS.indexOf(h.init)),
    init_std: hp((h) => h.initStd),
    optimizer: hp((h) => CNN_OPTIMIZERS.indexOf(h.optimizer)),
    lr: hp((h) => h.lr),
    l2: hp((h) => h.l2),
    dropout: hp((h) => h.dropout),
    train_fraction: hp((h) => h.trainFraction),
    epochs: hp((h) => h.epochs),
    steps: results.map((r) => r.steps),
    attempts: results.map((r) => r.attempt + 1),
  });
}

const MAX_ATTEMPTS = 20;

/** Trains and scores the networks of the given shards, writing each shard as it completes. */
export function trainCnnShards(b: CnnBuild, shards: readonly number[], onDone: (r: CnnProgress) => void): number {
  const { manifest, recipe, opts } = b;
  const size = b.arch.inputSize;
  const family = (act: CnnZooActivation) => (b.resnet !== null ? resnetNet(b.resnet) : withActivation(b.arch, act));
  const score = (results: CnnResult[]) => {
    const test: CnnScore[] = new Array(results.length), train: CnnScore[] = new Array(results.length);
    for (const act of CNN_ACTIVATIONS) {
      const at = results.map((r, i) => [r, i] as const).filter(([r]) => r.hp.activation === act);
      if (at.length === 0) continue;
      const arch = family(act);
      const nets = at.map(([r]) => r.params);
      const te = scoreCnns(arch, nets, b.test.images, b.test.labels, size);
      const tr = scoreCnns(arch, nets, b.pool.images, b.pool.labels, size, { subsets: at.map(([r]) => r.subset.subarray(0, recipe.trainEvalImages)) });
      at.forEach(([, i], j) => { test[i] = te[j]; train[i] = tr[j]; });
    }
    return { test, train };
  };
  const collector = new ShardCollector<CnnResult>(manifest, shards, (si, results) => {
    writeFileAtomic(join(opts.out, manifest.shards[si].file), encodeCnnShard(b, si, results, score(results)));
  });
  const redraw = (job: CnnJob): CnnJob => {
    if (job.attempt + 1 >= MAX_ATTEMPTS) throw new Error(`CNN ${job.index}: training diverged ${MAX_ATTEMPTS} times; check the recipe's ranges`);
    return withSubset(b, planJob(b, job.index, job.attempt + 1, job.hp.activation));
  };
  const trainers = new Map<CnnZooActivation, CnnTrainer>();
  let trained = 0;
  try {
    for (const si of shards) {
      const s = manifest.shards[si];
      for (const act of CNN_ACTIVATIONS) {
        // Longest first, so the slots empty together at the end of the shard.
        const jobs = b.jobs.slice(s.start, s.start + s.count).filter((j) => j.hp.activation === act)
          .sort((x, y) => y.steps - x.steps || x.index - y.index);
        if (jobs.length === 0) continue;
        // No more slots than networks: an empty slot costs as much as a full one.
        const slots = Math.min(opts.batch ?? DEFAULT_CNN_COHORT, jobs.length);
        let trainer = trainers.get(act);
        if (trainer?.batch !== slots) {
          trainer?.dispose();
          trainer = new CnnTrainer(family(act), recipe, slots, b.pool.images, b.pool.labels, size, redraw);
          trainers.set(act, trainer);
        }
        trainer.run(function* () { for (const j of jobs) yield withSubset(b, j); }(), (r) => {
          trained++;
          collector.add(r.index, r);
          onDone({ index: r.index, steps: r.steps, attempt: r.attempt });
        });
      }
    }
  } finally {
    for (const t of trainers.values()) t.dispose();
  }
  return trained;
}

export type CnnBuildReport = ShardBuildReport;

/** Builds (or resumes) a Small-CNN zoo on this thread, or on `workers` worker threads (whole
 * shards each; the zoo is the same). */
export async function buildCnnZoo(opts: CnnZooOptions, workers = 1): Promise<CnnBuildReport> {
  const b = describeCnnBuild(opts);
  return buildZooLocally<CnnProgress>("cnn", opts, b.manifest, workers, (pending, onDone) => trainCnnShards(b, pending, onDone));
}
