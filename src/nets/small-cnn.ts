// The Small CNN Zoo architecture (Unterthiner et al. 2020), zoo-batched:
// 3 x [Conv2d(3x3, stride 2), activation], global average pooling, Linear(16, 10).
// Padding 1 as the ProbeGen code re-implements it (the original TF models use 'valid').
// Parameters are stacked over networks: conv{i}.weight [B, O, C, 3, 3], conv{i}.bias [B, O],
// fc.weight [B, 10, 16], fc.bias [B, 10].
import { activation, conv2d, globalAvgPool, linear, ShapeError, type ActivationName, type Tensor } from "../engine/index.js";

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

export function smallCnnParameterShapes(arch: SmallCnnArchitecture): [string, number[]][] {
  const out: [string, number[]][] = [];
  let c = arch.inChannels;
  arch.channels.forEach((o, i) => {
    out.push([`conv${i}.weight`, [o, c, arch.kernel, arch.kernel]], [`conv${i}.bias`, [o]]);
    c = o;
  });
  out.push(["fc.weight", [arch.classes, c]], ["fc.bias", [arch.classes]]);
  return out;
}

/** B networks on images x ([K, C, H, W] shared, or [B, K, C, H, W]) -> logits [B, K, classes]. */
export function smallCnnForward(arch: SmallCnnArchitecture, params: ReadonlyMap<string, Tensor>, x: Tensor): Tensor {
  const get = (name: string): Tensor => {
    const t = params.get(name);
    if (t === undefined) throw new ShapeError("smallCnnForward", `missing parameter ${name}`);
    return t;
  };
  let h = x;
  arch.channels.forEach((_, i) => {
    h = conv2d(h, get(`conv${i}.weight`), get(`conv${i}.bias`), { stride: arch.stride, padding: arch.padding });
    h = activation(h, arch.activation);
  });
  return linear(globalAvgPool(h), get("fc.weight"), get("fc.bias"));
}
