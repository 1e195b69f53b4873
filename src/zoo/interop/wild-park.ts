// CNN Wild Park (Neural Graphs): CNNs of many architectures, one checkpoint.pt per network per
// training step (.../NN_tune_trainable_<id>/checkpoint_<step>/checkpoint.pt) holding the state
// dict (`model`), the architecture (`config`, an OmegaConf DictConfig of n_layers, n_classes,
// channels, kernel_size, stride, padding, residual, activation), optimiser state and results;
// cnn_park_splits.json lists {split: {path, score, step}}, every checkpoint a sample, split by
// network. Import makes a zoo of several architectures (format version 2), each network
// evaluated with Neural Graphs' residual rule (see nets/cnn.ts); export writes any probegen CNN zoo
// in this layout, with plain-dict configs that torch.load(weights_only=True) reads.
import { makeDirectory } from "../../io/dirs.js";
import { dirname, isAbsolute, join, resolve } from "node:path";
import type { ActivationName } from "../../engine/index.js";
import { cnnParameterShapes, residualSources, type CnnLayerSpec } from "../../nets/cnn.js";
import { parseSizedCnnArchitecture, type SizedCnnArchitecture } from "../../nets/family.js";
import { readTorchCheckpoint, type TorchCheckpoint } from "../../io/torch-checkpoint.js";
import { stateDictValue, writeTorchCheckpoint } from "../../io/torch-save.js";
import { PROBEGEN_VERSION } from "../../version.js";
import { SPLIT_NAMES, Zoo, encodeShard, planShards, rangesIndices, type SplitName, type ZooArchitecture, type ZooManifest } from "../format.js";
import { ExportFolder, readJsonFile, type ExportReport } from "./export-folder.js";
import { checkListedFiles, findRoot, reconcileDataset, runImport, splitsOf, type ImportPlan, type ImportReport } from "./import-build.js";
import { ImportError, extractParameters, stateDictOf } from "./state-dict.js";

export interface WildParkImportOptions {
  splitsFile: string;
  out: string;
  /** Folder the splits file's paths are relative to (default: the splits file's folder). */
  root?: string;
  /** Every checkpoint listed (the public code's samples), or only each network's last. */
  steps?: "all" | "last";
  /** Side of the square input images (32, CIFAR-10). */
  inputSize?: number;
  skipNonFinite?: boolean;
  /** The image set the networks were trained on (mnist, fmnist), when the checkpoints' config and paths do not say. */
  dataset?: string;
  /** Take files the splits file names outside the root (refused by default). */
  allowOutsideRoot?: boolean;
  shardSize?: number;
  workers?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface WildParkPlan extends ImportPlan {
  kind: "wild-park";
  files: string[];
  sources: string[];
  /** Per network (zoo order): architecture index, score, step and the index of the trained network it is a checkpoint of. */
  architecture: number[];
  score: number[];
  step: number[];
  network: number[];
}

/** Neural Graphs' CNNConfig, as the checkpoint's config holds it. */
interface CnnConfig {
  n_layers: number; n_classes: number; channels: number[]; kernel_size: number[]; stride: number[]; padding: number[];
  residual: number[]; activation: string[];
}

const ACTIVATIONS: Record<string, Pick<CnnLayerSpec, "activation" | "w0">> = {
  relu: { activation: "relu" }, gelu: { activation: "gelu" }, tanh: { activation: "tanh" }, sigmoid: { activation: "sigmoid" },
  leaky_relu: { activation: "leaky_relu" }, none: { activation: "none" }, sine: { activation: "sin", w0: 30 },
};

function configOf(ckpt: TorchCheckpoint): CnnConfig {
  const file = ckpt.file;
  const v = ckpt.value;
  if (!(v instanceof Map) || !(v.get("config") instanceof Map)) throw new ImportError(file, "holds no `config` (a CNN Wild Park checkpoint has model, optimizer, config, ...)");
  const c = v.get("config") as Map<string, unknown>;
  const int = (k: string) => {
    const x = c.get(k);
    if (!Number.isInteger(x) || (x as number) < 0) throw new ImportError(file, `config.${k} is ${JSON.stringify(x)}, not a count`);
    return x as number;
  };
  const list = <T>(k: string, ok: (x: unknown) => boolean, len: number): T[] => {
    const x = c.get(k);
    if (!Array.isArray(x) || x.length !== len || !x.every(ok)) throw new ImportError(file, `config.${k} is ${JSON.stringify(x)}, expected ${len} entries`);
    return [...x] as T[];
  };
  const n = int("n_layers");
  const isInt = (x: unknown) => Number.isInteger(x);
  return {
    n_layers: n, n_classes: int("n_classes"),
    channels: list<number>("channels", (x) => isInt(x) && (x as number) > 0, n + 1),
    kernel_size: list<number>("kernel_size", (x) => isInt(x) && (x as number) > 0, n),
    stride: list<number>("stride", (x) => isInt(x) && (x as number) > 0, n),
    padding: list<number>("padding", (x) => isInt(x) && (x as number) >= 0, n),
    residual: list<number>("residual", isInt, n),
    activation: list<string>("activation", (x) => typeof x === "string", n),
  };
}

function architectureOf(c: CnnConfig, inputSize: number, file: string): SizedCnnArchitecture {
  const layers = c.activation.map((a, i): CnnLayerSpec => {
    const act = ACTIVATIONS[a];
    if (act === undefined) throw new ImportError(file, `config.activation[${i}] "${a}" is not one probegen evaluates (${Object.keys(ACTIVATIONS).join(", ")})`);
    return { channels: c.channels[i + 1], kernel: c.kernel_size[i], stride: c.stride[i], padding: c.padding[i], ...act };
  });
  const arch: SizedCnnArchitecture = { inChannels: c.channels[0], layers, residual: c.residual, classes: c.n_classes, inputSize };
  try {
    residualSources(arch);
  } catch (e) {
    throw new ImportError(file, `config.residual: ${(e as Error).message}`);
  }
  return arch;
}

/** The architecture a CNN Wild Park checkpoint's config gives, checked as the importer checks it
 * (predict reads such checkpoints too, and must refuse what the importer refuses, before allocating). */
export function wildParkArchitecture(ckpt: TorchCheckpoint, inputSize: number): SizedCnnArchitecture {
  return architectureOf(configOf(ckpt), inputSize, ckpt.file);
}

/** An image set's name as probegen says it, from a config's dataset entry or a path. */
function imageSetIn(text: string): string | undefined {
  const t = text.toLowerCase();
  if (/(^|[^a-z])(fmnist|fashion[_-]?mnist)/.test(t)) return "fmnist";
  if (/(^|[^a-z])mnist/.test(t)) return "mnist";
  if (/(^|[^a-z])cifar[_-]?10/.test(t)) return "cifar10";
  return undefined;
}

/**
 * The image set of a park: --dataset, checked against the checkpoint config's dataset entry when
 * it has one; else that entry; else what the path suggests (cifar10_zooV2/...), which a
 * --dataset overrides, since folder names are only a hint.
 */
function parkDataset(given: string | undefined, ckpt: TorchCheckpoint, source: string): string | undefined {
  const config = ckpt.value instanceof Map ? ckpt.value.get("config") : undefined;
  const named = config instanceof Map && typeof config.get("dataset") === "string" ? config.get("dataset") as string : undefined;
  if (named !== undefined) return reconcileDataset(given, imageSetIn(named) ?? named, ckpt.file);
  return given ?? imageSetIn(source);
}

interface Entry { file: string; source: string; score: number; step: number; split: SplitName; network: string }

function readEntries(splitsFile: string, explicitRoot?: string, allowOutsideRoot = false): { entries: Entry[]; root: string } {
  const doc = readJsonFile(splitsFile);
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) throw new ImportError(splitsFile, "is not a JSON object of splits");
  const entries: Entry[] = [];
  for (const split of SPLIT_NAMES) {
    const s = (doc as Record<string, unknown>)[split];
    if (s === undefined) continue;
    const { path, score, step } = (s ?? {}) as { path?: unknown; score?: unknown; step?: unknown };
    if (!Array.isArray(path) || !Array.isArray(score)) throw new ImportError(splitsFile, `split "${split}" must hold "path" and "score" lists`);
    if (path.length !== score.length) throw new ImportError(splitsFile, `split "${split}" lists ${path.length} paths and ${score.length} scores; they must be of the same length`);
    const bad = path.findIndex((p) => typeof p !== "string" || p === "");
    if (bad >= 0) throw new ImportError(splitsFile, `${split} entry ${bad}: the path is ${JSON.stringify(path[bad])}, not a file name`);
    if (step !== undefined && (!Array.isArray(step) || step.length !== path.length)) throw new ImportError(splitsFile, `split "${split}": "step" must list one step per path`);
    path.forEach((p: string, i) => {
      const sc = score[i], st = Array.isArray(step) ? step[i] : Number(/checkpoint_0*(\d+)/.exec(p)?.[1] ?? 0);
      // Scores are test accuracies, fractions in [0, 1]; a step counts epochs from 0.
      if (typeof sc !== "number" || !Number.isFinite(sc) || sc < 0 || sc > 1) throw new ImportError(splitsFile, `${split} entry ${i} (${p}) has score ${JSON.stringify(sc)}, not a test accuracy in [0, 1]`);
      if (!Number.isInteger(st) || (st as number) < 0) throw new ImportError(splitsFile, `${split} entry ${i} (${p}) has step ${JSON.stringify(st)}, not a count of epochs (0 or more)`);
      // A network is the folder above its checkpoint folders.
      const network = dirname(dirname(p));
      entries.push({ file: p, source: p, score: sc, step: st as number, split, network });
    });
  }
  if (entries.length === 0) throw new ImportError(splitsFile, "lists no checkpoints");
  // The ProbeGen code reads the paths under <dataset_dir>/cnn_wild.
  const root = findRoot(splitsFile, entries.map((e) => e.source), explicitRoot, ["cnn_wild"]);
  for (const e of entries) e.file = isAbsolute(e.source) ? e.source : join(root, e.source);
  const within = entries.map((e, i) => i - entries.findIndex((x) => x.split === e.split));
  checkListedFiles(splitsFile, entries.map((e) => e.file), entries.map((e) => e.source), (i) => `${entries[i].split} entry ${within[i]}`, root, allowOutsideRoot);
  const splitOf = new Map<string, SplitName>();
  for (const e of entries) {
    const prior = splitOf.get(e.network);
    if (prior !== undefined && prior !== e.split) throw new ImportError(splitsFile, `network ${e.network} has checkpoints in both ${prior} and ${e.split}`);
    splitOf.set(e.network, e.split);
  }
  return { entries, root };
}

export function planWildParkImport(opts: WildParkImportOptions): WildParkPlan {
  const splitsFile = resolve(opts.splitsFile);
  const inputSize = opts.inputSize ?? 32;
  const read = readEntries(splitsFile, opts.root, opts.allowOutsideRoot);
  let entries = read.entries;
  const root = read.root;
  if ((opts.steps ?? "all") === "last") {
    const last = new Map<string, number>();
    for (const e of entries) last.set(e.network, Math.max(last.get(e.network) ?? -Infinity, e.step));
    entries = entries.filter((e) => e.step === last.get(e.network));
  }
  const dataset = parkDataset(opts.dataset, readTorchCheckpoint(entries[0].file, { storages: false }), entries[0].source);
  // The architecture of each network, from one of its checkpoints' config (read without tensors).
  const archOfNetwork = new Map<string, string>();
  const architectures: ZooArchitecture[] = [];
  const index = new Map<string, number>();
  for (const e of entries) {
    if (archOfNetwork.has(e.network)) continue;
    const arch = architectureOf(configOf(readTorchCheckpoint(e.file, { storages: false })), inputSize, e.file);
    const key = JSON.stringify(arch);
    if (!index.has(key)) {
      index.set(key, architectures.length);
      architectures.push({ architecture: { ...arch }, parameters: cnnParameterShapes(arch).map(([name, shape]) => ({ name, shape })) });
    }
    archOfNetwork.set(e.network, key);
  }
  const skipped: string[] = [];
  if (opts.skipNonFinite) {
    entries = entries.filter((e) => {
      const k = index.get(archOfNetwork.get(e.network)!)!;
      const { nonFinite } = extractParameters(stateDictOf(readTorchCheckpoint(e.file), "model"), architectures[k].parameters, e.file);
      if (nonFinite !== null) skipped.push(e.source);
      return nonFinite === null;
    });
  }
  const networks = [...new Set(entries.map((e) => e.network))];
  const count = entries.length;
  const splits = splitsOf(entries.map((e) => e.split));
  const several = architectures.length > 1;
  const manifest: ZooManifest = {
    format: "probegen-zoo", version: several ? 2 : 1, family: "cnn", architectures,
    ...(several ? { architectureField: "architecture" } : {}),
    fields: [
      { name: "test_accuracy", dtype: "F32", description: "the splits file's score: test accuracy at this checkpoint" },
      { name: "step", dtype: "I32", description: "training step (epoch) of the checkpoint" },
      { name: "network", dtype: "I32", description: "which trained network this is a checkpoint of (index in order of appearance)" },
      { name: "architecture", dtype: "I32", description: "index of the network's architecture in zoo.json" },
    ],
    strings: [{ name: "source", description: "the checkpoint's path as the splits file gives it" }],
    task: { kind: "regression", target: "test_accuracy" },
    count, splits, shards: planShards(count, opts.shardSize ?? 1000),
    provenance: {
      importer: "probegen zoo import wild-park", probegenVersion: PROBEGEN_VERSION,
      splitsFile, root, steps: opts.steps ?? "all", inputSize, networks: networks.length,
      residuals: "Neural Graphs' rule: residual[i] = j adds layer j's activated output to the first min(channels) channels of layer i, before its activation",
      skippedNonFinite: skipped,
      ...(dataset !== undefined ? { dataset } : {}),
    },
  };
  return {
    kind: "wild-park", out: opts.out, manifest,
    files: entries.map((e) => e.file), sources: entries.map((e) => e.source),
    architecture: entries.map((e) => index.get(archOfNetwork.get(e.network)!)!),
    score: entries.map((e) => e.score), step: entries.map((e) => e.step), network: entries.map((e) => networks.indexOf(e.network)),
  };
}

export function importWildParkShard(plan: WildParkPlan, si: number, onNetwork: () => void): Uint8Array {
  const m = plan.manifest;
  const { start, count } = m.shards[si];
  const inputSize = Number(m.provenance.inputSize);
  const networks = [];
  for (let i = start; i < start + count; i++) {
    const file = plan.files[i];
    const ckpt = readTorchCheckpoint(file);
    const a = m.architectures[plan.architecture[i]];
    if (JSON.stringify(architectureOf(configOf(ckpt), inputSize, file)) !== JSON.stringify(a.architecture)) {
      throw new ImportError(file, "its config differs from its network's other checkpoints' (or changed since the import was planned)");
    }
    const { values, nonFinite } = extractParameters(stateDictOf(ckpt, "model"), a.parameters, file);
    if (nonFinite !== null) throw new ImportError(file, `parameter ${nonFinite} holds non-finite values (NaN or infinity); rerun with --skip-nonfinite to leave such networks out`);
    networks.push({ architecture: plan.architecture[i], params: values });
    onNetwork();
  }
  const slice = <T>(a: T[]) => a.slice(start, start + count);
  return encodeShard(m, si, networks,
    { test_accuracy: slice(plan.score), step: slice(plan.step), network: slice(plan.network), architecture: slice(plan.architecture) },
    { source: slice(plan.sources) });
}

export async function importWildPark(opts: WildParkImportOptions): Promise<ImportReport & { plan: WildParkPlan }> {
  const plan = planWildParkImport(opts);
  const report = await runImport(plan, importWildParkShard, opts.workers ?? 1, opts.onProgress);
  return { ...report, plan };
}

export interface WildParkExportOptions {
  zoo: string;
  out: string;
  onProgress?: (done: number, total: number) => void;
}

const NG_ACTIVATION: Record<ActivationName, string> = { relu: "relu", gelu: "gelu", tanh: "tanh", sigmoid: "sigmoid", leaky_relu: "leaky_relu", none: "none", sin: "sine" };

/** Writes a CNN zoo in CNN Wild Park's layout: a checkpoint per network (and step) and cnn_park_splits.json. */
export function exportWildPark(opts: WildParkExportOptions): ExportReport {
  const zoo = Zoo.open(opts.zoo);
  const m = zoo.manifest;
  if (m.family !== "cnn") throw new ImportError(opts.zoo, `holds ${m.family} networks; the CNN Wild Park layout holds CNNs`);
  const target = m.task.target;
  if (m.task.kind !== "regression" || target === undefined) throw new ImportError(opts.zoo, "is not a regression zoo; CNN Wild Park scores each checkpoint");
  const folder = ExportFolder.start(opts.out, { format: "wild-park", zoo: resolve(opts.zoo) });
  const all = zoo.readAll();
  const score = all.fields.get(target)!, stepField = all.fields.get("step"), networkField = all.fields.get("network");
  const rowOf = new Int32Array(m.count);
  const seen = new Int32Array(m.architectures.length);
  for (let i = 0; i < m.count; i++) rowOf[i] = seen[all.architecture[i]]++;
  const listed: Record<SplitName, { path: string[]; score: number[]; step: number[] }> = {
    train: { path: [], score: [], step: [] }, val: { path: [], score: [], step: [] }, test: { path: [], score: [], step: [] },
  };
  let done = 0;
  for (const split of SPLIT_NAMES) {
    for (const i of rangesIndices(m.splits[split])) {
      const k = all.architecture[i];
      const base = parseSizedCnnArchitecture(m.architectures[k].architecture);
      // A variant field (the Small-CNN zoo's activation) makes each network's own architecture.
      const code = base.activationByField !== undefined ? all.fields.get(base.activationByField.field)?.[i] : undefined;
      const arch = code !== undefined ? { ...base, layers: base.layers.map((l) => ({ ...l, activation: base.activationByField!.names[code] })) } : base;
      const step = stepField !== undefined ? stepField[i] : 0;
      const network = networkField !== undefined ? networkField[i] : i;
      const rel = `cnn_park/NN_tune_trainable_${String(network).padStart(5, "0")}/checkpoint_${String(step).padStart(6, "0")}/checkpoint.pt`;
      const file = join(opts.out, rel);
      makeDirectory(dirname(file));
      const tensors = m.architectures[k].parameters.map((p): [string, { data: Float32Array; shape: number[] }] => {
        const per = p.shape.reduce((a, b) => a * b, 1);
        return [p.name, { data: all.groups[k].get(p.name)!.subarray(rowOf[i] * per, (rowOf[i] + 1) * per), shape: p.shape }];
      });
      const config = {
        n_layers: arch.layers.length, n_classes: arch.classes,
        channels: [arch.inChannels, ...arch.layers.map((l) => l.channels)],
        kernel_size: arch.layers.map((l) => l.kernel), stride: arch.layers.map((l) => l.stride), padding: arch.layers.map((l) => l.padding),
        residual: residualSources(arch), activation: arch.layers.map((l) => NG_ACTIVATION[l.activation]),
      };
      writeTorchCheckpoint(file, { model: stateDictValue(tensors), config, iteration: step });
      listed[split].path.push(rel);
      listed[split].score.push(score[i]);
      listed[split].step.push(step);
      opts.onProgress?.(++done, m.count);
    }
  }
  return folder.finish([[join(opts.out, "cnn_park_splits.json"), JSON.stringify(listed)]], done);
}
