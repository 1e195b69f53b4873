// A network represented by its answers to K probes: the probes come from a probe source (the
// ProbeGen generator, learned or fixed probes), go through every network of a batch, and the
// answers are concatenated. Networks of each architecture (and each variant, such as the
// Small-CNN zoo's activation) are evaluated together as one zoo batch, then put back in order.
import { reshape, Tensor, type Rng } from "../engine/index.js";
import { cnnForwardRagged, packRaggedCnn, raggedCnnLayout } from "../nets/ragged-cnn.js";
import { IMAGE_SET_NAMES, loadImageSet, type ImageSet, type ImageSetName } from "../data/image-sets.js";
import { evaluateInGroups } from "../nets/groups.js";
import { represent, zooArchitectures, type NetworkArchitecture } from "../nets/family.js";
import { makeProbeSource } from "../probes/make.js";
import { fixedProbeValues } from "../probes/fixed-probes.js";
import { fitProbesTo } from "../probes/fit-probes.js";
import { ImageGenerator } from "../probes/image-generator.js";
import { resolveProbeInit } from "./probe-init.js";
import type { ProbeSource } from "../probes/source.js";
import type { ZooManifest } from "../zoo/format.js";
import type { ProbeInit, TrainConfig } from "./config.js";
import type { Representation } from "./representation.js";
import type { ZooData } from "./zoo-data.js";
import { planPasses } from "./checkpointed-step.js";
import { resolveReadout } from "./default-predictor.js";
import { hiddenFeaturesPerProbe } from "../nets/hidden-readout.js";
import { labelledAnswers, labelledFeaturesPerProbe, type Readout } from "./readouts.js";

/** The hidden summary's cost per activation: a sum and a squared deviation (planeMoments). */
const SUMMARY_FLOPS_PER_ACTIVATION = 4;

/** At most 256 MiB of kept fixed-probe answers (a 55k-INR zoo at K=64 needs 14 MiB). */
const MAX_KEPT_FLOATS = 2 ** 26;

/** Feature-map floats a training pass may hold (2 GiB of the 4 GiB WASM memory). */
const STEP_BUDGET_FLOATS = 2 ** 29;

/** The image set a zoo's networks were trained on, as its provenance records it. */
function zooImageSet(manifest: ZooManifest, dataDir?: string): ImageSet {
  const name = manifest.provenance.dataset;
  if (typeof name !== "string" || !(IMAGE_SET_NAMES as readonly string[]).includes(name)) {
    throw new RangeError(`data probes need the image set the zoo was trained on; its zoo.json provenance.dataset is ${JSON.stringify(name)} (expected one of ${IMAGE_SET_NAMES.join(", ")})`);
  }
  return loadImageSet(name as ImageSetName, dataDir);
}

/** The probe shape and outputs per probe every architecture shares; an error if they differ. */
function commonProbeInterface(architectures: readonly NetworkArchitecture[]): { probeShape: number[]; outputs: number } {
  const [first] = architectures;
  architectures.forEach((a, k) => {
    if (a.probeShape.join(",") !== first.probeShape.join(",") || a.outputsPerProbe !== first.outputsPerProbe) {
      throw new RangeError(`architecture ${k} of the zoo takes probes [${a.probeShape.join(",")}] with ${a.outputsPerProbe} outputs, architecture 0 takes [${first.probeShape.join(",")}] with ${first.outputsPerProbe}: one probe set cannot serve both`);
    }
  });
  return { probeShape: first.probeShape, outputs: first.outputsPerProbe };
}

export class ProbeRepresentation implements Representation {
  readonly source: ProbeSource;
  readonly architectures: readonly NetworkArchitecture[];
  readonly features: number;
  /** How many of the zoo's networks have each architecture (for the mean FLOPs). */
  private readonly counts: number[];
  /** Fixed probes: each network's answers, per zoo, once computed. */
  private readonly answers = new WeakMap<ZooData, Map<number, Float32Array>>();
  private keptFloats = 0;
  /** What the probes started from: the images a generator was fitted to (probe-init.ts), or "random". */
  readonly start: Exclude<ProbeInit, "auto">;
  /** Whether batches go through the ragged CNN forward (a zoo of many CNN architectures, few networks each). */
  private readonly ragged: boolean;
  /** What the head reads of each answer (readouts.ts). */
  readonly readout: Readout;
  /** With the hidden readout, the layer slots every network fills (the zoo's deepest network's layers); undefined otherwise. */
  private readonly hiddenSlots: number | undefined;

  /** The outputs per probe every network gives. */
  private readonly outputs: number;

  /** config.method must be resolved (default-predictor.ts). startProbes: fit a generator to its
   * starting images (config.probeInit), as training does. */
  constructor(config: TrainConfig & { method: ProbeSource["method"] }, data: ZooData, rng: Rng, startProbes = false) {
    const m = data.manifest;
    this.architectures = zooArchitectures(m, data.manifestFile);
    this.counts = this.architectures.map((_, k) => data.architectureOf.reduce((n, a) => n + (a === k ? 1 : 0), 0));
    const { probeShape, outputs } = commonProbeInterface(this.architectures);
    this.source = makeProbeSource({
      method: config.method, count: config.probes, latentDim: config.generator.latentDim,
      generatorHidden: config.generator.hidden, generatorActivation: config.generator.activation,
      generatorLayers: config.generator.layers, generatorWidth: config.generator.widthMultiplier, vanillaInit: config.vanillaInit,
      imageSet: config.method === "data" ? zooImageSet(m, config.dataDir) : undefined,
    }, probeShape, rng);
    this.start = startProbes ? resolveProbeInit(config, probeShape, m) : "random";
    if (this.start !== "random") {
      if (!(this.source instanceof ImageGenerator)) throw new RangeError(`--probe-init ${this.start} starts an image generator; this run's probe source is ${this.source.method}`);
      // The images fixed probes of this method and seed would be (makeProbeSource's fork): a
      // generator started from them is compared with those fixed probes on equal terms.
      const images = fixedProbeValues(this.start, config.probes, probeShape, rng.fork(this.start), this.start === "data" ? zooImageSet(m, config.dataDir) : undefined);
      fitProbesTo(this.source, images);
    }
    this.outputs = outputs;
    // Labelled answers need a class per probe among the networks' outputs (data probes of the zoo's own set).
    const labels = (this.source as ProbeSource).labels ?? null;
    this.readout = resolveReadout(config, labels !== null && !this.source.learned && labels.every((c) => c < outputs));
    this.hiddenSlots = this.readout === "hidden" ? Math.max(...this.architectures.map((a) => a.hiddenLayers)) : undefined;
    const perProbe = this.readout === "labelled" ? labelledFeaturesPerProbe(outputs) : outputs + (this.hiddenSlots === undefined ? 0 : hiddenFeaturesPerProbe(this.hiddenSlots));
    this.features = config.probes * perProbe;
    // Groups of equal architecture while they are big enough to batch well (8 networks or more
    // per architecture on average): the fused zoo kernels, and the same numbers as a zoo of one
    // architecture with variants (a Small-CNN zoo exported as a park and imported back trains
    // to the same bytes). Ragged once most groups would be a network or two (a Wild Park).
    this.ragged = this.architectures.length > 1 && data.architectureOf.length < 8 * this.architectures.length
      && this.architectures.every((a) => a.cnn !== null && a.variantField === null);
  }

  represent(data: ZooData, indices: ArrayLike<number>): Tensor {
    if (this.source.learned) return this.representOn(data, indices, this.source.forward());
    // Fixed probes give a network the same answers at every step (nothing trains but the head,
    // and networks are not augmented): each network is evaluated once and its answers kept,
    // which makes a fixed-probe run cost one pass over the zoo instead of one per epoch.
    let kept = this.answers.get(data);
    if (kept === undefined) this.answers.set(data, (kept = new Map()));
    const idx = Array.from(indices);
    const missing = [...new Set(idx.filter((i) => !kept.has(i)))];
    const fresh = missing.length > 0 ? this.representOn(data, missing, this.source.forward()) : null;
    const out = Tensor.empty([idx.length, this.features]);
    const row = (t: Float32Array, r: number) => t.subarray(r * this.features, (r + 1) * this.features);
    const freshRow = new Map(missing.map((i, r) => [i, r]));
    idx.forEach((i, r) => {
      const f = freshRow.get(i);
      out.data.set(f !== undefined ? row(fresh!.data, f) : kept.get(i)!, r * this.features);
    });
    // Kept outside the WASM memory, up to a bound, past which networks are evaluated every time.
    for (const [i, r] of freshRow) {
      if (this.keptFloats + this.features > MAX_KEPT_FLOATS) break;
      kept.set(i, Float32Array.from(row(fresh!.data, r)));
      this.keptFloats += this.features;
    }
    return out;
  }

  /**
   * The training step's passes over a batch: positions grouped so each pass's feature maps
   * stay within 2 GiB (the same estimate as networksPerPass); one pass unless the networks are
   * large (ResNet-18s), when the step is checkpointed (checkpointed-step.ts).
   */
  stepPasses(data: ZooData, indices: ArrayLike<number>): number[][] {
    return planPasses(Array.from(indices, (i) => 3 * this.source.count * this.architectures[data.architectureOf[i]].activationsPerProbe), STEP_BUDGET_FLOATS);
  }

  /** Learned probes are made once a step, shared by its passes; fixed ones need no sharing. */
  stepProbes(): Tensor | null {
    return this.source.learned ? this.source.forward() : null;
  }

  /** The networks' answers to the given probes (the source's, made once for a step), computed now; null: as represent(). */
  representOn(data: ZooData, indices: ArrayLike<number>, probes: Tensor | null): Tensor {
    if (probes === null) return this.represent(data, indices);
    const out = this.ragged ? this.representRagged(data, indices, probes)
      : evaluateInGroups(Array.from(indices, (i) => data.architectureOf[i]), (k, rows) =>
        this.representArchitecture(data, this.architectures[k], rows.map((r) => indices[r]), probes));
    if (this.readout !== "labelled") return out;
    return labelledAnswers(reshape(out, [indices.length, this.source.count, this.outputs]), this.source.labels!);
  }

  /**
   * CNNs of many architectures (a Wild Park): the whole batch in one ragged forward, each network
   * at its own size, rather than one zoo batch per architecture, which there would be groups of one.
   */
  private representRagged(data: ZooData, indices: ArrayLike<number>, probes: Tensor): Tensor {
    const idx = Array.from(indices);
    const layout = raggedCnnLayout(idx.map((i) => this.architectures[data.architectureOf[i]].cnn!));
    const params = packRaggedCnn(layout, (n, name, size) => {
      const i = idx[n], row = data.rowOf[i];
      return data.groups[data.architectureOf[i]].get(name)!.data.subarray(row * size, (row + 1) * size);
    });
    const out = cnnForwardRagged(layout, params, probes, { hiddenSlots: this.hiddenSlots });
    return reshape(out, [out.shape[0], out.shape[1] * out.shape[2]]);
  }

  /** Networks of one architecture on the probes; a variant field splits them further. */
  private representArchitecture(data: ZooData, arch: NetworkArchitecture, indices: number[], probes: Tensor): Tensor {
    const field = arch.variantField;
    if (field === null) return represent(arch, data.gather(indices), probes, this.hiddenSlots);
    const codes = data.fields.get(field);
    if (codes === undefined) throw new Error(`the zoo's architecture takes each network's variant from field "${field}", which the zoo lacks`);
    return evaluateInGroups(indices.map((i) => codes[i]), (code, rows) =>
      represent(arch.variant(code), data.gather(rows.map((r) => indices[r])), probes, this.hiddenSlots));
  }

  /**
   * 256 networks, fewer where their feature maps would pass 1 GiB (about three copies of each
   * layer's maps live at once): a Wild Park batch of 256 x 64 probes would hold tens of GiB.
   */
  networksPerPass(): number {
    const perNetwork = 3 * this.source.count * Math.max(...this.architectures.map((a) => a.activationsPerProbe));
    return Math.max(1, Math.min(256, Math.floor(2 ** 28 / perNetwork)));
  }

  /** K network evaluations (the probes themselves are made once for all networks), and the hidden summaries' few FLOPs per activation. */
  flopsPerNetwork(): number {
    const total = this.counts.reduce((a, b) => a + b, 0);
    const perProbe = (a: NetworkArchitecture) => a.flopsPerProbe + (this.hiddenSlots === undefined ? 0 : SUMMARY_FLOPS_PER_ACTIVATION * a.activationsPerProbe);
    if (this.architectures.length === 1) return this.source.count * perProbe(this.architectures[0]);
    return this.architectures.reduce((s, a, k) => s + (this.source.count * perProbe(a) * this.counts[k]) / Math.max(1, total), 0);
  }

  trainable(): [string, Tensor][] {
    return this.source.namedParameters().map(([n, t]): [string, Tensor] => [`probe.${n}`, t]);
  }

  saved(): [string, Tensor][] {
    return this.trainable();
  }
}
