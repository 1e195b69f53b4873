// The default kernels: the AssemblyScript module compiled to WASM SIMD (assembly/), its calls
// split over the worker threads of the kernel pool (threads.ts).
import { getRuntime, kernelPool } from "../memory.js";
import type { Kernels } from "./kernels.js";
import { bindKernels } from "./bindings.js";

export { splitRange } from "./bindings.js";

export function createWasmKernels(): Kernels {
  return bindKernels("wasm", getRuntime().exports, kernelPool);
}
