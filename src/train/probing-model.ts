// The probing model: a probe source, the zoo's networks evaluated on its probes, and the MLP
// head over their concatenated responses. This file is the whole method's forward pass. The
// weight-statistics baseline (method statnn) replaces the probes by per-tensor statistics.
import { Rng, Tensor, type HasParameters } from "../engine/index.js";
import { evaluateInGroups } from "../nets/groups.js";
import { networkFamily, type NetworkFamily } from "../nets/family.js";
import { makeProbeSource } from "../probes/make.js";
import type { ProbeSource } from "../probes/source.js";
import type { ZooManifest } from "../zoo/format.js";
import { IMAGE_SET_NAMES, loadImageSet, type ImageSet, type ImageSetName } from "../data/image-sets.js";
import type { TrainConfig } from "./config.js";
import { MlpHead } from "./head.js";
import { weightStatistics, weightStatisticsFlops } from "./weight-statistics.js";
import type { ZooData } from "./zoo-data.js";

/** The image set a zoo's networks were trained on, as its provenance records it. */
function zooImageSet(manifest: ZooManifest, dataDir?: string): ImageSet {
  const name = manifest.provenance.dataset;
  if (typeof name !== "string" || !(IMAGE_SET_NAMES as readonly string[]).includes(name)) {
    throw new RangeError(`data probes need the image set the zoo was trained on; its zoo.json provenance.dataset is ${JSON.stringify(name)} (expected one of ${IMAGE_SET_NAMES.join(", ")})`);
  }
  return loadImageSet(name as ImageSetName, dataDir);
}

interface StatFeatures {
  features: Float32Array;
  dim: number;
  /** Standardisation from the training split, saved with checkpoints (never trained). */
  mean: Tensor;
  std: Tensor;
}

export class ProbingModel implements HasParameters {
  readonly family: NetworkFamily;
  readonly architecture: Record<string, unknown>;
  readonly source: ProbeSource | null;
  readonly head: MlpHead;
  private readonly stats: StatFeatures | null;
  private readonly shapes: number[][];

  /** data: the zoo the model will see (statnn summarises its networks once, up front). */
  constructor(config: TrainConfig, manifest: ZooManifest, outputs: number, data: ZooData) {
    this.family = networkFamily(manifest.family);
    this.architecture = manifest.architecture;
    this.shapes = manifest.parameters.map((p) => p.shape);
    const rng = new Rng(config.seed, "model");
    let inFeatures: number;
    if (config.method === "statnn") {
      this.source = null;
      const { features, dim } = weightStatistics(data);
      const mean = new Float32Array(dim), std = new Float32Array(dim);
      const train = data.splits.train;
      for (const i of train) for (let j = 0; j < dim; j++) mean[j] += features[i * dim + j] / train.length;
      for (const i of train) for (let j = 0; j < dim; j++) std[j] += (features[i * dim + j] - mean[j]) ** 2 / train.length;
      for (let j = 0; j < dim; j++) std[j] = Math.sqrt(std[j]) || 1;
      this.stats = {
        features, dim,
        mean: Tensor.from(mean, [dim], { persistent: true }),
        std: Tensor.from(std, [dim], { persistent: true }),
      };
      inFeatures = dim;
    } else {
      this.stats = null;
      this.source = makeProbeSource({
        method: config.method, count: config.probes, latentDim: config.generator.latentDim,
        generatorHidden: config.generator.hidden, generatorActivation: config.generator.activation,
        generatorLayers: config.generator.layers, generatorWidth: config.generator.widthMultiplier, vanillaInit: config.vanillaInit,
        imageSet: config.method === "data" ? zooImageSet(manifest, config.dataDir) : undefined,
      }, this.family.probeShape(this.architecture), rng.fork("probes"));
      inFeatures = config.probes * this.family.outputsPerProbe(this.architecture);
    }
    this.head = new MlpHead(inFeatures, outputs, rng.fork("head"), config.head);
  }

  /** Head outputs for the networks of `data` at `indices`. */
  forward(data: ZooData, indices: ArrayLike<number>): Tensor {
    return this.head.forward(this.represent(data, indices));
  }

  /** What the head sees of each network: [indices.length, head input]. */
  represent(data: ZooData, indices: ArrayLike<number>): Tensor {
    if (this.source !== null) {
      const probes = this.source.forward();
      const field = this.family.variantField(this.architecture);
      if (field === null) return this.family.represent(this.architecture, data.gather(indices), probes);
      // Networks of each variant (e.g. activation) are evaluated together, then put back in order.
      const codes = data.fields.get(field);
      if (codes === undefined) throw new Error(`the zoo's architecture takes each network's variant from field "${field}", which the zoo lacks`);
      return evaluateInGroups(Array.from(indices, (i) => codes[i]), (code, rows) =>
        this.family.represent(this.family.variant(this.architecture, code), data.gather(rows.map((r) => indices[r])), probes));
    }
    const { features, dim, mean, std } = this.stats!;
    const x = Tensor.empty([indices.length, dim]);
    for (let r = 0; r < indices.length; r++) {
      for (let j = 0; j < dim; j++) x.data[r * dim + j] = (features[indices[r] * dim + j] - mean.data[j]) / std.data[j];
    }
    return x;
  }

  /** Forward FLOPs to represent one network once its probes exist: K network evaluations plus the head. */
  flopsPerNetwork(): number {
    const rep = this.source !== null
      ? this.source.count * this.family.flopsPerProbe(this.architecture)
      : weightStatisticsFlops(this.shapes);
    return rep + this.head.flopsPerRow();
  }

  namedParameters(): [string, Tensor][] {
    const rep: [string, Tensor][] = this.source !== null
      ? this.source.namedParameters().map(([n, t]): [string, Tensor] => [`probe.${n}`, t])
      : [["statnn.mean", this.stats!.mean], ["statnn.std", this.stats!.std]];
    return [...rep, ...this.head.namedParameters()];
  }
}
