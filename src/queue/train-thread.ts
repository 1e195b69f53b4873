// A run of a queue's job, trained on a worker thread of its own, so that the worker's main thread
// stays free to renew the job's lock and report progress. It trains with the worker's kernel
// threads (--threads), resuming from the run's last checkpoint when it has one.
import { parentPort, workerData } from "node:worker_threads";
import { setThreads } from "../engine/index.js";
import type { TrainConfig } from "../train/config.js";
import { train } from "../train/trainer.js";

export interface TrainThreadData {
  dir: string;
  config: TrainConfig;
  resume: boolean;
  threads: number;
}

/** Messages to the worker's main thread. */
export type TrainThreadMessage = { progress: number } | { done: true } | { error: string };

const data = workerData as TrainThreadData;
setThreads(data.threads);
let last = 0;
try {
  train(data.config, data.dir, {
    resume: data.resume,
    onStep: (step, total) => {
      // A few hundred messages a run at most.
      const now = performance.now();
      if (now - last > 500 || step === total) { last = now; parentPort!.postMessage({ progress: step / total } satisfies TrainThreadMessage); }
    },
  });
  parentPort!.postMessage({ done: true } satisfies TrainThreadMessage);
} catch (e) {
  parentPort!.postMessage({ error: (e as Error).message } satisfies TrainThreadMessage);
}
