// A probing experiment: every method x K x seed on one zoo, the test score (accuracy, or
// Kendall's tau for a regression zoo) at the best validation score, as mean ± std over seeds,
// printed as a Markdown table. Beyond the train command's methods: "vanilla-uniform" is vanilla
// probing with probes initialised U(-1,1) instead of N(0,1); "probegen6" is ProbeGen with the
// 6-layer image generator (deep_linear_6); both start their generator as initialised (the paper's
// recipe), and "probegen-from-data" / "probegen-from-dead-leaves" start it fitted to images
// (train's --probe-init; probegen's default for image zoos is from-data where it can be). Any
// method with "-hidden" appended reads the hidden layers too (train's --readout hidden).
//   node dist/bench/probing-experiment.js --zoo DIR [--methods probegen,vanilla,uniform]
//        [--probes 64,128] [--seeds 3] [--epochs 30] [--first-seed 0] [--eval-every 500] [--out runs/experiment]
import { parseArgs } from "node:util";
import { join } from "node:path";
import { DEFAULT_TRAIN_CONFIG, type TrainConfig } from "../src/train/config.js";
import { runPlan, type PlannedRun } from "../src/train/run-plan.js";
import type { RepresentationMethod } from "../src/probes/source.js";
import { compareMarkdown, compareRuns, type CompareGroup } from "../src/report/compare.js";

type BaseMethod = RepresentationMethod | "vanilla-uniform" | "probegen6" | "probegen-from-data" | "probegen-from-dead-leaves";
/** A method, and with "-hidden" or "-labelled" the same method with that readout (--readout). */
export type ExperimentMethod = BaseMethod | `${BaseMethod}-hidden` | `${BaseMethod}-labelled` | "auto";

/** "probegen" and "probegen6" are the paper's recipe (the generator started as initialised), as
 * the README's tables were made; the -from- methods start it from images (--probe-init). */
function methodConfig(method: ExperimentMethod): Partial<TrainConfig> {
  if (method === "auto") return { method: "auto", readout: "auto", probeInit: "auto" };
  for (const readout of ["hidden", "labelled"] as const) {
    if (method.endsWith(`-${readout}`)) return { ...methodConfig(method.slice(0, -readout.length - 1) as BaseMethod), readout };
  }
  // The logits readout unless a suffix says otherwise: the rows of the README's tables.
  return { readout: "logits", ...baseConfig(method as BaseMethod) };
}

function baseConfig(method: BaseMethod): Partial<TrainConfig> {
  switch (method) {
    case "vanilla-uniform": return { method: "vanilla", vanillaInit: "uniform" };
    case "probegen": return { method, probeInit: "random" };
    case "probegen6": return { method: "probegen", probeInit: "random", generator: { ...DEFAULT_TRAIN_CONFIG.generator, layers: 6 } };
    case "probegen-from-data": return { method: "probegen", probeInit: "data" };
    case "probegen-from-dead-leaves": return { method: "probegen", probeInit: "dead-leaves" };
    default: return { method: method as RepresentationMethod };
  }
}

/**
 * Trains every method x K x seed into out/<method>-k<K>-seed<seed> (keeping finished runs,
 * resuming stopped ones), then compares them (probegen compare).
 */
export async function runExperiment(zoo: string, methods: ExperimentMethod[], probes: number[], seeds: number, epochs: number, out: string,
  log: (s: string) => void = (s) => process.stderr.write(`${s}\n`), firstSeed = 0, evalEvery = DEFAULT_TRAIN_CONFIG.evalEvery): Promise<CompareGroup[]> {
  const runs: PlannedRun[] = [];
  for (const k of probes) {
    for (const method of methods) {
      if (method === "statnn" && k !== probes[0]) continue; // no probes: one row is enough
      for (let seed = firstSeed; seed < firstSeed + seeds; seed++) {
        runs.push({
          dir: join(out, `${method}-k${k}-seed${seed}`), label: `${method} K=${k} seed ${seed}`,
          config: { ...DEFAULT_TRAIN_CONFIG, zoo, ...methodConfig(method), probes: k, seed, epochs, evalEvery },
        });
      }
    }
  }
  await runPlan(runs, { log });
  return compareRuns(runs.map((r) => r.dir));
}

const isMain = process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isMain) {
  const { values } = parseArgs({
    options: {
      zoo: { type: "string" }, methods: { type: "string" }, probes: { type: "string" }, seeds: { type: "string" },
      epochs: { type: "string" }, out: { type: "string" }, "first-seed": { type: "string" }, "eval-every": { type: "string" },
    },
  });
  if (values.zoo === undefined) { console.error("usage: node dist/bench/probing-experiment.js --zoo DIR [...]"); process.exit(2); }
  const rows = await runExperiment(values.zoo, (values.methods ?? "probegen,vanilla,uniform").split(",") as ExperimentMethod[],
    (values.probes ?? "64,128").split(",").map(Number), Number(values.seeds ?? 3), Number(values.epochs ?? 30), values.out ?? "runs/experiment",
    undefined, Number(values["first-seed"] ?? 0), Number(values["eval-every"] ?? DEFAULT_TRAIN_CONFIG.evalEvery));
  console.log(compareMarkdown(rows));
}
