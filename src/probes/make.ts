// Builds the probe source a training run asks for.
import type { Rng } from "../engine/index.js";
import { CoordinateGenerator } from "./coordinate-generator.js";
import { FixedProbes } from "./fixed-probes.js";
import { LearnedProbes } from "./learned-probes.js";
import type { ProbeMethod, ProbeSource } from "./source.js";

export interface ProbeOptions {
  method: ProbeMethod;
  /** K */
  count: number;
  /** Generator (probegen): latent size (32), hidden widths ([32]), activation ("none"). */
  latentDim?: number;
  generatorHidden?: number[];
  generatorActivation?: "none" | "relu";
  /** Vanilla: initial probes N(0,1) (the paper) or U(-1,1). */
  vanillaInit?: "normal" | "uniform";
}

export function makeProbeSource(opts: ProbeOptions, dim: number, rng: Rng): ProbeSource {
  if (!Number.isInteger(opts.count) || opts.count < 1) throw new RangeError(`the number of probes must be a positive integer, got ${opts.count}`);
  switch (opts.method) {
    case "probegen":
      return new CoordinateGenerator(opts.count, dim, rng.fork("probegen"), {
        latentDim: opts.latentDim, hidden: opts.generatorHidden, activation: opts.generatorActivation,
      });
    case "vanilla": return new LearnedProbes(opts.count, dim, rng.fork("vanilla"), opts.vanillaInit);
    case "uniform": case "grid": return new FixedProbes(opts.method, opts.count, dim, rng.fork(opts.method));
    default: throw new RangeError(`unknown probe method "${String(opts.method)}"`);
  }
}
