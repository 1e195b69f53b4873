// The linear memory all tensors live in, shared with the WASM kernels, and the allocator
// that carves it up. The memory is a shared WebAssembly.Memory: growing it never detaches
// existing views (a SharedArrayBuffer only gets longer), and worker threads can be handed
// the same memory later without changing any caller.
import { readFileSync, existsSync } from "node:fs";
import v8 from "node:v8";
import { fileURLToPath } from "node:url";
import type { KernelExports } from "./kernels/wasm-exports.js";
import { KernelPool, MAX_THREADS, defaultThreads } from "./threads.js";

const PAGE = 65536;
const MAX_PAGES = 65536; // 4 GiB, the wasm32 limit
const ALIGN = 64; // cache line; also keeps every block f32x4-aligned
const SLACK = 64;
/** Larger size classes a request may take a free block from (4 classes: about twice its size). */
const REUSE_CLASSES = 4;

/** Size classes: multiples of 64 up to 1 KiB, then four steps per power of two (< 19% slack). */
export function sizeClass(bytes: number): number {
  if (bytes <= 1024) return Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
  const e = Math.floor(Math.log2(bytes));
  const step = 2 ** (e - 2);
  return Math.ceil(bytes / step) * step;
}

export class Heap {
  readonly memory: WebAssembly.Memory;
  private top: number;
  private readonly freeLists = new Map<number, number[]>();
  /** The size class each block was carved with (a block may serve a smaller request later). */
  private readonly blockSize = new Map<number, number>();
  private liveBytes = 0;
  private peakBytes = 0;
  /** Bytes in the free lists. */
  private freeBytes = 0;

  constructor(memory: WebAssembly.Memory, base: number) {
    this.memory = memory;
    // SLACK before the first block too: vector loads may start a few floats before a row.
    this.top = Math.ceil((base + SLACK) / ALIGN) * ALIGN;
  }

  /** Byte offset of a block of at least `bytes` bytes (contents undefined). */
  alloc(bytes: number): number {
    const size = sizeClass(bytes);
    let ptr = this.fromFreeLists(size);
    // Work whose sizes change from call to call (ragged batches of mixed networks) leaves free
    // blocks of classes nothing asks for again: merge them before growing the memory.
    if (ptr < 0 && this.freeBytes >= size) ptr = this.fromMerged(size);
    let block = size;
    if (ptr >= 0) {
      block = this.blockSize.get(ptr)!;
      this.freeBytes -= block;
    } else {
      ptr = this.top;
      const end = ptr + size;
      const have = this.memory.buffer.byteLength;
      // SLACK past the last block: vector kernels may read (never write) a few floats past a row.
      if (end + SLACK > have) {
        const havePages = have / PAGE;
        const need = Math.ceil((end + SLACK - have) / PAGE);
        const grow = Math.min(Math.max(need, Math.ceil(havePages / 4)), MAX_PAGES - havePages);
        if (grow < need) {
          throw new RangeError(`out of tensor memory: ${bytes} bytes requested with ${this.liveBytes} live (limit 4 GiB)`);
        }
        this.memory.grow(grow);
      }
      this.top = end;
      this.blockSize.set(ptr, size);
    }
    this.liveBytes += block;
    if (this.liveBytes > this.peakBytes) this.peakBytes = this.liveBytes;
    return ptr;
  }

  /**
   * A free block of class `size`, or failing that of one of the next REUSE_CLASSES classes (at
   * most about twice as large), so that work whose sizes drift (a batch that shrinks) reuses
   * memory instead of growing it; -1 when there is none.
   */
  private fromFreeLists(size: number): number {
    let c = size;
    for (let i = 0; i <= REUSE_CLASSES; i++) {
      const list = this.freeLists.get(c);
      if (list !== undefined && list.length > 0) return list.pop()!;
      c = sizeClass(c + 1);
    }
    return -1;
  }

  /**
   * Merges neighbouring free blocks, gives back a free run that ends at the top, and takes the
   * smallest run that holds `size` bytes, splitting off what it does not need; -1 when none does.
   */
  private fromMerged(size: number): number {
    const free: [number, number][] = [];
    for (const list of this.freeLists.values()) for (const p of list) free.push([p, this.blockSize.get(p)!]);
    this.freeLists.clear();
    free.sort((a, b) => a[0] - b[0]);
    const runs: [number, number][] = [];
    for (const [p, s] of free) {
      const last = runs[runs.length - 1];
      if (last !== undefined && last[0] + last[1] === p) {
        last[1] += s;
        this.blockSize.delete(p);
      } else runs.push([p, s]);
    }
    const top = runs[runs.length - 1];
    if (top !== undefined && top[0] + top[1] === this.top) {
      this.top = top[0];
      this.blockSize.delete(top[0]);
      this.freeBytes -= top[1];
      runs.pop();
    }
    let best = -1;
    runs.forEach(([, s], i) => { if (s >= size && (best < 0 || s < runs[best][1])) best = i; });
    const put = (p: number, s: number) => {
      this.blockSize.set(p, s);
      let list = this.freeLists.get(s);
      if (list === undefined) { list = []; this.freeLists.set(s, list); }
      list.push(p);
    };
    let ptr = -1;
    runs.forEach(([p, s], i) => {
      if (i !== best) { put(p, s); return; }
      ptr = p;
      if (s - size >= 1024) {
        this.blockSize.set(p, size);
        put(p + size, s - size);
      } else this.blockSize.set(p, s);
    });
    return ptr;
  }

  /** Returns a block; `bytes` is what was asked of alloc (the block keeps its own size). */
  free(ptr: number, bytes: number): void {
    const size = this.blockSize.get(ptr);
    if (size === undefined || size < bytes) throw new RangeError(`free: ${ptr} is not a block of ${bytes} bytes`);
    let list = this.freeLists.get(size);
    if (list === undefined) { list = []; this.freeLists.set(size, list); }
    list.push(ptr);
    this.liveBytes -= size;
    this.freeBytes += size;
  }

  f32(ptr: number, length: number): Float32Array {
    return new Float32Array(this.memory.buffer, ptr, length);
  }

  i32(ptr: number, length: number): Int32Array {
    return new Int32Array(this.memory.buffer, ptr, length);
  }

  /** Starts measuring the peak again from what is live now (a benchmark's own peak). */
  resetPeak(): void {
    this.peakBytes = this.liveBytes;
  }

  stats(): { liveBytes: number; peakBytes: number; reservedBytes: number; freeBytes: number } {
    return { liveBytes: this.liveBytes, peakBytes: this.peakBytes, reservedBytes: this.top, freeBytes: this.freeBytes };
  }
}

export type { KernelExports } from "./kernels/wasm-exports.js";

export interface Runtime {
  heap: Heap;
  exports: KernelExports;
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  /** Which build of the kernels runs. */
  simd: SimdBuild;
}

/** The two builds of the kernels: baseline WASM SIMD, and with relaxed SIMD (fused multiply-add). */
export type SimdBuild = "baseline" | "relaxed";

function wasmPath(build: SimdBuild): string {
  // dist/src/engine/memory.js -> build/kernels.wasm
  const file = build === "relaxed" ? "kernels-relaxed.wasm" : "kernels.wasm";
  return fileURLToPath(new URL(`../../../build/${file}`, import.meta.url));
}

/**
 * The build this process runs: PROBEGEN_SIMD when set, else the relaxed one where this Node
 * validates it (Node 22 and later by default; Node 20 behind a V8 flag, set here before any
 * module is compiled), else the baseline.
 */
function chooseBuild(): { build: SimdBuild; bytes: Buffer } {
  const env = process.env.PROBEGEN_SIMD;
  if (env !== undefined && env !== "" && env !== "baseline" && env !== "relaxed") {
    throw new Error(`PROBEGEN_SIMD must be "baseline" or "relaxed", got "${env}"`);
  }
  const read = (build: SimdBuild) => {
    const path = wasmPath(build);
    if (!existsSync(path)) {
      throw new Error(`probegen: WASM kernels not found at ${path}; run \`npm run build\` (npm ci runs it too)`);
    }
    return readFileSync(path);
  };
  if (env === "baseline") return { build: "baseline", bytes: read("baseline") };
  const relaxed = read("relaxed");
  if (!WebAssembly.validate(relaxed)) v8.setFlagsFromString("--experimental-wasm-relaxed-simd");
  if (WebAssembly.validate(relaxed)) return { build: "relaxed", bytes: relaxed };
  if (env === "relaxed") throw new Error("PROBEGEN_SIMD=relaxed: this Node cannot run relaxed-SIMD WebAssembly");
  return { build: "baseline", bytes: read("baseline") };
}

let runtime: Runtime | null = null;

/** The process-wide memory, heap and kernel instance, created on first use. */
export function getRuntime(): Runtime {
  if (runtime !== null) return runtime;
  const { build, bytes } = chooseBuild();
  const module = new WebAssembly.Module(bytes);
  const memory = new WebAssembly.Memory({ initial: 256, maximum: MAX_PAGES, shared: true });
  const instance = new WebAssembly.Instance(module, { env: { memory, abort: wasmAbort } });
  const exports = instance.exports as unknown as KernelExports;
  runtime = { heap: new Heap(memory, exports.heapBase()), exports, module, memory, simd: build };
  return runtime;
}

let wantedThreads: number | null = null;
let pool: KernelPool | null = null;

/**
 * Sets how many threads the kernels use (1: this thread only). The pool is started on the
 * next kernel call; results are the same bytes for every count.
 */
export function setThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > MAX_THREADS) throw new RangeError(`threads must be a whole number in [1, ${MAX_THREADS}], got ${n}`);
  wantedThreads = n;
  if (pool !== null && pool.threads !== n) {
    pool.close();
    pool = null;
  }
}

/** The thread count kernels use: setThreads's, else PROBEGEN_THREADS, else every core. */
export function threadCount(): number {
  return wantedThreads ?? defaultThreads();
}

/** The started pool of kernel threads (started on first use). */
export function kernelPool(): KernelPool {
  if (pool !== null) return pool;
  const { module, memory, exports } = getRuntime();
  pool = new KernelPool(threadCount(), module, memory, exports);
  return pool;
}

function wasmAbort(_msg: number, _file: number, line: number, column: number): never {
  throw new Error(`probegen: WASM kernel aborted at ${line}:${column}`);
}
