// The probing model: a representation of each network (its answers to probes, or its weight
// statistics) and the MLP head over it: it chooses them from the settings (the default predictor
// resolved) and composes them; the forward pass itself is probe-representation.ts and head.ts.
import { Rng, type Tensor } from "../engine/index.js";
import type { TrainConfig } from "./config.js";
import { MlpHead } from "./head.js";
import { ProbeRepresentation } from "./probe-representation.js";
import { resolveProbeInit } from "./probe-init.js";
import { resolveMethod, resolveReadout } from "./default-predictor.js";
import type { Readout } from "./readouts.js";
import type { ProbeSource, RepresentationMethod } from "../probes/source.js";
import { zooArchitectures } from "../zoo/architectures.js";
import type { Representation } from "./representation.js";
import { WeightStatistics } from "./weight-statistics.js";
import type { ZooData } from "./zoo-data.js";

export class ProbingModel {
  readonly representation: Representation;
  readonly head: MlpHead;
  /** The representation method, resolved where the config left it at "auto" (default-predictor.ts). */
  readonly method: RepresentationMethod;

  /** data: the zoo the model will see (statnn summarises its networks once, up front).
   * startProbes: fit a generator to its starting images (config.probeInit), as training does;
   * a model whose parameters are then loaded from a checkpoint skips that work.
   * probeSource: probes kept as values (a shipped predictor's) instead of the config's source. */
  constructor(config: TrainConfig, outputs: number, data: ZooData, opts: { startProbes?: boolean; probeSource?: ProbeSource } = {}) {
    const rng = new Rng(config.seed, "model");
    const method = resolveMethod(config, zooArchitectures(data.manifest, data.manifestFile)[0].probeShape, data.manifest);
    this.method = method;
    // statnn has no generator and no readout: a start other than auto or random is refused, as
    // for any method without one, and so is a readout of probes.
    if (method === "statnn" && opts.startProbes === true) {
      resolveProbeInit({ ...config, method }, [], data.manifest);
      resolveReadout({ method, readout: config.readout }, false);
    }
    this.representation = method === "statnn" ? new WeightStatistics(data) : new ProbeRepresentation({ ...config, method }, data, rng.fork("probes"), opts.startProbes ?? false, opts.probeSource);
    this.head = new MlpHead(this.representation.features, outputs, rng.fork("head"), config.head);
  }

  /** What the head reads of each network's answers (readouts.ts); "logits" for statnn. */
  get readout(): Readout {
    return this.representation.readout;
  }

  /** What the probes started from (probe-init.ts); "random" for statnn. */
  get probeStart(): "random" | "dead-leaves" | "data" {
    return this.representation.start;
  }

  /** Head outputs for the networks of `data` at `indices`. */
  forward(data: ZooData, indices: ArrayLike<number>): Tensor {
    return this.head.forward(this.representation.represent(data, indices));
  }

  /** What the head sees of each network: [indices.length, head input]. */
  represent(data: ZooData, indices: ArrayLike<number>): Tensor {
    return this.representation.represent(data, indices);
  }

  /** Forward FLOPs to represent one network once its probes exist: K network evaluations (or the statistics) plus the head. */
  flopsPerNetwork(): number {
    return this.representation.flopsPerNetwork() + this.head.flopsPerRow();
  }

  /** The tensors the optimiser trains. */
  trainableParameters(): [string, Tensor][] {
    return [...this.representation.trainable(), ...this.head.namedParameters()];
  }

  /** The tensors a checkpoint keeps: the trainable ones and fixed state. */
  savedTensors(): [string, Tensor][] {
    return [...this.representation.saved(), ...this.head.namedParameters()];
  }
}
