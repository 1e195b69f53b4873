// The numeric core: tensors in WASM memory, the kernels, differentiable ops and Adam.
export { Tensor, tidy, noGrad, isGradEnabled, type GradNode } from "./tensor.js";
export { backward, zeroGrad, gradSink, record, needsGrad } from "./autograd.js";
export { kernels, setBackend, withBackend, type BackendName } from "./backend.js";
export type { Kernels, ConvGeometry, ZooConvShape, ConvTransposeShape } from "./kernels/kernels.js";
export { ShapeError, fmtShape } from "./errors.js";
export { Rng } from "./random.js";
export { Adam, cosineLr, type AdamOptions } from "./adam.js";
export { parameter, uniformParameter, normalParameter } from "./init.js";
export { getRuntime } from "./memory.js";
export { add, sub, mul, scale, addScalar, reshape, sum, mean } from "./ops/elementwise.js";
export { sin, biasSin, cos, tanh, sigmoid, relu, leakyRelu, gelu, activation, type ActivationName } from "./ops/activations.js";
export { linear } from "./ops/linear.js";
export { conv2d, convTranspose2d, type Conv2dOptions, type FusedConv2dOptions, type ConvTranspose2dOptions } from "./ops/conv.js";
export { globalAvgPool } from "./ops/pool.js";
export { zooDropout } from "./ops/dropout.js";
export { scatterRows } from "./ops/rows.js";
export { crossEntropy, mseLoss } from "./ops/losses.js";
export { LinearLayer, ConvTranspose2dLayer, parametersOf, type HasParameters, type ConvTransposeSpec } from "./layers.js";
