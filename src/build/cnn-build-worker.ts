// A worker thread of a parallel Small-CNN zoo build: trains and writes the shards it is given
// and reports each finished network to the parent. It has its own kernels and tensor memory.
import { parentPort, workerData } from "node:worker_threads";
import { describeCnnBuild, trainCnnShards, type CnnZooOptions } from "./cnn-builder.js";
import { setThreads } from "../engine/index.js";

const { opts, shards, kernelThreads } = workerData as { opts: CnnZooOptions; shards: number[]; kernelThreads: number };
setThreads(kernelThreads);
trainCnnShards(describeCnnBuild(opts), shards, (r) => parentPort!.postMessage(r));
