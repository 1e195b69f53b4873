// A worker thread of a parallel Wild Park zoo build: trains and writes the shards it is given
// and reports each finished network to the parent. It has its own kernels and tensor memory.
import { parentPort, workerData } from "node:worker_threads";
import { describeWildParkBuild, trainWildParkShards, type WildParkZooOptions } from "./wild-park-builder.js";
import { setThreads } from "../engine/index.js";

const { opts, shards, kernelThreads } = workerData as { opts: WildParkZooOptions; shards: number[]; kernelThreads: number };
setThreads(kernelThreads);
trainWildParkShards(describeWildParkBuild(opts), shards, (r) => parentPort!.postMessage(r));
