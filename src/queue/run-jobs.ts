// Grids of runs (an experiment, an ablation) on a job queue: one job per run. The coordinator
// (`experiment --queue`, `ablate --queue`) enqueues the runs not finished yet, shows one progress
// view over the grid (runs done, running, failed; the bar's ETA), and returns when every run
// has finished or failed on every try. Workers (`probegen worker --queue`) on any machine that
// sees the same folders train each run on a worker thread (train-thread.ts), resuming from its
// last checkpoint.
//
// Failures: a worker killed mid-run stops renewing its job's lock, so BullMQ hands the job to
// another worker, which resumes the run from its last checkpoint (the dead worker's folder lock
// names a process that is gone and is taken over). A resumed run ends with the same bytes as an
// uninterrupted one. A run that fails on every try is reported with its error; the others go on.
//
// A job's identity is its run folder, its settings and the zoo's content (fingerprint.ts), so a
// result made from another zoo or other settings is never taken for this one's.
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { Worker as Thread } from "node:worker_threads";
import { Queue, type Job } from "bullmq";
import { threadCount } from "../engine/index.js";
import type { TrainConfig } from "../train/config.js";
import type { PlannedRun } from "../train/run-plan.js";
import { readRunFile, readRunResult } from "../train/run-folder.js";
import type { RunResult } from "../train/trainer.js";
import { fingerprint } from "./fingerprint.js";
import { connectionOf, redisWatch, type QueueAddress } from "./queue-address.js";
import { runJobsReporting, type JobFailure, type JobSpec } from "./job-runner.js";
import type { TrainThreadData, TrainThreadMessage } from "./train-thread.js";

const TRAIN_THREAD = new URL("./train-thread.js", import.meta.url);

/** What a run job carries: the run's folder and settings (paths resolved), and what its zoo held when queued. */
export interface RunJobData {
  dir: string;
  config: TrainConfig;
  label: string;
  zooFingerprint: string;
}

/** What the zoo holds now: its manifest and shards (by size, time and ends). */
export function zooFingerprint(zoo: string): string {
  return fingerprint([resolve(zoo)], (f) => f.endsWith("zoo.json"));
}

function jobId(d: Omit<RunJobData, "label">): string {
  return createHash("sha256").update(d.dir).update("\0").update(JSON.stringify(d.config)).update("\0").update(d.zooFingerprint).digest("hex").slice(0, 24);
}

/** Whether a run folder holds this run finished: its result, made with these settings. */
function finishedWith(dir: string, config: TrainConfig): boolean {
  if (readRunResult(dir) === null) return false;
  try {
    const had = readRunFile(dir).config as unknown as Record<string, unknown>;
    // config.json records what "auto" resolved to: compare the settings given, not those.
    const { method: _m, probeInit: _p, readout: _r, ...given } = config;
    return Object.entries(given).every(([k, v]) => JSON.stringify(had[k]) === JSON.stringify(v));
  } catch {
    return false;
  }
}

export interface QueuePlanOptions {
  attempts?: number;
  pollSeconds?: number;
  /** (runs done, with running runs' fractions; runs in all). */
  onProgress?: (done: number, total: number) => void;
  onStates?: (s: { done: number; running: number; waiting: number; failed: number }) => void;
  log?: (line: string) => void;
}

/** Trains the plan's unfinished runs on the queue's workers; returns the runs that failed on every try. */
export async function runPlanOnQueue(runs: readonly PlannedRun[], address: QueueAddress, o: QueuePlanOptions = {}): Promise<JobFailure[]> {
  const log = o.log ?? (() => {});
  const fingerprints = new Map<string, string>();
  const specs: JobSpec<RunJobData>[] = [];
  for (const r of runs) {
    const config = { ...r.config, zoo: resolve(r.config.zoo), ...(r.config.dataDir === undefined ? {} : { dataDir: resolve(r.config.dataDir) }) };
    const dir = resolve(r.dir);
    if (finishedWith(dir, config)) { log(`${r.label}: finished earlier, kept`); continue; }
    const fp = fingerprints.get(config.zoo) ?? zooFingerprint(config.zoo);
    fingerprints.set(config.zoo, fp);
    const data = { dir, config, label: r.label, zooFingerprint: fp };
    specs.push({ id: jobId(data), name: "run", data, what: `${r.label} (${dir})`, size: 1, settled: () => finishedWith(dir, config) });
  }
  if (specs.length === 0) return [];
  const queue = new Queue<RunJobData>(address.name, { connection: connectionOf(address) });
  const watch = redisWatch(address, "coordinator", log);
  queue.on("error", watch.error);
  try {
    await queue.waitUntilReady();
    log(`coordinator: ${specs.length} run job(s) on ${address.url}; start workers with \`probegen worker --queue ${address.url}\``);
    const { failures } = await runJobsReporting<RunJobData, unknown>(queue, specs, {
      attempts: o.attempts, pollSeconds: o.pollSeconds, onProgress: o.onProgress, onStates: o.onStates, onLook: watch.ready, keepGoing: true,
      check: (i) => {
        if (!finishedWith(specs[i].data.dir, specs[i].data.config)) throw new Error(`${specs[i].what}: a worker reported it trained, but its folder holds no result of these settings; do the workers see the same folders?`);
      },
    });
    return failures;
  } finally {
    await queue.close();
  }
}

/** A run job's work: checks the zoo is the one queued, then trains the run (resuming) on a thread of its own. */
export async function trainRunJob(job: Job<RunJobData>, log: (line: string) => void): Promise<{ trained: boolean; result: RunResult | null }> {
  const { dir, config, label } = job.data;
  if (finishedWith(dir, config)) return { trained: false, result: readRunResult(dir) };
  if (!existsSync(config.zoo)) throw new Error(`${config.zoo}: no such zoo on this machine (mount the coordinator's storage at the same path)`);
  if (zooFingerprint(config.zoo) !== job.data.zooFingerprint) throw new Error(`${config.zoo}: the zoo changed after the run was queued (or this worker sees another folder at that path); queue the grid again`);
  const resume = existsSync(join(dir, "config.json"));
  const t0 = performance.now();
  log(`worker ${process.pid}: ${label}: ${resume ? "resumed" : "started"}`);
  await new Promise<void>((ok, fail) => {
    const data: TrainThreadData = { dir, config, resume, threads: threadCount() };
    const thread = new Thread(TRAIN_THREAD, { workerData: data, execArgv: [] });
    let settled = false;
    thread.on("message", (m: TrainThreadMessage) => {
      if ("progress" in m) void job.updateProgress(m.progress).catch(() => {});
      else if ("done" in m) { settled = true; ok(); }
      else { settled = true; fail(new Error(m.error)); }
    });
    thread.on("error", (e) => { if (!settled) { settled = true; fail(e); } });
    thread.on("exit", (code) => { if (!settled) { settled = true; fail(new Error(`the training thread stopped (exit code ${code})`)); } });
  });
  const result = readRunResult(dir);
  log(`worker ${process.pid}: ${label}: trained in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return { trained: true, result };
}
