// Builds a point-cloud INR zoo: one SIREN (3 -> ... -> 1) per procedural 3-D shape, fitted
// zoo-batched to the shape's occupancy on a shared grid of points in [-1, 1]^3, written shard by
// shard, resumably (shard-build.ts). Shape i is of class i mod 10 in a pose drawn from its own
// seeded stream, so a shape does not depend on which shard or thread makes it.
import { SHAPE_CLASSES, drawShape } from "../../data/shapes3d.js";
import { DWSNETS_SIREN, parseSirenArchitecture, sirenParameterShapes, type SirenArchitecture } from "../../nets/siren.js";
import { Rng } from "../../engine/index.js";
import { encodeShard, planShards, type ZooManifest } from "../format.js";
import type { ShardBuildReport } from "../shard-build.js";
import { buildZooLocally, type ZooBuildOptions } from "./local-build.js";
import { DEFAULT_INR_RECIPE, type InrRecipe, type InrResult } from "./inr-fit.js";
import { fitInrsIntoShards, type InrBuildReport } from "./inr-builder.js";
import { PROBEGEN_VERSION } from "../../version.js";

/** The SIREN of a shape INR: the image INRs' 32-32 sine layers, on three coordinates. */
export const SHAPE_SIREN: SirenArchitecture = { ...DWSNETS_SIREN, inDim: 3 };

/** A shape-INR zoo's options (batch 64 and shards of 500 by default). */
export interface ShapeInrZooOptions extends ZooBuildOptions<InrResult> {
  recipe?: Partial<InrRecipe>;
  /** Grid points per axis (16: 4,096 points). */
  grid?: number;
  /** Surface noise of the drawn shapes (0.01). */
  noise?: number;
  arch?: SirenArchitecture;
}

export interface ShapeInrBuild {
  opts: ShapeInrZooOptions;
  seed: number;
  recipe: InrRecipe;
  arch: SirenArchitecture;
  coords: Float32Array;
  manifest: ZooManifest;
}

/** Points of a side^3 grid over [-1, 1]^3, (x, y, z) with z fastest. */
export function grid3d(side: number): Float32Array {
  const lin = (i: number) => (side === 1 ? 0 : -1 + (2 * i) / (side - 1));
  const out = new Float32Array(3 * side ** 3);
  let k = 0;
  for (let i = 0; i < side; i++) for (let j = 0; j < side; j++) for (let l = 0; l < side; l++) {
    out[k++] = lin(i); out[k++] = lin(j); out[k++] = lin(l);
  }
  return out;
}

/** Shape i of a build: its class and its occupancy target on the grid. */
export function shapeTarget(seed: number, index: number, coords: Float32Array, noise: number): { cls: number; target: Float32Array } {
  const cls = index % SHAPE_CLASSES.length;
  const shape = drawShape(cls, new Rng(seed, `shape-inr:${index}`), { noise });
  const n = coords.length / 3;
  const target = new Float32Array(n);
  for (let p = 0; p < n; p++) target[p] = shape.sdf(coords[3 * p], coords[3 * p + 1], coords[3 * p + 2]) < 0 ? 1 : 0;
  return { cls, target };
}

export function describeShapeInrBuild(opts: ShapeInrZooOptions): ShapeInrBuild {
  const seed = opts.seed ?? 0;
  const recipe: InrRecipe = { ...DEFAULT_INR_RECIPE, psnr: 30, ...opts.recipe };
  const arch = opts.arch ?? SHAPE_SIREN;
  if (arch.inDim !== 3 || arch.outDim !== 1) throw new RangeError("shape INRs are SIRENs with 3 inputs and 1 output");
  parseSirenArchitecture(arch, "SIREN architecture");
  if (!Number.isInteger(opts.count) || opts.count < 3) throw new RangeError(`--count must be an integer >= 3 (a network per split at least), got ${opts.count}`);
  const side = opts.grid ?? 16;
  if (!Number.isInteger(side) || side < 2 || side > 64) throw new RangeError(`--grid must be an integer in [2, 64], got ${side}`);
  if (!(recipe.lr > 0) || !Number.isFinite(recipe.lr)) throw new RangeError(`the learning rate must be a positive number, got ${recipe.lr}`);
  const count = opts.count;
  const nTest = Math.max(1, Math.round(0.2 * count)), nVal = Math.max(1, Math.round(0.1 * count));
  const nTrain = count - nTest - nVal;
  const manifest: ZooManifest = {
    format: "probegen-zoo", version: 1, family: "siren",
    architectures: [{ architecture: { ...arch }, parameters: sirenParameterShapes(arch).map(([name, shape]) => ({ name, shape })) }],
    fields: [
      { name: "label", dtype: "I32", description: `shape class: ${SHAPE_CLASSES.map((c, i) => `${i} ${c}`).join(", ")}` },
      { name: "psnr", dtype: "F32", description: "PSNR (dB) of the INR's occupancy against the shape's on the grid" },
      { name: "steps", dtype: "I32", description: "Adam steps taken" },
    ],
    strings: [],
    task: { kind: "classification", labelNames: [...SHAPE_CLASSES] },
    count,
    splits: { train: [[0, nTrain]], val: [[nTrain, nTrain + nVal]], test: [[nTrain + nVal, count]] },
    shards: planShards(count, opts.shardSize ?? 500),
    provenance: {
      builder: "probegen zoo build shape-inr", probegenVersion: PROBEGEN_VERSION, seed,
      shapes: "procedural classes (src/data/shapes3d.ts): INR i is class i mod 10, posed by a uniformly random rotation and a scale in [0.75, 1]",
      recipe: {
        ...recipe, grid: `${side}^3 points over [-1, 1]^3, (x, y, z), z fastest`, noise: opts.noise ?? 0.01,
        optimizer: "adam(beta1=0.9, beta2=0.999, eps=1e-8)", loss: "mean squared error against occupancy (1 inside, 0 outside), per INR",
      },
    },
  };
  return { opts, seed, recipe, arch, coords: grid3d(side), manifest };
}

/** Fits the INRs of the given shards, writing each shard as it completes; returns INRs fitted. */
export function fitShapeInrShards(b: ShapeInrBuild, shards: readonly number[], onDone: (r: InrResult) => void): number {
  const { manifest, opts } = b;
  const noise = opts.noise ?? 0.01;
  return fitInrsIntoShards({
    manifest, out: opts.out, arch: b.arch, recipe: b.recipe, seed: b.seed, batch: opts.batch ?? 64, coords: b.coords,
    target: (i) => shapeTarget(b.seed, i, b.coords, noise).target,
    encode: (si, results) => encodeShard(manifest, si, results, {
      label: results.map((r) => r.index % SHAPE_CLASSES.length), psnr: results.map((r) => r.psnr), steps: results.map((r) => r.steps),
    }),
  }, shards, onDone);
}

export type ShapeInrBuildReport = InrBuildReport;
const report = ({ built, ...rest }: ShardBuildReport): ShapeInrBuildReport => ({ ...rest, fitted: built });

/** Builds (or resumes) a shape-INR zoo; with workers > 1 on worker threads, whole shards each (the same zoo). */
export async function buildShapeInrZoo(opts: ShapeInrZooOptions, workers = 1): Promise<ShapeInrBuildReport> {
  const b = describeShapeInrBuild(opts);
  return report(await buildZooLocally<InrResult>("shape-inr", opts, b.manifest, workers, (pending, onDone) => fitShapeInrShards(b, pending, onDone)));
}
