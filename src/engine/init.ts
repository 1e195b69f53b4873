// Parameter initialisers, matching PyTorch's defaults where named so.
import { Rng } from "./random.js";
import { Tensor } from "./tensor.js";

/** A persistent leaf tensor that gradients flow into. */
export function parameter(shape: readonly number[], fill: (out: Float32Array) => void): Tensor {
  const t = Tensor.empty(shape, { persistent: true });
  fill(t.data);
  return t.requireGrad();
}

/** U(-bound, bound): nn.Linear / nn.Conv2d default init with bound = 1/sqrt(fan_in). */
export function uniformParameter(shape: readonly number[], bound: number, rng: Rng): Tensor {
  return parameter(shape, (d) => rng.fillUniform(d, -bound, bound));
}

export function normalParameter(shape: readonly number[], std: number, rng: Rng): Tensor {
  return parameter(shape, (d) => rng.fillNormal(d, 0, std));
}
