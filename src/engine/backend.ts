// Which kernel implementation ops call: the native kernels where they built at install (the
// default there), the WASM module (the default elsewhere, and wherever bytes must match across
// machines), or the plain-TypeScript reference, which tests cross-check the others against.
// PROBEGEN_BACKEND or --backend chooses; worker threads read the same variable.
import type { Kernels } from "./kernels/kernels.js";
import { createWasmKernels } from "./kernels/wasm.js";
import { createNativeKernels, nativeRegions, nativeUnavailable } from "./kernels/native.js";
import { getRuntime } from "./memory.js";
import { createReferenceKernels } from "./kernels/reference.js";

export type BackendName = "wasm" | "native" | "reference";
export const BACKEND_NAMES: readonly BackendName[] = ["wasm", "native", "reference"];

const cache = new Map<BackendName, Kernels>();
let current: Kernels | null = null;

/** The named kernels, made current; tensor memory may pass 4 GiB except under the WASM kernels. */
function use(name: BackendName): Kernels {
  let k = cache.get(name);
  if (k === undefined) {
    k = name === "wasm" ? createWasmKernels() : name === "native" ? createNativeKernels() : createReferenceKernels();
    cache.set(name, k);
  }
  // The WASM kernels reach only the WASM memory; the others take any view of tensor memory.
  getRuntime().heap.reserveBeyond(name !== "wasm" && nativeUnavailable() === null ? nativeRegions() : null);
  current = k;
  return k;
}

/** The backend used when none is asked for: native where its kernels built and load, else WASM. */
export function defaultBackend(): BackendName {
  return nativeUnavailable() === null ? "native" : "wasm";
}

export function kernels(): Kernels {
  if (current === null) {
    // PROBEGEN_KERNELS is the variable's earlier name.
    const env = process.env.PROBEGEN_BACKEND || process.env.PROBEGEN_KERNELS;
    if (env !== undefined && env !== "" && !(BACKEND_NAMES as readonly string[]).includes(env)) {
      throw new Error(`PROBEGEN_BACKEND must be ${BACKEND_NAMES.join(", ")}, got "${env}"`);
    }
    use((env as BackendName | undefined) || defaultBackend());
  }
  return current!;
}

/**
 * Feature-map floats one pass over networks may hold: in a training step (which keeps about three
 * copies of each layer's maps) 2 GiB, and in evaluation 1 GiB, of the WASM memory's 4 GiB; 4 GiB
 * each while the native backend holds memory past it. Fixed per backend, never sized to this
 * machine's memory: how a step splits into passes decides the order its gradients are summed in,
 * so a seed's bytes would depend on the machine.
 */
export function passBudgetFloats(pass: "step" | "evaluation"): number {
  if (kernels().name === "native") return 2 ** 30;
  return pass === "step" ? 2 ** 29 : 2 ** 28;
}

export function setBackend(name: BackendName): void {
  use(name);
}

/** Runs fn with the named kernels, then restores the previous choice. */
export function withBackend<T>(name: BackendName, fn: () => T): T {
  const prev = kernels().name;
  use(name);
  try {
    return fn();
  } finally {
    use(prev);
  }
}
