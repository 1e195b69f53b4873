// A probing experiment (`probegen experiment`): every method x K x seed on one zoo, each run in
// its own folder, then their comparison (the test score at the best validation step as mean ±
// std over seeds). Beyond the train command's methods: "vanilla-uniform" is vanilla probing with
// probes initialised U(-1,1) instead of N(0,1); "probegen6" is ProbeGen with the 6-layer image
// generator (deep_linear_6); both start their generator as initialised (the paper's recipe), and
// "probegen-from-data" / "probegen-from-dead-leaves" start it fitted to images (train's
// --probe-init). Any method with "-hidden" or "-labelled" appended reads that readout instead.
import { join } from "node:path";
import { DEFAULT_TRAIN_CONFIG, TRAIN_RECIPES, type TrainConfig, type TrainRecipe } from "./config.js";
import type { PlannedRun } from "./run-plan.js";
import { METHODS, type RepresentationMethod } from "../probes/source.js";

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

export const EXPERIMENT_BASE_METHODS: readonly BaseMethod[] = [...METHODS, "vanilla-uniform", "probegen6", "probegen-from-data", "probegen-from-dead-leaves"];

/** Whether `m` names a method of an experiment (a base method, with a readout suffix or not, or auto). */
export function isExperimentMethod(m: string): m is ExperimentMethod {
  const base = m.replace(/-(hidden|labelled)$/, "");
  return m === "auto" || (EXPERIMENT_BASE_METHODS as readonly string[]).includes(base);
}

export interface ExperimentPlan {
  zoo: string;
  methods: readonly ExperimentMethod[];
  probes: readonly number[];
  seeds: number;
  firstSeed?: number;
  out: string;
  /** The settings every run starts from (default: probegen's), which the method then sets. */
  recipe?: TrainRecipe;
  /** What every run's head reads where its method's name does not say. */
  readout?: TrainConfig["readout"];
  /** Other settings for every run (epochs, evalEvery, batch, lr). */
  settings?: Partial<Pick<TrainConfig, "epochs" | "evalEvery" | "batch" | "lr" | "dataDir">>;
}

/** The runs of an experiment, in order: K, then method, then seed, each in out/<method>-k<K>-seed<seed>. */
export function experimentRuns(p: ExperimentPlan): PlannedRun[] {
  const runs: PlannedRun[] = [];
  const first = p.firstSeed ?? 0;
  const base = TRAIN_RECIPES[p.recipe ?? "default"];
  for (const k of p.probes) {
    for (const method of p.methods) {
      if (method === "statnn" && k !== p.probes[0]) continue; // no probes: one row is enough
      const own = methodConfig(method);
      // A suffix names the method's readout; otherwise --readout, otherwise the method's own.
      const readout = /-(hidden|labelled)$/.test(method) || p.readout === undefined ? own.readout : p.readout;
      for (let seed = first; seed < first + p.seeds; seed++) {
        runs.push({
          dir: join(p.out, `${method}-k${k}-seed${seed}`), label: `${method} K=${k} seed ${seed}`,
          config: { ...base, ...p.settings, zoo: p.zoo, ...own, ...(readout === undefined ? {} : { readout }), probes: k, seed },
        });
      }
    }
  }
  return runs;
}
