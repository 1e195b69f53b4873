// The weight-statistics baseline (StatNN, Unterthiner et al. 2020): each parameter tensor of a
// network summarised by the mean, variance and 0/25/50/75/100% quantiles of its values; the
// features are standardised with the training split's mean and deviation and fed to the head.
// A representation beside the probe-based one: nothing in it trains.
import { isBlackBoxSpec } from "../nets/onnx-black-box.js";
import { Tensor } from "../engine/index.js";
import type { ZooArchitecture } from "../zoo/format.js";
import type { Representation } from "./representation.js";
import type { ZooData } from "./zoo-data.js";

export const STATISTICS = ["mean", "variance", "q0", "q25", "q50", "q75", "q100"] as const;

function quantile(sorted: Float32Array, p: number): number {
  const x = p * (sorted.length - 1), i = Math.floor(x), f = x - i;
  return i + 1 < sorted.length ? sorted[i] * (1 - f) + sorted[i + 1] * f : sorted[i];
}

/**
 * The parameter names features are laid out by: those of the architecture with the most
 * parameters, then any other names. In a zoo of mixed depths a network lacking a parameter gets
 * zeros in its place, so shallower networks are padded to the deepest, as Neural Graphs' StatNN.
 */
export function statisticSlots(architectures: readonly ZooArchitecture[]): string[] {
  const widest = [...architectures].sort((a, b) => b.parameters.length - a.parameters.length)[0];
  const names = widest.parameters.map((p) => p.name);
  for (const a of architectures) for (const p of a.parameters) if (!names.includes(p.name)) names.push(p.name);
  return names;
}

/** Features of every network in the zoo, [count, slots * 7], in slot order. */
export function weightStatistics(data: ZooData): { features: Float32Array; dim: number } {
  const slots = statisticSlots(data.architectures);
  const count = data.architectureOf.length;
  const dim = slots.length * STATISTICS.length;
  const features = new Float32Array(count * dim);
  data.groups.forEach((group, k) => {
    const members: number[] = [];
    for (let i = 0; i < count; i++) if (data.architectureOf[i] === k) members.push(i);
    for (const [name, t] of group) {
      const ti = slots.indexOf(name);
      const per = t.size / Math.max(1, members.length);
      const buf = new Float32Array(per);
      members.forEach((n, row) => {
        buf.set(t.data.subarray(row * per, (row + 1) * per));
        let s = 0;
        for (let i = 0; i < per; i++) s += buf[i];
        const mean = s / per;
        let v = 0;
        for (let i = 0; i < per; i++) v += (buf[i] - mean) ** 2;
        buf.sort();
        const o = n * dim + ti * STATISTICS.length;
        features.set([mean, v / per, buf[0], quantile(buf, 0.25), quantile(buf, 0.5), quantile(buf, 0.75), buf[per - 1]], o);
      });
    }
  });
  return { features, dim };
}

/** Comparisons and arithmetic to summarise one network (sorting dominates): an estimate. */
export function weightStatisticsFlops(shapes: number[][]): number {
  return shapes.reduce((s, shape) => {
    const n = shape.reduce((a, b) => a * b, 1);
    return s + Math.ceil(n * Math.log2(Math.max(2, n))) + 4 * n;
  }, 0);
}

export class WeightStatistics implements Representation {
  readonly features: number;
  readonly readout = "logits";
  readonly start = "random";
  private readonly values: Float32Array;
  /** Standardisation from the training split: saved with checkpoints, never trained. */
  private readonly mean: Tensor;
  private readonly std: Tensor;
  private readonly flops: number;

  constructor(data: ZooData) {
    const blackBox = data.architectureOf.filter((k) => isBlackBoxSpec(data.architectures[k].architecture)).length;
    if (blackBox > 0) throw new RangeError(`${data.manifestFile}: ${blackBox} of the zoo's networks are black-box ONNX models, whose weights the engine does not read; statnn needs every network's weights: train with fixed probes (--method uniform, dead-leaves or data)`);
    const { features, dim } = weightStatistics(data);
    this.values = features;
    this.features = dim;
    const mean = new Float32Array(dim), std = new Float32Array(dim);
    const train = data.splits.train;
    for (const i of train) for (let j = 0; j < dim; j++) mean[j] += features[i * dim + j] / train.length;
    for (const i of train) for (let j = 0; j < dim; j++) std[j] += (features[i * dim + j] - mean[j]) ** 2 / train.length;
    for (let j = 0; j < dim; j++) std[j] = Math.sqrt(std[j]) || 1;
    this.mean = Tensor.from(mean, [dim], { persistent: true });
    this.std = Tensor.from(std, [dim], { persistent: true });
    const count = data.architectureOf.length;
    this.flops = data.architectures.reduce((s, a, k) => {
      const n = data.architectureOf.reduce((c, x) => c + (x === k ? 1 : 0), 0);
      return s + (weightStatisticsFlops(a.parameters.map((p) => p.shape)) * n) / Math.max(1, count);
    }, 0);
  }

  represent(_data: ZooData, indices: ArrayLike<number>): Tensor {
    const dim = this.features;
    const x = Tensor.empty([indices.length, dim]);
    for (let r = 0; r < indices.length; r++) {
      for (let j = 0; j < dim; j++) x.data[r * dim + j] = (this.values[indices[r] * dim + j] - this.mean.data[j]) / this.std.data[j];
    }
    return x;
  }

  flopsPerNetwork(): number {
    return this.flops;
  }

  networksPerPass(): number {
    return 256;
  }

  trainable(): [string, Tensor][] {
    return [];
  }

  saved(): [string, Tensor][] {
    return [["statnn.mean", this.mean], ["statnn.std", this.std]];
  }

  /** Statistics fit any batch in one pass, and share no probes. */
  stepPasses(_data: ZooData, indices: ArrayLike<number>): number[][] {
    return [Array.from(indices, (_, i) => i)];
  }

  stepProbes(): null {
    return null;
  }

  representOn(data: ZooData, indices: ArrayLike<number>, _probes: Tensor | null): Tensor {
    return this.represent(data, indices);
  }

}
