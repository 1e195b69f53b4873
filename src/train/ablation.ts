// The paper's ablations as named grids of run settings (variants), each trained over seeds on
// one zoo (run-plan.ts): the generator without and with activations beside vanilla probing
// (Figure 4's generalisation gap), ProbeGen against vanilla at K = 8..128 (Table 6), the
// generator's depth, width and latent size, and the learning rates of the probe source and the
// head. Image zoos vary the image generator; coordinate (INR) zoos the coordinate generator,
// whose depth is its hidden layers and whose width scales them.
import { join } from "node:path";
import { DEFAULT_TRAIN_CONFIG, type TrainConfig } from "./config.js";
import type { PlannedRun } from "./run-plan.js";

export const ABLATION_GRIDS = ["activation", "probes", "generator", "lr"] as const;
export type AblationGrid = (typeof ABLATION_GRIDS)[number];

export interface AblationVariant {
  /** Its name in tables and folder names. */
  name: string;
  /** What it changes from the base settings. */
  description: string;
  config: Partial<TrainConfig>;
}

const GENERATOR = DEFAULT_TRAIN_CONFIG.generator;

/** The variants of a grid; `images` says whether the zoo's networks take images (else coordinates). */
export function ablationVariants(grid: AblationGrid, images: boolean, lr = DEFAULT_TRAIN_CONFIG.lr): AblationVariant[] {
  const gen = (g: Partial<TrainConfig["generator"]>): Partial<TrainConfig> => ({ method: "probegen", generator: { ...GENERATOR, ...g } });
  switch (grid) {
    case "activation":
      return [
        { name: "probegen", description: "deep linear generator (no activation)", config: gen({}) },
        { name: "probegen-relu", description: "the generator with ReLU between its layers", config: gen({ activation: "relu" }) },
        { name: "vanilla", description: "probes learned directly", config: { method: "vanilla" } },
      ];
    case "probes":
      return [8, 16, 32, 64, 128].flatMap((k) => [
        { name: `probegen-k${k}`, description: `ProbeGen, K = ${k}`, config: { ...gen({}), probes: k } },
        { name: `vanilla-k${k}`, description: `vanilla, K = ${k}`, config: { method: "vanilla" as const, probes: k } },
      ]);
    case "generator": {
      const depth: AblationVariant = images
        ? { name: "probegen-layers6", description: "6 layers (deep_linear_6)", config: gen({ layers: 6 }) }
        : { name: "probegen-hidden2", description: "two hidden layers (32, 32)", config: gen({ hidden: [32, 32] }) };
      const width = (m: number): AblationVariant => images
        ? { name: `probegen-width${m}`, description: `widths x ${m}`, config: gen({ widthMultiplier: m }) }
        : { name: `probegen-width${m}`, description: `hidden width ${32 * m}`, config: gen({ hidden: [32 * m] }) };
      return [
        { name: "probegen", description: images ? "5 layers, widths x 1, latent 32" : "hidden 32, latent 32", config: gen({}) },
        depth, width(0.5), width(2),
        { name: "probegen-latent8", description: "latent size 8", config: gen({ latentDim: 8 }) },
        { name: "probegen-latent128", description: "latent size 128", config: gen({ latentDim: 128 }) },
      ];
    }
    case "lr": {
      const show = (x: number) => x.toExponential(0);
      return [
        ...[lr / 3, lr, lr * 3].map((x) => ({ name: `probegen-lr${show(x)}`, description: `lr ${show(x)} for the head and the generator`, config: { ...gen({}), lr: x } })),
        ...[lr / 3, lr * 3, lr * 10].map((x) => ({ name: `probegen-probelr${show(x)}`, description: `head lr ${show(lr)}, generator lr ${show(x)}`, config: { ...gen({}), lr, probeLr: x } })),
      ];
    }
  }
}

/** The runs of a grid: each variant over the seeds, into out/<variant>-seed<s>. */
export function ablationRuns(out: string, base: TrainConfig, grid: AblationGrid, images: boolean, seeds: number, firstSeed = 0): { variant: AblationVariant; runs: PlannedRun[] }[] {
  return ablationVariants(grid, images, base.lr).map((variant) => ({
    variant,
    runs: Array.from({ length: seeds }, (_, i) => {
      const seed = firstSeed + i;
      const config: TrainConfig = { ...base, ...variant.config, seed };
      return { dir: join(out, `${variant.name}-seed${seed}`), label: `${variant.name} seed ${seed}`, config };
    }),
  }));
}
