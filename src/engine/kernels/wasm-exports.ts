// The WASM module's exports, typed from assembly/ itself: `npm run build:wasm` has asc write
// build/kernels.d.ts (--bindings raw) from the AssemblyScript signatures, so a kernel called by
// a name the module lacks, or with the wrong number of arguments, fails to compile.
import type { instantiate } from "../../../build/kernels.js";

type Exports = Awaited<ReturnType<typeof instantiate>>;
type Fn = (...args: never[]) => unknown;
/** The functions the module exports (globals such as GEMM_WORK_FLOATS and the memory left out). */
export type KernelName = { [K in keyof Exports]: Exports[K] extends Fn ? K : never }[keyof Exports];
/** Every function the module exports, as asc declares it (bool parameters as boolean). */
export type KernelExports = Pick<Exports, KernelName>;

/** A kernel's arguments as the thread pool passes them: numbers, a bool as 0 or 1. */
export type KernelArgs<N extends KernelName> = AsNumbers<Parameters<KernelExports[N]>>;
type AsNumbers<T> = { [I in keyof T]: number };
