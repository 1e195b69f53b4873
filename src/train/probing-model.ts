// The probing model: a probe source, the zoo's networks evaluated on its probes, and the MLP
// head over their concatenated responses. This file is the whole method's forward pass. The
// weight-statistics baseline (method statnn) replaces the probes by per-tensor statistics.
import { Rng, Tensor, type HasParameters } from "../engine/index.js";
import { evaluateInGroups } from "../nets/groups.js";
import { networkFamily, type NetworkFamily } from "../nets/family.js";
import { makeProbeSource } from "../probes/make.js";
import type { ProbeSource } from "../probes/source.js";
import type { ZooArchitecture, ZooManifest } from "../zoo/format.js";
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

/** The probe shape and outputs per probe every architecture of a zoo shares; an error if they differ. */
function commonProbeInterface(family: NetworkFamily, architectures: readonly ZooArchitecture[]): { probeShape: number[]; outputs: number } {
  const probeShape = family.probeShape(architectures[0].architecture);
  const outputs = family.outputsPerProbe(architectures[0].architecture);
  architectures.forEach((a, k) => {
    const s = family.probeShape(a.architecture), o = family.outputsPerProbe(a.architecture);
    if (s.join(",") !== probeShape.join(",") || o !== outputs) {
      throw new RangeError(`architecture ${k} of the zoo takes probes [${s.join(",")}] with ${o} outputs, architecture 0 takes [${probeShape.join(",")}] with ${outputs}: one probe set cannot serve both`);
    }
  });
  return { probeShape, outputs };
}

export class ProbingModel implements HasParameters {
  readonly family: NetworkFamily;
  readonly architectures: readonly ZooArchitecture[];
  readonly source: ProbeSource | null;
  readonly head: MlpHead;
  private readonly stats: StatFeatures | null;
  /** How many of the zoo's networks have each architecture (weights FLOPs per network). */
  private readonly architectureCounts: number[];

  /** data: the zoo the model will see (statnn summarises its networks once, up front). */
  constructor(config: TrainConfig, manifest: ZooManifest, outputs: number, data: ZooData) {
    this.family = networkFamily(manifest.family);
    this.architectures = manifest.architectures;
    this.architectureCounts = manifest.architectures.map((_, k) => data.architectureOf.reduce((n, a) => n + (a === k ? 1 : 0), 0));
    const probeInterface = commonProbeInterface(this.family, this.architectures);
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
      }, probeInterface.probeShape, rng.fork("probes"));
      inFeatures = config.probes * probeInterface.outputs;
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
      // Networks of each architecture are evaluated together as one zoo batch, then put back in order.
      return evaluateInGroups(Array.from(indices, (i) => data.architectureOf[i]), (k, rows) =>
        this.representArchitecture(data, k, rows.map((r) => indices[r]), probes));
    }
    const { features, dim, mean, std } = this.stats!;
    const x = Tensor.empty([indices.length, dim]);
    for (let r = 0; r < indices.length; r++) {
      for (let j = 0; j < dim; j++) x.data[r * dim + j] = (features[indices[r] * dim + j] - mean.data[j]) / std.data[j];
    }
    return x;
  }

  /** Networks of architecture k on the probes; a variant field (e.g. the activation) splits them further. */
  private representArchitecture(data: ZooData, k: number, indices: number[], probes: Tensor): Tensor {
    const arch = this.architectures[k].architecture;
    const field = this.family.variantField(arch);
    if (field === null) return this.family.represent(arch, data.gather(indices), probes);
    const codes = data.fields.get(field);
    if (codes === undefined) throw new Error(`the zoo's architecture takes each network's variant from field "${field}", which the zoo lacks`);
    return evaluateInGroups(indices.map((i) => codes[i]), (code, rows) =>
      this.family.represent(this.family.variant(arch, code), data.gather(rows.map((r) => indices[r])), probes));
  }

  /**
   * Forward FLOPs to represent one network once its probes exist: K network evaluations plus the
   * head (in a zoo of several architectures, the mean over its networks).
   */
  flopsPerNetwork(): number {
    const total = this.architectureCounts.reduce((a, b) => a + b, 0);
    let rep = 0;
    this.architectures.forEach((a, k) => {
      const one = this.source !== null
        ? this.source.count * this.family.flopsPerProbe(a.architecture)
        : weightStatisticsFlops(a.parameters.map((p) => p.shape));
      rep += this.architectures.length === 1 ? one : (one * this.architectureCounts[k]) / Math.max(1, total);
    });
    return rep + this.head.flopsPerRow();
  }

  namedParameters(): [string, Tensor][] {
    const rep: [string, Tensor][] = this.source !== null
      ? this.source.namedParameters().map(([n, t]): [string, Tensor] => [`probe.${n}`, t])
      : [["statnn.mean", this.stats!.mean], ["statnn.std", this.stats!.std]];
    return [...rep, ...this.head.namedParameters()];
  }
}
