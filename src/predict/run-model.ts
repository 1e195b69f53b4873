// A trained run, ready to predict: what it was trained on (family, architecture or
// architectures, task, classes or target), checked against the networks it is asked about, and
// its model loaded from a checkpoint once those networks are known.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { Rng, firstNonFinite, type Tensor } from "../engine/index.js";
import { StoredProbes } from "../probes/stored-probes.js";
import type { PredictorFile } from "./predictor-file.js";
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
/** A run folder's checkpoint, or "shipped": a predictor file's one model. */
export type ModelName = CheckpointName | "shipped";

export class TrainedRun {
  /** The run's own architecture (a run trained on a zoo of one architecture), or null. */
  readonly architecture: NetworkArchitecture | null;
  /** What every network must take and give: one probe's shape and outputs per probe. */
  readonly probeShape: number[];
  readonly outputsPerProbe: number;
  /** A predictor's probes, once made. */
  private stored: StoredProbes | null = null;

  /** dir: the run folder, or a predictor file (with `predictor`). */
  private constructor(readonly dir: string, readonly runFile: RunFile, readonly checkpoint: ModelName, readonly predictor: PredictorFile | null = null) {
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
    if (predictor !== null) {
      const shape = predictor.probeShape;
      if (shape.length !== this.probeShape.length || shape.some((d, i) => d !== this.probeShape[i])) {
        throw new RunFolderError(dir, `holds probes of shape [${shape.join(",")}]; its networks take [${this.probeShape.join(",")}]`);
      }
      const wrong = predictor.labels?.findIndex((c) => c >= this.outputsPerProbe) ?? -1;
      if (wrong >= 0) throw new RunFolderError(dir, `probe ${wrong}'s class is ${predictor.labels![wrong]}; its networks have ${this.outputsPerProbe} outputs`);
    }
  }

  /** A shipped predictor (predictor-file.ts) as a run: its head and its probes, kept as values. */
  static fromPredictor(p: PredictorFile): TrainedRun {
    return new TrainedRun(p.file, p.run, "shipped", p);
  }

  /** Loads the named tensors from the run's checkpoint, or from its predictor file. */
  private load(named: [string, Tensor][]): CheckpointInfo {
    if (this.predictor === null) return loadCheckpoint(this.dir, this.checkpoint as CheckpointName, named);
    for (const [name, into] of named) {
      const t = this.predictor.tensors.get(name);
      if (t === undefined) throw new RunFolderError(this.dir, `holds no tensor ${name}, which its head has`);
      if (t.shape.length !== into.shape.length || t.shape.some((d, i) => d !== into.shape[i])) throw new RunFolderError(this.dir, `${name} has shape [${t.shape.join(",")}] but its head expects [${into.shape.join(",")}]`);
      const bad = firstNonFinite(t.data);
      if (bad >= 0) throw new RunFolderError(this.dir, `tensor ${name} holds a non-finite value (${t.data[bad]} at ${bad})`);
      into.data.set(t.data);
    }
    return { step: 0, adamSteps: 0, best: null, metricsLines: 0, seconds: 0 };
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
    const model = new ProbingModel(this.runFile.config, this.outputs, data, { probeSource: this.predictor === null ? undefined : this.probeSource() });
    const info = this.load(model.savedTensors());
    return { model, data, info };
  }

  /** The run's probe source with its trained parameters (fixed probes are made again from the run's seed, as in training). */
  probeSource(): ProbeSource {
    const cfg = this.runFile.config;
    if (!this.usesProbes) throw new RunFolderError(join(this.dir, "config.json"), "the run represents networks by weight statistics (statnn); it has no probes");
    const p = this.predictor;
    // Made once: its tensor is persistent, and a page predicts file after file with one run.
    if (p !== null) return (this.stored ??= new StoredProbes(cfg.method as ProbeSource["method"], p.probeShape, p.probes, p.labels));
    const imageSet = cfg.method === "data" ? this.imageSet() : undefined;
    const source = makeProbeSource({
      method: cfg.method as ProbeSource["method"], count: cfg.probes, latentDim: cfg.generator.latentDim,
      generatorHidden: cfg.generator.hidden, generatorActivation: cfg.generator.activation,
      generatorLayers: cfg.generator.layers, generatorWidth: cfg.generator.widthMultiplier, vanillaInit: cfg.vanillaInit, imageSet,
    }, this.probeShape, new Rng(cfg.seed, "model").fork("probes"));
    this.load(source.namedParameters().map(([n, t]): [string, Tensor] => [`probe.${n}`, t]));
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
    this.load(head.namedParameters());
    return { model: head };
  }

  /** Head outputs: one per class, or one value. */
  get outputs(): number {
    return this.task === "classification" ? this.runFile.classes : 1;
  }
}
