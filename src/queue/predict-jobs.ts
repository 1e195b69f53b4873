// predict over a job queue: a long list of network files cut into jobs of consecutive inputs;
// workers open the run, read their inputs and predict them, returning the predictions (kept by
// Redis as the job's result); the coordinator collects them in order into one report, scored
// over every network whose truth is known.
import { createHash } from "node:crypto";
import { join, resolve } from "node:path";
import { fingerprint } from "./fingerprint.js";
import { Queue } from "bullmq";
import { InputCollector, type InputOptions } from "../predict/inputs.js";
import { predictNetworks, predictionMetrics, type Prediction, type PredictionReport } from "../predict/predict.js";
import { TrainedRun, type CheckpointName } from "../predict/run-model.js";
import { connectionOf, redisWatch, type QueueAddress } from "./queue-address.js";
import { runJobs, type JobSpec } from "./job-runner.js";

export interface PredictJobData {
  run: string;
  checkpoint: CheckpointName | null;
  inputs: string[];
  options: InputOptions;
  /** What the run's checkpoint and the inputs held when the job was queued (fingerprint.ts): part
   * of the job's id, so a finished job is reused only for the same files, and checked by the worker. */
  runFingerprint: string;
  inputsFingerprint: string;
}

/** The files of a run that its predictions depend on, hashed whole. */
function runFingerprint(runDir: string, checkpoint: CheckpointName): string {
  const files = ["config.json", `${checkpoint}.safetensors`, `${checkpoint}.json`].map((f) => join(runDir, f));
  return fingerprint(files, () => true);
}

/** Inputs per job (64): files load in seconds, so a job stays short and a lost one cheap. */
export const PREDICT_JOB_INPUTS = 64;

/** A worker's side: the job's inputs predicted with the run. */
export async function predictJob(data: PredictJobData): Promise<{ predictions: Prediction[] }> {
  const run = TrainedRun.open(data.run, data.checkpoint ?? undefined);
  if (typeof data.runFingerprint === "string" && runFingerprint(run.dir, run.checkpoint as CheckpointName) !== data.runFingerprint) {
    throw new Error(`${data.run}: the run's ${run.checkpoint} checkpoint changed after the job was queued (or this worker sees another folder at that path); run predict again`);
  }
  if (typeof data.inputsFingerprint === "string" && fingerprint(data.inputs) !== data.inputsFingerprint) {
    throw new Error(`${data.inputs[0]}${data.inputs.length > 1 ? ", ..." : ""}: an input changed after the job was queued (or this worker sees other files at those paths); run predict again`);
  }
  const collector = new InputCollector(run, data.options);
  try {
    for (const input of data.inputs) await collector.add(input);
    return { predictions: (await predictNetworks(run, collector.gather())).predictions };
  } finally {
    collector.cleanup();
  }
}

/** The coordinator's side: every input predicted by the queue's workers, in order. */
export async function predictOnQueue(runDir: string, checkpoint: CheckpointName | undefined, inputs: readonly string[], options: InputOptions,
  address: QueueAddress, o: { onProgress?: (done: number, total: number) => void; log?: (line: string) => void } = {}): Promise<PredictionReport> {
  const t0 = performance.now();
  const run = TrainedRun.open(runDir, checkpoint);
  const files = inputs.map((f) => resolve(f));
  const runPath = resolve(run.dir);
  const base = { run: runPath, checkpoint: checkpoint ?? null, options, runFingerprint: runFingerprint(runPath, run.checkpoint as CheckpointName) };
  const specs: JobSpec<PredictJobData>[] = [];
  for (let a = 0; a < files.length; a += PREDICT_JOB_INPUTS) {
    const chunk = files.slice(a, a + PREDICT_JOB_INPUTS);
    const data: PredictJobData = { ...base, inputs: chunk, inputsFingerprint: fingerprint(chunk) };
    const id = createHash("sha256").update(JSON.stringify(data)).digest("hex").slice(0, 24);
    specs.push({ id: `predict-${id}`, name: "predict", data, what: `inputs ${a + 1}-${a + chunk.length} (${chunk[0]}${chunk.length > 1 ? ", ..." : ""})`, size: chunk.length });
  }
  const queue = new Queue<PredictJobData>(address.name, { connection: connectionOf(address) });
  const watch = redisWatch(address, "coordinator", o.log ?? (() => {}));
  queue.on("error", watch.error);
  try {
    // Said once Redis answers: while it cannot be reached, the watch says that instead.
    await queue.waitUntilReady();
    o.log?.(`coordinator: ${specs.length} predict job(s) on ${address.url}; start workers with \`probegen worker --queue ${address.url}\``);
    const results = await runJobs<PredictJobData, { predictions: Prediction[] }>(queue, specs, {
      onProgress: o.onProgress, onLook: watch.ready,
      check: (i, v) => {
        if (v === undefined || !Array.isArray(v.predictions)) throw new Error(`${specs[i].what}: the worker returned no predictions`);
      },
    });
    const predictions = results.flatMap((r) => r!.predictions);
    const seconds = (performance.now() - t0) / 1000;
    return {
      run: run.dir, checkpoint: run.checkpoint, task: run.task, count: predictions.length, predictions,
      metrics: predictionMetrics(run.task, predictions), seconds, networksPerSec: predictions.length / Math.max(seconds, 1e-9),
    };
  } finally {
    await queue.close();
  }
}
