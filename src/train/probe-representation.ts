// The method: a network represented by its answers to K probes. The probes come from a probe
// source (ProbeGen's deep linear generator, learned or fixed probes), go through every network
// of a batch in one zoo-batched pass (zoo-forward.ts), and each network's answers, concatenated
// and read out (readouts.ts), are what the MLP head sees. Beside it: kept answers for fixed
// probes (kept-answers.ts), the generator's start (probe-init.ts), and the passes a training
// step checkpoints when a batch's feature maps are too large (checkpointed-step.ts).
import { passBudgetFloats, reshape, tidy, type Rng, type Tensor } from "../engine/index.js";
import { blackBoxModelFiles } from "../zoo/black-box-models.js";
import type { NetworkArchitecture } from "../nets/family.js";
import { zooArchitectures } from "../zoo/architectures.js";
import { hiddenFeaturesPerProbe } from "../nets/hidden-readout.js";
import { makeProbeSource } from "../probes/make.js";
import type { ProbeSource } from "../probes/source.js";
import type { ProbeInit, TrainConfig } from "./config.js";
import type { Representation } from "./representation.js";
import type { ZooData } from "./zoo-data.js";
import { ZooForward } from "./zoo-forward.js";
import { KeptAnswers } from "./kept-answers.js";
import { startProbeSource, zooImageSet } from "./probe-init.js";
import { planPasses } from "./checkpointed-step.js";
import { resolveReadout } from "./default-predictor.js";
import { labelledAnswers, labelledFeaturesPerProbe, type Readout } from "./readouts.js";

/**
 * The black-box networks of a zoo (ONNX graphs the engine cannot run), to be answered by
 * onnxruntime on the run's fixed probes before training (onnx-runtime.ts); `keep` takes the
 * answers, in `files` order.
 */
export interface BlackBoxRequest {
  files: string[];
  probes: Float32Array;
  probeShape: number[];
  outputs: number;
  keep(answers: readonly Float32Array[]): void;
}

/** The hidden summary's cost per activation: a sum and a squared deviation (planeMoments). */
const SUMMARY_FLOPS_PER_ACTIVATION = 4;

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
  /** What the head reads of each answer (readouts.ts). */
  readonly readout: Readout;
  /** What the probes started from: the images a generator was fitted to (probe-init.ts), or "random". */
  readonly start: Exclude<ProbeInit, "auto">;
  readonly features: number;
  private readonly zoo: ZooForward;
  /** The outputs per probe every network gives. */
  private readonly outputs: number;
  /** With the hidden readout, the layer slots every network fills (the zoo's deepest network's layers). */
  private readonly hiddenSlots: number | undefined;
  /** Fixed probes' answers, once computed (null for learned probes). */
  private readonly kept: KeptAnswers | null;
  /** How many of the zoo's networks have each architecture (for the mean FLOPs). */
  private readonly counts: number[];

  /** config.method must be resolved (default-predictor.ts). startProbes: fit a generator to its
   * starting images (config.probeInit), as training does. given: probes kept as values (a
   * shipped predictor's), in place of the source the config would make. */
  constructor(config: TrainConfig & { method: ProbeSource["method"] }, data: ZooData, rng: Rng, startProbes = false, given?: ProbeSource) {
    const m = data.manifest;
    const architectures = zooArchitectures(m, data.manifestFile);
    const { probeShape, outputs } = commonProbeInterface(architectures);
    this.source = given ?? makeProbeSource({
      method: config.method, count: config.probes, latentDim: config.generator.latentDim,
      generatorHidden: config.generator.hidden, generatorActivation: config.generator.activation,
      generatorLayers: config.generator.layers, generatorWidth: config.generator.widthMultiplier, vanillaInit: config.vanillaInit,
      imageSet: config.method === "data" ? zooImageSet(m, config.dataDir) : undefined,
    }, probeShape, rng);
    this.start = startProbes ? startProbeSource(this.source, config, probeShape, m, rng) : "random";
    this.outputs = outputs;
    // Labelled answers need a class per probe among the networks' outputs (data probes of the zoo's own set).
    const labels = this.source.labels ?? null;
    this.readout = resolveReadout(config, labels !== null && !this.source.learned && labels.every((c) => c < outputs));
    this.hiddenSlots = this.readout === "hidden" ? Math.max(...architectures.map((a) => a.hiddenLayers)) : undefined;
    const perProbe = this.readout === "labelled" ? labelledFeaturesPerProbe(outputs) : outputs + (this.hiddenSlots === undefined ? 0 : hiddenFeaturesPerProbe(this.hiddenSlots));
    this.features = config.probes * perProbe;
    const blackBox = architectures.find((a) => a.blackBox);
    if (blackBox !== undefined) {
      const count = data.architectureOf.filter((k) => architectures[k].blackBox).length;
      const what = `${data.manifestFile}: ${count} of the zoo's networks are black-box (the engine cannot run ${String((blackBox.spec.blackBox as { opType?: unknown }).opType) || "their graphs"}; onnxruntime answers them)`;
      if (this.source.learned) throw new RangeError(`${what}: ${config.method} probes learn through every network's gradients, which onnxruntime does not give; train with fixed probes (--method uniform, dead-leaves or data)`);
      if (this.hiddenSlots !== undefined) throw new RangeError(`${what}: the hidden readout reads layers inside each network, which a black-box network does not show; use --readout outputs`);
    }
    this.zoo = new ZooForward(architectures, data, this.hiddenSlots);
    this.kept = this.source.learned ? null : new KeptAnswers(this.features);
    this.counts = architectures.map((_, k) => data.architectureOf.reduce((n, a) => n + (a === k ? 1 : 0), 0));
  }

  /** The zoo's black-box networks, to be answered by onnxruntime before the run can use them; null when it has none. */
  blackBoxRequest(data: ZooData): BlackBoxRequest | null {
    const indices = Array.from(data.architectureOf.keys()).filter((i) => this.zoo.architectures[data.architectureOf[i]].blackBox);
    if (indices.length === 0) return null;
    const paths = data.strings.get("model");
    const files = blackBoxModelFiles(data.manifestFile, paths, indices);
    const probes = tidy(() => Float32Array.from(this.source.forward().data));
    return {
      files, probes, probeShape: this.zoo.architectures[0].probeShape, outputs: this.outputs,
      keep: (answers) => answers.forEach((a, j) => this.zoo.keepBlackBoxAnswers(indices[j], a)),
    };
  }

  /** The networks' answers to the given probes, read out: [indices.length, features]. */
  representOn(data: ZooData, indices: ArrayLike<number>, probes: Tensor | null): Tensor {
    if (probes === null) return this.represent(data, indices);
    const answers = this.zoo.answers(data, indices, probes);
    if (this.readout !== "labelled") return answers;
    return labelledAnswers(reshape(answers, [indices.length, this.source.count, this.outputs]), this.source.labels!);
  }

  represent(data: ZooData, indices: ArrayLike<number>): Tensor {
    if (this.kept === null) return this.representOn(data, indices, this.source.forward());
    return this.kept.represent(data, indices, (missing) => this.representOn(data, missing, this.source.forward()));
  }

  /** Learned probes are made once a step, shared by its passes; fixed ones need no sharing. */
  stepProbes(): Tensor | null {
    return this.source.learned ? this.source.forward() : null;
  }

  /**
   * The training step's passes over a batch: positions grouped so each pass's feature maps
   * stay within the backend's budget (passBudgetFloats; the same estimate as networksPerPass);
   * one pass unless the networks are large (ResNet-18s), when the step is checkpointed
   * (checkpointed-step.ts).
   */
  stepPasses(data: ZooData, indices: ArrayLike<number>): number[][] {
    return planPasses(Array.from(indices, (i) => 3 * this.source.count * this.zoo.architectures[data.architectureOf[i]].activationsPerProbe), passBudgetFloats("step"));
  }

  /**
   * 256 networks, fewer where their feature maps would pass the evaluation budget (about three
   * copies of each layer's maps live at once; passBudgetFloats): a Wild Park batch of 256 x 64
   * probes would hold tens of GiB.
   */
  networksPerPass(): number {
    const perNetwork = 3 * this.source.count * Math.max(...this.zoo.architectures.map((a) => a.activationsPerProbe));
    return Math.max(1, Math.min(256, Math.floor(passBudgetFloats("evaluation") / perNetwork)));
  }

  /** K network evaluations (the probes themselves are made once for all networks), and the hidden summaries' few FLOPs per activation. */
  flopsPerNetwork(): number {
    const archs = this.zoo.architectures;
    const total = this.counts.reduce((a, b) => a + b, 0);
    const perProbe = (a: NetworkArchitecture) => a.flopsPerProbe + (this.hiddenSlots === undefined ? 0 : SUMMARY_FLOPS_PER_ACTIVATION * a.activationsPerProbe);
    if (archs.length === 1) return this.source.count * perProbe(archs[0]);
    return archs.reduce((s, a, k) => s + (this.source.count * perProbe(a) * this.counts[k]) / Math.max(1, total), 0);
  }

  trainable(): [string, Tensor][] {
    return this.source.namedParameters().map(([n, t]): [string, Tensor] => [`probe.${n}`, t]);
  }

  saved(): [string, Tensor][] {
    return this.trainable();
  }
}
