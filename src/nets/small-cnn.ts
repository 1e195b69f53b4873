// The Small CNN Zoo architecture (Unterthiner et al. 2020): 3 x [Conv2d(3x3, stride 2),
// activation], global average pooling, Linear(16, 10) — one case of the generic CNN family,
// under the Small CNN Zoo's own parameter names: conv{i}.weight [B, O, C, 3, 3],
// conv{i}.bias [B, O], fc.weight [B, 10, 16], fc.bias [B, 10]. Padding 1 as the ProbeGen code
// re-implements it (the original TF models use 'valid').
import type { ActivationName, Tensor } from "../engine/index.js";
import { cnnForward, cnnParameterShapes, type CnnArchitecture, type CnnForwardOptions } from "./cnn.js";

export interface SmallCnnArchitecture {
  inChannels: number;
  channels: number[];
  kernel: number;
  stride: number;
  padding: number;
  classes: number;
  activation: ActivationName;
}

export const SMALL_CNN_ZOO: SmallCnnArchitecture = {
  inChannels: 1, channels: [16, 16, 16], kernel: 3, stride: 2, padding: 1, classes: 10, activation: "relu",
};

/** The same network as a generic CNN. */
export function smallCnnAsCnn(arch: SmallCnnArchitecture): CnnArchitecture {
  return {
    inChannels: arch.inChannels,
    layers: arch.channels.map((channels) => ({ channels, kernel: arch.kernel, stride: arch.stride, padding: arch.padding, activation: arch.activation })),
    residual: false,
    classes: arch.classes,
  };
}

const toSmall = (name: string) => name.replace(/^layers\.(\d+)\./, "conv$1.");
const toGeneric = (name: string) => name.replace(/^conv(\d+)\./, "layers.$1.");

export function smallCnnParameterShapes(arch: SmallCnnArchitecture): [string, number[]][] {
  return cnnParameterShapes(smallCnnAsCnn(arch)).map(([n, s]) => [toSmall(n), s]);
}

/** B networks on images x ([K, C, H, W] shared, or [B, K, C, H, W]) -> logits [B, K, classes]. */
export function smallCnnForward(arch: SmallCnnArchitecture, params: ReadonlyMap<string, Tensor>, x: Tensor, opts: CnnForwardOptions = {}): Tensor {
  return cnnForward(smallCnnAsCnn(arch), new Map([...params].map(([n, t]) => [toGeneric(n), t])), x, opts);
}
