// Training a grid of runs (experiment, ablate) here, or on a job queue, with one progress view
// over it: runs done, running, failed, and the bar's ETA.
import type { JobFailure } from "../queue/job-runner.js";
import { parseQueueAddress } from "../queue/queue-address.js";
import { createProgress } from "../report/progress.js";
import { runPlan, type PlannedRun } from "../train/run-plan.js";
import { UsageError } from "./args.js";

/** Trains `runs` (here, or on the queue at `queue`); returns the runs that failed on every try (on a queue). */
export async function trainGrid(runs: readonly PlannedRun[], queue: string | undefined, part: { index: number } | undefined,
  o: { quiet: boolean; log: (line: string) => void; title: string }): Promise<JobFailure[]> {
  const tty = process.stderr.isTTY === true && process.env.CI !== "true";
  // Each run's line stays above the bar.
  const line = (s: string) => { if (!o.quiet) process.stderr.write(`${tty ? "\r\x1b[K" : ""}${s}\n`); };
  if (queue === undefined) {
    const progress = createProgress(o.title, runs.length, "runs", o.quiet ? null : process.stderr);
    let done = 0;
    progress.update(0);
    await runPlan(runs, { log: (s) => { done++; line(s); progress.update(done); } });
    progress.finish(`${runs.length} runs`);
    return [];
  }
  if (part !== undefined) throw new UsageError("--queue and --shard: choose one (the queue hands the runs out itself)");
  let address;
  try {
    address = parseQueueAddress(queue);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const { runPlanOnQueue } = await import("../queue/run-jobs.js");
  const progress = createProgress(`${o.title} on the queue`, runs.length, "runs", o.quiet ? null : process.stderr);
  let states = "";
  const failures = await runPlanOnQueue(runs, address, {
    log: line,
    onStates: (s) => { states = `${s.running} running, ${s.waiting} waiting${s.failed > 0 ? `, ${s.failed} failed` : ""}`; },
    onProgress: (done) => progress.update(done, states),
  });
  progress.finish(`${runs.length - failures.length} runs${failures.length > 0 ? `, ${failures.length} failed` : ""}`);
  for (const f of failures) o.log(f.error);
  return failures;
}
