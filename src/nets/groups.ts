// Zoos that mix architectures: each group of networks of equal architecture is evaluated as one
// zoo batch, and the groups' output rows are put back in the networks' order.
import { Tensor, scatterRows } from "../engine/index.js";
import { cnnForward, cnnParameterShapes, type CnnArchitecture } from "./cnn.js";

/**
 * keys[r]: the group of row r (e.g. an architecture's code). evaluate(key, rows) returns the
 * outputs of those rows, [rows.length, ...]. Returns [keys.length, ...] in row order.
 */
export function evaluateInGroups<K>(keys: ArrayLike<K>, evaluate: (key: K, rows: number[]) => Tensor): Tensor {
  const groups = new Map<K, number[]>();
  for (let r = 0; r < keys.length; r++) {
    let g = groups.get(keys[r]);
    if (g === undefined) groups.set(keys[r], (g = []));
    g.push(r);
  }
  const rows = [...groups.values()];
  const parts = [...groups.keys()].map((key, i) => evaluate(key, rows[i]));
  return parts.length === 1 ? parts[0] : scatterRows(parts, rows, keys.length);
}

/** One CNN of any architecture, its parameters by name (unstacked, e.g. layers.0.weight [O, C, k, k]). */
export interface CnnNetwork {
  arch: CnnArchitecture;
  params: ReadonlyMap<string, Float32Array>;
}

/**
 * CNNs of mixed architectures (CNN Wild Park's depths, widths, kernels and activations) on
 * shared images x [K, C, H, W] -> logits [networks.length, K, classes], evaluated in groups of
 * equal architecture.
 */
export function cnnForwardMixed(networks: readonly CnnNetwork[], x: Tensor): Tensor {
  const keys = networks.map((n) => JSON.stringify(n.arch));
  return evaluateInGroups(keys, (_key, rows) => {
    const arch = networks[rows[0]].arch;
    const stacked = new Map(cnnParameterShapes(arch).map(([name, shape]) => {
      const size = shape.reduce((a, b) => a * b, 1);
      const t = Tensor.empty([rows.length, ...shape]);
      rows.forEach((r, j) => {
        const p = networks[r].params.get(name);
        if (p === undefined || p.length !== size) {
          throw new RangeError(`network ${r}: parameter ${name} is ${p === undefined ? "missing" : `of size ${p.length}`}, its architecture needs [${shape.join(",")}]`);
        }
        t.data.set(p, j * size);
      });
      return [name, t];
    }));
    return cnnForward(arch, stacked, x);
  });
}
