// Which kernel implementation ops call. WASM is the default; the reference kernels are
// selected in tests (or with PROBEGEN_KERNELS=reference) to cross-check.
import type { Kernels } from "./kernels/kernels.js";
import { createWasmKernels } from "./kernels/wasm.js";
import { createReferenceKernels } from "./kernels/reference.js";

export type BackendName = "wasm" | "reference";

const cache = new Map<BackendName, Kernels>();
let current: Kernels | null = null;

function create(name: BackendName): Kernels {
  let k = cache.get(name);
  if (k === undefined) {
    k = name === "wasm" ? createWasmKernels() : createReferenceKernels();
    cache.set(name, k);
  }
  return k;
}

export function kernels(): Kernels {
  if (current === null) {
    const env = process.env.PROBEGEN_KERNELS;
    if (env !== undefined && env !== "wasm" && env !== "reference") {
      throw new Error(`PROBEGEN_KERNELS must be "wasm" or "reference", got "${env}"`);
    }
    current = create((env as BackendName | undefined) ?? "wasm");
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
