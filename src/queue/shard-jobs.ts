// Zoo builds on a job queue: one job per shard. The coordinator (`zoo build ... --queue`) plans
// the build as a local one does (build.json, the shards still missing), enqueues those shards,
// shows one progress bar over every worker, and writes zoo.json once every shard reads back
// whole. Workers (`probegen worker --queue`) on any machine that sees the build folder take
// shard jobs and build each with the kind's worker-thread script, which writes the shard
// atomically; the main thread stays free to renew the job's lock and report progress.
//
// Failures: a worker killed mid-shard stops renewing its lock, so BullMQ moves the job back to
// the queue (stalled) and another worker builds the shard again; its half-written temporary
// file has its own name and is never taken for a shard. A job that fails `attempts` times is
// reported with its shard and error. If Redis goes away, both sides wait for it; a job lost
// with Redis's data is enqueued again, since the coordinator re-adds every missing shard whose
// job is gone. Shards are deterministic, so the zoo is the same bytes as a one-machine build.
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { Queue, type Job } from "bullmq";
import { BUILD_KINDS, BUILD_KIND_DEFS, type BuildKind, type KindOptions } from "../zoo/build/build-kinds.js";
import { SHARD_WORKER } from "../zoo/build/local-build.js";
import { removeStaleTemporaries } from "../io/atomic.js";
import { readRegularFile } from "../io/read-file.js";
import { BUILD_FILE, missingShards, runShardWorkers, settingsOf, shardInPlace, startShardBuild, writeZooManifest } from "../zoo/shard-build.js";
import { MANIFEST_LIMIT, ZooFormatError, validateManifest, type ZooManifest } from "../zoo/format.js";
import { connectionOf, redisWatch, type QueueAddress } from "./queue-address.js";
import { JobFailedError, runJobs, type JobSpec } from "./job-runner.js";

export { BUILD_KINDS, type BuildKind };

/** What a shard job carries: everything a worker needs to build the shard, as plain data. */
export interface ShardJobData {
  kind: BuildKind;
  /** The build's options (out resolved; no callbacks). */
  opts: Record<string, unknown>;
  shard: number;
}

/** The job id of a shard of a build: the same for the same folder and settings, so enqueuing twice adds one job. */
function jobId(out: string, manifest: ZooManifest, shard: number): string {
  const h = createHash("sha256").update(out).update("\0").update(settingsOf(manifest)).digest("hex").slice(0, 20);
  return `${h}-${shard}`;
}

export interface QueueBuildOptions {
  /** Tries per shard before the build reports it failed (3). */
  attempts?: number;
  /** Called with (networks done, networks in the build) as shards progress. */
  onProgress?: (done: number, total: number) => void;
  log?: (line: string) => void;
  /** Seconds between looks at the queue (1). */
  pollSeconds?: number;
}

export interface QueueBuildReport {
  manifest: ZooManifest;
  /** Networks built by workers for this call, and the shards found already there. */
  built: number;
  skippedShards: number;
  seconds: number;
  complete: true;
}

/**
 * Plans a build, enqueues its missing shards, waits for workers to build them and writes
 * zoo.json. Throws JobFailedError when a shard fails on every try.
 */
export async function buildOnQueue(kind: BuildKind, opts: KindOptions, address: QueueAddress, o: QueueBuildOptions = {}): Promise<QueueBuildReport> {
  const t0 = performance.now();
  const log = o.log ?? (() => {});
  const { onProgress: _callback, ...plain } = opts as KindOptions & { onProgress?: unknown };
  const data: Record<string, unknown> = { ...plain, out: resolve(opts.out) };
  const out = data.out as string;
  const manifest = BUILD_KIND_DEFS[kind].manifest(data as never);
  // Temporaries stay: a worker of an earlier coordinator may be writing one now.
  const { pending, lock } = startShardBuild(out, manifest, undefined, { keepTemporaries: true });
  const queue = new Queue<ShardJobData>(address.name, { connection: connectionOf(address) });
  const watch = redisWatch(address, "coordinator", log);
  queue.on("error", watch.error);
  try {
    if (pending === null) return { manifest, built: 0, skippedShards: manifest.shards.length, seconds: 0, complete: true };
    const specs: JobSpec<ShardJobData>[] = pending.map((shard) => ({
      id: jobId(out, manifest, shard), name: "shard", data: { kind, opts: data, shard },
      what: `shard ${shard} (${manifest.shards[shard].file})`, size: manifest.shards[shard].count,
      settled: () => shardInPlace(out, manifest, shard),
    }));
    // Said once Redis answers: while it cannot be reached, the watch says that instead.
    await queue.waitUntilReady();
    log(`coordinator: ${pending.length} shard job(s) on ${address.url}; start workers with \`probegen worker --queue ${address.url}\``);
    await runJobs(queue, specs, {
      attempts: o.attempts, pollSeconds: o.pollSeconds, onProgress: o.onProgress, onLook: watch.ready,
      check: (i) => {
        if (!shardInPlace(out, manifest, pending[i])) throw new JobFailedError(`${specs[i].what}: a worker reported it built, but ${join(out, manifest.shards[pending[i]].file)} does not read back whole; do the workers see the same folder?`);
      },
    });
    const total = specs.reduce((n, x) => n + x.size, 0);
    const missing = missingShards(out, manifest);
    if (missing.length > 0) throw new JobFailedError(`shards ${missing.join(", ")} are missing after every job completed`);
    removeStaleTemporaries(out);
    writeZooManifest(out, manifest);
    return { manifest, built: total, skippedShards: manifest.shards.length - pending.length, seconds: (performance.now() - t0) / 1000, complete: true };
  } finally {
    lock.release();
    await queue.close();
  }
}

/** A shard job's work: checks the folder is this build's, then builds the shard unless it is there. */
export async function buildShardJob(job: Job<ShardJobData>, log: (line: string) => void): Promise<{ networks: number; skipped: boolean }> {
  const { kind, opts, shard } = job.data;
  if (!(BUILD_KINDS as readonly string[]).includes(kind)) throw new Error(`job ${job.id}: unknown build kind "${String(kind)}"`);
  const out = opts.out as string;
  const manifest = BUILD_KIND_DEFS[kind].manifest(opts as never);
  if (!Number.isInteger(shard) || shard < 0 || shard >= manifest.shards.length) throw new Error(`job ${job.id}: shard ${String(shard)} is not one of the build's ${manifest.shards.length}`);
  const buildFile = join(out, BUILD_FILE);
  if (!existsSync(buildFile)) {
    if (shardInPlace(out, manifest, shard)) return { networks: 0, skipped: true };
    throw new ZooFormatError(out, `has no ${BUILD_FILE}: this machine does not see the build folder the coordinator planned (mount the same storage at the same path)`);
  }
  const planned = validateManifest(JSON.parse(Buffer.from(readRegularFile(buildFile, MANIFEST_LIMIT)).toString("utf8")), buildFile);
  if (settingsOf(planned) !== settingsOf(manifest)) throw new ZooFormatError(buildFile, "is another build's plan than this job's; the folder was reused");
  if (shardInPlace(out, manifest, shard)) return { networks: 0, skipped: true };
  const t0 = performance.now();
  log(`worker ${process.pid}: shard ${shard} of ${out}: started`);
  let done = 0;
  // One worker thread with the process's kernel threads (--threads) builds and writes the shard.
  await runShardWorkers(SHARD_WORKER, { kind, opts }, manifest, [shard], 1, () => {
    done++;
    void job.updateProgress(done).catch(() => {});
  });
  if (!shardInPlace(out, manifest, shard)) throw new ZooFormatError(join(out, manifest.shards[shard].file), "was not written whole");
  log(`worker ${process.pid}: shard ${shard} of ${out}: ${done} networks in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return { networks: done, skipped: false };
}
