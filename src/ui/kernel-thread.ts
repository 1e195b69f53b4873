// A kernel thread in the web page: a Web Worker that the worker_threads stand-in
// (shims/worker-threads.ts) starts from this file's bundle and hands the pool's module and
// shared memory as its first message.
import { startKernelThread, type KernelWorkerData } from "../engine/threads.js";

self.onmessage = (e: MessageEvent<KernelWorkerData>) => {
  self.onmessage = null;
  startKernelThread(e.data);
};
