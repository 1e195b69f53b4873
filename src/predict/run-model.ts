// A trained run, ready to predict: what it was trained on (family, architecture or
// architectures, task, classes or target), checked against the networks it is asked about, and
// its model loaded from a checkpoint once those networks are known.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { Rng, type Tensor } from "../engine/index.js";
import { IMAGE_SET_NAMES, loadImageSet, type ImageSet, type ImageSetName } from "../data/image-sets.js";
import { makeProbeSource } from "../probes/make.js";
import type { ProbeSource } from "../probes/source.js";
import { networkArchitecture, type NetworkArchitecture } from "../nets/family.js";
import { MlpHead } from "../train/head.js";
import { labelledFeaturesPerProbe } from "../train/readouts.js";
import { ArchitectureError } from "../nets/spec-check.js";
import { loadCheckpoint, type CheckpointInfo } from "../train/checkpoint.js";
import { ProbingModel } from "../train/probing-model.js";
import { readRunFile, type RunFile } from "../train/run-folder.js";
import { ZooData } from "../train/zoo-data.js";
import { Zoo } from "../zoo/format.js";
import { RunFolderError } from "../train/run-folder.js";

export type CheckpointName = "best" | "last";

export class TrainedRun {
  /** The run's own architecture (a run trained on a zoo of one architecture), or null. */
  readonly architecture: NetworkArchitecture | null;
  /** What every network must take and give: one probe's shape and outputs per probe. */
  readonly probeShape: number[];
  readonly outputsPerProbe: number;

  private constructor(readonly dir: string, readonly runFile: RunFile, readonly checkpoint: CheckpointName) {
    const where = join(dir, "config.json");
    const specs = runFile.architecture !== undefined ? [runFile.architecture] : runFile.architectures ?? [];
    let bound: NetworkArchitecture[];
    try {
      bound = specs.map((s, k) => networkArchitecture(runFile.family, s, runFile.architecture !== undefined ? "architecture" : `architectures[${k}]`));
    } catch (e) {
      if (e instanceof ArchitectureError) throw new RunFolderError(where, e.message);
      throw e;
    }
    if (bound.length === 0) throw new RunFolderError(where, "records no architecture");
    this.architecture = runFile.architecture !== undefined ? bound[0] : null;
    this.probeShape = bound[0].probeShape;
    this.outputsPerProbe = bound[0].outputsPerProbe;
  }

  /** Opens a run folder; `checkpoint` defaults to best when the run has one. */
  static open(dir: string, checkpoint?: CheckpointName): TrainedRun {
    const rf = readRunFile(dir);
    const which = checkpoint ?? (existsSync(join(dir, "best.json")) || existsSync(join(dir, "best.safetensors")) ? "best" : "last");
    return new TrainedRun(dir, rf, which);
  }

  get task(): RunFile["task"] { return this.runFile.task; }
  get labelNames(): string[] { return this.runFile.labelNames; }
  get probes(): number { return this.runFile.config.probes; }
  get usesProbes(): boolean { return this.runFile.config.method !== "statnn"; }

  /**
   * Refuses the black-box path (exported probes, responses computed elsewhere) for a run that
   * reads its networks' hidden layers: answers from outside carry the outputs alone.
   */
  requireOutputsOnly(what: string): void {
    if (this.runFile.config.readout === "hidden") {
      throw new RunFolderError(join(this.dir, "config.json"), `the run reads its networks' hidden layers (--readout hidden), so ${what} cannot serve it: answers computed elsewhere carry the outputs alone. Predict the network files themselves (probegen predict ${this.dir} FILE...), or train a run with --readout logits for black-box networks`);
    }
  }

  /** The model of this run for the networks of `zoo` (their probes, head and statistics from the checkpoint). */
  model(zoo: Zoo): { model: ProbingModel; data: ZooData; info: CheckpointInfo } {
    const data = new ZooData(zoo, { unlabelled: true, skipNonFinite: false });
    const model = new ProbingModel(this.runFile.config, this.outputs, data);
    const info = loadCheckpoint(this.dir, this.checkpoint, model.savedTensors());
    return { model, data, info };
  }

  /** The run's probe source with its trained parameters (fixed probes are made again from the run's seed, as in training). */
  probeSource(): ProbeSource {
    const cfg = this.runFile.config;
    if (!this.usesProbes) throw new RunFolderError(join(this.dir, "config.json"), "the run represents networks by weight statistics (statnn); it has no probes");
    const imageSet = cfg.method === "data" ? this.imageSet() : undefined;
    const source = makeProbeSource({
      method: cfg.method as ProbeSource["method"], count: cfg.probes, latentDim: cfg.generator.latentDim,
      generatorHidden: cfg.generator.hidden, generatorActivation: cfg.generator.activation,
      generatorLayers: cfg.generator.layers, generatorWidth: cfg.generator.widthMultiplier, vanillaInit: cfg.vanillaInit, imageSet,
    }, this.probeShape, new Rng(cfg.seed, "model").fork("probes"));
    loadCheckpoint(this.dir, this.checkpoint, source.namedParameters().map(([n, t]): [string, Tensor] => [`probe.${n}`, t]));
    return source;
  }

  private imageSet(): ImageSet {
    const name = this.runFile.dataset ?? (() => {
      try { return Zoo.open(this.runFile.config.zoo).manifest.provenance.dataset; } catch { return undefined; }
    })();
    if (typeof name !== "string" || !(IMAGE_SET_NAMES as readonly string[]).includes(name)) {
      throw new RunFolderError(join(this.dir, "config.json"), `the run's data probes are images of its zoo's image set, which it does not record (${JSON.stringify(name)})`);
    }
    return loadImageSet(name as ImageSetName, this.runFile.config.dataDir);
  }

  /** The run's head alone, loaded: for responses computed elsewhere. */
  headOnly(): { model: MlpHead } {
    const cfg = this.runFile.config;
    const perProbe = cfg.readout === "labelled" ? labelledFeaturesPerProbe(this.outputsPerProbe) : this.outputsPerProbe;
    const head = new MlpHead(this.probes * perProbe, this.outputs, new Rng(cfg.seed, "model").fork("head"), cfg.head);
    loadCheckpoint(this.dir, this.checkpoint, head.namedParameters());
    return { model: head };
  }

  /** Head outputs: one per class, or one value. */
  get outputs(): number {
    return this.task === "classification" ? this.runFile.classes : 1;
  }
}
