// Vanilla probing: the K probes themselves are the parameters, initialised N(0, 1) as in the
// paper, or U(-1, 1) — inside the [-1, 1]^d domain the INRs were fitted on.
import { normalParameter, uniformParameter, type Rng, type Tensor } from "../engine/index.js";
import type { ProbeSource } from "./source.js";

export class LearnedProbes implements ProbeSource {
  readonly method = "vanilla" as const;
  readonly learned = true;
  readonly probes: Tensor;

  constructor(readonly count: number, readonly dim: number, rng: Rng, init: "normal" | "uniform" = "normal") {
    this.probes = init === "normal" ? normalParameter([count, dim], 1, rng.fork("probes")) : uniformParameter([count, dim], 1, rng.fork("probes"));
  }

  forward(): Tensor { return this.probes; }
  flops(): number { return 0; }
  namedParameters(): [string, Tensor][] { return [["probes", this.probes]]; }
}
