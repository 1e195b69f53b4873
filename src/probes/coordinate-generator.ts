// ProbeGen for coordinate inputs: K latents z_i in R^32 mapped by one shared deep linear
// generator (no activations) Linear(32, 32) -> Linear(32, d). Linear layers compose to one
// linear map, but the factorisation changes the optimisation: that is the paper's point.
import { LinearLayer, normalParameter, relu, type Rng, type Tensor } from "../engine/index.js";
import type { ProbeSource } from "./source.js";

export interface CoordinateGeneratorOptions {
  latentDim?: number;
  hidden?: number[];
  /** "none" is ProbeGen; "relu" is the paper's non-linear ablation. */
  activation?: "none" | "relu";
}

export class CoordinateGenerator implements ProbeSource {
  readonly method = "probegen" as const;
  readonly learned = true;
  readonly latents: Tensor;
  readonly layers: LinearLayer[];
  readonly activation: "none" | "relu";

  constructor(readonly probes: number, readonly outDim: number, rng: Rng, opts: CoordinateGeneratorOptions = {}) {
    const latentDim = opts.latentDim ?? 32;
    const dims = [latentDim, ...(opts.hidden ?? [32]), outDim];
    this.activation = opts.activation ?? "none";
    this.latents = normalParameter([probes, latentDim], 1, rng.fork("latents"));
    const layerRng = rng.fork("layers");
    this.layers = dims.slice(1).map((d, i) => new LinearLayer(dims[i], d, layerRng));
  }

  get count(): number { return this.probes; }
  get shape(): readonly number[] { return [this.outDim]; }

  flops(): number {
    return this.layers.reduce((s, l) => s + 2 * this.probes * l.inFeatures * l.outFeatures, 0);
  }

  /** The K probes, [K, outDim]. */
  forward(): Tensor {
    let h = this.latents;
    this.layers.forEach((l, i) => {
      h = l.forward(h);
      if (this.activation === "relu" && i < this.layers.length - 1) h = relu(h);
    });
    return h;
  }

  namedParameters(): [string, Tensor][] {
    return [["latents", this.latents], ...this.layers.flatMap((l, i) => l.namedParameters(`gen.${i}.`))];
  }
}
