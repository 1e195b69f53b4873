// A generic CNN family (the CNN Wild Park kind): n conv layers, each with its own channels,
// kernel, stride, padding and activation, optional residual connections (Neural Graphs' rule),
// global average pooling and a Linear to the classes. Evaluated zoo-batched over networks of one
// architecture; parameters stacked over networks under the Wild Park names
// layers.{i}.weight [B, O, C, k, k], layers.{i}.bias [B, O], fc.weight [B, classes, C], fc.bias.
import { activation, addLeadingChannels, conv2d, globalAvgPool, linear, ShapeError, type ActivationName, type Tensor } from "../engine/index.js";
import { ArchitectureError, fieldsOf } from "./spec-check.js";
import { withHiddenReadout } from "./hidden-readout.js";

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
  /**
   * Neural Graphs' residual wiring, one entry per layer: residual[i] = j >= 0 adds the activated
   * output of earlier layer j to the first min(channels_j, channels_i) channels of layer i's
   * convolution output, before layer i's activation; -1 adds nothing. Absent (or false, as zoos
   * of probegen 0.1 record it): no residuals.
   */
  residual?: number[] | false;
  classes: number;
}

export const CNN_ACTIVATION_NAMES: readonly CnnActivation[] = ["relu", "gelu", "tanh", "sigmoid", "leaky_relu", "sin", "none"];

/** A CNN architecture as recorded (zoo.json), checked: an ArchitectureError names the bad field. */
export function parseCnnArchitecture(spec: unknown, path = "architecture"): CnnArchitecture {
  const f = fieldsOf(spec, path);
  const layers = f.list("layers").map((l, i): CnnLayerSpec => {
    const g = fieldsOf(l, `${path}.layers[${i}]`);
    return {
      channels: g.int("channels", 1), kernel: g.int("kernel", 1), stride: g.int("stride", 1), padding: g.int("padding", 0),
      activation: g.choice("activation", CNN_ACTIVATION_NAMES), ...(g.optional("w0") ? { w0: g.num("w0", true) } : {}),
    };
  });
  if (layers.length === 0) throw new ArchitectureError(`${path}.layers is empty: a CNN has at least one convolution`);
  const residual = f.record.residual;
  const arch: CnnArchitecture = {
    inChannels: f.int("inChannels", 1), layers,
    ...(residual === undefined || residual === false ? { residual: residual as false | undefined } : { residual: f.ints("residual", -1) }),
    classes: f.int("classes", 1),
  };
  try {
    residualSources(arch);
  } catch (e) {
    throw new ArchitectureError(`${path}.${(e as Error).message}`);
  }
  return arch;
}

/** The residual source of each layer (-1 for none), checked against the layers. */
export function residualSources(arch: CnnArchitecture): number[] {
  const r = arch.residual;
  if (r === undefined || r === false) return arch.layers.map(() => -1);
  if (!Array.isArray(r) || r.length !== arch.layers.length) throw new RangeError(`residual ${JSON.stringify(r)} must have one entry per layer (${arch.layers.length})`);
  r.forEach((j, i) => {
    if (!Number.isInteger(j) || j < -1 || j >= i) throw new RangeError(`residual[${i}] = ${j}: a layer's residual must come from an earlier layer (or be -1)`);
  });
  return r;
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
  const residual = residualSources(arch);
  const sources = new Map<number, Tensor>();
  let h = x;
  arch.layers.forEach((l, i) => {
    // ReLU is applied inside the conv kernel, unless a residual must be added before it.
    const fused = l.activation === "relu" && residual[i] < 0;
    let y = conv2d(h, get(`layers.${i}.weight`), get(`layers.${i}.bias`), { stride: l.stride, padding: l.padding, activation: fused ? "relu" : "none" });
    if (residual[i] >= 0) {
      const r = sources.get(residual[i])!;
      if (r.shape[r.rank - 1] !== y.shape[y.rank - 1] || r.shape[r.rank - 2] !== y.shape[y.rank - 2]) {
        throw new ShapeError("cnnForward", `layer ${i}'s residual from layer ${residual[i]} is ${r.shape[r.rank - 2]}x${r.shape[r.rank - 1]}, its own output ${y.shape[y.rank - 2]}x${y.shape[y.rank - 1]}`);
      }
      y = addLeadingChannels(y, r);
    }
    if (!fused) y = activation(y, l.activation, { w0: l.w0 ?? 1 });
    if (opts.afterActivation !== undefined) y = opts.afterActivation(i, y);
    if (residual.includes(i)) sources.set(i, y);
    h = y;
  });
  return linear(globalAvgPool(h), get("fc.weight"), get("fc.bias"));
}

/**
 * The hidden readout (hidden-readout.ts): logits and every conv layer's activated maps,
 * [B, K, classes + slots * CHANNEL_SUMMARY_STATS].
 */
export function cnnForwardHidden(arch: CnnArchitecture, params: ReadonlyMap<string, Tensor>, x: Tensor, slots: number): Tensor {
  const layers: Tensor[] = [];
  const out = cnnForward(arch, params, x, { afterActivation: (_, h) => { layers.push(h); return h; } });
  return withHiddenReadout(out, layers, slots);
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
