// The probing head: an MLP over the concatenated probe responses of one network.
// Default: Linear(in, 256), ReLU, 4 x [Linear(256, 256), ReLU], Linear(256, out).
import { LinearLayer, relu, type HasParameters, type Rng, type Tensor } from "../engine/index.js";

export interface HeadOptions {
  /** Hidden width (256). */
  width?: number;
  /** Number of Linear layers, at least 1 (6). */
  depth?: number;
}

export class MlpHead implements HasParameters {
  readonly layers: LinearLayer[];

  constructor(readonly inFeatures: number, readonly outFeatures: number, rng: Rng, opts: HeadOptions = {}) {
    const width = opts.width ?? 256;
    const depth = opts.depth ?? 6;
    if (!Number.isInteger(depth) || depth < 1) throw new RangeError(`head depth must be a positive integer, got ${depth}`);
    if (!Number.isInteger(inFeatures) || inFeatures < 1) throw new RangeError(`head input size must be a positive integer, got ${inFeatures}`);
    this.layers = [];
    for (let i = 0; i < depth; i++) {
      const inF = i === 0 ? inFeatures : width;
      const outF = i === depth - 1 ? outFeatures : width;
      this.layers.push(new LinearLayer(inF, outF, rng));
    }
  }

  /** x [N, in] -> [N, out] */
  forward(x: Tensor): Tensor {
    let h = x;
    this.layers.forEach((layer, i) => {
      h = layer.forward(h);
      if (i < this.layers.length - 1) h = relu(h);
    });
    return h;
  }

  /** Forward multiply-adds for one input row. */
  flopsPerRow(): number {
    return this.layers.reduce((s, l) => s + 2 * l.inFeatures * l.outFeatures, 0);
  }

  namedParameters(prefix = "head."): [string, Tensor][] {
    return this.layers.flatMap((l, i) => l.namedParameters(`${prefix}${i}.`));
  }
}
