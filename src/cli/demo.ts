// probegen demo: the main job end to end, on a small MNIST INR zoo (classification) or a small
// Fashion-MNIST Small-CNN zoo (predicting test accuracy).
import { existsSync, rmSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { createProgress } from "../report/progress.js";
import { writeRunReport } from "../report/run-report.js";
import { DEFAULT_TRAIN_CONFIG } from "../train/config.js";
import { train, type RunResult } from "../train/trainer.js";
import { availableParallelism } from "node:os";
import { buildInrZooParallel } from "../zoo/build/inr-builder.js";
import { DEFAULT_INR_RECIPE } from "../zoo/build/inr-fit.js";
import { buildCnnZoo } from "../zoo/build/cnn-builder.js";
import { DEFAULT_CNN_RECIPE } from "../zoo/build/cnn-recipe.js";
import { buildWildParkZoo } from "../zoo/build/wild-park-builder.js";
import { choiceArg, intArg, parseCommandArgs, THREADS_HELP } from "./args.js";
import type { RepresentationMethod } from "../probes/source.js";

export const DEMO_USAGE = `Usage: probegen demo [--task inr|cnn|wild-park] [--count N] [--probes K] [--epochs N] [--cache DIR] [--json]

--task inr (default): builds (or reuses) an MNIST INR zoo in a cache folder, trains ProbeGen,
vanilla probing and fixed uniform probes with the same K and budget, and prints their test
accuracy, training time and the FLOPs needed to represent one network. About 3 minutes the
first time on a 2-core machine (the zoo is fitted on every core), under a minute once cached.

--task cnn: builds (or reuses) a Fashion-MNIST Small-CNN zoo and predicts each network's test
accuracy with ProbeGen, vanilla probing and fixed Dead Leaves images, scored by Kendall's tau
on the NFN test half. About 10 minutes the first time on 2 cores, 4 once the zoo is cached.

--task wild-park: builds (or reuses) a small Fashion-MNIST CNN Wild Park (60 networks of mixed
depth, width, kernels, activations and residuals, each kept after epochs 1 and 3 of training
on 500 images) and predicts each checkpoint's test accuracy with ProbeGen, vanilla probing, Dead
Leaves images and weight statistics (StatNN), K=32, 10 epochs. About 10 minutes on 2 cores.

All end by writing the ProbeGen run's HTML report (as probegen report) and printing its path.

Options:
  --task NAME     inr, cnn or wild-park (inr)
  --count N       networks in the demo zoo (1500 INRs, 500 CNNs, 60 Wild Park CNNs)
  --probes K      probes per method (64; 32 for wild-park)
  --epochs N      training epochs (30 for inr, 100 for cnn, 10 for wild-park)
  --fit-steps N   Adam steps per INR at most while fitting the INR zoo (${DEFAULT_INR_RECIPE.steps})
  --train-images N  training images pooled for the CNN zoo (${DEFAULT_CNN_RECIPE.trainImages}; 500 for
                  wild-park); fewer make shorter training
  --workers N     threads building the zoo (one per core, at most 4)
  --cache DIR     where the zoo and runs go ($XDG_CACHE_HOME/probegen or ~/.cache/probegen)
  --json          print the comparison as JSON on stdout
  -h, --help      show this help
${THREADS_HELP}`;

export function defaultCacheDir(): string {
  return join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "probegen");
}

export async function demoCommand(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs({
    args: argv,
    options: {
      count: { type: "string" }, probes: { type: "string" }, epochs: { type: "string" }, "fit-steps": { type: "string" },
      workers: { type: "string" }, task: { type: "string" }, "train-images": { type: "string" },
      cache: { type: "string" }, json: { type: "boolean", default: false }, help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) { console.log(DEMO_USAGE); return 0; }
  const task = choiceArg("task", values.task, ["inr", "cnn", "wild-park"] as const, "inr");
  const park = task === "wild-park";
  // Both CNN tasks predict test accuracy (Kendall's tau).
  const cnn = task !== "inr";
  const count = intArg("count", values.count, park ? 60 : cnn ? 500 : 1500, park ? 4 : 20);
  const probes = intArg("probes", values.probes, park ? 32 : 64, 1);
  const epochs = intArg("epochs", values.epochs, park ? 10 : cnn ? 100 : 30, 1);
  const fitSteps = intArg("fit-steps", values["fit-steps"], DEFAULT_INR_RECIPE.steps, 0);
  const defaultImages = park ? 500 : DEFAULT_CNN_RECIPE.trainImages;
  const trainImages = intArg("train-images", values["train-images"], defaultImages, park ? 32 : 320);
  const cache = values.cache ?? defaultCacheDir();
  const log = (s: string) => { if (!values.json) console.error(s); };
  const pool = trainImages === defaultImages ? "" : `-pool${trainImages}`;
  const zooDir = join(cache, park ? `zoos/fmnist-wild-park-${count}${pool}-seed0` : cnn ? `zoos/fmnist-cnn-${count}${pool}-seed0`
    : `zoos/mnist-inr-${count}${fitSteps === DEFAULT_INR_RECIPE.steps ? "" : `-steps${fitSteps}`}-seed0`);
  log(`${existsSync(join(zooDir, "zoo.json")) ? "reusing" : "building"} the demo zoo: ${zooDir}`);
  const workers = intArg("workers", values.workers, Math.min(4, availableParallelism()), 1, 64);
  const parkCheckpoints = [1, 3];
  const buildBar = park
    ? createProgress("training Fashion-MNIST Wild Park CNNs", count * parkCheckpoints.length, "checkpoints", values.json ? null : process.stderr)
    : createProgress(cnn ? "training Fashion-MNIST CNNs" : "fitting MNIST INRs", count, cnn ? "CNNs" : "INRs", values.json ? null : process.stderr);
  const onProgress = (d: number) => buildBar.update(d);
  const made = park
    ? (await buildWildParkZoo({ dataset: "fmnist", count, out: zooDir, seed: 0, shardSize: 8, recipe: { trainImages, testImages: 500, checkpoints: parkCheckpoints }, onProgress }, workers)).built
    : cnn
      ? (await buildCnnZoo({ dataset: "fmnist", count, out: zooDir, seed: 0, shardSize: 125, recipe: { trainImages }, onProgress }, workers)).built
      : (await buildInrZooParallel({ dataset: "mnist", count, out: zooDir, seed: 0, recipe: { steps: fitSteps }, shardSize: 250, onProgress }, workers)).fitted;
  if (made > 0) buildBar.finish(`${made} ${park ? "Wild Park CNNs trained" : cnn ? "CNNs trained" : "INRs fitted"}`);
  const methods: RepresentationMethod[] = park ? ["probegen", "vanilla", "dead-leaves", "statnn"] : cnn ? ["probegen", "vanilla", "dead-leaves"] : ["probegen", "vanilla", "uniform"];
  const results: RunResult[] = [];
  for (const method of methods) {
    const out = join(cache, "runs", `demo-${method}-k${probes}`);
    rmSync(out, { recursive: true, force: true });
    let bar = createProgress("", 0, "steps", null);
    results.push(train({ ...DEFAULT_TRAIN_CONFIG, zoo: zooDir, method, probes, epochs }, out, {
      onStart: (total) => { bar = createProgress(`training ${method}`, total, "steps", values.json ? null : process.stderr); },
      onStep: (s) => bar.update(s),
    }));
    bar.finish();
  }
  const rows = results.map((r) => ({
    method: r.method, probes: r.probes, score: r.score, test: r.best?.test ?? r.last.test ?? NaN, val: r.best?.val ?? NaN,
    trainSeconds: r.trainSeconds, flopsPerNetwork: r.flopsPerNetwork, run: r.run,
  }));
  const probegenRun = results.find((r) => r.method === "probegen")!.run;
  const report = await writeRunReport(probegenRun);
  if (values.json) { console.log(JSON.stringify({ task, zoo: zooDir, count, epochs, rows, report: report.out }, null, 2)); return 0; }
  const label: Record<string, string> = {
    probegen: "ProbeGen (deep linear generator)", vanilla: "vanilla (learned probes)", uniform: "fixed uniform probes", "dead-leaves": "fixed Dead Leaves images",
    statnn: "weight statistics (StatNN)",
  };
  console.log(park
    ? `\nFashion-MNIST CNN Wild Park test-accuracy prediction, ${count} networks x ${parkCheckpoints.length} checkpoints (${zooDir}), K=${probes}, ${epochs} epochs\n`
    : cnn
    ? `\nFashion-MNIST Small-CNN test-accuracy prediction, zoo of ${count} CNNs (${zooDir}), K=${probes}, ${epochs} epochs\n`
    : `\nMNIST INR classification, zoo of ${count} INRs (${zooDir}), K=${probes}, ${epochs} epochs\n`);
  const show = (v: number) => (cnn ? v.toFixed(3) : `${(100 * v).toFixed(2)}%`);
  const header = ["method", cnn ? "test tau" : "test acc", cnn ? "val tau" : "val acc", "train time", "MFLOPs / network"];
  const table = rows.map((r) => [label[r.method] ?? r.method, show(r.test), show(r.val), `${r.trainSeconds.toFixed(1)} s`, (r.flopsPerNetwork / 1e6).toFixed(3)]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i].length)));
  const fmt = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  console.log(fmt(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const r of table) console.log(fmt(r));
  console.log(cnn
    ? "\nKendall's tau between predicted and true test accuracy, at the best validation tau; FLOPs: K probes through one network plus the head."
    : "\ntest accuracy at the best validation accuracy; FLOPs: K probes through one network plus the head.");
  console.log(`\nThe ProbeGen run's report (curves, test results, probes): ${report.out}`);
  return 0;
}
