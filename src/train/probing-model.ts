// The probing model: a probe source, the zoo's networks evaluated on its probes, and the MLP
// head over their concatenated responses. This file is the whole method's forward pass.
import { Rng, type HasParameters, type Tensor } from "../engine/index.js";
import { networkFamily, type NetworkFamily } from "../nets/family.js";
import { makeProbeSource } from "../probes/make.js";
import type { ProbeSource } from "../probes/source.js";
import type { ZooManifest } from "../zoo/format.js";
import type { TrainConfig } from "./config.js";
import { MlpHead } from "./head.js";

export class ProbingModel implements HasParameters {
  readonly family: NetworkFamily;
  readonly architecture: Record<string, unknown>;
  readonly source: ProbeSource;
  readonly head: MlpHead;

  constructor(config: TrainConfig, manifest: ZooManifest, outputs: number) {
    this.family = networkFamily(manifest.family);
    this.architecture = manifest.architecture;
    const rng = new Rng(config.seed, "model");
    this.source = makeProbeSource({
      method: config.method, count: config.probes, latentDim: config.generator.latentDim,
      generatorHidden: config.generator.hidden, generatorActivation: config.generator.activation,
    }, this.family.probeDim(this.architecture), rng.fork("probes"));
    const inFeatures = config.probes * this.family.outputsPerProbe(this.architecture);
    this.head = new MlpHead(inFeatures, outputs, rng.fork("head"), config.head);
  }

  /** Head outputs for a batch of networks (stacked parameters). */
  forward(networks: ReadonlyMap<string, Tensor>): Tensor {
    const probes = this.source.forward();
    return this.head.forward(this.family.represent(this.architecture, networks, probes));
  }

  /** Forward FLOPs to represent one network once its probes exist: K network evaluations plus the head. */
  flopsPerNetwork(): number {
    return this.source.count * this.family.flopsPerProbe(this.architecture) + this.head.flopsPerRow();
  }

  namedParameters(): [string, Tensor][] {
    return [...this.source.namedParameters().map(([n, t]): [string, Tensor] => [`probe.${n}`, t]), ...this.head.namedParameters()];
  }
}
