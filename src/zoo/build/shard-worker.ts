// A worker thread of a zoo build (local and parallel, or a queue worker's): builds and writes the
// shards it is given, of the kind it is given, and reports each finished network to the parent.
// It has its own kernels and tensor memory.
import { parentPort, workerData } from "node:worker_threads";
import { BUILD_KIND_DEFS, type BuildKind } from "./build-kinds.js";
import { setThreads } from "../../engine/index.js";

const { kind, opts, shards, kernelThreads } = workerData as { kind: BuildKind; opts: never; shards: number[]; kernelThreads: number };
setThreads(kernelThreads);
BUILD_KIND_DEFS[kind].buildShards(opts, shards, (m) => parentPort!.postMessage(m));
