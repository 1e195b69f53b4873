// Parameter-holding layers with PyTorch's default initialisation and parameter names, so
// state dicts map one to one.
import { linear } from "./ops/linear.js";
import { convTranspose2d } from "./ops/conv.js";
import { uniformParameter } from "./init.js";
import type { Rng } from "./random.js";
import type { Tensor } from "./tensor.js";

/** Anything with named parameters, listed in a stable order. */
export interface HasParameters {
  namedParameters(prefix?: string): [string, Tensor][];
}

export function parametersOf(m: HasParameters): Tensor[] {
  return m.namedParameters().map(([, t]) => t);
}

/** nn.Linear: weight [out, in], bias [out], both U(-1/sqrt(in), 1/sqrt(in)). */
export class LinearLayer implements HasParameters {
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  constructor(readonly inFeatures: number, readonly outFeatures: number, rng: Rng, opts: { bias?: boolean } = {}) {
    const bound = 1 / Math.sqrt(inFeatures);
    this.weight = uniformParameter([outFeatures, inFeatures], bound, rng);
    this.bias = opts.bias === false ? null : uniformParameter([outFeatures], bound, rng);
  }

  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }

  namedParameters(prefix = ""): [string, Tensor][] {
    const out: [string, Tensor][] = [[`${prefix}weight`, this.weight]];
    if (this.bias !== null) out.push([`${prefix}bias`, this.bias]);
    return out;
  }
}

export interface ConvTransposeSpec {
  inChannels: number;
  outChannels: number;
  kernel: number;
  stride: number;
  padding: number;
}

/** nn.ConvTranspose2d: weight [Cin, Cout, k, k], bias [Cout]; fan_in = Cout * k * k as PyTorch computes it. */
export class ConvTranspose2dLayer implements HasParameters {
  readonly weight: Tensor;
  readonly bias: Tensor;

  constructor(readonly spec: ConvTransposeSpec, rng: Rng) {
    const { inChannels, outChannels, kernel } = spec;
    const bound = 1 / Math.sqrt(outChannels * kernel * kernel);
    this.weight = uniformParameter([inChannels, outChannels, kernel, kernel], bound, rng);
    this.bias = uniformParameter([outChannels], bound, rng);
  }

  forward(x: Tensor): Tensor {
    return convTranspose2d(x, this.weight, this.bias, { stride: this.spec.stride, padding: this.spec.padding });
  }

  namedParameters(prefix = ""): [string, Tensor][] {
    return [[`${prefix}weight`, this.weight], [`${prefix}bias`, this.bias]];
  }
}
