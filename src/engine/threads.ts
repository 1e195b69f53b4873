// Kernels on every core. Worker threads instantiate the same WASM module on the same shared
// memory, so a kernel call is split by handing each thread its own arguments (a range of
// images, networks, rows or columns); no tensor is copied. The pool is started once and
// reused: a call writes its per-thread arguments into a small shared block, bumps a counter,
// runs its own part, and waits for the others. Workers spin briefly before sleeping, because
// a training step issues kernels back to back and waking a sleeping thread costs more than a
// small kernel.
//
// Every split the kernels use gives each output element to one thread, computed in the order a
// whole call uses, so results are the same bytes for any thread count.
import { Worker } from "node:worker_threads";
import type { KernelArgs, KernelExports, KernelName } from "./kernels/wasm-exports.js";
import { availableParallelism } from "node:os";

/** Arguments one thread's part of a call may take. */
export const MAX_KERNEL_ARGS = 32;
const SLOT = MAX_KERNEL_ARGS + 2; // [function index, argument count, arguments...]
// ctrl: [generation, parts done, failed thread + 1, stop, workers started, workers asleep,
// caller asleep]
const GEN = 0, DONE = 1, FAILED = 2, STOP = 3, READY = 4, ASLEEP = 5, CALLER_ASLEEP = 6;
/** How long a call waits for workers that have not started before it gives up. */
const START_TIMEOUT_MS = 60_000;
/** The most kernel threads a pool starts (--threads and PROBEGEN_THREADS). */
export const MAX_THREADS = 1024;
/** Spin iterations before a waiting thread sleeps (tens of microseconds). */
const SPINS = 20000;
/**
 * Whether this thread may sleep in Atomics.wait: a browser refuses it on a page's main thread,
 * which then spins while kernel threads (Web Workers) finish their parts.
 */
const CAN_SLEEP = (() => {
  if (typeof SharedArrayBuffer !== "function") return false;
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    return true;
  } catch {
    return false;
  }
})();

/** What a worker is started with. */
export interface KernelWorkerData {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  ctrl: SharedArrayBuffer;
  args: SharedArrayBuffer;
  names: string[];
  thread: number;
}

export type KernelFn = (...args: number[]) => unknown;

/** One thread's part of a call of kernel N: its arguments. */
export type KernelPart<N extends KernelName = KernelName> = Readonly<KernelArgs<N>>;

export class KernelPool {
  readonly threads: number;
  private readonly ctrl: Int32Array;
  private readonly args: Float64Array;
  private readonly workers: Worker[] = [];
  private readonly index = new Map<string, number>();
  private readonly fns: KernelFn[];

  constructor(threads: number, module: WebAssembly.Module, memory: WebAssembly.Memory, exports: KernelExports) {
    const table = exports as unknown as Record<string, unknown>;
    const names = Object.keys(table).filter((k) => typeof table[k] === "function");
    this.threads = threads;
    // One thread shares nothing: a web page, where SharedArrayBuffer may not exist, runs so.
    const Shared = threads > 1 ? SharedArrayBuffer : ArrayBuffer as unknown as SharedArrayBufferConstructor;
    const ctrl = new Shared(4 * 7);
    const args = new Shared(8 * SLOT * threads);
    this.ctrl = new Int32Array(ctrl);
    this.args = new Float64Array(args);
    this.fns = names.map((n, i) => {
      this.index.set(n, i);
      return table[n] as KernelFn;
    });
    const url = new URL("./kernel-worker.js", import.meta.url);
    for (let t = 1; t < threads; t++) {
      const data: KernelWorkerData = { module, memory, ctrl, args, names: [...names], thread: t };
      // execArgv: [] so that the worker runs its module, not the parent's -e script or flags
      const w = new Worker(url, { workerData: data, execArgv: [] });
      // The pool never keeps the process alive, and a worker that dies is reported at the next call.
      w.unref();
      w.on("error", () => Atomics.store(this.ctrl, FAILED, t + 1));
      this.workers.push(w);
    }
  }

  /**
   * Runs `name` with parts[t] as thread t's arguments (parts.length <= threads; part 0 runs on
   * this thread) and returns when every part is done.
   */
  run<N extends KernelName>(name: N, parts: readonly KernelPart<N>[]): void {
    const f = this.index.get(name);
    if (f === undefined) throw new Error(`probegen: kernel ${name} is not one the thread pool runs`);
    if (parts.length === 1 || this.threads === 1) {
      for (const p of parts) this.fns[f](...(p as readonly number[]));
      return;
    }
    if (parts.length > this.threads) throw new RangeError(`${parts.length} parts for ${this.threads} threads`);
    this.throwIfFailed(name);
    for (let t = 1; t < this.threads; t++) {
      const at = t * SLOT;
      const p = parts[t] as readonly number[] | undefined;
      if (p === undefined) { this.args[at] = -1; continue; }
      if (p.length > MAX_KERNEL_ARGS) throw new RangeError(`kernel ${name}: ${p.length} arguments (at most ${MAX_KERNEL_ARGS})`);
      this.args[at] = f;
      this.args[at + 1] = p.length;
      for (let i = 0; i < p.length; i++) this.args[at + 2 + i] = p[i];
    }
    Atomics.store(this.ctrl, DONE, 0);
    Atomics.add(this.ctrl, GEN, 1);
    // a wake-up is a system call: only for workers that went to sleep
    if (Atomics.load(this.ctrl, ASLEEP) !== 0) Atomics.notify(this.ctrl, GEN);
    let failure: unknown = null;
    try {
      this.fns[f](...(parts[0] as readonly number[]));
    } catch (e) {
      failure = e;
    }
    this.waitForWorkers(name);
    if (failure !== null) throw failure;
  }

  private waitForWorkers(name: string): void {
    const others = this.threads - 1;
    let spins = 0;
    let since = 0;
    // Every part is waited for, failed ones included (a worker whose kernel threw still reports
    // it done), so no thread writes into memory after the call returns.
    for (;;) {
      const done = Atomics.load(this.ctrl, DONE);
      if (done >= others) break;
      if (++spins > SPINS) {
        // Sleeps a millisecond at a time. The event loop is blocked here, so a worker that
        // never started cannot report it: a call gives up on workers missing for a minute.
        if (CAN_SLEEP) {
          Atomics.store(this.ctrl, CALLER_ASLEEP, 1);
          Atomics.wait(this.ctrl, DONE, done, 1);
          Atomics.store(this.ctrl, CALLER_ASLEEP, 0);
        }
        if (Atomics.load(this.ctrl, READY) < others) {
          if (since === 0) since = performance.now();
          else if (performance.now() - since > START_TIMEOUT_MS) {
            throw new Error(`probegen: kernel threads did not start within ${START_TIMEOUT_MS / 1000} s; run with --threads 1 (PROBEGEN_THREADS=1)`);
          }
        }
      }
    }
    this.throwIfFailed(name);
  }

  /** How many calls were split over the threads so far (a page shows its threads at work with it). */
  get splitCalls(): number {
    return Atomics.load(this.ctrl, GEN);
  }

  /**
   * Resolves once every kernel thread has started (rejects past the start time-out, or when one
   * failed). A web page awaits it before its first kernel call: a browser may not start a Web
   * Worker while the page's thread is busy, and that thread cannot sleep waiting for one.
   */
  async started(): Promise<void> {
    const since = performance.now();
    while (Atomics.load(this.ctrl, READY) < this.threads - 1) {
      this.throwIfFailed("start");
      if (performance.now() - since > START_TIMEOUT_MS) throw new Error(`probegen: kernel threads did not start within ${START_TIMEOUT_MS / 1000} s`);
      await new Promise((r) => setTimeout(r, 5));
    }
    this.throwIfFailed("start");
  }

  /** A worker whose kernel threw, or that died between calls (its error event), ends the pool. */
  private throwIfFailed(name: string): void {
    const failed = Atomics.load(this.ctrl, FAILED);
    if (failed !== 0) {
      throw new Error(`probegen: kernel ${name}: kernel thread ${failed - 1} failed; the thread pool is unusable (restart, or use --threads 1)`);
    }
  }

  /** Stops the workers (they finish no further calls). */
  close(): void {
    Atomics.store(this.ctrl, STOP, 1);
    Atomics.add(this.ctrl, GEN, 1);
    Atomics.notify(this.ctrl, GEN);
    for (const w of this.workers) void w.terminate();
  }
}

/** What the kernels' module imports: the memory, and an abort that throws. */
export function kernelImports(memory: WebAssembly.Memory): WebAssembly.Imports {
  return {
    env: {
      memory,
      abort: (_msg: number, _file: number, line: number, column: number) => {
        throw new Error(`probegen: WASM kernel aborted at ${line}:${column}`);
      },
    },
  };
}

/** A kernel thread (a Node worker, or a page's Web Worker): the pool's module on the pool's memory, serving its part of each call. */
export function startKernelThread(data: KernelWorkerData): void {
  const instance = new WebAssembly.Instance(data.module, kernelImports(data.memory));
  serveKernelCalls(data, instance.exports as unknown as Record<string, unknown>);
}

/** The worker side: waits for calls and runs its part of each. */
function serveKernelCalls(data: KernelWorkerData, exports: Record<string, unknown>): void {
  const ctrl = new Int32Array(data.ctrl);
  const args = new Float64Array(data.args);
  const fns = data.names.map((n) => exports[n] as KernelFn);
  const at = data.thread * SLOT;
  Atomics.add(ctrl, READY, 1);
  // Each pool has its own control block starting at generation 0, and no call completes
  // without this worker: a call made before it started is still its to serve.
  let seen = 0;
  for (;;) {
    let spins = 0;
    let gen = Atomics.load(ctrl, GEN);
    while (gen === seen) {
      if (++spins > SPINS) {
        // Counted asleep before the generation is checked again inside wait: a call that bumps
        // it after this sees the count and wakes this worker; one before makes wait return.
        Atomics.add(ctrl, ASLEEP, 1);
        Atomics.wait(ctrl, GEN, seen);
        Atomics.sub(ctrl, ASLEEP, 1);
      }
      gen = Atomics.load(ctrl, GEN);
    }
    seen = gen;
    if (Atomics.load(ctrl, STOP) !== 0) return;
    const f = args[at];
    if (f >= 0) {
      const n = args[at + 1];
      const a: number[] = new Array(n);
      for (let i = 0; i < n; i++) a[i] = args[at + 2 + i];
      try {
        fns[f](...a);
      } catch {
        Atomics.store(ctrl, FAILED, data.thread + 1);
      }
    }
    Atomics.add(ctrl, DONE, 1);
    // a wake-up is a system call: only when the caller went to sleep
    if (Atomics.load(ctrl, CALLER_ASLEEP) !== 0) Atomics.notify(ctrl, DONE);
  }
}

/** The thread count commands use unless told otherwise: PROBEGEN_THREADS, else every core. */
export function defaultThreads(): number {
  const env = process.env.PROBEGEN_THREADS;
  if (env !== undefined && env !== "") {
    // as --threads: decimal digits only ("1e3" or "0x10" are refused, not read as 1000 or 16)
    const n = /^\d+$/.test(env) ? Number(env) : NaN;
    if (!(n >= 1 && n <= MAX_THREADS)) throw new Error(`PROBEGEN_THREADS must be a whole number in [1, ${MAX_THREADS}], got "${env}"`);
    return n;
  }
  return availableParallelism();
}
