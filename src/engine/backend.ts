// Which kernel implementation ops call: the WASM module (the default), the native kernels
// where they built (PROBEGEN_BACKEND=native or --backend native), or the plain-TypeScript
// reference, which tests cross-check the others against.
import type { Kernels } from "./kernels/kernels.js";
import { createWasmKernels } from "./kernels/wasm.js";
import { createNativeKernels } from "./kernels/native.js";
import { createReferenceKernels } from "./kernels/reference.js";

export type BackendName = "wasm" | "native" | "reference";
export const BACKEND_NAMES: readonly BackendName[] = ["wasm", "native", "reference"];

const cache = new Map<BackendName, Kernels>();
let current: Kernels | null = null;

function create(name: BackendName): Kernels {
  let k = cache.get(name);
  if (k === undefined) {
    k = name === "wasm" ? createWasmKernels() : name === "native" ? createNativeKernels() : createReferenceKernels();
    cache.set(name, k);
  }
  return k;
}

export function kernels(): Kernels {
  if (current === null) {
    // PROBEGEN_KERNELS is the variable's earlier name.
    const env = process.env.PROBEGEN_BACKEND || process.env.PROBEGEN_KERNELS;
    if (env !== undefined && env !== "" && !(BACKEND_NAMES as readonly string[]).includes(env)) {
      throw new Error(`PROBEGEN_BACKEND must be ${BACKEND_NAMES.join(", ")}, got "${env}"`);
    }
    current = create((env as BackendName | undefined) || "wasm");
  }
  return current;
}

export function setBackend(name: BackendName): void {
  current = create(name);
}

/** Runs fn with the named kernels, then restores the previous choice. */
export function withBackend<T>(name: BackendName, fn: () => T): T {
  const prev = kernels();
  current = create(name);
  try {
    return fn();
  } finally {
    current = prev;
  }
}
