// Running an import: a plan (the manifest and what each network is read from) is turned into
// shards, resumably and optionally on worker threads, through the same shard build the zoo
// builders use. An import that stops midway leaves build.json and no zoo.json; rerun, it keeps
// the shards that read back whole and imports the rest.
import { isInside, realPathOr } from "../../io/paths.js";
import { existsSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { writeFileAtomic } from "../../io/atomic.js";
import { SPLIT_NAMES, indicesToRanges, type SplitName, type ZooManifest } from "../format.js";
import { openShardBuild, runShardBuild, runShardWorkers, type ShardBuildReport, onThisThread } from "../shard-build.js";
import { ImportError } from "./state-dict.js";

/** What every import plan holds: the zoo to write and where. Plans are plain data (they go to workers). */
export interface ImportPlan {
  kind: ImportKindName;
  out: string;
  manifest: ZooManifest;
}

export type ImportKindName = "dwsnets" | "small-cnn-zoo" | "wild-park" | "torchvision" | "onnx";

/**
 * The folder a splits file's relative paths start from: `explicit` when given; otherwise the
 * first of the splits file's folder, the `extra` folders in it, its parent (DWSNets writes paths
 * relative to the folder it ran in, one above its splits file) and the working folder, under
 * which the first relative path exists.
 */
export function findRoot(splitsFile: string, paths: readonly string[], explicit?: string, extra: readonly string[] = []): string {
  if (explicit !== undefined) return resolve(explicit);
  const here = dirname(resolve(splitsFile));
  const first = paths.find((p) => !isAbsolute(p));
  if (first === undefined) return here;
  const candidates = [...new Set([here, ...extra.map((e) => join(here, e)), dirname(here), process.cwd()])];
  const found = candidates.find((c) => existsSync(join(c, first)));
  if (found === undefined) throw new ImportError(splitsFile, `lists ${first}, which is under none of ${candidates.join(", ")}; pass --root DIR, the folder its paths start from`);
  return found;
}

/**
 * Refuses a list of network files (a splits file's, a labels CSV's) that names one file twice (one
 * network would count twice, and could sit in train and in test at once) or, unless allowed, a
 * file outside `root` (a list is not trusted to point anywhere on the machine). `where(i)` names
 * entry i as the list's reader says it ("test entry 3", "row 5").
 */
export function checkListedFiles(listFile: string, files: readonly string[], sources: readonly string[], where: (i: number) => string, root: string, allowOutsideRoot = false): void {
  const seen = new Map<string, number>();
  files.forEach((f, i) => {
    if (!allowOutsideRoot && !isInside(root, f)) {
      throw new ImportError(listFile, `${where(i)}: ${sources[i]} is outside ${root}; pass --allow-outside-root if the networks are meant to be elsewhere`);
    }
    const key = realPathOr(f);
    const first = seen.get(key);
    if (first !== undefined) throw new ImportError(listFile, `${where(first)} and ${where(i)} name the same file (${sources[first]}${sources[i] !== sources[first] ? `, ${sources[i]}` : ""}): one network would count twice, and could sit in train and in test at once`);
    seen.set(key, i);
  });
}

/**
 * The image set a zoo's networks were trained on: the user's `--dataset`, checked against what the
 * files say (`found`, with `where` naming the file that says it), or what the files say.
 */
export function reconcileDataset(given: string | undefined, found: string | undefined, where: string): string | undefined {
  if (given !== undefined && found !== undefined && given !== found) {
    throw new ImportError(where, `says its networks were trained on ${found}, but --dataset ${given} was given; leave --dataset out, or check which files these are`);
  }
  return given ?? found;
}

/** The zoo's splits when network i belongs to split splitOf[i]. */
export function splitsOf(splitOf: readonly SplitName[]): ZooManifest["splits"] {
  return Object.fromEntries(SPLIT_NAMES.map((s) => [s, indicesToRanges(splitOf.flatMap((x, i) => (x === s ? [i] : [])))])) as ZooManifest["splits"];
}

/** Reads the networks of shard `si` and returns the shard's bytes; calls onNetwork as each is read. */
export type ShardImporter<P extends ImportPlan> = (plan: P, si: number, onNetwork: () => void) => Uint8Array;

export interface ImportReport extends ShardBuildReport {
  /** Networks read by this call. */
  imported: number;
}

/** Imports the shards of `shards` on this thread, writing each as it completes. */
export function importShards<P extends ImportPlan>(plan: P, shards: readonly number[], importShard: ShardImporter<P>, onNetwork: () => void): number {
  let n = 0;
  for (const si of shards) {
    const bytes = importShard(plan, si, () => { n++; onNetwork(); });
    writeFileAtomic(join(plan.out, plan.manifest.shards[si].file), bytes);
  }
  return n;
}

/**
 * Imports (or resumes importing) the plan's zoo into plan.out with `workers` threads.
 * onProgress(done, total) counts networks, those of shards already there included.
 */
export async function runImport<P extends ImportPlan>(plan: P, importShard: ShardImporter<P>, workers: number,
  onProgress?: (done: number, total: number) => void): Promise<ImportReport> {
  if (!Number.isInteger(workers) || workers < 1) throw new RangeError(`workers must be a positive integer, got ${workers}`);
  const build = openShardBuild<null>(plan.out, plan.manifest, onProgress === undefined ? undefined : (d, t) => onProgress(d, t));
  const report = await runShardBuild(build, async (pending) => {
    if (onThisThread(workers) || pending.length === 0 || (pending.length === 1 && onThisThread(1))) return importShards(plan, pending, importShard, () => build.onDone(null));
    return runShardWorkers<null>(new URL("./import-worker.js", import.meta.url), { plan }, plan.manifest, pending, workers, build.onDone);
  });
  return { ...report, imported: report.built };
}
