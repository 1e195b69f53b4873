// Zoos that mix architectures: groups of networks of equal architecture, each evaluated as one
// zoo batch with the output rows put back in the networks' order; and CNNs of any mix of
// architectures as one ragged batch.
import { scatterRows, type Tensor } from "../engine/index.js";
import { cnnParameterShapes, type CnnArchitecture } from "./cnn.js";
import { cnnForwardRagged, packRaggedCnn, raggedCnnLayout } from "./ragged-cnn.js";

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
 * CNNs of mixed architectures (CNN Wild Park's depths, widths, kernels, activations and
 * residuals) on shared images x [K, C, H, W] -> logits [networks.length, K, classes], all in one
 * ragged batch (nets/ragged-cnn.ts), each network at its own size.
 */
export function cnnForwardMixed(networks: readonly CnnNetwork[], x: Tensor): Tensor {
  const layout = raggedCnnLayout(networks.map((n) => n.arch));
  const params = packRaggedCnn(layout, (r, name, size) => {
    const p = networks[r].params.get(name);
    if (p === undefined || p.length !== size) {
      const shape = cnnParameterShapes(networks[r].arch).find(([n]) => n === name)![1];
      throw new RangeError(`network ${r}: parameter ${name} is ${p === undefined ? "missing" : `of size ${p.length}`}, its architecture needs [${shape.join(",")}]`);
    }
    return p;
  });
  return cnnForwardRagged(layout, params, x);
}
