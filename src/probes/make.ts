// Builds the probe source a training run asks for, for the input shape of the zoo's networks.
import type { Rng } from "../engine/index.js";
import type { ImageSet } from "../data/image-sets.js";
import { CoordinateGenerator } from "./coordinate-generator.js";
import { FixedProbes } from "./fixed-probes.js";
import { ImageGenerator } from "./image-generator.js";
import { LearnedProbes } from "./learned-probes.js";
import type { ProbeMethod, ProbeSource } from "./source.js";

export interface ProbeOptions {
  method: ProbeMethod;
  /** K */
  count: number;
  /** Generator (probegen): latent size (32), hidden widths of the coordinate generator ([32]),
   * layers of the image generator (5 or 6), activation ("none"). */
  latentDim?: number;
  generatorHidden?: number[];
  generatorLayers?: 5 | 6;
  generatorActivation?: "none" | "relu";
  /** Scales the image generator's widths (1). */
  generatorWidth?: number;
  /** Vanilla: initial probes N(0,1) (the paper) or U(-1,1). */
  vanillaInit?: "normal" | "uniform";
  /** Data: the image set the zoo's networks were trained on. */
  imageSet?: ImageSet;
}

/** shape: one probe's shape, [d] for coordinates or [C, H, W] for images. */
export function makeProbeSource(opts: ProbeOptions, shape: readonly number[], rng: Rng): ProbeSource {
  if (!Number.isInteger(opts.count) || opts.count < 1) throw new RangeError(`the number of probes must be a positive integer, got ${opts.count}`);
  switch (opts.method) {
    case "probegen":
      if (shape.length === 1) {
        return new CoordinateGenerator(opts.count, shape[0], rng.fork("probegen"), {
          latentDim: opts.latentDim, hidden: opts.generatorHidden, activation: opts.generatorActivation,
        });
      }
      if (shape.length !== 3) throw new RangeError(`the probe generators make coordinates [d] or images [C,H,W]; this zoo's networks take [${shape.join(",")}]`);
      return new ImageGenerator(opts.count, rng.fork("probegen"), {
        latentDim: opts.latentDim, channels: shape[0], size: [shape[1], shape[2]], layers: opts.generatorLayers, activation: opts.generatorActivation,
        widthMultiplier: opts.generatorWidth,
      });
    case "vanilla": return new LearnedProbes(opts.count, shape, rng.fork("vanilla"), opts.vanillaInit);
    case "uniform": case "grid": case "dead-leaves": case "data":
      return new FixedProbes(opts.method, opts.count, shape, rng.fork(opts.method), opts.imageSet);
    default: throw new RangeError(`unknown probe method "${String(opts.method)}"`);
  }
}
