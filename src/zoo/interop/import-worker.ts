// A worker thread of a parallel import: imports the shards it is given and reports each network
// read to the parent.
import { parentPort, workerData } from "node:worker_threads";
import { importShards, type ImportPlan } from "./import-build.js";
import { SHARD_IMPORTERS } from "./import-kinds.js";
import { setThreads } from "../../engine/index.js";

const { plan, shards, kernelThreads } = workerData as { plan: ImportPlan; shards: number[]; kernelThreads: number };
setThreads(kernelThreads);
importShards(plan, shards, SHARD_IMPORTERS[plan.kind], () => parentPort!.postMessage(null));
