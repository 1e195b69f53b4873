// The probegen WASM kernel module. Memory is imported (shared), so every Float32Array view
// the engine hands out is addressable here by its byteOffset.
export { gemm, gemmBatched, GEMM_WORK_FLOATS } from "./gemm";
export * from "./elementwise";
export * from "./broadcast";
export * from "./loss";
export * from "./optimizers";
export {
  im2col, col2im, conv2dWorkFloats, conv2dForward, conv2dBackwardInput, conv2dBackwardWeight,
  convTranspose2dWorkFloats, convTranspose2dForward, convTranspose2dBackward,
} from "./conv";

export function heapBase(): usize {
  return __heap_base;
}

export function gemmWorkFloats(): i32 {
  return GEMM_WORK_FLOATS_VALUE;
}
import { GEMM_WORK_FLOATS as GEMM_WORK_FLOATS_VALUE } from "./gemm";
export { maxPool2dForward, maxPool2dBackward } from "./pool";
