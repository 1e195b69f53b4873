// Fixed probes: only the head trains. "uniform" draws coordinates from U(-1, 1); "grid" spaces
// them evenly over [-1, 1]^dim (the first K points of the smallest grid with at least K points).
import { Tensor, type Rng } from "../engine/index.js";
import type { ProbeSource } from "./source.js";

function gridPoints(count: number, dim: number): Float32Array {
  const side = Math.max(1, Math.ceil(count ** (1 / dim) - 1e-9));
  const lin = (i: number) => (side === 1 ? 0 : -1 + (2 * i) / (side - 1));
  const out = new Float32Array(count * dim);
  for (let k = 0; k < count; k++) {
    let rest = k;
    for (let d = dim - 1; d >= 0; d--) {
      out[k * dim + d] = lin(rest % side);
      rest = Math.floor(rest / side);
    }
  }
  return out;
}

export class FixedProbes implements ProbeSource {
  readonly learned = false;
  readonly probes: Tensor;

  constructor(readonly method: "uniform" | "grid", readonly count: number, readonly dim: number, rng: Rng) {
    const values = method === "grid" ? gridPoints(count, dim) : rng.fork("probes").fillUniform(new Float32Array(count * dim), -1, 1);
    this.probes = Tensor.from(values, [count, dim], { persistent: true });
  }

  forward(): Tensor { return this.probes; }
  flops(): number { return 0; }
  /** Saved with checkpoints so that a run's probes can be read back, though never trained. */
  namedParameters(): [string, Tensor][] { return []; }
}
