// The coordinator's side of a queue: enqueue a list of jobs, watch them to the end, and collect
// what each returned, in order. Job ids are given by the caller and derive from the work, so
// enqueuing again adds nothing twice; a job that failed every try earlier is tried again; a job
// lost with Redis's data is enqueued again unless its work is already done. Polling (not
// events) keeps it simple and robust across Redis restarts.
import type { Queue } from "bullmq";

export interface JobSpec<D> {
  id: string;
  name: string;
  data: D;
  /** How errors name it: "shard 3 (shard-00003.safetensors)". */
  what: string;
  /** Progress units it counts for once done (its networks). */
  size: number;
  /** Whether its work is done even though its job is gone (a shard already on disk). */
  settled?: () => boolean;
}

/** A job that failed on every try: the whole run stops, naming it. */
export class JobFailedError extends Error {}

export interface RunJobsOptions<R> {
  /** Tries per job (3). */
  attempts?: number;
  /** Seconds between looks at the queue (1). */
  pollSeconds?: number;
  /** (units done, units in all) as jobs progress. */
  onProgress?: (done: number, total: number) => void;
  /** Called after each look that reached Redis. */
  onLook?: () => void;
  /** Checks a completed job's work (throws when it is not right). */
  check?: (index: number, value: R | undefined) => void;
  /** Jobs by state after each look: done, running now, waiting (or between tries), failed on every try. */
  onStates?: (s: { done: number; running: number; waiting: number; failed: number }) => void;
  /**
   * Goes on when a job fails on every try (a grid of runs: the others are still worth having):
   * its error is kept in `failures` and the rest run to the end. Default: stop at once.
   */
  keepGoing?: boolean;
}

/** A job that failed on every try, with its last error (runJobs with keepGoing). */
export interface JobFailure {
  index: number;
  what: string;
  error: string;
}

/** Runs the jobs on the queue's workers; returns each job's return value (undefined when settled without it), in order. */
export async function runJobs<D, R>(queue: Queue, specs: readonly JobSpec<D>[], o: RunJobsOptions<R> = {}): Promise<(R | undefined)[]> {
  return (await runJobsReporting(queue, specs, o)).results;
}

/** runJobs, with the jobs that failed on every try (none unless keepGoing). */
export async function runJobsReporting<D, R>(queue: Queue, specs: readonly JobSpec<D>[], o: RunJobsOptions<R> = {}): Promise<{ results: (R | undefined)[]; failures: JobFailure[] }> {
  const attempts = o.attempts ?? 3;
  const enqueue = (s: JobSpec<D>) => queue.add(s.name as never, s.data as never, {
    jobId: s.id, attempts, backoff: { type: "fixed", delay: 1000 }, removeOnComplete: { age: 86_400 }, removeOnFail: { age: 7 * 86_400 },
  });
  for (const s of specs) {
    let job = await enqueue(s);
    // A job finished earlier whose work is gone since (a shard deleted): done again, not trusted.
    if (s.settled !== undefined && await job.isCompleted() && !s.settled()) {
      await job.remove();
      job = await enqueue(s);
    }
    if (await job.isFailed()) await job.retry("failed");
  }
  const total = specs.reduce((n, s) => n + s.size, 0);
  const results = new Array<R | undefined>(specs.length);
  const progress = new Array<number>(specs.length).fill(0);
  const left = new Set(specs.map((_, i) => i));
  const failures: JobFailure[] = [];
  for (;;) {
    let running = 0, waiting = 0;
    for (const i of [...left]) {
      const s = specs[i];
      const job = await queue.getJob(s.id);
      if (job === undefined) {
        if (s.settled?.()) { left.delete(i); progress[i] = s.size; } else await enqueue(s);
        continue;
      }
      const state = await job.getState();
      if (state === "completed") {
        o.check?.(i, job.returnvalue as R);
        results[i] = job.returnvalue as R;
        progress[i] = s.size;
        left.delete(i);
      } else if (state === "failed" && job.attemptsMade >= attempts) {
        const error = `${s.what} failed on all ${attempts} tries; the last error: ${job.failedReason}`;
        if (o.keepGoing !== true) throw new JobFailedError(error);
        failures.push({ index: i, what: s.what, error });
        left.delete(i);
      } else {
        if (state === "active") running++;
        else waiting++;
        if (typeof job.progress === "number") progress[i] = job.progress;
      }
    }
    o.onLook?.();
    o.onStates?.({ done: specs.length - left.size - failures.length, running, waiting, failed: failures.length });
    o.onProgress?.(progress.reduce((a, b) => a + b, 0), total);
    if (left.size === 0) return { results, failures: failures.sort((a, b) => a.index - b.index) };
    await new Promise((r) => setTimeout(r, 1000 * (o.pollSeconds ?? 1)));
  }
}
