// A worker thread of a parallel INR zoo build: fits the shards it is given and reports each
// INR's PSNR and steps to the parent. It has its own kernels and tensor memory.
import { parentPort, workerData } from "node:worker_threads";
import { describeInrBuild, fitInrShards, type InrZooOptions } from "./inr-builder.js";
import { setThreads } from "../engine/index.js";

const { opts, shards, kernelThreads } = workerData as { opts: InrZooOptions; shards: number[]; kernelThreads: number };
setThreads(kernelThreads);
fitInrShards(describeInrBuild(opts), shards, (r) => parentPort!.postMessage({ index: r.index, psnr: r.psnr, steps: r.steps, params: [] }));
