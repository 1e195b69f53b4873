// What a probing run is: the zoo, the probe method and every training setting.
import { IMAGE_SET_NAMES } from "../data/image-sets.js";
import { METHODS, type RepresentationMethod } from "../probes/source.js";
import { READOUTS, type Readout } from "./readouts.js";

/** Where a ProbeGen generator starts: fitted to Dead Leaves or real images, or as initialised. */
export type ProbeInit = "auto" | "random" | "dead-leaves" | "data";
export const PROBE_INITS: readonly ProbeInit[] = ["auto", "random", "dead-leaves", "data"];

/** What the head reads of each network's answer to a probe (readouts.ts); "auto" is chosen for the zoo (default-predictor.ts). */
export type ReadoutChoice = "auto" | Readout;
export const READOUT_CHOICES: readonly ReadoutChoice[] = ["auto", ...READOUTS];

/** A representation method, or "auto": the default predictor for the zoo (default-predictor.ts). */
export type MethodChoice = RepresentationMethod | "auto";
export const METHOD_CHOICES: readonly MethodChoice[] = ["auto", ...METHODS];

export interface TrainConfig {
  /** Zoo folder. */
  zoo: string;
  method: MethodChoice;
  /** Number of probes K (unused by statnn). */
  probes: number;
  epochs: number;
  batch: number;
  lr: number;
  /** The probe source's learning rate (the generator and latents, or vanilla's probes); lr when absent. */
  probeLr?: number;
  weightDecay: number;
  seed: number;
  /** Evaluate val and test every this many steps (and at the end). */
  evalEvery: number;
  head: { width: number; depth: number };
  /** hidden: the coordinate generator's widths; layers: the image generator's depth (5 or 6);
   * widthMultiplier: scales the image generator's widths 128, 64, 32, 16. */
  generator: { latentDim: number; hidden: number[]; layers: 5 | 6; activation: "none" | "relu"; widthMultiplier: number };
  /** Where ProbeGen's image probes start (probe-init.ts): "auto" is the default for the zoo's inputs. */
  probeInit: ProbeInit;
  /** The network's outputs for each probe (logits), or those and its hidden layers' summaries (hidden). */
  readout: ReadoutChoice;
  /** Initial vanilla probes: N(0,1) as the paper, or U(-1,1) inside the INRs' domain. */
  vanillaInit: "normal" | "uniform";
  /** Folder of the image set's IDX files for data probes (default: where its package installs them). */
  dataDir?: string;
  /** The image set the zoo's networks were trained on, for a zoo that does not record it (an
   * import of a public zoo); refused when the zoo records another. */
  dataset?: string;
  /** Leave out networks whose weights are not all finite (otherwise such a zoo is refused). */
  skipNonFinite?: boolean;
}

export const DEFAULT_TRAIN_CONFIG: Omit<TrainConfig, "zoo"> = {
  method: "auto",
  probes: 64,
  epochs: 30,
  batch: 32,
  lr: 3e-4,
  weightDecay: 0,
  seed: 0,
  evalEvery: 500,
  head: { width: 256, depth: 6 },
  generator: { latentDim: 32, hidden: [32], layers: 5, activation: "none", widthMultiplier: 1 },
  probeInit: "auto",
  readout: "auto",
  vanillaInit: "normal",
};

/**
 * Named starting points for a run's settings, which flags then override. "default" is probegen's
 * own; "paper" is the paper's exact recipe: the same settings with the generator started as
 * initialised (no fitted start).
 */
export type TrainRecipe = "default" | "paper";
export const TRAIN_RECIPES: Readonly<Record<TrainRecipe, Omit<TrainConfig, "zoo">>> = {
  default: DEFAULT_TRAIN_CONFIG,
  paper: { ...DEFAULT_TRAIN_CONFIG, method: "probegen", probeInit: "random", readout: "logits" },
};
export const TRAIN_RECIPE_NAMES = Object.keys(TRAIN_RECIPES) as TrainRecipe[];

/** Bounds on settings that would only exhaust memory. */
export const MAX_PROBES = 16_384;
export const MAX_HEAD_WIDTH = 16_384;

export function validateTrainConfig(c: TrainConfig): void {
  const int = (name: string, v: number, min: number) => {
    if (!Number.isInteger(v) || v < min) throw new RangeError(`${name} must be an integer >= ${min}, got ${v}`);
  };
  int("probes", c.probes, 1);
  // Far past any run's need, and past what the 4 GiB of tensor memory could hold with a head.
  if (c.probes > MAX_PROBES) throw new RangeError(`probes must be at most ${MAX_PROBES}, got ${c.probes}`);
  if (c.head.width > MAX_HEAD_WIDTH) throw new RangeError(`head width must be at most ${MAX_HEAD_WIDTH}, got ${c.head.width}`);
  if (!Number.isSafeInteger(c.seed)) throw new RangeError(`seed must be an integer, got ${JSON.stringify(c.seed)}`);
  int("epochs", c.epochs, 1);
  int("batch", c.batch, 1);
  int("evalEvery", c.evalEvery, 1);
  int("head depth", c.head.depth, 1);
  int("head width", c.head.width, 1);
  int("latent size", c.generator.latentDim, 1);
  if (c.dataset !== undefined && !(IMAGE_SET_NAMES as readonly string[]).includes(c.dataset)) throw new RangeError(`dataset must be one of ${IMAGE_SET_NAMES.join(", ")}, got ${JSON.stringify(c.dataset)}`);
  if (!(c.generator.widthMultiplier > 0)) throw new RangeError(`generator width multiplier must be positive, got ${c.generator.widthMultiplier}`);
  if (!(c.lr > 0)) throw new RangeError(`lr must be positive, got ${c.lr}`);
  if (c.probeLr !== undefined && !(c.probeLr > 0)) throw new RangeError(`probe lr must be positive, got ${c.probeLr}`);
  if (!PROBE_INITS.includes(c.probeInit)) throw new RangeError(`probe init must be one of ${PROBE_INITS.join(", ")}, got ${JSON.stringify(c.probeInit)}`);
  if (!READOUT_CHOICES.includes(c.readout)) throw new RangeError(`readout must be one of ${READOUT_CHOICES.join(", ")}, got ${JSON.stringify(c.readout)}`);
  if (!(c.weightDecay >= 0)) throw new RangeError(`weight decay must be >= 0, got ${c.weightDecay}`);
}
