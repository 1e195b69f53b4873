// The Small CNN Zoo architecture (Unterthiner et al. 2020) as the generic CNN family: 3 x [Conv
// 16 channels, 3x3, stride 2, activation], global average pooling, Linear(16, 10), on grayscale
// 32x32 inputs; 4,970 parameters under the generic names (layers.{i}.weight [16, C, 3, 3],
// layers.{i}.bias, fc.weight [10, 16], fc.bias). Padding 1, as the ProbeGen code re-implements the
// zoo (the original TF models use 'valid': `zoo import small-cnn-zoo` offers both).
import type { ActivationName } from "../engine/index.js";
import { CNN_INPUT_SIZE } from "../data/cnn-input.js";
import type { SizedCnnArchitecture } from "./family.js";

export function smallCnnZooArchitecture(activation: ActivationName = "relu", padding = 1): SizedCnnArchitecture {
  return {
    inChannels: 1,
    layers: [0, 1, 2].map(() => ({ channels: 16, kernel: 3, stride: 2, padding, activation })),
    residual: false,
    classes: 10,
    inputSize: CNN_INPUT_SIZE,
  };
}
