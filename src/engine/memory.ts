// The linear memory all tensors live in, shared with the WASM kernels, and the allocator
// that carves it up. The memory is a shared WebAssembly.Memory: growing it never detaches
// existing views (a SharedArrayBuffer only gets longer), and worker threads can be handed
// the same memory later without changing any caller.
import { readFileSync, existsSync } from "node:fs";
import v8 from "node:v8";
import { fileURLToPath } from "node:url";
import type { KernelExports } from "./kernels/wasm-exports.js";
import { KernelPool, MAX_THREADS, defaultThreads, kernelImports } from "./threads.js";

const PAGE = 65536;
const MAX_PAGES = 65536; // 4 GiB, the wasm32 limit
const ALIGN = 64; // cache line; also keeps every block f32x4-aligned
const SLACK = 64;
/** Address space one native region reserves past the WASM memory (pages are taken as written):
 * 4 GiB, the most Node 20 wraps as one external ArrayBuffer. */
const REGION_BYTES = 2 ** 32;
/** Larger size classes a request may take a free block from (4 classes: about twice its size). */
const REUSE_CLASSES = 4;

/** Size classes: multiples of 64 up to 1 KiB, then four steps per power of two (< 19% slack). */
export function sizeClass(bytes: number): number {
  if (bytes <= 1024) return Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
  const e = Math.floor(Math.log2(bytes));
  const step = 2 ** (e - 2);
  return Math.ceil(bytes / step) * step;
}

/**
 * A stretch of address space an arena carves. Addresses are what kernels are called with: the
 * WASM memory's byte offsets (from 0, grown page by page up to 4 GiB), and for the native
 * backend, reservations past it, whose addresses are their distance from the WASM memory's
 * base, which the native kernels add them to.
 */
export interface Region {
  /** Address of the region's first byte. */
  readonly start: number;
  /** The most bytes it can ever hold. */
  readonly limit: number;
  /** Bytes usable now, from start. */
  usable(): number;
  /** Makes at least `bytes` usable (never more than limit). */
  grow(bytes: number): void;
  /** What views of it are made over (the WASM memory's buffer changes as it grows). */
  buffer(): ArrayBufferLike;
}

/** The WASM memory as a region: addresses are its byte offsets. */
function wasmRegion(memory: WebAssembly.Memory): Region {
  return {
    start: 0,
    limit: MAX_PAGES * PAGE,
    usable: () => memory.buffer.byteLength,
    grow(bytes) {
      const have = memory.buffer.byteLength / PAGE;
      const need = Math.ceil(bytes / PAGE) - have;
      if (need > 0) memory.grow(Math.min(Math.max(need, Math.ceil(have / 4)), MAX_PAGES - have));
    },
    buffer: () => memory.buffer,
  };
}

/** One region's allocator: size-classed free lists over a bump pointer. */
class Arena {
  readonly region: Region;
  private top: number;
  private readonly freeLists = new Map<number, number[]>();
  /** The size class each block was carved with (a block may serve a smaller request later). */
  private readonly blockSize = new Map<number, number>();
  liveBytes = 0;
  /** Bytes in the free lists. */
  freeBytes = 0;

  constructor(region: Region, base: number) {
    this.region = region;
    // SLACK before the first block too: vector loads may start a few floats before a row.
    this.top = region.start + Math.ceil((base + SLACK) / ALIGN) * ALIGN;
  }

  holds(ptr: number): boolean {
    return ptr >= this.region.start && ptr < this.region.start + this.region.limit;
  }

  get reservedBytes(): number {
    return this.top - this.region.start;
  }

  /**
   * Address of a block of at least `bytes` bytes (contents undefined), or null when the region
   * cannot hold it. (Addresses past the WASM memory may be negative: no number is "none".)
   */
  alloc(bytes: number): number | null {
    const size = sizeClass(bytes);
    let ptr = this.fromFreeLists(size);
    // Work whose sizes change from call to call (ragged batches of mixed networks) leaves free
    // blocks of classes nothing asks for again: merge them before growing the memory.
    if (ptr === null && this.freeBytes >= size) ptr = this.fromMerged(size);
    let block = size;
    if (ptr !== null) {
      block = this.blockSize.get(ptr)!;
      this.freeBytes -= block;
    } else {
      ptr = this.top;
      // SLACK past the last block: vector kernels may read (never write) a few floats past a row.
      const end = ptr + size - this.region.start + SLACK;
      if (end > this.region.limit) return null;
      if (end > this.region.usable()) this.region.grow(end);
      this.top = ptr + size;
      this.blockSize.set(ptr, size);
    }
    this.liveBytes += block;
    return ptr;
  }

  /**
   * A free block of class `size`, or failing that of one of the next REUSE_CLASSES classes (at
   * most about twice as large), so that work whose sizes drift (a batch that shrinks) reuses
   * memory instead of growing it; null when there is none.
   */
  private fromFreeLists(size: number): number | null {
    let c = size;
    for (let i = 0; i <= REUSE_CLASSES; i++) {
      const list = this.freeLists.get(c);
      if (list !== undefined && list.length > 0) return list.pop()!;
      c = sizeClass(c + 1);
    }
    return null;
  }

  /**
   * Merges neighbouring free blocks, gives back a free run that ends at the top, and takes the
   * smallest run that holds `size` bytes, splitting off what it does not need; null when none does.
   */
  private fromMerged(size: number): number | null {
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
    let ptr: number | null = null;
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
  free(ptr: number, bytes: number): number {
    const size = this.blockSize.get(ptr);
    if (size === undefined || size < bytes) throw new RangeError(`free: ${ptr} is not a block of ${bytes} bytes`);
    let list = this.freeLists.get(size);
    if (list === undefined) { list = []; this.freeLists.set(size, list); }
    list.push(ptr);
    this.liveBytes -= size;
    this.freeBytes += size;
    return size;
  }
}

/** What reserves native memory past the WASM memory's 4 GiB: `bytes` at least, as a region. */
export type RegionSource = (bytes: number) => Region;

/**
 * The tensor memory: the WASM memory first, then, while the native backend runs, regions it
 * reserves past 4 GiB. Blocks never span two regions; a view is made over its block's region.
 */
export class Heap {
  private readonly arenas: Arena[];
  private beyond: RegionSource | null = null;
  /** Start address of each region past the WASM memory, by the buffer its views are made over. */
  private readonly starts = new WeakMap<ArrayBufferLike, number>();
  private liveBytes = 0;
  private peakBytes = 0;

  constructor(private readonly memory: WebAssembly.Memory, base: number) {
    this.arenas = [new Arena(wasmRegion(memory), base)];
  }

  /** Whether a view is over the WASM memory: its shared buffer, or in a web page its one unshared buffer (which never grows). */
  inWasmMemory(view: Float32Array | Int32Array): boolean {
    return (typeof SharedArrayBuffer === "function" && view.buffer instanceof SharedArrayBuffer) || view.buffer === this.memory.buffer;
  }

  /**
   * Lets blocks go past the WASM memory into regions from `source` (the native backend's), or
   * stops new ones from doing so (null). Blocks already past it stay where they are.
   */
  reserveBeyond(source: RegionSource | null): void {
    this.beyond = source;
  }

  /** Address of a block of at least `bytes` bytes (contents undefined). */
  alloc(bytes: number): number {
    for (const arena of this.arenas) {
      // Past the WASM memory only while a region source is set: the WASM kernels cannot reach them.
      if (arena !== this.arenas[0] && this.beyond === null) break;
      const before = arena.liveBytes;
      const ptr = arena.alloc(bytes);
      if (ptr !== null) return this.took(arena.liveBytes - before, ptr);
    }
    if (this.beyond === null) {
      throw new RangeError(`out of tensor memory: ${bytes} bytes requested with ${this.liveBytes} live (limit 4 GiB, the WASM memory's; the native backend, --backend native, holds more)`);
    }
    // Reservations are address space, not memory: pages are taken as they are first written.
    const want = sizeClass(bytes) + 2 * SLACK + ALIGN;
    if (want > REGION_BYTES) throw new RangeError(`one tensor of ${bytes} bytes: a tensor may hold at most 4 GiB`);
    const region = this.beyond(REGION_BYTES);
    this.starts.set(region.buffer(), region.start);
    const arena = new Arena(region, 0);
    this.arenas.push(arena);
    const ptr = arena.alloc(bytes);
    if (ptr === null) throw new RangeError(`out of tensor memory: a region of ${region.limit} bytes cannot hold ${bytes}`);
    return this.took(arena.liveBytes, ptr);
  }

  private took(block: number, ptr: number): number {
    this.liveBytes += block;
    if (this.liveBytes > this.peakBytes) this.peakBytes = this.liveBytes;
    return ptr;
  }

  private arenaOf(ptr: number): Arena {
    const arena = this.arenas.find((a) => a.holds(ptr));
    if (arena === undefined) throw new RangeError(`free: ${ptr} is not a block of tensor memory`);
    return arena;
  }

  /** Returns a block; `bytes` is what was asked of alloc (the block keeps its own size). */
  free(ptr: number, bytes: number): void {
    this.liveBytes -= this.arenaOf(ptr).free(ptr, bytes);
  }

  f32(ptr: number, length: number): Float32Array {
    const { region } = this.arenaOf(ptr);
    return new Float32Array(region.buffer(), ptr - region.start, length);
  }

  i32(ptr: number, length: number): Int32Array {
    const { region } = this.arenaOf(ptr);
    return new Int32Array(region.buffer(), ptr - region.start, length);
  }

  /**
   * The address kernels take for a view of tensor memory: its offset in the WASM memory, or
   * past it, its region's start plus its offset there. Null for any other typed array.
   */
  addressOf(view: Float32Array | Int32Array): number | null {
    if (this.inWasmMemory(view)) return view.byteOffset;
    const start = this.starts.get(view.buffer);
    return start === undefined ? null : start + view.byteOffset;
  }

  /** Starts measuring the peak again from what is live now (a benchmark's own peak). */
  resetPeak(): void {
    this.peakBytes = this.liveBytes;
  }

  stats(): { liveBytes: number; peakBytes: number; reservedBytes: number; freeBytes: number } {
    return {
      liveBytes: this.liveBytes,
      peakBytes: this.peakBytes,
      reservedBytes: this.arenas.reduce((s, a) => s + a.reservedBytes, 0),
      freeBytes: this.arenas.reduce((s, a) => s + a.freeBytes, 0),
    };
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

/** In a web page: the kernels' bytes, and its memory: fixed and unshared, or (cross-origin isolated) shared as in Node. */
let pageRuntime: { bytes: Uint8Array; memory: PageMemory } | null = null;

/**
 * A web page's kernel memory: `{ pages }`, a fixed, unshared memory of that many 64 KiB pages,
 * set aside at once, for the browser build (kernels-browser.wasm), where a page without
 * cross-origin isolation has no SharedArrayBuffer and growing an unshared memory would detach
 * every view; or "shared", Node's growable shared memory for the threaded build
 * (kernels.wasm), where the page is cross-origin isolated and kernel threads are Web Workers.
 */
export type PageMemory = { pages: number } | "shared";

/** Runs the kernels as a web page must: from the given build's bytes, in `memory`. Call before the first tensor. */
export function usePageRuntime(bytes: Uint8Array, memory: PageMemory): void {
  if (runtime !== null) throw new Error("usePageRuntime: the kernels are already running");
  pageRuntime = { bytes, memory };
}

/** The process-wide memory, heap and kernel instance, created on first use. */
export function getRuntime(): Runtime {
  if (runtime !== null) return runtime;
  const { build, bytes } = pageRuntime === null ? chooseBuild() : { build: "baseline" as const, bytes: pageRuntime.bytes };
  const module = new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>);
  const fixed = pageRuntime === null || pageRuntime.memory === "shared" ? null : pageRuntime.memory.pages;
  const memory = fixed === null
    ? new WebAssembly.Memory({ initial: 256, maximum: MAX_PAGES, shared: true })
    : new WebAssembly.Memory({ initial: fixed, maximum: fixed });
  const instance = new WebAssembly.Instance(module, kernelImports(memory));
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

let defaultCount: number | null = null;

/** The thread count kernels use: setThreads's, else PROBEGEN_THREADS, else every core (read
 * once: the native runner asks on every kernel call, and the environment and the CPU count are
 * each a call into the system). */
export function threadCount(): number {
  return wantedThreads ?? (defaultCount ??= defaultThreads());
}

/** The started pool of kernel threads (started on first use). */
export function kernelPool(): KernelPool {
  if (pool !== null) return pool;
  const { module, memory, exports } = getRuntime();
  pool = new KernelPool(threadCount(), module, memory, exports);
  return pool;
}
