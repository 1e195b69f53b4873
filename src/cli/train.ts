// probegen train | eval
import { installInterruptHandlers } from "../io/interrupts.js";
import { IMAGE_SET_NAMES } from "../data/image-sets.js";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { createProgress } from "../report/progress.js";
import { DEFAULT_TRAIN_CONFIG, MAX_HEAD_WIDTH, MAX_PROBES, METHOD_CHOICES, PROBE_INITS, READOUT_CHOICES, TRAIN_RECIPES, TRAIN_RECIPE_NAMES, type TrainConfig } from "../train/config.js";
import { evaluateSplit } from "../train/evaluate.js";
import { loadCheckpoint } from "../train/checkpoint.js";
import { ProbingModel } from "../train/probing-model.js";
import { answerBlackBox, readRunFile, runArchitecture, trainYielding } from "../train/trainer.js";
import { ZooData } from "../train/zoo-data.js";
import { SPLIT_NAMES, Zoo, rangesSize } from "../zoo/format.js";
import { UsageError, choiceArg, intArg, numArg, requiredArg, parseCommandArgs, THREADS_HELP } from "./args.js";

const d = DEFAULT_TRAIN_CONFIG;

export const TRAIN_USAGE = `Usage: probegen train --zoo DIR --out RUN [options]

Trains a probing model on a zoo: K probes go through every network, their responses feed an
MLP head that predicts the network's label (or regression target). RUN/ gets config.json, metrics.jsonl (one record
per evaluation), best and last checkpoints (safetensors + JSON) and result.json.

Options:
  --zoo DIR                    the zoo (required)
  --out RUN                    the run folder (required)
  --method NAME                auto (the default predictor: data for image zoos of a set
                               probegen has, MNIST or Fashion-MNIST; probegen otherwise),
                               probegen (deep linear generator), vanilla (learned
                               probes), uniform (fixed U(-1,1)), grid (fixed, evenly spaced),
                               dead-leaves (fixed procedural images, for image inputs),
                               data (fixed real images of the zoo's image set, for image inputs)
                               or statnn (weight statistics, no probes)
  --recipe default|paper       the settings the options below start from: probegen's (default)
                               or the paper's exact recipe (paper: --method probegen
                               --probe-init random --readout logits)
  --probes K                   number of probes (${d.probes})
  --epochs N                   (${d.epochs})
  --batch N                    networks per step (${d.batch})
  --lr X                       Adam learning rate, cosine-annealed to 0 (${d.lr})
  --probe-lr X                 the probe source's own rate (generator and latents, or vanilla's
                               probes), annealed alike (default: --lr)
  --weight-decay X             Adam L2 weight decay (${d.weightDecay})
  --seed N                     (${d.seed})
  --eval-every N               evaluate val and test every N steps (${d.evalEvery})
  --head-width N, --head-depth N   the head's width and number of Linear layers (${d.head.width}, ${d.head.depth})
  --latent N                   generator latent size (${d.generator.latentDim})
  --generator-hidden LIST      coordinate generator hidden widths (${d.generator.hidden.join(",")})
  --generator-layers 5|6       image generator depth: deep_linear_5 or deep_linear_6 (${d.generator.layers})
  --generator-width X          image generator width multiplier (${d.generator.widthMultiplier})
  --generator-activation none|relu   relu is the paper's non-linear ablation (none)
  --probe-init auto|random|dead-leaves|data   where ProbeGen's image generator starts: fitted
                               to Dead Leaves or real images (of the zoo's image set) before
                               training, or random as the paper; auto is data when the zoo names
                               an image set probegen has (mnist, fmnist), dead-leaves for other
                               image zoos, random for coordinate (INR) zoos (${d.probeInit})
  --readout NAME               what the head reads of each answer: logits (the network's
                               outputs), hidden (those and a summary of every hidden layer's
                               response: per layer, statistics over channels of each
                               channel's spatial mean and spread), or labelled (for data
                               probes, which carry classes: each probe's softmax
                               probabilities, its true class's probability and logit margin,
                               and whether the network predicts it); auto is labelled for
                               data probes, logits otherwise (${d.readout})
  --vanilla-init normal|uniform      initial vanilla probes N(0,1) as the paper (normal) or
                               U(-1,1), inside the INRs' domain
  --data DIR                   folder of the image set's IDX files, for data probes (default:
                               its installed package)
  --dataset mnist|fmnist       the image set the zoo's networks were trained on, for a zoo that
                               does not record it (an imported public zoo): lets data probes and
                               the default predictor use it; recorded in config.json; refused
                               when the zoo records another
  --skip-nonfinite             leave out networks whose weights are not all finite (without it
                               such a zoo is refused, naming a network and its shard)
  --resume                     continue RUN from its last checkpoint
  --json                       print the result as JSON on stdout
  -h, --help                   show this help
${THREADS_HELP}`;

export const EVAL_USAGE = `Usage: probegen eval RUN [--zoo DIR] [--split test|val|train] [--checkpoint best|last] [--json]

Evaluates a trained run (its best checkpoint by default) on a split of its zoo, or of another
zoo of the same network family and architecture: accuracy, per-class accuracy and the
confusion matrix.
${THREADS_HELP}`;

function list(name: string, v: string | undefined, def: number[]): number[] {
  return v === undefined ? def : v.split(",").map((x) => intArg(name, x.trim(), 0, 1));
}

export async function trainCommand(argv: string[]): Promise<number> {
  installInterruptHandlers();
  const { values } = parseCommandArgs({
    args: argv,
    options: {
      zoo: { type: "string" }, out: { type: "string" }, method: { type: "string" }, probes: { type: "string" },
      epochs: { type: "string" }, batch: { type: "string" }, lr: { type: "string" }, "probe-lr": { type: "string" }, "weight-decay": { type: "string" },
      seed: { type: "string" }, "eval-every": { type: "string" }, "head-width": { type: "string" }, "head-depth": { type: "string" },
      latent: { type: "string" }, "generator-hidden": { type: "string" }, "generator-activation": { type: "string" },
      "vanilla-init": { type: "string" }, "probe-init": { type: "string" }, readout: { type: "string" }, dataset: { type: "string" }, recipe: { type: "string" }, "generator-layers": { type: "string" }, "generator-width": { type: "string" },
      data: { type: "string" }, "skip-nonfinite": { type: "boolean", default: false },
      resume: { type: "boolean", default: false }, json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) { console.log(TRAIN_USAGE); return 0; }
  const out = requiredArg("out", values.out);
  const d = TRAIN_RECIPES[choiceArg("recipe", values.recipe, TRAIN_RECIPE_NAMES, "default")];
  const config: TrainConfig = {
    zoo: requiredArg("zoo", values.zoo),
    method: choiceArg("method", values.method, METHOD_CHOICES, d.method),
    probes: intArg("probes", values.probes, d.probes, 1, MAX_PROBES),
    epochs: intArg("epochs", values.epochs, d.epochs, 1),
    batch: intArg("batch", values.batch, d.batch, 1),
    lr: numArg("lr", values.lr, d.lr, 0, true),
    ...(values["probe-lr"] !== undefined ? { probeLr: numArg("probe-lr", values["probe-lr"], d.lr, 0, true) } : {}),
    weightDecay: numArg("weight-decay", values["weight-decay"], d.weightDecay, 0),
    seed: intArg("seed", values.seed, d.seed),
    evalEvery: intArg("eval-every", values["eval-every"], d.evalEvery, 1),
    head: { width: intArg("head-width", values["head-width"], d.head.width, 1, MAX_HEAD_WIDTH), depth: intArg("head-depth", values["head-depth"], d.head.depth, 1) },
    generator: {
      latentDim: intArg("latent", values.latent, d.generator.latentDim, 1),
      hidden: list("generator-hidden", values["generator-hidden"], d.generator.hidden),
      layers: Number(choiceArg("generator-layers", values["generator-layers"], ["5", "6"] as const, String(d.generator.layers) as "5" | "6")) as 5 | 6,
      activation: choiceArg("generator-activation", values["generator-activation"], ["none", "relu"] as const, d.generator.activation),
      widthMultiplier: numArg("generator-width", values["generator-width"], d.generator.widthMultiplier, 0, true),
    },
    probeInit: choiceArg("probe-init", values["probe-init"], PROBE_INITS, d.probeInit),
    readout: choiceArg("readout", values.readout, READOUT_CHOICES, d.readout),
    vanillaInit: choiceArg("vanilla-init", values["vanilla-init"], ["normal", "uniform"] as const, d.vanillaInit),
    dataDir: values.data,
    ...(values.dataset !== undefined ? { dataset: choiceArg("dataset", values.dataset, IMAGE_SET_NAMES) } : {}),
    ...(values["skip-nonfinite"] ? { skipNonFinite: true } : {}),
  };
  // A zoo without a val or test split trains, but the user should know what that means.
  const splits = Zoo.open(config.zoo).manifest.splits;
  if (rangesSize(splits.val) === 0) process.stderr.write(`warning: ${config.zoo} has no val split: no checkpoint is chosen by validation (best = last), and nothing guards against overfitting\n`);
  if (rangesSize(splits.test) === 0) process.stderr.write(`warning: ${config.zoo} has no test split: the run reports no test score\n`);
  let bar = createProgress("", 0, "steps", null);
  let lastNote = "";
  const result = await trainYielding(config, out, {
    resume: values.resume,
    // The settings as resolved: what "auto" chose, named on the bar.
    onStart: (total, _start, cfg) => { bar = createProgress(`training ${cfg.method}${cfg.method === "statnn" ? "" : ` (${cfg.readout})`} K=${cfg.probes}`, total, "steps", values.json ? null : process.stderr); },
    onStep: (step) => bar.update(step, lastNote),
    onEval: (r) => {
      const fmt = (m: typeof r.val) => (m === null ? "-" : m.accuracy !== undefined ? `${(100 * m.accuracy).toFixed(2)}%` : `tau ${m.score.toFixed(4)}`);
      lastNote = `loss ${r.trainLoss.toFixed(3)} val ${fmt(r.val)} test ${fmt(r.test)} ${r.modelsPerSec.toFixed(0)} models/s`;
    },
  });
  bar.finish(lastNote);
  if (values.json) { console.log(JSON.stringify(result, null, 2)); return 0; }
  const pct = (v: number | null | undefined) => (v === null || v === undefined || Number.isNaN(v) ? "-" : `${(100 * v).toFixed(2)}%`);
  console.log(`${out}: ${result.method}${result.method === "statnn" ? "" : ` (${result.readout} readout)`}, K=${result.probes}, ${result.steps} steps in ${result.trainSeconds.toFixed(1)} s`);
  const show = result.score === "accuracy" ? pct : (v: number | null | undefined) => (v === null || v === undefined ? "-" : `tau ${v.toFixed(4)}`);
  if (result.best) console.log(`best val ${show(result.best.val)} at step ${result.best.step}: test ${show(result.best.test)}`);
  console.log(`last: val ${show(result.last.val)}, test ${show(result.last.test)}; ${(result.flopsPerNetwork / 1e6).toFixed(3)} MFLOPs to represent one network`);
  return 0;
}

export async function evalCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs({
    args: argv, allowPositionals: true,
    options: {
      zoo: { type: "string" }, split: { type: "string" }, checkpoint: { type: "string" },
      json: { type: "boolean", default: false }, help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) { console.log(EVAL_USAGE); return 0; }
  if (positionals.length !== 1) throw new UsageError("eval takes one run folder");
  const run = positionals[0];
  const split = choiceArg("split", values.split, SPLIT_NAMES, "test");
  const which = choiceArg("checkpoint", values.checkpoint, ["best", "last"] as const, existsSync(join(run, "best.json")) ? "best" : "last");
  const rf = readRunFile(run);
  const zooDir = values.zoo ?? rf.config.zoo;
  const zoo = Zoo.open(zooDir);
  // A run trained on one architecture applies to that architecture; one trained on mixed
  // architectures applies to any the probes fit (checked when the model is built).
  const zooArch = runArchitecture(zoo.manifest);
  if (zoo.manifest.family !== rf.family || (rf.architecture !== undefined && JSON.stringify(zooArch.architecture) !== JSON.stringify(rf.architecture))) {
    throw new Error(`${join(run, "config.json")}: the run was trained on ${rf.family} networks ${JSON.stringify(rf.architecture ?? "of mixed architectures")}, but ${zooDir} holds ${zoo.manifest.family} networks ${JSON.stringify(zooArch.architecture ?? `of ${zoo.manifest.architectures.length} architectures`)}`);
  }
  const data = new ZooData(zoo, { skipNonFinite: rf.config.skipNonFinite });
  if (data.splits[split].length === 0) throw new Error(`${join(zooDir, "zoo.json")}: the ${split} split holds no networks${data.skippedNonFinite.length > 0 ? " (after leaving out those with non-finite weights)" : ""}`);
  if (data.task !== rf.task || data.classes !== rf.classes) {
    throw new Error(`${zooDir}: a ${data.task} zoo${data.classes ? ` of ${data.classes} classes` : ""}, but the run was trained for ${rf.task}${rf.classes ? ` of ${rf.classes} classes` : ""}`);
  }
  const model = new ProbingModel(rf.config, data.outputs, data);
  const info = loadCheckpoint(run, which, model.savedTensors());
  const blackBox = model.representation.blackBoxRequest?.(data) ?? null;
  if (blackBox !== null) await answerBlackBox(blackBox);
  const ev = evaluateSplit(model, data, data.splits[split]);
  const header = `${run} (${which} checkpoint, step ${info.step}) on ${split} of ${zooDir}: ${ev.count} networks`;
  const base = { run, zoo: zooDir, split, checkpoint: which, step: info.step, count: ev.count, loss: ev.loss };
  if (ev.kind === "regression") {
    const report = { ...base, target: zoo.manifest.task.target, kendallTau: ev.kendallTau, r2: ev.r2, mae: ev.mae };
    if (values.json) { console.log(JSON.stringify(report, null, 2)); return 0; }
    console.log(header);
    console.log(`Kendall's tau ${ev.kendallTau.toFixed(4)}, R^2 ${ev.r2.toFixed(4)}, MAE ${ev.mae.toFixed(4)}, MSE ${ev.loss.toFixed(5)} (target: ${report.target})`);
    return 0;
  }
  const names = zoo.manifest.task.labelNames ?? [];
  const report = {
    ...base, accuracy: ev.accuracy,
    perClass: Object.fromEntries(ev.perClass.map((a, c) => [names[c] ?? String(c), a])), confusion: ev.confusion, labelNames: names,
  };
  if (values.json) { console.log(JSON.stringify(report, null, 2)); return 0; }
  console.log(header);
  console.log(`accuracy ${(100 * ev.accuracy).toFixed(2)}%, loss ${ev.loss.toFixed(4)}`);
  console.log("per class: " + ev.perClass.map((a, c) => `${names[c] ?? c} ${Number.isNaN(a) ? "-" : (100 * a).toFixed(1) + "%"}`).join(", "));
  const w = Math.max(5, ...names.map((n) => n.length));
  console.log(`confusion (rows: true, columns: predicted)`);
  console.log(" ".repeat(w + 1) + names.map((_, c) => String(c).padStart(5)).join(""));
  ev.confusion.forEach((row, c) => console.log(`${(names[c] ?? String(c)).padStart(w)} ${row.map((v) => String(v).padStart(5)).join("")}`));
  return 0;
}
