// Builds an INR zoo: one SIREN fitted to each planned image, written shard by shard, resumably
// (see shard-build.ts).
import { join } from "node:path";
import { imagePixels, loadImageSet, type ImageSet } from "../../data/image-sets.js";
import { DWSNETS_SIREN, gridCoordinates, parseSirenArchitecture, sirenParameterShapes, type SirenArchitecture } from "../../nets/siren.js";
import { allFinite } from "../../engine/index.js";
import { writeFileAtomic } from "../../io/atomic.js";
import { encodeShard, planShards, type ZooManifest } from "../format.js";
import { ShardCollector, openShardBuild, runShardBuildSync, type ShardBuildReport } from "../shard-build.js";
import { buildZooLocally, type ImageZooBuildOptions } from "./local-build.js";
import { DEFAULT_INR_RECIPE, InrFitter, type InrJob, type InrRecipe, type InrResult } from "./inr-fit.js";
import { planInrZoo, type InrPlan, type InrPlanEntry } from "./inr-plan.js";
import { PROBEGEN_VERSION } from "../../version.js";

export { BUILD_FILE } from "../shard-build.js";

/** An INR zoo's options (batch 8 and shards of 1000 by default). */
export interface InrZooOptions extends ImageZooBuildOptions<InrResult> {
  recipe?: Partial<InrRecipe>;
  arch?: SirenArchitecture;
}

/** A build's report, counting INRs fitted by this call (0 when everything was already built). */
export interface InrBuildReport extends Omit<ShardBuildReport, "built"> { fitted: number }

const FIELDS: ZooManifest["fields"] = [
  { name: "label", dtype: "I32", description: "class of the source image" },
  { name: "psnr", dtype: "F32", description: "PSNR (dB, pixel range [0,1]) of the INR against its image on the training grid" },
  { name: "steps", dtype: "I32", description: "Adam steps taken" },
  { name: "source_index", dtype: "I32", description: "index of the source image within its split of the image set" },
  { name: "source_split", dtype: "U8", description: "split of the image set the image comes from: 0 train, 1 test" },
];

export function inrZooManifest(opts: InrZooOptions, labelNames: string[], splits: ZooManifest["splits"], imageShape: [number, number]): ZooManifest {
  const arch = opts.arch ?? DWSNETS_SIREN;
  const recipe = { ...DEFAULT_INR_RECIPE, ...opts.recipe };
  return {
    format: "probegen-zoo",
    version: 1,
    family: "siren",
    architectures: [{ architecture: { ...arch }, parameters: sirenParameterShapes(arch).map(([name, shape]) => ({ name, shape })) }],
    fields: FIELDS,
    strings: [],
    task: { kind: "classification", labelNames },
    count: opts.count,
    splits,
    shards: planShards(opts.count, opts.shardSize ?? 1000),
    provenance: {
      builder: "probegen zoo build inr",
      probegenVersion: PROBEGEN_VERSION,
      dataset: opts.dataset,
      seed: opts.seed ?? 0,
      recipe: {
        ...recipe,
        optimizer: "adam(beta1=0.9, beta2=0.999, eps=1e-8)",
        loss: "mean squared error over pixels, per INR",
        grid: `${imageShape[0]}x${imageShape[1]} coordinates in [-1,1]^2, (row, column), column fastest`,
        targets: "pixel values / 255",
        init: recipe.init === "dwsnets"
          ? "dwsnets: all sine layers U(-sqrt(6/in)/w0, sqrt(6/in)/w0), zero bias; last layer PyTorch default (as the public DWSNets zoos)"
          : "siren: first layer U(-1/in, 1/in), other sine layers U(-sqrt(6/in)/w0, sqrt(6/in)/w0), zero bias; last layer PyTorch default",
      },
    },
  };
}

function encodeInrShard(m: ZooManifest, si: number, results: InrResult[], plan: InrPlanEntry[]): Uint8Array {
  const shard = m.shards[si];
  const entries = plan.slice(shard.start, shard.start + shard.count);
  return encodeShard(m, si, results, {
    label: entries.map((e) => e.label),
    psnr: results.map((r) => r.psnr),
    steps: results.map((r) => r.steps),
    source_index: entries.map((e) => e.sourceIndex),
    source_split: entries.map((e) => (e.sourceSplit === "train" ? 0 : 1)),
  });
}

/** Everything a build derives from its options: the image set, the plan and the manifest. */
export interface InrBuild {
  opts: InrZooOptions;
  seed: number;
  recipe: InrRecipe;
  arch: SirenArchitecture;
  set: ImageSet;
  plan: InrPlan;
  manifest: ZooManifest;
}

/** Derives a build from its options without touching the output folder (workers use it). */
export function describeInrBuild(opts: InrZooOptions): InrBuild {
  const seed = opts.seed ?? 0;
  const recipe: InrRecipe = { ...DEFAULT_INR_RECIPE, ...opts.recipe };
  const arch = opts.arch ?? DWSNETS_SIREN;
  const set = loadImageSet(opts.dataset, opts.dataDir);
  if (arch.inDim !== 2 || arch.outDim !== 1) throw new RangeError("INR zoos of images need SIRENs with 2 inputs and 1 output");
  // The sine layers' initialisation divides by w0; a recipe that cannot fit is refused before anything is written.
  parseSirenArchitecture(arch, "SIREN architecture");
  if (!(recipe.lr > 0) || !Number.isFinite(recipe.lr)) throw new RangeError(`the learning rate must be a positive number, got ${recipe.lr}`);
  const plan = planInrZoo(set, opts.count, seed);
  const manifest = inrZooManifest({ ...opts, seed, recipe, arch }, set.labelNames, plan.splits, [set.rows, set.cols]);
  return { opts, seed, recipe, arch, set, plan, manifest };
}

/** What fitting a zoo's INRs into shard files needs besides the shards: shared by the INR builders. */
export interface InrShardFitting {
  manifest: ZooManifest;
  out: string;
  arch: SirenArchitecture;
  recipe: InrRecipe;
  seed: number;
  /** INRs fitted at once. */
  batch: number;
  /** The points every INR is fitted on, arch.inDim coordinates each. */
  coords: Float32Array;
  /** INR i's targets at the points. */
  target(index: number): Float32Array;
  /** A finished shard's file bytes. */
  encode(si: number, results: InrResult[]): Uint8Array;
}

/**
 * Fits the INRs of the given shards, writing each shard as it completes; returns INRs fitted.
 * A fit that diverged must not reach a zoo (its weights would be NaN, its PSNR meaningless):
 * it stops the build before its shard is written.
 */
export function fitInrsIntoShards(f: InrShardFitting, shards: readonly number[], onDone: (r: InrResult) => void): number {
  const { manifest } = f;
  const fitter = new InrFitter(f.arch, f.recipe, f.batch, f.coords, f.seed);
  const collector = new ShardCollector<InrResult>(manifest, shards, (si, results) => {
    const s = manifest.shards[si];
    for (const r of results) {
      const bad = r.params.findIndex((p) => !allFinite(p));
      if (bad >= 0 || Number.isNaN(r.psnr)) {
        throw new Error(`INR ${r.index} diverged while fitting (${bad >= 0 ? `non-finite ${manifest.architectures[0].parameters[bad].name}` : "PSNR NaN"}); nothing of shard ${s.file} was written. A smaller --lr may help`);
      }
    }
    writeFileAtomic(join(f.out, s.file), f.encode(si, results));
  });
  function* jobs(): Generator<InrJob> {
    for (const si of shards) {
      const s = manifest.shards[si];
      for (let i = s.start; i < s.start + s.count; i++) yield { index: i, target: f.target(i) };
    }
  }
  let fitted = 0;
  try {
    fitter.run(jobs(), (r) => {
      collector.add(r.index, r);
      fitted++;
      onDone(r);
    });
  } finally {
    fitter.dispose();
  }
  return fitted;
}

/** Fits the INRs of the given shards, writing each shard as it completes; returns INRs fitted. */
export function fitInrShards(b: InrBuild, shards: readonly number[], onDone: (r: InrResult) => void): number {
  const { manifest, plan, set, opts } = b;
  return fitInrsIntoShards({
    // 8 at once: a batch's activations stay in the core's L2 (64 at once spill them: a SIREN fit
    // then took 1.3x the CPU time on the native kernels, and the same on WASM).
    manifest, out: opts.out, arch: b.arch, recipe: b.recipe, seed: b.seed, batch: opts.batch ?? 8,
    coords: gridCoordinates(set.rows, set.cols),
    target: (i) => imagePixels(set, plan.entries[i].sourceSplit, plan.entries[i].sourceIndex),
    encode: (si, results) => encodeInrShard(manifest, si, results, plan.entries),
  }, shards, onDone);
}

const report = ({ built, ...rest }: ShardBuildReport): InrBuildReport => ({ ...rest, fitted: built });

/** Builds (or resumes) an INR zoo on this thread. */
export function buildInrZoo(opts: InrZooOptions): InrBuildReport {
  const b = describeInrBuild(opts);
  const build = openShardBuild(opts.out, b.manifest, opts.onProgress, opts.part);
  return report(runShardBuildSync(build, (pending) => fitInrShards(b, pending, build.onDone)));
}

/**
 * Builds (or resumes) an INR zoo with `workers` worker threads, each fitting whole shards; the
 * zoo is the same as a one-thread build. Use more shards than workers.
 */
export async function buildInrZooParallel(opts: InrZooOptions, workers: number): Promise<InrBuildReport> {
  const b = describeInrBuild(opts);
  return report(await buildZooLocally<InrResult>("inr", opts, b.manifest, workers, (pending, onDone) => fitInrShards(b, pending, onDone)));
}
