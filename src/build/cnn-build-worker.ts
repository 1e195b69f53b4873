// A worker thread of a parallel Small-CNN zoo build: trains and writes the shards it is given
// and reports each finished network to the parent. It has its own kernels and tensor memory.
import { parentPort, workerData } from "node:worker_threads";
import { describeCnnBuild, trainCnnShards, type CnnZooOptions } from "./cnn-builder.js";

const { opts, shards } = workerData as { opts: CnnZooOptions; shards: number[] };
trainCnnShards(describeCnnBuild(opts), shards, (r) => parentPort!.postMessage(r));
