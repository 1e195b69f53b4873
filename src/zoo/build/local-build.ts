// The build every zoo kind runs on this machine: open (or resume) its shard build, then build
// the pending shards on this thread, or on worker threads that each run shard-worker.ts with
// the kind's name and options (the zoo is the same either way).
import type { ZooManifest } from "../format.js";
import { onThisThread, openShardBuild, runShardBuild, runShardWorkers, type BuildPart, type ShardBuildReport } from "../shard-build.js";
import type { ImageSetName } from "../../data/image-sets.js";
import type { BuildKind } from "./build-kinds.js";

/** The one worker-thread script of every build kind. */
export const SHARD_WORKER = new URL("./shard-worker.js", import.meta.url);

/** What the options of every build kind hold; P is what a finished network reports. */
export interface ZooBuildOptions<P> {
  /** Build only this part of the shards (--shard I/N); the last part to finish completes the zoo. */
  part?: BuildPart;
  /** Networks (a Wild Park network gives one sample per checkpoint). */
  count: number;
  out: string;
  seed?: number;
  /** Networks trained or fitted at once (each kind has its default); does not change the result. */
  batch?: number;
  /** Networks per shard file (each kind has its default). */
  shardSize?: number;
  /** Called as networks finish: done so far (skipped shards included), total, and the last
   * report (from a worker thread, without its parameters). */
  onProgress?: (done: number, total: number, last: P | null) => void;
}

/** ...and of a zoo whose networks learn from, or are fitted to, an image set. */
export interface ImageZooBuildOptions<P> extends ZooBuildOptions<P> {
  dataset: ImageSetName;
  /** Folder with the image set's IDX files (default: where its package installs them). */
  dataDir?: string;
}

/**
 * Builds the zoo `manifest` describes into opts.out: `buildShards` builds shards on this thread
 * (posting one progress message per network), worker threads rebuild the kind from its
 * options. `samplesPerNetwork`: how many of the zoo's samples one message stands for (a Wild
 * Park network brings all its checkpoints).
 */
export async function buildZooLocally<P>(kind: BuildKind, opts: ZooBuildOptions<P>, manifest: ZooManifest, workers: number,
  buildShards: (pending: number[], onDone: (p: P) => void) => number, samplesPerNetwork = 1): Promise<ShardBuildReport> {
  if (!Number.isInteger(workers) || workers < 1) throw new RangeError(`workers must be a positive integer, got ${workers}`);
  const build = openShardBuild<P>(opts.out, manifest, opts.onProgress, opts.part);
  const onDone = samplesPerNetwork === 1 ? build.onDone : (p: P) => { for (let c = 0; c < samplesPerNetwork; c++) build.onDone(p); };
  return runShardBuild(build, async (pending) => {
    if (onThisThread(workers)) return buildShards(pending, onDone);
    // The progress callback stays here: what crosses to a worker is cloned.
    const { onProgress: _callback, ...cloneable } = opts;
    return runShardWorkers<P>(SHARD_WORKER, { kind, opts: cloneable }, manifest, pending, workers, onDone);
  });
}
