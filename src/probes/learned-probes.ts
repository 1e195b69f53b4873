// Vanilla probing: the K probes themselves are the parameters, initialised N(0, 1) as in the
// paper, or U(-1, 1) — inside the [-1, 1] domain INRs are fitted on. Image probes pass through
// tanh, as the paper's deep_linear_0, so that they stay in a network's input range.
import { normalParameter, tanh, uniformParameter, type Rng, type Tensor } from "../engine/index.js";
import type { ProbeSource } from "./source.js";

export class LearnedProbes implements ProbeSource {
  readonly method = "vanilla" as const;
  readonly learned = true;
  readonly probes: Tensor;
  private readonly squash: boolean;

  constructor(readonly count: number, readonly shape: readonly number[], rng: Rng, init: "normal" | "uniform" = "normal") {
    const full = [count, ...shape];
    this.probes = init === "normal" ? normalParameter(full, 1, rng.fork("probes")) : uniformParameter(full, 1, rng.fork("probes"));
    this.squash = shape.length === 3;
  }

  forward(): Tensor { return this.squash ? tanh(this.probes) : this.probes; }
  flops(): number { return this.squash ? this.probes.size : 0; }
  namedParameters(): [string, Tensor][] { return [["probes", this.probes]]; }
}
