// A kernel thread: the pool's WASM module on the pool's shared memory, serving its part of
// each kernel call (see threads.ts).
import { workerData } from "node:worker_threads";
import { serveKernelCalls, type KernelWorkerData } from "./threads.js";

const data = workerData as KernelWorkerData;
const instance = new WebAssembly.Instance(data.module, {
  env: {
    memory: data.memory,
    abort: (_msg: number, _file: number, line: number, column: number) => {
      throw new Error(`probegen: WASM kernel aborted at ${line}:${column}`);
    },
  },
});
serveKernelCalls(data, instance.exports as unknown as Record<string, unknown>);
