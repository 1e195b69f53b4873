// Builds an INR zoo: one SIREN fitted to each planned image, written shard by shard. A build
// records its settings in build.json first; rerun with the same settings, it skips every shard
// already written and fits only the rest, so an interrupted build ends exactly as an
// uninterrupted one. zoo.json is written last.
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { imagePixels, loadImageSet, type ImageSet, type ImageSetName } from "../data/image-sets.js";
import { DWSNETS_SIREN, gridCoordinates, sirenParameterShapes, type SirenArchitecture } from "../nets/siren.js";
import { writeFileAtomic } from "./atomic.js";
import { MANIFEST_FILE, ZooFormatError, planShards, readShardFile, type ZooManifest } from "./format.js";
import { DEFAULT_INR_RECIPE, InrFitter, type InrJob, type InrRecipe, type InrResult } from "./inr-fit.js";
import { planInrZoo, type InrPlan, type InrPlanEntry } from "./inr-plan.js";
import { encodeSafetensors, type SafeArray } from "./safetensors.js";
import { PROBEGEN_VERSION } from "../version.js";

export const BUILD_FILE = "build.json";

export interface InrZooOptions {
  dataset: ImageSetName;
  /** Folder with the image set's IDX files (default: where its package installs them). */
  dataDir?: string;
  count: number;
  out: string;
  seed?: number;
  recipe?: Partial<InrRecipe>;
  /** INRs fitted at once (64). */
  batch?: number;
  /** INRs per shard file (1000). */
  shardSize?: number;
  arch?: SirenArchitecture;
  /** Called as INRs finish: done so far (skipped shards included), total, and the last result
   * (in a parallel build, without its parameters). */
  onProgress?: (done: number, total: number, last: InrResult | null) => void;
}

export interface InrBuildReport {
  manifest: ZooManifest;
  /** INRs fitted by this call (0 when everything was already built). */
  fitted: number;
  /** Shards found complete and skipped. */
  skippedShards: number;
  seconds: number;
}

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
    architecture: { ...arch },
    parameters: sirenParameterShapes(arch).map(([name, shape]) => ({ name, shape })),
    fields: FIELDS,
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

function sameSettings(a: ZooManifest, b: ZooManifest): boolean {
  const strip = (m: ZooManifest) => JSON.stringify({ ...m, provenance: { ...m.provenance, probegenVersion: undefined } });
  return strip(a) === strip(b);
}

function describeDifference(a: ZooManifest, b: ZooManifest): string {
  const pa = a.provenance as Record<string, unknown>, pb = b.provenance as Record<string, unknown>;
  for (const k of ["dataset", "seed"]) if (pa[k] !== pb[k]) return `${k} ${JSON.stringify(pa[k])} vs ${JSON.stringify(pb[k])}`;
  if (a.count !== b.count) return `count ${a.count} vs ${b.count}`;
  if (a.shards.length !== b.shards.length || a.shards[0]?.count !== b.shards[0]?.count) return "shard size differs";
  if (JSON.stringify(pa.recipe) !== JSON.stringify(pb.recipe)) return "fitting recipe differs";
  return "settings differ";
}

function encodeShard(m: ZooManifest, shard: ZooManifest["shards"][number], results: InrResult[], plan: InrPlanEntry[]): Uint8Array {
  const n = shard.count;
  const tensors: [string, { shape: number[]; data: SafeArray }][] = m.parameters.map((p, pi) => {
    const per = p.shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n * per);
    results.forEach((r, k) => data.set(r.params[pi], k * per));
    return [p.name, { shape: [n, ...p.shape], data }];
  });
  const entries = plan.slice(shard.start, shard.start + n);
  tensors.push(
    ["label", { shape: [n], data: Int32Array.from(entries, (e) => e.label) }],
    ["psnr", { shape: [n], data: Float32Array.from(results, (r) => r.psnr) }],
    ["steps", { shape: [n], data: Int32Array.from(results, (r) => r.steps) }],
    ["source_index", { shape: [n], data: Int32Array.from(entries, (e) => e.sourceIndex) }],
    ["source_split", { shape: [n], data: Uint8Array.from(entries, (e) => (e.sourceSplit === "train" ? 0 : 1)) }],
  );
  return encodeSafetensors(tensors, { format: "probegen-zoo-shard", start: String(shard.start), count: String(n) });
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
  const plan = planInrZoo(set, opts.count, seed);
  const manifest = inrZooManifest({ ...opts, seed, recipe, arch }, set.labelNames, plan.splits, [set.rows, set.cols]);
  return { opts, seed, recipe, arch, set, plan, manifest };
}

/**
 * Opens the output folder for a build: refuses one holding other settings, records build.json,
 * and returns the shards still to fit (damaged ones removed), or null when the zoo is complete.
 */
function startBuild(b: InrBuild): number[] | null {
  const { opts, manifest } = b;
  mkdirSync(opts.out, { recursive: true });
  const manifestFile = join(opts.out, MANIFEST_FILE);
  const buildFile = join(opts.out, BUILD_FILE);
  for (const f of [manifestFile, buildFile]) {
    if (!existsSync(f)) continue;
    let prior: ZooManifest;
    try {
      prior = JSON.parse(readFileSync(f, "utf8")) as ZooManifest;
    } catch (e) {
      throw new ZooFormatError(f, `exists but is not valid JSON (${(e as Error).message}); move it away to start over`);
    }
    if (!sameSettings(prior, manifest)) {
      throw new ZooFormatError(f, `holds a ${f === manifestFile ? "zoo" : "build"} with other settings (${describeDifference(prior, manifest)}); choose another --out or remove the folder`);
    }
    if (f === manifestFile) return null;
  }
  if (!existsSync(buildFile)) writeFileAtomic(buildFile, `${JSON.stringify(manifest, null, 2)}\n`);
  // A shard counts as done only if it reads back whole and matches the manifest.
  const pending: number[] = [];
  manifest.shards.forEach((s, i) => {
    const file = join(opts.out, s.file);
    if (existsSync(file)) {
      try {
        readShardFile(file, manifest, s.count);
        return;
      } catch {
        rmSync(file, { force: true });
      }
    }
    pending.push(i);
  });
  return pending;
}

function finishBuild(b: InrBuild): void {
  writeFileAtomic(join(b.opts.out, MANIFEST_FILE), `${JSON.stringify(b.manifest, null, 2)}\n`);
  rmSync(join(b.opts.out, BUILD_FILE), { force: true });
}

/** Fits the INRs of the given shards, writing each shard as it completes; returns INRs fitted. */
export function fitInrShards(b: InrBuild, shards: readonly number[], onDone: (r: InrResult) => void): number {
  const { manifest, plan, set, opts } = b;
  const fitter = new InrFitter(b.arch, b.recipe, opts.batch ?? 64, gridCoordinates(set.rows, set.cols), b.seed);
  const shardOf = (index: number) => manifest.shards.findIndex((s) => index < s.start + s.count);
  const results = new Map<number, (InrResult | undefined)[]>();
  const remaining = new Map<number, number>();
  function* jobs(): Generator<InrJob> {
    for (const si of shards) {
      const s = manifest.shards[si];
      results.set(si, new Array(s.count));
      remaining.set(si, s.count);
      for (let i = s.start; i < s.start + s.count; i++) {
        const e = plan.entries[i];
        yield { index: i, target: imagePixels(set, e.sourceSplit, e.sourceIndex) };
      }
    }
  }
  let fitted = 0;
  try {
    fitter.run(jobs(), (r) => {
      const si = shardOf(r.index);
      const s = manifest.shards[si];
      results.get(si)![r.index - s.start] = r;
      const left = remaining.get(si)! - 1;
      remaining.set(si, left);
      if (left === 0) {
        writeFileAtomic(join(opts.out, s.file), encodeShard(manifest, s, results.get(si) as InrResult[], plan.entries));
        results.delete(si);
      }
      fitted++;
      onDone(r);
    });
  } finally {
    fitter.dispose();
  }
  return fitted;
}

/** A started build: what is left to fit, a progress callback counting on from what was done, and the report. */
interface OpenBuild {
  b: InrBuild;
  /** Shards to fit; null when the zoo is already complete. */
  pending: number[] | null;
  onDone: (r: InrResult) => void;
  finish: (fitted: number) => InrBuildReport;
}

function openBuild(opts: InrZooOptions): OpenBuild {
  const t0 = performance.now();
  const b = describeInrBuild(opts);
  const pending = startBuild(b);
  const seconds = () => (performance.now() - t0) / 1000;
  let done = b.manifest.shards.reduce((s, sh, i) => s + (pending === null || !pending.includes(i) ? sh.count : 0), 0);
  if (pending !== null) opts.onProgress?.(done, b.manifest.count, null);
  return {
    b, pending,
    onDone: (r) => opts.onProgress?.(++done, b.manifest.count, r),
    finish: (fitted) => {
      if (pending !== null) finishBuild(b);
      return { manifest: b.manifest, fitted, skippedShards: b.manifest.shards.length - (pending?.length ?? 0), seconds: seconds() };
    },
  };
}

/** Builds (or resumes) an INR zoo on this thread. */
export function buildInrZoo(opts: InrZooOptions): InrBuildReport {
  const { b, pending, onDone, finish } = openBuild(opts);
  return finish(pending === null ? 0 : fitInrShards(b, pending, onDone));
}

/**
 * Builds (or resumes) an INR zoo with `workers` worker threads, each fitting whole shards (the
 * largest first, to the least loaded worker). Shards do not depend on which thread fits them,
 * so the zoo is the same as a one-thread build. Use more shards than workers.
 */
export async function buildInrZooParallel(opts: InrZooOptions, workers: number): Promise<InrBuildReport> {
  if (!Number.isInteger(workers) || workers < 1) throw new RangeError(`workers must be a positive integer, got ${workers}`);
  if (workers === 1) return buildInrZoo(opts);
  const { b, pending, onDone, finish } = openBuild(opts);
  if (pending === null) return finish(0);
  const loads = Array.from({ length: Math.min(workers, pending.length) }, () => ({ count: 0, shards: [] as number[] }));
  for (const si of [...pending].sort((x, y) => b.manifest.shards[y].count - b.manifest.shards[x].count || x - y)) {
    const w = loads.reduce((best, l) => (l.count < best.count ? l : best));
    w.shards.push(si);
    w.count += b.manifest.shards[si].count;
  }
  const { onProgress: _callback, ...cloneable } = opts;
  let fitted = 0;
  const threads: Worker[] = [];
  try {
    await Promise.all(loads.map(({ shards }) => new Promise<void>((resolve, reject) => {
      const w = new Worker(new URL("./inr-build-worker.js", import.meta.url), { workerData: { opts: cloneable, shards } });
      threads.push(w);
      w.on("message", (r: InrResult) => {
        fitted++;
        onDone(r);
      });
      w.on("error", reject);
      w.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`an INR fitting worker exited with code ${code}`))));
    })));
  } finally {
    for (const t of threads) await t.terminate();
  }
  return finish(fitted);
}
