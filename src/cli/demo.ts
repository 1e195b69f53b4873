// probegen demo: the main job end to end on a small MNIST INR zoo.
import { parseArgs } from "node:util";
import { existsSync, rmSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { createProgress } from "../report/progress.js";
import { DEFAULT_TRAIN_CONFIG } from "../train/config.js";
import { train, type RunResult } from "../train/trainer.js";
import { availableParallelism } from "node:os";
import { buildInrZooParallel } from "../zoo/inr-builder.js";
import { DEFAULT_INR_RECIPE } from "../zoo/inr-fit.js";
import { intArg } from "./args.js";
import type { ProbeMethod } from "../probes/source.js";

export const DEMO_USAGE = `Usage: probegen demo [--count N] [--probes K] [--epochs N] [--cache DIR] [--json]

Builds (or reuses) an MNIST INR zoo in a cache folder, trains ProbeGen, vanilla probing and
fixed uniform probes with the same K and budget, and prints their test accuracy, training
time and the FLOPs needed to represent one network. About 3 minutes the first time on a
2-core machine (the zoo is fitted on every core), under a minute once it is cached.

Options:
  --count N       INRs in the demo zoo (1500)
  --probes K      probes per method (64)
  --epochs N      training epochs (30)
  --fit-steps N   Adam steps per INR at most while fitting the zoo (${DEFAULT_INR_RECIPE.steps})
  --workers N     threads fitting the zoo (one per core, at most 4)
  --cache DIR     where the zoo and runs go ($XDG_CACHE_HOME/probegen or ~/.cache/probegen)
  --json          print the comparison as JSON on stdout
  -h, --help      show this help`;

export function defaultCacheDir(): string {
  return join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "probegen");
}

export async function demoCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      count: { type: "string" }, probes: { type: "string" }, epochs: { type: "string" }, "fit-steps": { type: "string" },
      workers: { type: "string" },
      cache: { type: "string" }, json: { type: "boolean", default: false }, help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) { console.log(DEMO_USAGE); return 0; }
  const count = intArg("count", values.count, 1500, 20);
  const probes = intArg("probes", values.probes, 64, 1);
  const epochs = intArg("epochs", values.epochs, 30, 1);
  const fitSteps = intArg("fit-steps", values["fit-steps"], DEFAULT_INR_RECIPE.steps, 0);
  const cache = values.cache ?? defaultCacheDir();
  const log = (s: string) => { if (!values.json) console.error(s); };
  const zooDir = join(cache, `zoos/mnist-inr-${count}${fitSteps === DEFAULT_INR_RECIPE.steps ? "" : `-steps${fitSteps}`}-seed0`);
  log(`${existsSync(join(zooDir, "zoo.json")) ? "reusing" : "building"} the demo zoo: ${zooDir}`);
  const fitBar = createProgress("fitting MNIST INRs", count, "INRs", values.json ? null : process.stderr);
  const workers = intArg("workers", values.workers, Math.min(4, availableParallelism()), 1, 64);
  const built = await buildInrZooParallel({
    dataset: "mnist", count, out: zooDir, seed: 0, recipe: { steps: fitSteps }, shardSize: 250, onProgress: (d) => fitBar.update(d),
  }, workers);
  if (built.fitted > 0) fitBar.finish(`${built.fitted} INRs fitted`);
  const methods: ProbeMethod[] = ["probegen", "vanilla", "uniform"];
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
    method: r.method, probes: r.probes, testAccuracy: r.best?.test ?? r.last.test ?? NaN, valAccuracy: r.best?.val ?? NaN,
    trainSeconds: r.trainSeconds, flopsPerNetwork: r.flopsPerNetwork, run: r.run,
  }));
  if (values.json) { console.log(JSON.stringify({ zoo: zooDir, count, epochs, rows }, null, 2)); return 0; }
  const label: Record<string, string> = { probegen: "ProbeGen (deep linear generator)", vanilla: "vanilla (learned probes)", uniform: "fixed uniform probes" };
  console.log(`\nMNIST INR classification, zoo of ${count} INRs (${zooDir}), K=${probes}, ${epochs} epochs\n`);
  const header = ["method", "test acc", "val acc", "train time", "MFLOPs / network"];
  const table = rows.map((r) => [label[r.method] ?? r.method, `${(100 * r.testAccuracy).toFixed(2)}%`, `${(100 * r.valAccuracy).toFixed(2)}%`, `${r.trainSeconds.toFixed(1)} s`, (r.flopsPerNetwork / 1e6).toFixed(3)]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i].length)));
  const fmt = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  console.log(fmt(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const r of table) console.log(fmt(r));
  console.log("\ntest accuracy at the best validation accuracy; FLOPs: K probes through one network plus the head.");
  return 0;
}
