// The ResNet family: torchvision's ResNet-18 layout (BasicBlocks [2, 2, 2, 2], a downsampling
// 1x1 convolution in the shortcut where a stage changes size, global average pooling, fc) with
// a configurable width (64 is torchvision's) and two stems: CIFAR-style (3x3 conv, no max-pool)
// for 32x32 inputs and torchvision's (7x7 stride-2 conv, then 3x3 stride-2 max-pool) for 64x64
// and up. BatchNorm runs in eval mode, so it is an affine map per channel: its running
// statistics are folded into the convolution before it (foldBatchNorm), and the family's
// parameters are the folded ones. Evaluated zoo-batched: parameters stacked over networks.
import { add, conv2d, globalAvgPool, linear, maxPool2d, relu, ShapeError, Tensor } from "../engine/index.js";
import { ArchitectureError, fieldsOf } from "./spec-check.js";
import { withHiddenReadout } from "./hidden-readout.js";

export interface ResNetArchitecture {
  inChannels: number;
  /** Channels of the first stage; later stages double it (64 in torchvision's ResNet-18). */
  width: number;
  stem: "cifar" | "imagenet";
  /** BasicBlocks per stage ([2, 2, 2, 2] for ResNet-18). */
  blocks: number[];
  classes: number;
}

export const RESNET18_BLOCKS: readonly number[] = [2, 2, 2, 2];

export function resnet18(width = 64, stem: ResNetArchitecture["stem"] = "cifar", classes = 10, inChannels = 3): ResNetArchitecture {
  return { inChannels, width, stem, blocks: [...RESNET18_BLOCKS], classes };
}

/** A ResNet as a zoo records it: the architecture and the side of its square inputs. */
export type SizedResNetArchitecture = ResNetArchitecture & { inputSize: number };

/** A ResNet architecture as recorded (zoo.json), checked: an ArchitectureError names the bad field. */
export function parseResNetArchitecture(spec: unknown, path = "architecture"): SizedResNetArchitecture {
  const f = fieldsOf(spec, path);
  const arch: SizedResNetArchitecture = {
    inChannels: f.int("inChannels", 1), width: f.int("width", 1), stem: f.choice("stem", ["cifar", "imagenet"] as const),
    blocks: f.ints("blocks", 1), classes: f.int("classes", 1), inputSize: f.int("inputSize", 1),
  };
  if (arch.blocks.length === 0) throw new ArchitectureError(`${path}.blocks is empty: a ResNet has at least one stage`);
  const min = arch.stem === "cifar" ? 2 ** (arch.blocks.length - 1) : 4 * 2 ** (arch.blocks.length - 1);
  if (arch.inputSize < min) throw new ArchitectureError(`${path}.inputSize ${arch.inputSize} is smaller than the ${min} pixels its ${arch.blocks.length} stages halve`);
  return arch;
}

/** Values one network's layers hold for one image of side `size` (every convolution's output, the logits). */
export function resnetActivationsPerImage(arch: ResNetArchitecture, size: number): number {
  let side = size, n = 0;
  for (const c of resnetConvs(arch)) {
    const inSide = c.name.endsWith("downsample.0") ? side * c.stride : side;
    const out = Math.floor((inSide + 2 * c.padding - c.kernel) / c.stride) + 1;
    n += c.outChannels * out * out;
    if (!c.name.endsWith("downsample.0")) side = c.name === "conv1" && arch.stem === "imagenet" ? Math.floor((out - 1) / 2) + 1 : out;
  }
  return n + arch.classes;
}

/** One convolution of the network with its folded BatchNorm: where it sits and its geometry. */
export interface ResNetConv {
  /** Parameter prefix (torchvision's module name): "conv1", "layer2.0.conv1", "layer2.0.downsample.0". */
  name: string;
  /** torchvision's BatchNorm after it: "bn1", "layer2.0.bn1", "layer2.0.downsample.1". */
  bn: string;
  inChannels: number;
  outChannels: number;
  kernel: number;
  stride: number;
  padding: number;
}

/** Every convolution in forward order (stem, then each block's conv1, conv2, downsample). */
export function resnetConvs(arch: ResNetArchitecture): ResNetConv[] {
  const convs: ResNetConv[] = [];
  const stemKernel = arch.stem === "cifar" ? 3 : 7;
  convs.push({ name: "conv1", bn: "bn1", inChannels: arch.inChannels, outChannels: arch.width, kernel: stemKernel, stride: arch.stem === "cifar" ? 1 : 2, padding: stemKernel >> 1 });
  let c = arch.width;
  arch.blocks.forEach((n, s) => {
    const out = arch.width * 2 ** s;
    for (let b = 0; b < n; b++) {
      const stride = b === 0 && s > 0 ? 2 : 1;
      const p = `layer${s + 1}.${b}`;
      convs.push({ name: `${p}.conv1`, bn: `${p}.bn1`, inChannels: c, outChannels: out, kernel: 3, stride, padding: 1 });
      convs.push({ name: `${p}.conv2`, bn: `${p}.bn2`, inChannels: out, outChannels: out, kernel: 3, stride: 1, padding: 1 });
      if (stride !== 1 || c !== out) {
        convs.push({ name: `${p}.downsample.0`, bn: `${p}.downsample.1`, inChannels: c, outChannels: out, kernel: 1, stride, padding: 0 });
      }
      c = out;
    }
  });
  return convs;
}

/** The folded parameters of one network: each convolution's weight and bias, then fc. */
export function resnetParameterShapes(arch: ResNetArchitecture): [string, number[]][] {
  const out: [string, number[]][] = [];
  for (const c of resnetConvs(arch)) {
    out.push([`${c.name}.weight`, [c.outChannels, c.inChannels, c.kernel, c.kernel]], [`${c.name}.bias`, [c.outChannels]]);
  }
  const last = arch.width * 2 ** (arch.blocks.length - 1);
  out.push(["fc.weight", [arch.classes, last]], ["fc.bias", [arch.classes]]);
  return out;
}

/** BatchNorm's eval-mode statistics and affine parameters (torchvision's names). */
export interface BatchNormState {
  weight: ArrayLike<number>;
  bias: ArrayLike<number>;
  runningMean: ArrayLike<number>;
  runningVar: ArrayLike<number>;
  eps?: number;
}

/**
 * Folds an eval-mode BatchNorm into the convolution before it: with s = gamma / sqrt(var + eps),
 * w'[o] = s[o] w[o] and b'[o] = beta[o] + s[o] (b[o] - mean[o]) (b = 0 for torchvision's
 * bias-free convolutions). Computed in double precision, rounded once to float32.
 */
export function foldBatchNorm(weight: ArrayLike<number>, outChannels: number, bn: BatchNormState, convBias?: ArrayLike<number>): { weight: Float32Array; bias: Float32Array } {
  const per = weight.length / outChannels;
  if (!Number.isInteger(per)) throw new RangeError(`foldBatchNorm: ${weight.length} weights do not split into ${outChannels} output channels`);
  const eps = bn.eps ?? 1e-5;
  for (const [name, v] of [["weight", bn.weight], ["bias", bn.bias], ["running_mean", bn.runningMean], ["running_var", bn.runningVar]] as const) {
    if (v.length !== outChannels) throw new RangeError(`foldBatchNorm: BatchNorm ${name} has ${v.length} entries, the convolution ${outChannels} output channels`);
  }
  const w = new Float32Array(weight.length), b = new Float32Array(outChannels);
  for (let o = 0; o < outChannels; o++) {
    if (!(bn.runningVar[o] + eps > 0)) throw new RangeError(`foldBatchNorm: running_var[${o}] + eps = ${bn.runningVar[o] + eps} is not positive`);
    const s = bn.weight[o] / Math.sqrt(bn.runningVar[o] + eps);
    for (let i = 0; i < per; i++) w[o * per + i] = s * weight[o * per + i];
    b[o] = bn.bias[o] + s * ((convBias?.[o] ?? 0) - bn.runningMean[o]);
  }
  return { weight: w, bias: b };
}

/**
 * A torchvision ResNet state dict (conv weights, BatchNorm weight/bias/running_mean/running_var,
 * fc) as the family's folded parameters. `get` returns a tensor's values and shape by name, or
 * undefined; a missing or mis-shaped entry is an error naming it.
 */
export function foldTorchvisionResNet(arch: ResNetArchitecture, get: (name: string) => { data: ArrayLike<number>; shape: readonly number[] } | undefined, eps = 1e-5): Map<string, Float32Array> {
  const need = (name: string, shape: readonly number[]) => {
    const t = get(name);
    if (t === undefined) throw new RangeError(`state dict has no ${name}`);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new RangeError(`state dict entry ${name} has shape [${t.shape.join(",")}], this architecture's is [${shape.join(",")}]`);
    }
    return t.data;
  };
  const out = new Map<string, Float32Array>();
  for (const c of resnetConvs(arch)) {
    const w = need(`${c.name}.weight`, [c.outChannels, c.inChannels, c.kernel, c.kernel]);
    const o = [c.outChannels];
    const f = foldBatchNorm(w, c.outChannels, {
      weight: need(`${c.bn}.weight`, o), bias: need(`${c.bn}.bias`, o),
      runningMean: need(`${c.bn}.running_mean`, o), runningVar: need(`${c.bn}.running_var`, o), eps,
    });
    out.set(`${c.name}.weight`, f.weight);
    out.set(`${c.name}.bias`, f.bias);
  }
  const last = arch.width * 2 ** (arch.blocks.length - 1);
  out.set("fc.weight", Float32Array.from(need("fc.weight", [arch.classes, last])));
  out.set("fc.bias", Float32Array.from(need("fc.bias", [arch.classes])));
  return out;
}

/**
 * B networks on images x ([K, C, H, W] shared, or [B, K, C, H, W]) -> logits [B, K, classes].
 * params: the folded parameters stacked over networks ([B, ...shape] by name).
 */
export function resnetForward(arch: ResNetArchitecture, params: ReadonlyMap<string, Tensor>, x: Tensor, onHidden?: (layer: number, h: Tensor) => void): Tensor {
  const get = (name: string): Tensor => {
    const t = params.get(name);
    if (t === undefined) throw new ShapeError("resnetForward", `missing parameter ${name}`);
    return t;
  };
  const convs = new Map(resnetConvs(arch).map((c) => [c.name, c]));
  const conv = (h: Tensor, name: string, act: "relu" | "none") => {
    const c = convs.get(name)!;
    return conv2d(h, get(`${name}.weight`), get(`${name}.bias`), { stride: c.stride, padding: c.padding, activation: act });
  };
  let h = conv(x, "conv1", "relu");
  if (arch.stem === "imagenet") h = maxPool2d(h, 3, 2, 1);
  let read = 0;
  onHidden?.(read++, h);
  arch.blocks.forEach((n, s) => {
    for (let b = 0; b < n; b++) {
      const p = `layer${s + 1}.${b}`;
      const y = conv(conv(h, `${p}.conv1`, "relu"), `${p}.conv2`, "none");
      const shortcut = convs.has(`${p}.downsample.0`) ? conv(h, `${p}.downsample.0`, "none") : h;
      h = relu(add(y, shortcut));
      onHidden?.(read++, h);
    }
  });
  return linear(globalAvgPool(h), get("fc.weight"), get("fc.bias"));
}

/** Layers the hidden readout reads: the stem's output and every block's. */
export function resnetHiddenLayers(arch: ResNetArchitecture): number {
  return 1 + arch.blocks.reduce((a, b) => a + b, 0);
}

/** The hidden readout (hidden-readout.ts): logits and the stem's and every block's maps, [B, K, classes + slots * CHANNEL_SUMMARY_STATS]. */
export function resnetForwardHidden(arch: ResNetArchitecture, params: ReadonlyMap<string, Tensor>, x: Tensor, slots: number): Tensor {
  const layers: Tensor[] = [];
  const out = resnetForward(arch, params, x, (_, h) => layers.push(h));
  return withHiddenReadout(out, layers, slots);
}

/** Forward multiply-adds x 2 of one network on one image of side `size` (convolutions and fc). */
export function resnetFlopsPerImage(arch: ResNetArchitecture, size: number): number {
  let side = size, f = 0;
  for (const c of resnetConvs(arch)) {
    const inSide = c.name.endsWith("downsample.0") ? side * c.stride : side;
    const out = Math.floor((inSide + 2 * c.padding - c.kernel) / c.stride) + 1;
    f += 2 * out * out * c.outChannels * c.inChannels * c.kernel * c.kernel;
    if (!c.name.endsWith("downsample.0")) {
      side = out;
      if (c.name === "conv1" && arch.stem === "imagenet") side = Math.floor((side + 2 - 3) / 2) + 1;
    }
  }
  return f + 2 * arch.classes * arch.width * 2 ** (arch.blocks.length - 1);
}
