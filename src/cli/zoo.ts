// probegen zoo build | info | render
import { IMAGE_SET_NAMES } from "../data/image-sets.js";
import { DWSNETS_SIREN, SIREN_INITS, parseSirenArchitecture, renderSiren, renderSiren3d, type SirenArchitecture } from "../nets/siren.js";
import { PNG_FILE, encodePng, toBytes } from "../report/png.js";
import { checkOutputFile, writeOutputFile } from "../io/output-file.js";
import { installInterruptHandlers } from "../io/interrupts.js";
import { createProgress } from "../report/progress.js";
import { Zoo } from "../zoo/format.js";
import { buildInrZooParallel } from "../zoo/build/inr-builder.js";
import { buildShapeInrZoo } from "../zoo/build/shape-inr-builder.js";
import { DEFAULT_CNN_COHORT, buildCnnZoo } from "../zoo/build/cnn-builder.js";
import { finishShardBuild, type BuildPart, type ShardBuildReport } from "../zoo/shard-build.js";
import type { BuildKind, QueueBuildReport } from "../queue/shard-jobs.js";
import { parseQueueAddress, type QueueAddress } from "../queue/queue-address.js";
import type { Progress } from "../report/progress.js";
import { DEFAULT_CNN_RECIPE } from "../zoo/build/cnn-recipe.js";
import { DEFAULT_PARK_COHORT, DEFAULT_WILD_PARK_RECIPE, buildWildParkZoo } from "../zoo/build/wild-park-builder.js";
import { DEFAULT_INR_RECIPE } from "../zoo/build/inr-fit.js";
import { summarizeZoo } from "../zoo/summary.js";
import { UsageError, choiceArg, intArg, numArg, requiredArg, parseCommandArgs, shardArg, THREADS_HELP } from "./args.js";
import { exportCommand, importCommand } from "./zoo-interop.js";

export const ZOO_USAGE = `Usage: probegen zoo <build|finish|import|export|info|render> [options]

  zoo build inr     fit a zoo of SIREN INRs, one per image of MNIST or Fashion-MNIST
  zoo build cnn     train a Small-CNN zoo (Unterthiner et al.) on MNIST or Fashion-MNIST
  zoo build resnet  train a zoo of ResNet-18s with the Small-CNN zoo's hyperparameter draws
  zoo build wild-park  train a CNN Wild Park (Neural Graphs): CNNs of mixed architectures
  zoo build shape-inr  fit occupancy INRs of procedural 3-D shapes (the point-cloud benchmark)
  zoo finish DIR    complete a zoo built in parts (--shard I/N): check every shard, write zoo.json
  zoo import KIND   read a public zoo: dwsnets (MNIST/FMNIST INRs), small-cnn-zoo, wild-park,
                    torchvision (ResNet state dicts and a labels CSV)
  zoo export DIR    write a zoo in a public layout (dwsnets, small-cnn-zoo, wild-park) or as
                    safetensors files
  zoo info DIR      counts, labels, fit quality and size of a zoo
  zoo render DIR    draw one INR of a zoo as a PNG

Run \`probegen zoo <subcommand> --help\` for its options.`;

const BUILD_USAGE = `Usage: probegen zoo build inr --dataset mnist|fmnist --count N --out DIR [options]

Fits one SIREN (2->32->32->1, sin(30x), +0.5 by default) per image, many at once, and writes the zoo
(zoo.json + safetensors shards) to DIR. Rerun the same command to resume an interrupted build:
finished shards are kept, the rest are fitted again, and the result is the same zoo.

Options:
  --dataset NAME     mnist or fmnist (required)
  --count N          number of INRs (required); the split follows the image set: INRs of
                     its test images are the test split, 1/12 of the rest is validation
  --out DIR          output folder (required)
  --steps N          Adam steps per INR at most (${DEFAULT_INR_RECIPE.steps})
  --lr X             Adam learning rate (${DEFAULT_INR_RECIPE.lr})
  --psnr DB          stop an INR once it reaches this PSNR (${DEFAULT_INR_RECIPE.psnr})
  --hidden LIST      hidden layer widths of the SIREN (32,32)
  --w0 X             sine frequency (30)
  --init NAME        siren (first layer U(-1/in,1/in): faithful INRs, the default) or
                     dwsnets (as the public DWSNets zoos: ~23.5 dB on MNIST after 1000 steps)
  --seed N           seed of the image choice and of every INR's initialisation (0)
  --batch N          INRs fitted at once (64); does not change the result
  --shard-size N     INRs per shard file (1000)
  --workers N        worker threads fitting shards side by side (1); the zoo is the same,
                     so use one per core and more shards than workers
  --shard I/N        build only part I of N (shards s with s % N = I) into a shared folder;
                     the last part writes zoo.json (or: probegen zoo finish DIR)
  --queue URL        build on a job queue (redis://HOST:PORT/NAME) by \`probegen worker\`s
  --data DIR         folder with the image set's IDX files (default: its installed package)
  --json             print the build report as JSON on stdout
  -h, --help         show this help
${THREADS_HELP}`;

/** The options the builders of trained networks (CNN, Wild Park) share, as help lines. */
function trainedNetworkOptions(batch: number, shardSize: number): string {
  return `  --seed N               seed of every draw (0)
  --batch N              networks trained at once (${batch}); does not change the result
  --shard-size N         networks per shard file (${shardSize})
  --workers N            worker threads training shards side by side (1); the zoo is the same
  --queue URL            build on a job queue (redis://HOST:PORT/NAME): enqueue the missing
                         shards for \`probegen worker\` processes, wait, write zoo.json
  --shard I/N            build only part I of N (0 <= I < N: shards s with s % N = I), for
                         SLURM arrays or Kubernetes Indexed Jobs on one shared folder; the
                         last part to finish writes zoo.json (or: probegen zoo finish DIR)
  --data DIR             folder with the image set's IDX files (default: its installed package)
  --json                 print the build report as JSON on stdout
  -h, --help             show this help`;
}

const d = DEFAULT_CNN_RECIPE;

/** The Small-CNN recipe's options (zoo build cnn and resnet), as help lines. */
function cnnRecipeOptions(): string {
  return `  --train-images N       training images pooled for the zoo; each network trains on its own
                         random fraction of them (${d.trainImages})
  --test-images N        test images every network is scored on (${d.testImages})
  --train-eval-images N  own training images the train accuracy is measured on, at most (${d.trainEvalImages})
  --epochs LO,HI         epochs are drawn uniformly from LO..HI (${d.epochsRange.join(",")})
  --lr LO,HI             learning-rate range, log-uniform (${d.lrRange.join(",")})`;
}
const BUILD_CNN_USAGE = `Usage: probegen zoo build cnn --dataset mnist|fmnist --count N --out DIR [options]

Trains N small CNNs (3 x [Conv 16, 3x3, stride 2, padding 1], global average pooling,
Linear(16,10); grayscale 28x28 padded to 32x32 in [-1,1]), each with hyperparameters drawn as
in Unterthiner et al. (2020): activation (relu/tanh), initialiser and its std, optimiser
(adam/rmsprop/sgd), learning rate and L2 (log-uniform), dropout, the fraction of the training
images used and the epochs. Records test and train accuracy and loss and every hyperparameter;
the target is test accuracy and the split is NFN's (second half test, first half 80/20 train/val
by Python's random.Random(0)). Many networks train at once; rerun the same command to resume.

Options:
  --dataset NAME         mnist or fmnist (required)
  --count N              number of networks (required)
  --out DIR              output folder (required)
${cnnRecipeOptions()}
${trainedNetworkOptions(DEFAULT_CNN_COHORT, 250)}
${THREADS_HELP}`;

const BUILD_RESNET_USAGE = `Usage: probegen zoo build resnet --dataset mnist|fmnist --count N --out DIR [options]

Trains N ResNet-18s (torchvision's layout: BasicBlocks [2, 2, 2, 2], downsampling shortcuts,
global average pooling, fc; the CIFAR stem on grayscale 28x28 padded to 32x32 in [-1,1]) of
width --width, each with hyperparameters drawn as the Small-CNN zoo's (initialiser and its std,
optimiser, learning rate, L2, training fraction, epochs; ReLU and no dropout). The networks have
no BatchNorm: they train in the family's folded form (convolutions with biases), each block's
second convolution starting at zero (Fixup), so a network starts as its stem and shortcuts. The
target is test accuracy, split as the Small-CNN zoo (NFN's protocol). Rerun to resume.

Options:
  --dataset NAME         mnist or fmnist (required)
  --count N              number of networks (required)
  --out DIR              output folder (required)
  --width W              channels of the first stage; later stages double it (8; 64 is torchvision's)
${cnnRecipeOptions()}
${trainedNetworkOptions(DEFAULT_CNN_COHORT, 50)}
${THREADS_HELP}`;

const w = DEFAULT_WILD_PARK_RECIPE;
const BUILD_WILD_PARK_USAGE = `Usage: probegen zoo build wild-park --dataset mnist|fmnist --count N --out DIR [options]

Trains N CNNs of architectures drawn as Neural Graphs' CNN Wild Park sampler draws them: 2-5
conv layers, each with 4/8/16/32 channels, a 3/5/7 kernel (stride 1, padding k//2), its own
activation (relu, gelu, tanh, sigmoid, leaky_relu, none) and a residual from an earlier,
non-preceding layer or none (Neural Graphs' rule), then global average pooling and a Linear to
the 10 classes. Inputs are grayscale 28x28 padded to 32x32 in [-1,1]. Each network trains with
AdamW on the same pool of training images in its own order, and is kept after each checkpoint
epoch: every checkpoint is a sample whose target is its test accuracy, and all checkpoints of a
network fall in one split (70/10/20% of networks train/val/test). Networks of different
architectures train together in one ragged batch; rerun the same command to resume.

Options:
  --dataset NAME         mnist or fmnist (required)
  --count N              number of networks (required); the zoo holds one sample per checkpoint
  --out DIR              output folder (required)
  --layers               draw 2-8 layers (Neural Graphs' later configuration) instead of 2-5
  --channels             allow 64 channels as well
  --checkpoints LIST     epochs after which each network is kept (${w.checkpoints.join(",")})
  --train-images N       training images every network trains on (${w.trainImages})
  --test-images N        test images every checkpoint is scored on (${w.testImages})
  --batch-size N         images per optimiser step (${w.batchSize})
  --lr X                 AdamW learning rate (${w.lr})
  --weight-decay X       AdamW weight decay (${w.weightDecay})
${trainedNetworkOptions(DEFAULT_PARK_COHORT, 32)}
${THREADS_HELP}`;

/** Options every `zoo build` kind takes. */
const BUILD_OPTIONS = {
  dataset: { type: "string" }, count: { type: "string" }, out: { type: "string" },
  seed: { type: "string" }, batch: { type: "string" }, "shard-size": { type: "string" }, data: { type: "string" },
  workers: { type: "string" }, shard: { type: "string" }, queue: { type: "string" },
  json: { type: "boolean", default: false }, help: { type: "boolean", short: "h", default: false },
} as const;

/**
 * --queue: plans the build, enqueues its missing shards for \`probegen worker\` processes, shows
 * their progress and writes zoo.json when every shard is in.
 */
async function onQueue(kind: BuildKind, opts: { out: string }, url: string, part: BuildPart | undefined, progress: Progress, json: boolean): Promise<QueueBuildReport> {
  if (part !== undefined) throw new UsageError("--queue and --shard: choose one (the queue hands shards out itself)");
  let address: QueueAddress;
  try {
    address = parseQueueAddress(url);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  // The queue's client (BullMQ) loads only for a queued build.
  const { buildOnQueue } = await import("../queue/shard-jobs.js");
  return buildOnQueue(kind, opts as never, address, {
    onProgress: (done, total) => { progress.setTotal(total); progress.update(done); },
    log: json ? undefined : (line) => process.stderr.write(`${line}\n`),
  });
}

const asFitted = ({ built, ...r }: QueueBuildReport) => ({ ...r, fitted: built });

interface BuildValues { dataset?: string; count?: string; out?: string; seed?: string; "shard-size"?: string; workers?: string; shard?: string }

/**
 * After a build part: when other parts' shards are still missing, says so (and what completes
 * the zoo) and returns true; false when the zoo is complete and the caller summarises it.
 */
function reportPart(report: Pick<ShardBuildReport, "complete" | "skippedShards" | "seconds">, built: number, out: string, part: BuildPart | undefined, json: boolean): boolean {
  if (report.complete) return false;
  const result = { out, part: part === undefined ? null : `${part.index}/${part.count}`, built, skippedShards: report.skippedShards, seconds: report.seconds, complete: false };
  if (json) console.log(JSON.stringify(result, null, 2));
  else console.log(`part ${result.part} of ${out}: built ${built} in ${report.seconds.toFixed(1)} s; other parts' shards are still missing. The last part to finish writes zoo.json, or run \`probegen zoo finish ${out}\` once every part has run.`);
  return true;
}

function buildArgs(values: BuildValues, shardSizeDefault: number) {
  return {
    part: shardArg(values.shard),
    dataset: choiceArg("dataset", values.dataset, IMAGE_SET_NAMES),
    count: intArg("count", requiredArg("count", values.count), 0, 1),
    out: requiredArg("out", values.out),
    seed: intArg("seed", values.seed, 0),
    shardSize: intArg("shard-size", values["shard-size"], shardSizeDefault, 1),
    workers: intArg("workers", values.workers, 1, 1, 64),
  };
}

function pairArg(name: string, v: string | undefined, def: [number, number], integer: boolean): [number, number] {
  if (v === undefined) return def;
  const parts = v.split(",").map((x) => Number(x.trim()));
  if (parts.length !== 2 || !parts.every((x) => Number.isFinite(x) && x > 0 && (!integer || Number.isInteger(x))) || parts[0] > parts[1]) {
    throw new UsageError(`--${name} must be two ${integer ? "positive integers" : "positive numbers"} LO,HI with LO <= HI, got "${v}"`);
  }
  return [parts[0], parts[1]];
}

/** zoo build cnn, and zoo build resnet (the same recipe on ResNet-18s). */
async function buildCnn(rest: string[], network: "small-cnn" | "resnet18"): Promise<number> {
  const resnet = network === "resnet18";
  const { values } = parseCommandArgs({
    args: rest,
    options: {
      ...BUILD_OPTIONS,
      "train-images": { type: "string" }, "test-images": { type: "string" }, "train-eval-images": { type: "string" },
      epochs: { type: "string" }, lr: { type: "string" }, ...(resnet ? { width: { type: "string" } } : {}),
    },
    strict: true,
  });
  if (values.help) { console.log(resnet ? BUILD_RESNET_USAGE : BUILD_CNN_USAGE); return 0; }
  const { dataset, count, out, seed, shardSize, workers, part } = buildArgs(values, resnet ? 50 : 250);
  const width = resnet ? intArg("width", (values as { width?: string }).width, 8, 1, 64) : undefined;
  const noun = resnet ? "ResNets" : "CNNs";
  const recipe = {
    trainImages: intArg("train-images", values["train-images"], d.trainImages, 1),
    testImages: intArg("test-images", values["test-images"], d.testImages, 1),
    trainEvalImages: intArg("train-eval-images", values["train-eval-images"], d.trainEvalImages, 1),
    epochsRange: pairArg("epochs", values.epochs, d.epochsRange, true),
    lrRange: pairArg("lr", values.lr, d.lrRange, false),
  };
  const progress = createProgress(`training ${dataset} ${noun}`, count, noun, values.json ? null : process.stderr);
  let retried = 0;
  const cnnOpts: Parameters<typeof buildCnnZoo>[0] = {
    dataset, count, out, recipe, dataDir: values.data, seed, shardSize, network, width, part,
    batch: intArg("batch", values.batch, DEFAULT_CNN_COHORT, 1),
    onProgress: (done, total, last) => {
      progress.setTotal(total);
      if (last !== null && last.attempt > 0) retried++;
      progress.update(done, retried > 0 ? `${retried} retrained after diverging` : undefined);
    },
  };
  const report = values.queue !== undefined ? await onQueue("cnn", cnnOpts, values.queue, part, progress, values.json) : await buildCnnZoo(cnnOpts, workers);
  progress.finish(`${report.built} trained, ${report.skippedShards} shard(s) already there`);
  if (reportPart(report, report.built, out, part, values.json)) return 0;
  const summary = summarizeZoo(Zoo.open(out));
  const result = {
    out, count, trained: report.built, skippedShards: report.skippedShards, seconds: report.seconds,
    networksPerSec: report.built / report.seconds,
    testAccuracyQuantiles: summary.quantiles.test_accuracy, meanTestAccuracy: summary.means.test_accuracy,
    trainAccuracyQuantiles: summary.quantiles.train_accuracy, meanSteps: summary.means.steps, splits: summary.splits,
  };
  if (values.json) console.log(JSON.stringify(result, null, 2));
  else {
    const q = result.testAccuracyQuantiles.map((v) => (100 * v).toFixed(1)).join(" / ");
    console.log(`zoo: ${out} (${count} ${noun}: ${summary.splits.train} train, ${summary.splits.val} val, ${summary.splits.test} test)`);
    console.log(`trained ${result.trained} in ${result.seconds.toFixed(1)} s (${result.networksPerSec.toFixed(2)} ${noun}/s); test accuracy % min/25/50/75/max ${q}`);
  }
  return 0;
}

async function buildWildPark(rest: string[]): Promise<number> {
  const { values } = parseCommandArgs({
    args: rest,
    options: {
      ...BUILD_OPTIONS,
      layers: { type: "boolean", default: false }, channels: { type: "boolean", default: false },
      checkpoints: { type: "string" }, "train-images": { type: "string" }, "test-images": { type: "string" },
      "batch-size": { type: "string" }, lr: { type: "string" }, "weight-decay": { type: "string" },
    },
    strict: true,
  });
  if (values.help) { console.log(BUILD_WILD_PARK_USAGE); return 0; }
  const { dataset, count, out, seed, shardSize, workers, part } = buildArgs(values, 32);
  if (count < 3) throw new UsageError(`--count must be at least 3 (a network each to train, validate and test on), got ${count}`);
  const checkpoints = values.checkpoints === undefined ? w.checkpoints : values.checkpoints.split(",").map((e) => intArg("checkpoints", e.trim(), 0, 1, 100000));
  if (!checkpoints.every((e, i) => i === 0 || e > checkpoints[i - 1])) throw new UsageError(`--checkpoints must be increasing epochs, got "${values.checkpoints}"`);
  const recipe = {
    checkpoints,
    trainImages: intArg("train-images", values["train-images"], w.trainImages, 1),
    testImages: intArg("test-images", values["test-images"], w.testImages, 1),
    batchSize: intArg("batch-size", values["batch-size"], w.batchSize, 1, 4096),
    lr: numArg("lr", values.lr, w.lr, 0, true),
    weightDecay: numArg("weight-decay", values["weight-decay"], w.weightDecay, 0),
  };
  const progress = createProgress(`training ${dataset} Wild Park CNNs`, count * checkpoints.length, "checkpoints", values.json ? null : process.stderr);
  const parkOpts: Parameters<typeof buildWildParkZoo>[0] = {
    dataset, count, out, recipe, dataDir: values.data, seed, shardSize, wideLayers: values.layers, wideChannels: values.channels, part,
    batch: intArg("batch", values.batch, DEFAULT_PARK_COHORT, 1),
    onProgress: (done, total) => { progress.setTotal(total); progress.update(done); },
  };
  const report = values.queue !== undefined ? await onQueue("wild-park", parkOpts, values.queue, part, progress, values.json) : await buildWildParkZoo(parkOpts, workers);
  progress.finish(`${report.built} networks trained, ${report.skippedShards} shard(s) already there`);
  if (reportPart(report, report.built, out, part, values.json)) return 0;
  const summary = summarizeZoo(Zoo.open(out));
  const result = {
    out, networks: count, samples: report.manifest.count, architectures: report.manifest.architectures.length,
    trained: report.built, skippedShards: report.skippedShards, seconds: report.seconds, networksPerSec: report.built / report.seconds,
    testAccuracyQuantiles: summary.quantiles.test_accuracy, meanTestAccuracy: summary.means.test_accuracy, splits: summary.splits,
  };
  if (values.json) console.log(JSON.stringify(result, null, 2));
  else {
    const q = result.testAccuracyQuantiles.map((v) => (100 * v).toFixed(1)).join(" / ");
    console.log(`zoo: ${out} (${count} networks x ${checkpoints.length} checkpoints = ${result.samples} samples: ${summary.splits.train} train, ${summary.splits.val} val, ${summary.splits.test} test)`);
    console.log(`trained ${result.trained} in ${result.seconds.toFixed(1)} s (${result.networksPerSec.toFixed(3)} networks/s); test accuracy % min/25/50/75/max ${q}`);
  }
  return 0;
}

const BUILD_SHAPE_INR_USAGE = `Usage: probegen zoo build shape-inr --count N --out DIR [options]

Fits one SIREN (3 -> 32 -> 32 -> 1, sine layers as the image INRs') per procedural 3-D shape,
zoo-batched, to its occupancy on a grid over [-1, 1]^3. Ten classes (sphere, cube, cylinder,
cone, torus, capsule, pyramid, ellipsoid, prism, compound); INR i is of class i mod 10 in a
random pose (rotation, scale). The first 70% are the train split, then 10% val, 20% test. The
zoo is the same for any --batch and --workers; rerun the command to resume a stopped build.

Options:
  --count N          INRs (at least 3)
  --out DIR          a new or empty folder, or this build's own
  --seed S           poses (0)
  --grid G           grid points per axis (16: 4,096 points)
  --noise X          surface noise of the drawn shapes (0.01)
  --steps N          Adam steps at most (1000)
  --lr X             Adam learning rate (5e-4)
  --psnr DB          stop an INR at this occupancy PSNR (30)
  --batch N          INRs fitted at once (64)
  --shard-size N     INRs per shard file (500)
  --workers N        worker threads fitting shards side by side (1)
  --shard I/N        build only part I of N (shards s with s % N = I) into a shared folder;
                     the last part writes zoo.json (or: probegen zoo finish DIR)
  --queue URL        build on a job queue (redis://HOST:PORT/NAME) by \`probegen worker\`s
  --json             print the result as JSON
  -h, --help         show this help
${THREADS_HELP}`;

const INFO_USAGE = `Usage: probegen zoo info DIR [--json]

Prints a zoo's counts per split, label histogram, quantiles of its per-network fields (PSNR,
steps) and its size on disk.`;

const RENDER_USAGE = `Usage: probegen zoo render DIR --index I --out FILE.png [--size 28|112] [--slice Z]

Evaluates INR I of the zoo on a size x size grid over [-1,1]^2 and writes a grayscale PNG.
Size 28 is the grid an image INR was fitted on (default 112). A shape INR (3 inputs) is drawn
seen down the z axis: the largest occupancy along z (a silhouette), or with --slice Z its
occupancy on the plane z = Z.`;

async function buildShapeInr(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs({
    args: argv,
    options: {
      count: { type: "string" }, out: { type: "string" }, seed: { type: "string" }, grid: { type: "string" }, noise: { type: "string" },
      steps: { type: "string" }, lr: { type: "string" }, psnr: { type: "string" }, batch: { type: "string" }, "shard-size": { type: "string" },
      workers: { type: "string" }, shard: { type: "string" }, queue: { type: "string" }, json: { type: "boolean", default: false }, help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) { console.log(BUILD_SHAPE_INR_USAGE); return 0; }
  const part = shardArg(values.shard);
  const count = intArg("count", requiredArg("count", values.count), 0, 3);
  const out = requiredArg("out", values.out);
  const progress = createProgress("fitting shape INRs", count, "INRs", values.json ? null : process.stderr);
  let psnrSum = 0, fittedNow = 0;
  const shapeOpts: Parameters<typeof buildShapeInrZoo>[0] = {
    count, out, seed: intArg("seed", values.seed, 0), grid: intArg("grid", values.grid, 16, 2, 64),
    noise: numArg("noise", values.noise, 0.01, 0), batch: intArg("batch", values.batch, 64, 1),
    shardSize: intArg("shard-size", values["shard-size"], 500, 1), part,
    recipe: {
      steps: intArg("steps", values.steps, DEFAULT_INR_RECIPE.steps, 0), lr: numArg("lr", values.lr, DEFAULT_INR_RECIPE.lr, 0, true),
      psnr: numArg("psnr", values.psnr, 30),
    },
    onProgress: (done, total, last) => {
      progress.setTotal(total);
      if (last !== null) { psnrSum += last.psnr; fittedNow++; }
      progress.update(done, fittedNow > 0 ? `mean PSNR ${(psnrSum / fittedNow).toFixed(2)} dB` : undefined);
    },
  };
  const report = values.queue !== undefined ? asFitted(await onQueue("shape-inr", shapeOpts, values.queue, part, progress, values.json)) : await buildShapeInrZoo(shapeOpts, intArg("workers", values.workers, 1, 1, 64));
  progress.finish(`${report.fitted} fitted, ${report.skippedShards} shard(s) already there`);
  if (reportPart(report, report.fitted, out, part, values.json)) return 0;
  const summary = summarizeZoo(Zoo.open(out));
  const result = {
    out, count, fitted: report.fitted, skippedShards: report.skippedShards, seconds: report.seconds,
    inrsPerSec: report.fitted / report.seconds, meanPsnr: summary.means.psnr, meanSteps: summary.means.steps, splits: summary.splits,
  };
  if (values.json) console.log(JSON.stringify(result, null, 2));
  else {
    console.log(`zoo: ${out} (${count} shape INRs: ${summary.splits.train} train, ${summary.splits.val} val, ${summary.splits.test} test)`);
    console.log(`fitted ${result.fitted} in ${result.seconds.toFixed(1)} s (${result.inrsPerSec.toFixed(2)} INRs/s); mean occupancy PSNR ${result.meanPsnr.toFixed(2)} dB, mean steps ${result.meanSteps.toFixed(0)}`);
  }
  return 0;
}

async function build(argv: string[]): Promise<number> {
  const [kind, ...rest] = argv;
  if (kind === "-h" || kind === "--help") { console.log(`${BUILD_USAGE}\n\n${BUILD_CNN_USAGE}\n\n${BUILD_RESNET_USAGE}\n\n${BUILD_WILD_PARK_USAGE}\n\n${BUILD_SHAPE_INR_USAGE}`); return 0; }
  if (kind === "cnn") return buildCnn(rest, "small-cnn");
  if (kind === "resnet") return buildCnn(rest, "resnet18");
  if (kind === "wild-park") return buildWildPark(rest);
  if (kind === "shape-inr") return buildShapeInr(rest);
  if (kind !== "inr") throw new UsageError(kind === undefined ? "zoo build needs a zoo kind: `probegen zoo build inr|cnn|resnet|wild-park|shape-inr ...`" : `unknown zoo kind "${kind}" (expected inr, cnn, resnet, wild-park or shape-inr)`);
  const { values } = parseCommandArgs({
    args: rest,
    options: {
      ...BUILD_OPTIONS,
      steps: { type: "string" }, lr: { type: "string" }, psnr: { type: "string" }, init: { type: "string" },
      hidden: { type: "string" }, w0: { type: "string" },
    },
    strict: true,
  });
  if (values.help) { console.log(BUILD_USAGE); return 0; }
  const { dataset, count, out, seed, shardSize, workers, part } = buildArgs(values, 1000);
  const recipe = {
    steps: intArg("steps", values.steps, DEFAULT_INR_RECIPE.steps, 0),
    lr: numArg("lr", values.lr, DEFAULT_INR_RECIPE.lr, 0, true),
    psnr: numArg("psnr", values.psnr, DEFAULT_INR_RECIPE.psnr),
    init: choiceArg("init", values.init, SIREN_INITS, DEFAULT_INR_RECIPE.init),
  };
  const hidden = values.hidden === undefined ? DWSNETS_SIREN.hidden
    : values.hidden.split(",").map((w) => intArg("hidden", w.trim(), 0, 1, 4096));
  const arch: SirenArchitecture = { ...DWSNETS_SIREN, hidden, w0: numArg("w0", values.w0, DWSNETS_SIREN.w0, 0, true) };
  const progress = createProgress(`fitting ${dataset} INRs`, count, "INRs", values.json ? null : process.stderr);
  let psnrSum = 0, fittedNow = 0;
  const inrOpts: Parameters<typeof buildInrZooParallel>[0] = {
    dataset, count, out, recipe, arch, dataDir: values.data, seed, shardSize, part,
    batch: intArg("batch", values.batch, 64, 1),
    onProgress: (done, total, last) => {
      progress.setTotal(total);
      if (last !== null) { psnrSum += last.psnr; fittedNow++; }
      progress.update(done, fittedNow > 0 ? `mean PSNR ${(psnrSum / fittedNow).toFixed(2)} dB` : undefined);
    },
  };
  const report = values.queue !== undefined ? asFitted(await onQueue("inr", inrOpts, values.queue, part, progress, values.json)) : await buildInrZooParallel(inrOpts, workers);
  progress.finish(`${report.fitted} fitted, ${report.skippedShards} shard(s) already there`);
  if (reportPart(report, report.fitted, out, part, values.json)) return 0;
  const summary = summarizeZoo(Zoo.open(out));
  const result = {
    out, count, fitted: report.fitted, skippedShards: report.skippedShards, seconds: report.seconds,
    inrsPerSec: report.fitted / report.seconds, meanPsnr: summary.means.psnr, meanSteps: summary.means.steps,
    psnrQuantiles: summary.quantiles.psnr, splits: summary.splits,
  };
  if (values.json) console.log(JSON.stringify(result, null, 2));
  else {
    console.log(`zoo: ${out} (${count} INRs: ${summary.splits.train} train, ${summary.splits.val} val, ${summary.splits.test} test)`);
    console.log(`fitted ${result.fitted} in ${result.seconds.toFixed(1)} s (${result.inrsPerSec.toFixed(2)} INRs/s); mean PSNR ${result.meanPsnr.toFixed(2)} dB, mean steps ${result.meanSteps.toFixed(0)}`);
  }
  return 0;
}

function info(argv: string[]): number {
  const { values, positionals } = parseCommandArgs({
    args: argv, allowPositionals: true,
    options: { json: { type: "boolean", default: false }, help: { type: "boolean", short: "h", default: false } },
    strict: true,
  });
  if (values.help) { console.log(INFO_USAGE); return 0; }
  if (positionals.length !== 1) throw new UsageError("zoo info takes one zoo folder");
  const s = summarizeZoo(Zoo.open(positionals[0]));
  if (values.json) { console.log(JSON.stringify(s, null, 2)); return 0; }
  const p = s.provenance as Record<string, unknown>;
  const params = s.architectures > 1 ? `${s.architectures} architectures, ${s.parametersPerNetwork.toFixed(0)} parameters on average` : `${s.parametersPerNetwork} parameters each`;
  console.log(`${s.dir}: ${s.count} ${s.family} networks (${params}), ${(s.bytes / 2 ** 20).toFixed(1)} MiB`);
  console.log(`splits: ${s.splits.train} train, ${s.splits.val} val, ${s.splits.test} test`);
  if (p.importer !== undefined) {
    console.log(`imported by ${String(p.importer)} (probegen ${String(p.probegenVersion)}) from ${String(p.source ?? p.splitsFile)}`);
    if (p.padding !== undefined) console.log(`padding: ${String(p.padding)}; step ${String(p.step)}; split file reading: ${String(p.splitReading)}`);
  } else if (p.dataset !== undefined) console.log(`built from ${String(p.dataset)} with seed ${String(p.seed)} by probegen ${String(p.probegenVersion)}`);
  if (s.nonFinite.length > 0) console.log(`WARNING: ${s.nonFinite.length} network(s) hold non-finite weights: ${s.nonFinite.slice(0, 10).map((n) => `${n.index} (${n.parameter}, ${n.shard})`).join(", ")}${s.nonFinite.length > 10 ? ", ..." : ""}`);
  if (s.labels) console.log(`labels: ${Object.entries(s.labels).map(([k, v]) => `${k}: ${v}`).join(", ")}`);
  for (const [name, counts] of Object.entries(s.categories)) console.log(`${name}: ${Object.entries(counts).map(([k, v]) => `${k}: ${v}`).join(", ")}`);
  for (const [name, q] of Object.entries(s.quantiles)) {
    const fmt = (v: number) => (v === 0 || Math.abs(v) >= 0.01 ? v.toFixed(2) : v.toExponential(2));
    console.log(`${name}: mean ${fmt(s.means[name])}; min/25%/50%/75%/max ${q.map(fmt).join(" / ")}`);
  }
  return 0;
}

function render(argv: string[]): number {
  const { values, positionals } = parseCommandArgs({
    args: argv, allowPositionals: true,
    options: {
      index: { type: "string" }, out: { type: "string" }, size: { type: "string" }, slice: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) { console.log(RENDER_USAGE); return 0; }
  if (positionals.length !== 1) throw new UsageError("zoo render takes one zoo folder");
  const zoo = Zoo.open(positionals[0]);
  if (zoo.manifest.family !== "siren") throw new UsageError(`zoo render draws INRs; ${positionals[0]} holds ${zoo.manifest.family} networks`);
  if (zoo.count === 0) throw new Error(`${positionals[0]}: the zoo holds no networks to render`);
  const index = intArg("index", requiredArg("index", values.index), 0, 0, zoo.count - 1);
  const size = intArg("size", values.size, 112, 1, 4096);
  const out = requiredArg("out", values.out);
  checkOutputFile(out, PNG_FILE);
  const network = zoo.network(index);
  const { params, fields } = network;
  const arch = parseSirenArchitecture(zoo.manifest.architectures[network.architecture].architecture);
  if (arch.inDim !== 2 && arch.inDim !== 3) throw new UsageError(`zoo render draws INRs of images (2 inputs) or shapes (3 inputs); these take ${arch.inDim}`);
  if (values.slice !== undefined && arch.inDim !== 3) throw new UsageError("--slice is for shape INRs (3 inputs)");
  const slice = values.slice === undefined ? null : numArg("slice", values.slice, 0, -1);
  if (slice !== null && slice > 1) throw new UsageError(`--slice must be in [-1, 1], got ${slice}`);
  const img = arch.inDim === 3 ? renderSiren3d(arch, params, size, slice) : renderSiren(arch, params, size);
  const bad = img.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw new Error(`${positionals[0]}: INR ${index} outputs ${img[bad]} at pixel ${bad}: its weights are not all finite, so there is nothing to draw`);
  writeOutputFile(out, encodePng(size, size, 1, toBytes(img)), PNG_FILE);
  const label = fields.get("label");
  const names = zoo.manifest.task.labelNames;
  const view = arch.inDim === 3 ? (slice === null ? ", largest occupancy along z" : `, slice z = ${slice}`) : "";
  console.log(`wrote ${out}: INR ${index}${label !== undefined ? ` (label ${names?.[label] ?? label})` : ""}, ${size}x${size}${view}`);
  return 0;
}

const FINISH_USAGE = `Usage: probegen zoo finish DIR [--json]

Completes a zoo whose shards were built by parts (\`zoo build ... --shard I/N\` on several
machines or array tasks, into one shared folder): checks that every shard build.json lists is
there and reads back whole, then writes zoo.json. Missing shards are named, with the part that
builds each (shard s belongs to part s % N); nothing is written then. A complete zoo is left as is.`;

function finish(argv: string[]): number {
  const { values, positionals } = parseCommandArgs({
    args: argv, allowPositionals: true, strict: true,
    options: { json: { type: "boolean", default: false }, help: { type: "boolean", short: "h", default: false } },
  });
  if (values.help) { console.log(FINISH_USAGE); return 0; }
  if (positionals.length !== 1) throw new UsageError("zoo finish needs one zoo folder");
  const { manifest, alreadyComplete } = finishShardBuild(positionals[0]);
  const result = { out: positionals[0], networks: manifest.count, shards: manifest.shards.length, alreadyComplete };
  if (values.json) console.log(JSON.stringify(result, null, 2));
  else console.log(alreadyComplete ? `${positionals[0]}: already complete (${manifest.count} networks)` : `${positionals[0]}: all ${manifest.shards.length} shards verified; zoo.json written (${manifest.count} networks)`);
  return 0;
}

export function zooCommand(argv: string[]): number | Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    // The commands that hold a lock release it on a signal (their long work runs off this thread).
    case "build": installInterruptHandlers(); return build(rest);
    case "import": installInterruptHandlers(); return importCommand(rest);
    case "export": return exportCommand(rest);
    case "info": return info(rest);
    case "render": return render(rest);
    case "finish": installInterruptHandlers(); return finish(rest);
    case undefined: case "-h": case "--help": console.log(ZOO_USAGE); return sub === undefined ? 2 : 0;
    default: throw new UsageError(`unknown zoo subcommand "${sub}" (expected build, finish, import, export, info or render)`);
  }
}
