// probegen zoo build KIND: every kind declared once (its options with their defaults, how they
// become the builder's options, what its progress and summary say), and one sequence that runs
// any of them: parse, progress, a local or queued build, the part report, the summary.
import { IMAGE_SET_NAMES } from "../data/image-sets.js";
import { DWSNETS_SIREN, SIREN_INITS } from "../nets/siren.js";
import { Zoo } from "../zoo/format.js";
import { summarizeZoo, type ZooSummary } from "../zoo/summary.js";
import { buildInrZooParallel, type InrZooOptions } from "../zoo/build/inr-builder.js";
import { buildShapeInrZoo, type ShapeInrZooOptions } from "../zoo/build/shape-inr-builder.js";
import { DEFAULT_CNN_COHORT, buildCnnZoo, type CnnZooOptions } from "../zoo/build/cnn-builder.js";
import { DEFAULT_PARK_COHORT, DEFAULT_WILD_PARK_RECIPE, buildWildParkZoo, type WildParkZooOptions } from "../zoo/build/wild-park-builder.js";
import { DEFAULT_CNN_RECIPE } from "../zoo/build/cnn-recipe.js";
import { DEFAULT_INR_RECIPE } from "../zoo/build/inr-fit.js";
import type { BuildKind } from "../zoo/build/build-kinds.js";
import type { BuildPart } from "../zoo/shard-build.js";
import type { QueueBuildReport } from "../queue/shard-jobs.js";
import { parseQueueAddress, type QueueAddress } from "../queue/queue-address.js";
import { createProgress, type Progress } from "../report/progress.js";
import { THREADS_HELP, UsageError, intArg } from "./args.js";
import {
  HELP_OPTION, JSON_OPTION, choiceOption, flagOption, formatOptions, intOption, listOption, numOption, pairOption, readOptions,
  requiredIntOption, requiredStringOption, shardOption, stringOption, type OptionSpec, type OptionValues,
} from "./options.js";

/** What every build reports: the zoo's manifest-level outcome and how many networks this call built. */
interface BuildOutcome { built: number; skippedShards: number; seconds: number; complete: boolean }

type Progressed = (done: number, total: number, last: unknown) => void;

interface BuildCommand<S extends OptionSpec, O> {
  /** The line `probegen zoo --help` shows. */
  summary: string;
  /** What follows `probegen zoo build KIND` in the usage line. */
  synopsis: string;
  description: string;
  options: S;
  /** The queue's and the workers' name for the kind (resnet builds as cnn). */
  kind: BuildKind;
  /** The builder's options from the command's values. */
  builderOptions(v: OptionValues<S>, onProgress: Progressed): O;
  build(opts: O, workers: number): Promise<BuildOutcome>;
  /** The progress bar's title, total and unit, and a note on what has come in so far. */
  progress(v: OptionValues<S>): { title: string; total: number; unit: string; note?: () => (last: unknown) => string | undefined };
  /** The word after the count in the progress bar's last line ("fitted", "trained"). */
  verb: string;
  /** The summary: its JSON and its lines of text. */
  result(v: OptionValues<S>, r: BuildOutcome & { manifest?: { count: number; architectures: unknown[] } }, s: ZooSummary): { json: object; lines: string[] };
}

/** Options of every kind but shape-inr: the image set and the folder. */
const IMAGE_ZOO_HEAD = {
  dataset: choiceOption("NAME", "mnist or fmnist", IMAGE_SET_NAMES),
} as const;

/** Options every kind takes, after its own: seeding, batching, sharding, the queue, output. */
function commonOptions(batch: number, shardSize: number, unit: string, verb: string) {
  return {
    seed: intOption("N", "seed of every draw", 0),
    batch: intOption("N", `${unit} ${verb} at once {}; does not change the result`, batch, 1),
    "shard-size": intOption("N", `${unit} per shard file`, shardSize, 1),
    workers: intOption("N", "worker threads building shards side by side {}; the zoo is the\nsame, so use one per core and more shards than workers", 1, 1, 64),
    queue: stringOption("URL", "build on a job queue (redis://HOST:PORT/NAME): enqueue the missing\nshards for `probegen worker` processes, wait, write zoo.json"),
    shard: shardOption("build only part I of N (0 <= I < N: shards s with s % N = I), for\nSLURM arrays or Kubernetes Indexed Jobs on one shared folder; the\nlast part to finish writes zoo.json (or: probegen zoo finish DIR)"),
  } as const;
}
const DATA_OPTION = { data: stringOption("DIR", "folder with the image set's IDX files (default: its installed package)") } as const;
const TAIL = { json: JSON_OPTION, help: HELP_OPTION } as const;

function defineBuild<S extends OptionSpec, O>(c: BuildCommand<S, O>): BuildCommand<S, O> { return c; }

/** Running means of the fitted INRs' PSNR, for the progress bar. */
const psnrNote = () => {
  let sum = 0, n = 0;
  return (last: unknown) => {
    if (last !== null) { sum += (last as { psnr: number }).psnr; n++; }
    return n > 0 ? `mean PSNR ${(sum / n).toFixed(2)} dB` : undefined;
  };
};

const asBuilt = <R extends { fitted: number }>({ fitted, ...r }: R) => ({ ...r, built: fitted });
const quantilesPercent = (q: number[]) => q.map((v) => (100 * v).toFixed(1)).join(" / ");

const inr = defineBuild({
  summary: "fit a zoo of SIREN INRs, one per image of MNIST or Fashion-MNIST",
  synopsis: "--dataset mnist|fmnist --count N --out DIR [options]",
  description: `Fits one SIREN (2->32->32->1, sin(30x), +0.5 by default) per image, many at once, and writes the zoo
(zoo.json + safetensors shards) to DIR. Rerun the same command to resume an interrupted build:
finished shards are kept, the rest are fitted again, and the result is the same zoo.`,
  options: {
    ...IMAGE_ZOO_HEAD,
    count: requiredIntOption("N", "number of INRs {}; the split follows the image set: INRs of\nits test images are the test split, 1/12 of the rest is validation", 1),
    out: requiredStringOption("DIR", "output folder"),
    steps: intOption("N", "Adam steps per INR at most", DEFAULT_INR_RECIPE.steps, 0),
    lr: numOption("X", "Adam learning rate", DEFAULT_INR_RECIPE.lr, 0, true),
    psnr: numOption("DB", "stop an INR once it reaches this PSNR", DEFAULT_INR_RECIPE.psnr),
    hidden: listOption("LIST", "hidden layer widths of the SIREN", DWSNETS_SIREN.hidden, (f, s) => intArg(f, s, 0, 1, 4096)),
    w0: numOption("X", "sine frequency", DWSNETS_SIREN.w0, 0, true),
    init: choiceOption("NAME", "siren {} (first layer U(-1/in,1/in): faithful INRs) or dwsnets\n(as the public DWSNets zoos: ~23.5 dB on MNIST after 1000 steps)", SIREN_INITS, DEFAULT_INR_RECIPE.init),
    ...commonOptions(8, 1000, "INRs", "fitted"), ...DATA_OPTION, ...TAIL,
  },
  kind: "inr",
  builderOptions: (v, onProgress): InrZooOptions => ({
    dataset: v.dataset, count: v.count, out: v.out, dataDir: v.data, seed: v.seed, shardSize: v["shard-size"], part: v.shard, batch: v.batch,
    recipe: { steps: v.steps, lr: v.lr, psnr: v.psnr, init: v.init },
    arch: { ...DWSNETS_SIREN, hidden: v.hidden, w0: v.w0 },
    onProgress,
  }),
  build: async (o, workers) => asBuilt(await buildInrZooParallel(o, workers)),
  progress: (v) => ({ title: `fitting ${v.dataset} INRs`, total: v.count, unit: "INRs", note: psnrNote }),
  verb: "fitted",
  result: (v, r, s) => {
    const json = {
      out: v.out, count: v.count, fitted: r.built, skippedShards: r.skippedShards, seconds: r.seconds,
      inrsPerSec: r.built / r.seconds, meanPsnr: s.means.psnr, meanSteps: s.means.steps, psnrQuantiles: s.quantiles.psnr, splits: s.splits,
    };
    return {
      json,
      lines: [
        `zoo: ${v.out} (${v.count} INRs: ${s.splits.train} train, ${s.splits.val} val, ${s.splits.test} test)`,
        `fitted ${r.built} in ${r.seconds.toFixed(1)} s (${json.inrsPerSec.toFixed(2)} INRs/s); mean PSNR ${json.meanPsnr.toFixed(2)} dB, mean steps ${json.meanSteps.toFixed(0)}`,
      ],
    };
  },
});

const cr = DEFAULT_CNN_RECIPE;
/** The Small-CNN recipe's options (zoo build cnn and resnet). */
const CNN_RECIPE_OPTIONS = {
  "train-images": intOption("N", "training images pooled for the zoo {}; each network trains on\nits own random fraction of them", cr.trainImages, 1),
  "test-images": intOption("N", "test images every network is scored on", cr.testImages, 1),
  "train-eval-images": intOption("N", "own training images the train accuracy is measured on, at most", cr.trainEvalImages, 1),
  epochs: pairOption("LO,HI", "epochs are drawn uniformly from LO..HI", cr.epochsRange, true),
  lr: pairOption("LO,HI", "learning-rate range, log-uniform", cr.lrRange, false),
} as const;

type CnnValues = OptionValues<typeof CNN_RECIPE_OPTIONS & typeof IMAGE_ZOO_HEAD & ReturnType<typeof commonOptions> & typeof DATA_OPTION> & { count: number; out: string };

function cnnBuilderOptions(v: CnnValues, onProgress: Progressed, network: "small-cnn" | "resnet18", width?: number): CnnZooOptions {
  return {
    dataset: v.dataset, count: v.count, out: v.out, dataDir: v.data, seed: v.seed, shardSize: v["shard-size"], part: v.shard, batch: v.batch,
    recipe: { trainImages: v["train-images"], testImages: v["test-images"], trainEvalImages: v["train-eval-images"], epochsRange: v.epochs, lrRange: v.lr },
    network, width, onProgress,
  };
}

/** How many networks were trained again after diverging, for the progress bar. */
const retriedNote = () => {
  let retried = 0;
  return (last: unknown) => {
    if (last !== null && (last as { attempt: number }).attempt > 0) retried++;
    return retried > 0 ? `${retried} retrained after diverging` : undefined;
  };
};

function cnnResult(noun: string) {
  return (v: { out: string; count: number }, r: BuildOutcome, s: ZooSummary) => {
    const json = {
      out: v.out, count: v.count, trained: r.built, skippedShards: r.skippedShards, seconds: r.seconds,
      networksPerSec: r.built / r.seconds,
      testAccuracyQuantiles: s.quantiles.test_accuracy, meanTestAccuracy: s.means.test_accuracy,
      trainAccuracyQuantiles: s.quantiles.train_accuracy, meanSteps: s.means.steps, splits: s.splits,
    };
    return {
      json,
      lines: [
        `zoo: ${v.out} (${v.count} ${noun}: ${s.splits.train} train, ${s.splits.val} val, ${s.splits.test} test)`,
        `trained ${r.built} in ${r.seconds.toFixed(1)} s (${json.networksPerSec.toFixed(2)} ${noun}/s); test accuracy % min/25/50/75/max ${quantilesPercent(json.testAccuracyQuantiles)}`,
      ],
    };
  };
}

const cnn = defineBuild({
  summary: "train a Small-CNN zoo (Unterthiner et al.) on MNIST or Fashion-MNIST",
  synopsis: "--dataset mnist|fmnist --count N --out DIR [options]",
  description: `Trains N small CNNs (3 x [Conv 16, 3x3, stride 2, padding 1], global average pooling,
Linear(16,10); grayscale 28x28 padded to 32x32 in [-1,1]), each with hyperparameters drawn as
in Unterthiner et al. (2020): activation (relu/tanh), initialiser and its std, optimiser
(adam/rmsprop/sgd), learning rate and L2 (log-uniform), dropout, the fraction of the training
images used and the epochs. Records test and train accuracy and loss and every hyperparameter;
the target is test accuracy and the split is NFN's (second half test, first half 80/20 train/val
by Python's random.Random(0)). Many networks train at once; rerun the same command to resume.`,
  options: {
    ...IMAGE_ZOO_HEAD, count: requiredIntOption("N", "number of networks", 1), out: requiredStringOption("DIR", "output folder"),
    ...CNN_RECIPE_OPTIONS, ...commonOptions(DEFAULT_CNN_COHORT, 250, "networks", "trained"), ...DATA_OPTION, ...TAIL,
  },
  kind: "cnn",
  builderOptions: (v, onProgress) => cnnBuilderOptions(v, onProgress, "small-cnn"),
  build: (o, workers) => buildCnnZoo(o, workers),
  progress: (v) => ({ title: `training ${v.dataset} CNNs`, total: v.count, unit: "CNNs", note: retriedNote }),
  verb: "trained",
  result: cnnResult("CNNs"),
});

const resnet = defineBuild({
  summary: "train a zoo of ResNet-18s with the Small-CNN zoo's hyperparameter draws",
  synopsis: "--dataset mnist|fmnist --count N --out DIR [options]",
  description: `Trains N ResNet-18s (torchvision's layout: BasicBlocks [2, 2, 2, 2], downsampling shortcuts,
global average pooling, fc; the CIFAR stem on grayscale 28x28 padded to 32x32 in [-1,1]) of
width --width, each with hyperparameters drawn as the Small-CNN zoo's (initialiser and its std,
optimiser, learning rate, L2, training fraction, epochs; ReLU and no dropout). The networks have
no BatchNorm: they train in the family's folded form (convolutions with biases), each block's
second convolution starting at zero (Fixup), so a network starts as its stem and shortcuts. The
target is test accuracy, split as the Small-CNN zoo (NFN's protocol). Rerun to resume.`,
  options: {
    ...IMAGE_ZOO_HEAD, count: requiredIntOption("N", "number of networks", 1), out: requiredStringOption("DIR", "output folder"),
    width: intOption("W", "channels of the first stage {}; later stages double it (64 is torchvision's)", 8, 1, 64),
    ...CNN_RECIPE_OPTIONS, ...commonOptions(DEFAULT_CNN_COHORT, 50, "networks", "trained"), ...DATA_OPTION, ...TAIL,
  },
  kind: "cnn",
  builderOptions: (v, onProgress) => cnnBuilderOptions(v, onProgress, "resnet18", v.width),
  build: (o, workers) => buildCnnZoo(o, workers),
  progress: (v) => ({ title: `training ${v.dataset} ResNets`, total: v.count, unit: "ResNets", note: retriedNote }),
  verb: "trained",
  result: cnnResult("ResNets"),
});

const wp = DEFAULT_WILD_PARK_RECIPE;
const wildPark = defineBuild({
  summary: "train a CNN Wild Park (Neural Graphs): CNNs of mixed architectures",
  synopsis: "--dataset mnist|fmnist --count N --out DIR [options]",
  description: `Trains N CNNs of architectures drawn as Neural Graphs' CNN Wild Park sampler draws them: 2-5
conv layers, each with 4/8/16/32 channels, a 3/5/7 kernel (stride 1, padding k//2), its own
activation (relu, gelu, tanh, sigmoid, leaky_relu, none) and a residual from an earlier,
non-preceding layer or none (Neural Graphs' rule), then global average pooling and a Linear to
the 10 classes. Inputs are grayscale 28x28 padded to 32x32 in [-1,1]. Each network trains with
AdamW on the same pool of training images in its own order, and is kept after each checkpoint
epoch: every checkpoint is a sample whose target is its test accuracy, and all checkpoints of a
network fall in one split (70/10/20% of networks train/val/test). Networks of different
architectures train together in one ragged batch; rerun the same command to resume.`,
  options: {
    ...IMAGE_ZOO_HEAD,
    count: requiredIntOption("N", "number of networks {}; the zoo holds one sample per checkpoint", 3, "a network each to train, validate and test on"),
    out: requiredStringOption("DIR", "output folder"),
    layers: flagOption("draw 2-8 layers (Neural Graphs' later configuration) instead of 2-5"),
    channels: flagOption("allow 64 channels as well"),
    checkpoints: listOption("LIST", "epochs after which each network is kept", wp.checkpoints, (f, s) => intArg(f, s, 0, 1, 100000), (f, list, raw) => {
      if (!list.every((e, i) => i === 0 || e > list[i - 1])) throw new UsageError(`--${f} must be increasing epochs, got "${raw}"`);
    }),
    "train-images": intOption("N", "training images every network trains on", wp.trainImages, 1),
    "test-images": intOption("N", "test images every checkpoint is scored on", wp.testImages, 1),
    "batch-size": intOption("N", "images per optimiser step", wp.batchSize, 1, 4096),
    lr: numOption("X", "AdamW learning rate", wp.lr, 0, true),
    "weight-decay": numOption("X", "AdamW weight decay", wp.weightDecay, 0),
    ...commonOptions(DEFAULT_PARK_COHORT, 32, "networks", "trained"), ...DATA_OPTION, ...TAIL,
  },
  kind: "wild-park",
  builderOptions: (v, onProgress): WildParkZooOptions => ({
    dataset: v.dataset, count: v.count, out: v.out, dataDir: v.data, seed: v.seed, shardSize: v["shard-size"], part: v.shard, batch: v.batch,
    recipe: { checkpoints: v.checkpoints, trainImages: v["train-images"], testImages: v["test-images"], batchSize: v["batch-size"], lr: v.lr, weightDecay: v["weight-decay"] },
    wideLayers: v.layers, wideChannels: v.channels, onProgress,
  }),
  build: (o, workers) => buildWildParkZoo(o, workers),
  progress: (v) => ({ title: `training ${v.dataset} Wild Park CNNs`, total: v.count * v.checkpoints.length, unit: "checkpoints" }),
  verb: "networks trained",
  result: (v, r, s) => {
    const json = {
      out: v.out, networks: v.count, samples: r.manifest!.count, architectures: r.manifest!.architectures.length,
      trained: r.built, skippedShards: r.skippedShards, seconds: r.seconds, networksPerSec: r.built / r.seconds,
      testAccuracyQuantiles: s.quantiles.test_accuracy, meanTestAccuracy: s.means.test_accuracy, splits: s.splits,
    };
    return {
      json,
      lines: [
        `zoo: ${v.out} (${v.count} networks x ${v.checkpoints.length} checkpoints = ${json.samples} samples: ${s.splits.train} train, ${s.splits.val} val, ${s.splits.test} test)`,
        `trained ${r.built} in ${r.seconds.toFixed(1)} s (${json.networksPerSec.toFixed(3)} networks/s); test accuracy % min/25/50/75/max ${quantilesPercent(json.testAccuracyQuantiles)}`,
      ],
    };
  },
});

const shapeInr = defineBuild({
  summary: "fit occupancy INRs of procedural 3-D shapes (the point-cloud benchmark)",
  synopsis: "--count N --out DIR [options]",
  description: `Fits one SIREN (3 -> 32 -> 32 -> 1, sine layers as the image INRs') per procedural 3-D shape,
zoo-batched, to its occupancy on a grid over [-1, 1]^3. Ten classes (sphere, cube, cylinder,
cone, torus, capsule, pyramid, ellipsoid, prism, compound); INR i is of class i mod 10 in a
random pose (rotation, scale). The first 70% are the train split, then 10% val, 20% test. The
zoo is the same for any --batch and --workers; rerun the command to resume a stopped build.`,
  options: {
    count: requiredIntOption("N", "INRs {}, at least 3", 3),
    out: requiredStringOption("DIR", "a new or empty folder, or this build's own"),
    grid: intOption("G", "grid points per axis {}; 16 makes 4,096 points", 16, 2, 64),
    noise: numOption("X", "surface noise of the drawn shapes", 0.01, 0),
    steps: intOption("N", "Adam steps at most", DEFAULT_INR_RECIPE.steps, 0),
    lr: numOption("X", "Adam learning rate", DEFAULT_INR_RECIPE.lr, 0, true),
    psnr: numOption("DB", "stop an INR at this occupancy PSNR", 30),
    ...commonOptions(64, 500, "INRs", "fitted"), ...TAIL,
  },
  kind: "shape-inr",
  builderOptions: (v, onProgress): ShapeInrZooOptions => ({
    count: v.count, out: v.out, seed: v.seed, grid: v.grid, noise: v.noise, batch: v.batch, shardSize: v["shard-size"], part: v.shard,
    recipe: { steps: v.steps, lr: v.lr, psnr: v.psnr }, onProgress,
  }),
  build: async (o, workers) => asBuilt(await buildShapeInrZoo(o, workers)),
  progress: (v) => ({ title: "fitting shape INRs", total: v.count, unit: "INRs", note: psnrNote }),
  verb: "fitted",
  result: (v, r, s) => {
    const json = {
      out: v.out, count: v.count, fitted: r.built, skippedShards: r.skippedShards, seconds: r.seconds,
      inrsPerSec: r.built / r.seconds, meanPsnr: s.means.psnr, meanSteps: s.means.steps, splits: s.splits,
    };
    return {
      json,
      lines: [
        `zoo: ${v.out} (${v.count} shape INRs: ${s.splits.train} train, ${s.splits.val} val, ${s.splits.test} test)`,
        `fitted ${r.built} in ${r.seconds.toFixed(1)} s (${json.inrsPerSec.toFixed(2)} INRs/s); mean occupancy PSNR ${json.meanPsnr.toFixed(2)} dB, mean steps ${json.meanSteps.toFixed(0)}`,
      ],
    };
  },
});

/** Every kind `zoo build` takes, in the order its help lists them. */
export const ZOO_BUILD_COMMANDS: Readonly<Record<string, BuildCommand<any, any>>> = { inr, cnn, resnet, "wild-park": wildPark, "shape-inr": shapeInr };

export function buildUsage(name: string, c: BuildCommand<any, any>): string {
  return `Usage: probegen zoo build ${name} ${c.synopsis}\n\n${c.description}\n\nOptions:\n${formatOptions(c.options)}\n${THREADS_HELP}`;
}

/**
 * --queue: enqueues the build's missing shards for `probegen worker` processes, shows their
 * progress and writes zoo.json when every shard is in.
 */
async function onQueue(kind: BuildKind, opts: unknown, url: string, part: BuildPart | undefined, progress: Progress, json: boolean): Promise<QueueBuildReport> {
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

/**
 * After a build part: when other parts' shards are still missing, says so (and what completes
 * the zoo) and returns true; false when the zoo is complete and the caller summarises it.
 */
function reportPart(report: BuildOutcome, out: string, part: BuildPart | undefined, json: boolean): boolean {
  if (report.complete) return false;
  const result = { out, part: part === undefined ? null : `${part.index}/${part.count}`, built: report.built, skippedShards: report.skippedShards, seconds: report.seconds, complete: false };
  if (json) console.log(JSON.stringify(result, null, 2));
  else console.log(`part ${result.part} of ${out}: built ${report.built} in ${report.seconds.toFixed(1)} s; other parts' shards are still missing. The last part to finish writes zoo.json, or run \`probegen zoo finish ${out}\` once every part has run.`);
  return true;
}

interface CommonValues { out: string; json: boolean; workers: number; queue: string | undefined; shard: BuildPart | undefined }

/** zoo build KIND ARGS: the one sequence every kind runs. */
export async function zooBuildCommand(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const names = Object.keys(ZOO_BUILD_COMMANDS);
  if (name === "-h" || name === "--help") { console.log(names.map((n) => buildUsage(n, ZOO_BUILD_COMMANDS[n])).join("\n\n")); return 0; }
  const c = name === undefined ? undefined : ZOO_BUILD_COMMANDS[name];
  if (c === undefined) {
    const list = `${names.slice(0, -1).join(", ")} or ${names[names.length - 1]}`;
    throw new UsageError(name === undefined ? `zoo build needs a zoo kind: \`probegen zoo build ${names.join("|")} ...\`` : `unknown zoo kind "${name}" (expected ${list})`);
  }
  const values = readOptions(c.options, rest);
  if (values === "help") { console.log(buildUsage(name!, c)); return 0; }
  const v = values as unknown as CommonValues;
  const p = c.progress(values);
  const progress = createProgress(p.title, p.total, p.unit, v.json ? null : process.stderr);
  const note = p.note?.();
  const opts = c.builderOptions(values, (done, total, last) => { progress.setTotal(total); progress.update(done, note?.(last)); });
  const report: BuildOutcome & { manifest?: { count: number; architectures: unknown[] } } = v.queue !== undefined
    ? await onQueue(c.kind, opts, v.queue, v.shard, progress, v.json) : await c.build(opts, v.workers);
  progress.finish(`${report.built} ${c.verb}, ${report.skippedShards} shard(s) already there`);
  if (reportPart(report, v.out, v.shard, v.json)) return 0;
  const { json, lines } = c.result(values, report, summarizeZoo(Zoo.open(v.out)));
  console.log(v.json ? JSON.stringify(json, null, 2) : lines.join("\n"));
  return 0;
}
