// A kernel thread in Node: the pool's WASM module on the pool's shared memory, serving its part
// of each kernel call (see threads.ts; a web page's threads start the same way, ui/kernel-thread.ts).
import { workerData } from "node:worker_threads";
import { startKernelThread, type KernelWorkerData } from "./threads.js";

startKernelThread(workerData as KernelWorkerData);
