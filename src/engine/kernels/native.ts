// The native kernels (native/kernels.cc), compiled from source at install where a compiler is
// (native/compile.mjs): the WASM module's exports under the same names and arguments, run at
// this CPU's own SIMD width (AVX-512, AVX2) on threads of their own, on the same tensor memory.
// Where they did not build, probegen runs on WASM and says why (nativeUnavailable()).
import { createRequire } from "node:module";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { getRuntime, threadCount, type RegionSource } from "../memory.js";
import type { Kernels } from "./kernels.js";
import { bindKernels, type PartRunner } from "./bindings.js";
import { MAX_THREADS } from "../threads.js";
import type { KernelExports, KernelName } from "./wasm-exports.js";

interface Addon {
  attach(memory: Uint8Array): void;
  kernels(): { name: string; args: number }[];
  call(id: number, args: Float64Array): number;
  run(id: number, args: Float64Array, parts: number): void;
  setThreads(n: number): void;
  simd(): string;
  reserve(bytes: number): [ArrayBuffer, number];
}

// dist/src/engine/kernels/native.js -> native/build/Release/probegen_native.node
const ADDON_PATH = fileURLToPath(new URL("../../../../native/build/Release/probegen_native.node", import.meta.url));

let loaded: { addon: Addon } | { reason: string } | null = null;

function load(): { addon: Addon } | { reason: string } {
  if (loaded !== null) return loaded;
  if (!existsSync(ADDON_PATH)) {
    loaded = { reason: `the native kernels were not built (${ADDON_PATH} is missing: no C++ compiler at install, or the build failed; \`npm run build:native\` says why)` };
    return loaded;
  }
  try {
    loaded = { addon: createRequire(import.meta.url)(ADDON_PATH) as Addon };
  } catch (e) {
    loaded = { reason: `the native kernels at ${ADDON_PATH} do not load: ${(e as Error).message}` };
  }
  return loaded;
}

/** Why the native kernels cannot run here, or null when they can. */
export function nativeUnavailable(): string | null {
  const l = load();
  return "reason" in l ? l.reason : null;
}

/** The SIMD build the native GEMM runs ("avx512", "avx2" or "portable"); null without native kernels. */
export function nativeSimd(): string | null {
  const l = load();
  return "addon" in l ? l.addon.simd() : null;
}

/** Tensor memory past the WASM memory's 4 GiB: native mappings, addressed from its base. */
export function nativeRegions(): RegionSource {
  const l = load();
  if ("reason" in l) throw new Error(`probegen: memory past 4 GiB needs the native kernels: ${l.reason}`);
  return (bytes) => {
    const [buffer, start] = l.addon.reserve(bytes);
    return { start, limit: buffer.byteLength, usable: () => buffer.byteLength, grow: () => {}, buffer: () => buffer };
  };
}

let partRunner: PartRunner | null = null;

/** What runs the native kernels' parts (its `run` is what tests watch to see a call split). */
export function nativeRunner(): PartRunner | null {
  return partRunner;
}

export function createNativeKernels(): Kernels {
  const l = load();
  if ("reason" in l) throw new Error(`probegen: --backend native: ${l.reason}`);
  const { addon } = l;
  const runtime = getRuntime();
  addon.attach(new Uint8Array(runtime.memory.buffer));
  // Every export of the WASM module must be a native kernel with the same arguments: a native
  // build older than the sources is refused, not run.
  const table = addon.kernels();
  const ids = new Map(table.map((k, i) => [k.name, { id: i, args: k.args }]));
  const wasm = runtime.exports as unknown as Record<string, unknown>;
  const exportsObject: Record<string, (...args: number[]) => number> = {};
  for (const [name, f] of Object.entries(wasm)) {
    if (typeof f !== "function" || name === "heapBase") continue;
    const k = ids.get(name);
    const arity = (f as (...a: unknown[]) => unknown).length;
    if (k === undefined || k.args !== arity) {
      throw new Error(`probegen: the native kernels lack ${name} with ${arity} arguments (they are older than the sources); rebuild with \`npm run build:native\``);
    }
    // One argument array per kernel, reused: a call is a few microseconds, and making a new
    // array was a good part of it.
    const buf = new Float64Array(k.args);
    exportsObject[name] = (...args: number[]) => {
      // A reused array would keep the last call's values where a short call left gaps.
      if (args.length !== buf.length) throw new RangeError(`kernel ${name}: ${args.length} arguments, the native kernel takes ${buf.length}`);
      for (let i = 0; i < buf.length; i++) buf[i] = args[i];
      return addon.call(k.id, buf);
    };
  }
  /** Argument arrays of split calls, by kernel id and part count. */
  const flats = new Map<number, Float64Array>();
  let threads = 0;
  const runner: PartRunner = {
    get threads() { return threadCount(); },
    run<N extends KernelName>(name: N, parts: readonly (readonly number[])[]) {
      const n = threadCount();
      if (n !== threads) { addon.setThreads(n); threads = n; }
      const k = ids.get(name)!;
      // Parts are at most the thread count (MAX_THREADS), so the key never collides.
      const key = k.id * (MAX_THREADS + 1) + parts.length;
      let flat = flats.get(key);
      if (flat === undefined) { flat = new Float64Array(parts.length * k.args); flats.set(key, flat); }
      parts.forEach((p, t) => {
        if (p.length !== k.args) throw new RangeError(`kernel ${name}: ${p.length} arguments, the native kernel takes ${k.args}`);
        flat.set(p, t * k.args);
      });
      addon.run(k.id, flat, parts.length);
    },
  };
  partRunner = runner;
  return bindKernels("native", exportsObject as unknown as KernelExports, () => partRunner!);
}
