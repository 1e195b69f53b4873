// probegen worker's engine: a BullMQ worker that takes the queue's jobs, shard builds
// (shard-jobs.ts) and predictions (predict-jobs.ts), and says when Redis comes and goes.
import { Worker, type Job } from "bullmq";
import { connectionOf, redisWatch, type QueueAddress } from "./queue-address.js";
import { buildShardJob, type ShardJobData } from "./shard-jobs.js";
import { predictJob, type PredictJobData } from "./predict-jobs.js";

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
    if (job.name === "shard") return buildShardJob(job as Job<ShardJobData>, log);
    // On this thread: a job of 64 inputs predicts in seconds, well within its lock.
    if (job.name === "predict") return predictJob((job as Job<PredictJobData>).data);
    throw new Error(`job ${job.id}: unknown job kind "${job.name}"`);
  }, {
    connection: connectionOf(address), concurrency, lockDuration: lock, stalledInterval: Math.max(1000, lock / 2), maxStalledCount: 3,
  });
  const watch = redisWatch(address, `worker ${process.pid}`, log);
  worker.on("error", watch.error);
  worker.on("ready", watch.ready);
  worker.on("failed", (job, err) => {
    const what = job?.name === "shard" ? `shard ${(job.data as ShardJobData).shard}` : `${job?.name ?? "a"} job ${job?.id ?? "?"}`;
    log(`worker ${process.pid}: ${what} failed (try ${job?.attemptsMade ?? "?"}): ${err.message}`);
  });
  return worker;
}
