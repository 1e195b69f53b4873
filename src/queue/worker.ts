// probegen worker's engine: a BullMQ worker that takes the queue's jobs, shard builds
// (shard-jobs.ts), predictions (predict-jobs.ts) and runs of a grid (run-jobs.ts), and says
// when Redis comes and goes.
import { Worker, type Job } from "bullmq";
import { connectionOf, redisWatch, type QueueAddress } from "./queue-address.js";
import { buildShardJob, type ShardJobData } from "./shard-jobs.js";
import { predictJob, type PredictJobData } from "./predict-jobs.js";
import { trainRunJob, type RunJobData } from "./run-jobs.js";

export interface QueueWorkerOptions {
  /** Jobs this process runs at once (1). */
  concurrency?: number;
  /** Seconds a job's lock lasts without renewal: how soon a killed worker's shard is retried (30). */
  lockSeconds?: number;
  log?: (line: string) => void;
}

/** Starts a worker on the queue (close() stops it after the jobs in hand). */
export function startQueueWorker(address: QueueAddress, o: QueueWorkerOptions = {}): Worker {
  const log = o.log ?? (() => {});
  const concurrency = o.concurrency ?? 1;
  const lock = 1000 * (o.lockSeconds ?? 30);
  const worker = new Worker(address.name, async (job: Job) => {
    // Anything can be put on a queue: a job's data is checked before use, so that a malformed one
    // fails naming what is wrong instead of with a TypeError.
    const problem = jobDataProblem(job.name, job.data);
    if (problem !== null) throw new Error(`job ${job.id}: malformed ${job.name} job: ${problem}`);
    if (job.name === "shard") return buildShardJob(job as Job<ShardJobData>, log);
    // On this thread: a job of 64 inputs predicts in seconds, well within its lock.
    if (job.name === "predict") return predictJob((job as Job<PredictJobData>).data);
    if (job.name === "run") return trainRunJob(job as Job<RunJobData>, log);
    throw new Error(`job ${job.id}: unknown job kind "${job.name}"`);
  }, {
    connection: connectionOf(address), concurrency, lockDuration: lock, stalledInterval: Math.max(1000, lock / 2), maxStalledCount: 3,
  });
  const watch = redisWatch(address, `worker ${process.pid}`, log);
  worker.on("error", watch.error);
  worker.on("ready", watch.ready);
  worker.on("failed", (job, err) => {
    const what = job?.name === "shard" ? `shard ${(job.data as ShardJobData).shard}` : job?.name === "run" ? (job.data as RunJobData).label : `${job?.name ?? "a"} job ${job?.id ?? "?"}`;
    log(`worker ${process.pid}: ${what} failed (try ${job?.attemptsMade ?? "?"}): ${err.message}`);
  });
  return worker;
}

/** What is wrong with a job's data for its kind, or null. */
export function jobDataProblem(name: string, data: unknown): string | null {
  if (data === null || typeof data !== "object" || Array.isArray(data)) return "its data is not an object";
  const d = data as Record<string, unknown>;
  if (name === "shard") {
    if (typeof d.kind !== "string") return "kind is not a string";
    if (d.opts === null || typeof d.opts !== "object" || typeof (d.opts as Record<string, unknown>).out !== "string") return "opts.out is not a folder path";
    if (!Number.isInteger(d.shard)) return "shard is not an integer";
  } else if (name === "predict") {
    if (typeof d.run !== "string") return "run is not a folder path";
    if (!Array.isArray(d.inputs) || d.inputs.length === 0 || !d.inputs.every((x) => typeof x === "string")) return "inputs is not a list of paths";
    if (d.options === null || typeof d.options !== "object") return "options is not an object";
    if (d.checkpoint !== null && d.checkpoint !== "best" && d.checkpoint !== "last") return "checkpoint is not best, last or null";
  } else if (name === "run") {
    if (typeof d.dir !== "string") return "dir is not a folder path";
    if (d.config === null || typeof d.config !== "object" || typeof (d.config as Record<string, unknown>).zoo !== "string") return "config.zoo is not a folder path";
    if (typeof d.zooFingerprint !== "string" || typeof d.label !== "string") return "zooFingerprint or label is not a string";
  }
  return null;
}
