// A generic CNN family (the CNN Wild Park kind): n conv layers, each with its own channels,
// kernel, stride, padding and activation, optional residual connections where a layer keeps its
// input's shape, global average pooling and a Linear to the classes. Evaluated zoo-batched over
// networks of one architecture; parameters stacked over networks under the Wild Park names
// layers.{i}.weight [B, O, C, k, k], layers.{i}.bias [B, O], fc.weight [B, classes, C], fc.bias.
import { activation, add, conv2d, globalAvgPool, linear, ShapeError, type ActivationName, type Tensor } from "../engine/index.js";

export type CnnActivation = ActivationName;

export interface CnnLayerSpec {
  channels: number;
  kernel: number;
  stride: number;
  padding: number;
  activation: CnnActivation;
  /** Frequency of a "sin" activation (1). */
  w0?: number;
}

export interface CnnArchitecture {
  inChannels: number;
  layers: CnnLayerSpec[];
  /** Add each layer's input to its output when their shapes agree. */
  residual: boolean;
  classes: number;
}

export function cnnParameterShapes(arch: CnnArchitecture): [string, number[]][] {
  const out: [string, number[]][] = [];
  let c = arch.inChannels;
  arch.layers.forEach((l, i) => {
    out.push([`layers.${i}.weight`, [l.channels, c, l.kernel, l.kernel]], [`layers.${i}.bias`, [l.channels]]);
    c = l.channels;
  });
  out.push(["fc.weight", [arch.classes, c]], ["fc.bias", [arch.classes]]);
  return out;
}

export interface CnnForwardOptions {
  /** Applied to each conv layer's activated output (before a residual add), e.g. dropout in training. */
  afterActivation?: (layer: number, h: Tensor) => Tensor;
}

/** B networks on images x ([K, C, H, W] shared, or [B, K, C, H, W]) -> logits [B, K, classes]. */
export function cnnForward(arch: CnnArchitecture, params: ReadonlyMap<string, Tensor>, x: Tensor, opts: CnnForwardOptions = {}): Tensor {
  const get = (name: string): Tensor => {
    const t = params.get(name);
    if (t === undefined) throw new ShapeError("cnnForward", `missing parameter ${name}`);
    return t;
  };
  let h = x;
  arch.layers.forEach((l, i) => {
    // ReLU is applied inside the conv kernel; other activations are ops of their own.
    const fused = l.activation === "relu";
    let y = conv2d(h, get(`layers.${i}.weight`), get(`layers.${i}.bias`), { stride: l.stride, padding: l.padding, activation: fused ? "relu" : "none" });
    if (!fused) y = activation(y, l.activation, { w0: l.w0 ?? 1 });
    if (opts.afterActivation !== undefined) y = opts.afterActivation(i, y);
    if (arch.residual && h.rank === y.rank && h.shape.every((d, j) => d === y.shape[j])) y = add(y, h);
    h = y;
  });
  return linear(globalAvgPool(h), get("fc.weight"), get("fc.bias"));
}

/** The same architecture with every layer's activation set to `activation`. */
export function withActivation<A extends CnnArchitecture>(arch: A, activation: CnnActivation): A {
  return { ...arch, layers: arch.layers.map((l) => ({ ...l, activation })) };
}

/** Output spatial size of each layer for an input of side `size`. */
export function cnnFeatureSizes(arch: CnnArchitecture, size: number): number[] {
  const sizes: number[] = [];
  let s = size;
  for (const l of arch.layers) {
    s = Math.floor((s + 2 * l.padding - l.kernel) / l.stride) + 1;
    sizes.push(s);
  }
  return sizes;
}

/** Forward FLOPs of one network on one image of side `size` (multiply-adds x 2, plus activations). */
export function cnnFlopsPerImage(arch: CnnArchitecture, size: number): number {
  let c = arch.inChannels, f = 0;
  const sizes = cnnFeatureSizes(arch, size);
  arch.layers.forEach((l, i) => {
    const p = sizes[i] * sizes[i];
    f += 2 * p * l.channels * c * l.kernel * l.kernel + 2 * p * l.channels;
    c = l.channels;
  });
  return f + sizes[sizes.length - 1] ** 2 * c + 2 * c * arch.classes;
}
