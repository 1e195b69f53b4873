// The weight-statistics baseline (StatNN, Unterthiner et al. 2020): each parameter tensor of a
// network summarised by the mean, variance and 0/25/50/75/100% quantiles of its values; the
// features are standardised with the training split's mean and deviation and fed to the head.
import type { ZooData } from "./zoo-data.js";

export const STATISTICS = ["mean", "variance", "q0", "q25", "q50", "q75", "q100"] as const;

function quantile(sorted: Float32Array, p: number): number {
  const x = p * (sorted.length - 1), i = Math.floor(x), f = x - i;
  return i + 1 < sorted.length ? sorted[i] * (1 - f) + sorted[i + 1] * f : sorted[i];
}

/** Features of every network in the zoo, [count, tensors * 7], in parameter order. */
export function weightStatistics(data: ZooData): { features: Float32Array; dim: number } {
  const tensors = [...data.params.values()];
  const count = tensors[0].shape[0];
  const dim = tensors.length * STATISTICS.length;
  const features = new Float32Array(count * dim);
  tensors.forEach((t, ti) => {
    const per = t.size / count;
    const buf = new Float32Array(per);
    for (let n = 0; n < count; n++) {
      buf.set(t.data.subarray(n * per, (n + 1) * per));
      let s = 0;
      for (let i = 0; i < per; i++) s += buf[i];
      const mean = s / per;
      let v = 0;
      for (let i = 0; i < per; i++) v += (buf[i] - mean) ** 2;
      buf.sort();
      const o = n * dim + ti * STATISTICS.length;
      features.set([mean, v / per, buf[0], quantile(buf, 0.25), quantile(buf, 0.5), quantile(buf, 0.75), buf[per - 1]], o);
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
