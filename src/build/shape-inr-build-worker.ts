// A worker thread of a parallel shape-INR zoo build: fits the shards it is given and reports
// each INR's PSNR and steps to the parent.
import { parentPort, workerData } from "node:worker_threads";
import { describeShapeInrBuild, fitShapeInrShards, type ShapeInrZooOptions } from "./shape-inr-builder.js";
import { setThreads } from "../engine/index.js";

const { opts, shards, kernelThreads } = workerData as { opts: ShapeInrZooOptions; shards: number[]; kernelThreads: number };
setThreads(kernelThreads);
fitShapeInrShards(describeShapeInrBuild(opts), shards, (r) => parentPort!.postMessage({ index: r.index, psnr: r.psnr, steps: r.steps, params: [] }));
