// The networks a run is asked about, from whatever the user has: PyTorch checkpoints (.pth, .pt),
// safetensors state dicts, probegen zoos (a split or chosen indices), or a zoo in a public layout
// (a DWSNets or CNN Wild Park splits file, a Small CNN Zoo folder), gathered into one in-memory
// zoo. Every network is checked against the run: its family, its parameters' names and shapes
// (a mismatch names the file, the parameter and both shapes), and what its probes are.
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { firstNonFinite, type ActivationName } from "../engine/index.js";
import { FileFormatError, FileWriteError, describeSystemError } from "../file-error.js";
import { atInterrupt } from "../io/interrupts.js";
import { processAlive } from "../io/folder-lock.js";
import { floatWeights, readTorchCheckpoint, TorchTensor, type TorchCheckpoint } from "../io/torch-checkpoint.js";
import { readSafetensors } from "../io/safetensors.js";
import { networkArchitecture, parseSizedCnnArchitecture, type NetworkArchitecture } from "../nets/family.js";
import { ArchitectureError } from "../nets/spec-check.js";
import { blackBoxModelFiles } from "../zoo/black-box-models.js";
import { MANIFEST_FILE, SPLIT_NAMES, Zoo, rangesIndices, type ShardData, type SplitName, type ZooArchitecture, type ZooField, type ZooManifest } from "../zoo/format.js";
import { importDwsnets } from "../zoo/interop/dwsnets.js";
import { readJsonFile } from "../zoo/interop/export-folder.js";
import { importSmallCnnZoo } from "../zoo/interop/small-cnn-zoo.js";
import { importWildPark, wildParkArchitecture } from "../zoo/interop/wild-park.js";
import type { TrainedRun } from "./run-model.js";
import { NETWORK_METADATA } from "../zoo/interop/safetensors-export.js";
import { readOnnx } from "../io/onnx.js";
import { OnnxPlanError, isOnnxPlan, onnxParameterValues, onnxPlanSpec, planOnnxGraph, type OnnxPlan } from "../nets/onnx-graph.js";

export class PredictInputError extends FileFormatError {}

/** Temporary imports of public layouts: probegen-predict-<pid>-XXXXXX in the system's temporary folder. */
const COPY_PREFIX = "probegen-predict-";

/** Removes the temporary imports of predict processes that are gone (killed before they could). */
function removeAbandonedCopies(): void {
  let names: string[];
  try {
    names = readdirSync(tmpdir());
  } catch {
    return;
  }
  for (const n of names) {
    const pid = Number(/^probegen-predict-(\d+)-/.exec(n)?.[1]);
    if (!Number.isInteger(pid) || pid === process.pid || processAlive(pid)) continue;
    rmSync(join(tmpdir(), n), { recursive: true, force: true });
  }
}

export interface InputOptions {
  /** Networks of a zoo to take: a split, or indices (default: the test split). */
  split?: SplitName;
  indices?: number[];
  /** For bare weights of a run whose networks differ in activation (the Small CNN Zoo's): theirs. */
  activation?: ActivationName;
}

/** One network to predict: where it came from, its architecture (as recorded), its weights, and what it truly is when known. */
interface InputNetwork {
  name: string;
  spec: Record<string, unknown>;
  params: Float32Array[];
  /** Code of its variant (activation) in the run architecture's names, when the run has variants. */
  variant?: number;
  /** Class index or target value, when the input says. */
  truth?: number;
  /** A black-box network of an ONNX zoo: its model file, which onnxruntime answers (no params, no spec). */
  blackBox?: string;
}

/**
 * The networks gathered: the engine's in an in-memory zoo (in order), and the black-box ones'
 * model files with their places; each network's name, and whether truths are known.
 */
export interface PredictionInputs {
  /** The networks the engine runs, in order (null when every network is black-box). */
  zoo: Zoo | null;
  /** Black-box networks: their places among `names`, and their model files. */
  blackBox: { at: number; file: string }[];
  names: string[];
  /** Truth per network (class, or target), NaN when unknown. */
  truth: Float64Array;
}

const TRUTH = "truth", VARIANT = "variant", ARCHITECTURE = "architecture";

function describeSpecDifference(a: unknown, b: unknown, path = "architecture"): string {
  if (JSON.stringify(a) === JSON.stringify(b)) return "";
  if (a !== null && b !== null && typeof a === "object" && typeof b === "object") {
    const keys = new Set([...Object.keys(a as object), ...Object.keys(b as object)]);
    for (const k of keys) {
      const d = describeSpecDifference((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], Array.isArray(a) ? `${path}[${k}]` : `${path}.${k}`);
      if (d !== "") return d;
    }
  }
  return `${path} is ${JSON.stringify(a)} here, ${JSON.stringify(b)} in the run`;
}

/** The run's architecture spec without its variant field: what a single network of it is. */
function plainSpec(run: TrainedRun): Record<string, unknown> {
  const { activationByField: _v, ...rest } = run.runFile.architecture as Record<string, unknown>;
  return rest;
}

export class InputCollector {
  readonly networks: InputNetwork[] = [];
  private readonly temporaries: string[] = [];
  private readonly forgets: (() => void)[] = [];
  private readonly added: string[] = [];

  constructor(private readonly run: TrainedRun, private readonly opts: InputOptions) {}

  /** A true class as a file gives it, checked against the run's classes: a wrong label must not count in accuracy. */
  private classOf(file: string, what: string, v: unknown): number {
    const classes = this.run.outputs;
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v >= classes) {
      throw new PredictInputError(file, `${what} is ${JSON.stringify(v)}, not one of the run's ${classes} classes (an integer 0 to ${classes - 1})`);
    }
    return v;
  }

  /** Checks a network's weights against an architecture: every parameter, by name and shape, finite. */
  private weightsFor(file: string, arch: NetworkArchitecture, tensors: Map<string, { shape: readonly number[]; values: () => Float32Array }>): Float32Array[] {
    const out: Float32Array[] = [];
    for (const [name, shape] of arch.parameters) {
      const t = tensors.get(name);
      if (t === undefined) throw new PredictInputError(file, `has no parameter ${name} [${shape.join(",")}], which the run's networks have (it holds ${[...tensors.keys()].join(", ") || "no tensors"})`);
      if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
        throw new PredictInputError(file, `parameter ${name} has shape [${t.shape.join(",")}], the run's networks have [${shape.join(",")}]`);
      }
      const v = t.values();
      const bad = firstNonFinite(v);
      if (bad >= 0) throw new PredictInputError(file, `parameter ${name} holds a non-finite value (${v[bad]} at ${bad})`);
      out.push(v);
    }
    const extra = [...tensors.keys()].filter((n) => !arch.parameters.some(([p]) => p === n));
    if (extra.length > 0) throw new PredictInputError(file, `holds ${extra.join(", ")}, which the run's networks do not have`);
    return out;
  }

  /** The variant code of a network of this run from the activation of its layers, or the --activation option. */
  private variantOf(file: string, activation: string | undefined): number | undefined {
    const byField = (this.run.runFile.architecture as { activationByField?: { names: string[] } } | undefined)?.activationByField;
    if (byField === undefined) return undefined;
    const name = activation ?? this.opts.activation;
    if (name === undefined) throw new PredictInputError(file, `the run's networks each have their own activation (${byField.names.join(" or ")}), which weights alone do not show; pass --activation`);
    const code = byField.names.indexOf(name);
    if (code < 0) throw new PredictInputError(file, `activation ${name} is not one the run was trained on (${byField.names.join(", ")})`);
    return code;
  }

  /** A bare state dict (or a Wild Park checkpoint, whose config gives its own architecture). */
  addCheckpoint(file: string): void {
    const ckpt = readTorchCheckpoint(file);
    const v = ckpt.value;
    const sd = v instanceof Map && v.get("model") instanceof Map ? v.get("model") as Map<unknown, unknown>
      : v instanceof Map && v.get("state_dict") instanceof Map ? v.get("state_dict") as Map<unknown, unknown> : v;
    if (!(sd instanceof Map)) throw new PredictInputError(file, "holds no state dict (a dict of tensors)");
    const tensors = new Map<string, { shape: readonly number[]; values: () => Float32Array }>();
    for (const [k, t] of sd) if (typeof k === "string" && t instanceof TorchTensor) tensors.set(k, { shape: t.shape, values: () => floatWeights(t, file, k) });
    const config = v instanceof Map ? v.get("config") : undefined;
    const label = sd.get("label");
    const truth = this.run.task === "classification" && label !== undefined ? this.classOf(file, "its label entry", label) : undefined;
    if (config instanceof Map) this.addWithConfig(ckpt, tensors, truth);
    else this.addBare(file, tensors, truth);
  }

  /** A safetensors state dict; the metadata of `probegen zoo export --format safetensors` (architecture, activation, label or target) is used when present. */
  addSafetensors(file: string): void {
    const st = readSafetensors(file);
    const tensors = new Map<string, { shape: readonly number[]; values: () => Float32Array }>();
    for (const [k, t] of st.tensors) {
      if (t.dtype !== "F32") throw new PredictInputError(file, `tensor ${k} is ${t.dtype}; parameters are read as F32`);
      tensors.set(k, { shape: t.shape, values: () => t.data as Float32Array });
    }
    const meta = st.metadata;
    let spec: Record<string, unknown> | undefined;
    if (meta[NETWORK_METADATA.architecture] !== undefined) {
      try {
        spec = JSON.parse(meta[NETWORK_METADATA.architecture]) as Record<string, unknown>;
      } catch {
        throw new PredictInputError(file, `its metadata's architecture is not JSON`);
      }
    }
    const truthKey = this.run.task === "classification" ? NETWORK_METADATA.label : this.run.runFile.target;
    const raw = truthKey !== undefined && meta[truthKey] !== undefined && meta[truthKey] !== "" ? meta[truthKey] : undefined;
    let truth: number | undefined;
    if (raw !== undefined && this.run.task === "classification") truth = this.classOf(file, `its metadata's ${truthKey}`, /^\d+$/.test(raw) ? Number(raw) : raw);
    else if (raw !== undefined) {
      truth = Number(raw);
      if (!Number.isFinite(truth)) throw new PredictInputError(file, `its metadata's ${truthKey} is ${JSON.stringify(raw)}, not a finite number`);
    }
    this.addBare(file, tensors, truth, meta[NETWORK_METADATA.activation], spec);
  }

  /** An ONNX model: its graph planned for the engine (a run on an ONNX zoo takes models of the structures it was trained on). */
  addOnnx(file: string): void {
    if (this.run.runFile.family !== "onnx") throw new PredictInputError(file, `is an ONNX model; the run was trained on a ${this.run.runFile.family} zoo (ONNX models need a run trained on an ONNX zoo)`);
    let plan: OnnxPlan;
    let values: Map<string, Float32Array>;
    try {
      const model = readOnnx(file);
      const planned = planOnnxGraph(model);
      if (!isOnnxPlan(planned)) throw new PredictInputError(file, `is black-box: node ${planned.node}${planned.opType ? ` (${planned.opType})` : ""}: ${planned.reason}; predict it through onnxruntime with --black-box (the run's probes must be fixed, or exported)`);
      plan = planned;
      values = onnxParameterValues(plan, model.graph);
    } catch (e) {
      if (e instanceof OnnxPlanError) throw new PredictInputError(file, e.message);
      throw e;
    }
    const tensors = new Map(plan.parameters.map((p) => [p.name, { shape: p.shape, values: () => values.get(p.name)! }] as const));
    this.addBare(file, tensors, undefined, undefined, onnxPlanSpec(plan));
  }

  /** Weights without a config; `spec`, when the file records one, is checked against the run's or (a run of many architectures) taken as the network's. */
  private addBare(file: string, tensors: Map<string, { shape: readonly number[]; values: () => Float32Array }>, truth?: number, activation?: string, spec?: Record<string, unknown>): void {
    if (this.run.architecture === null) {
      if (spec === undefined) {
        throw new PredictInputError(file, "the run was trained on networks of many architectures, and bare weights do not say their own; give a checkpoint with its config (CNN Wild Park's), a file exported with its architecture (zoo export --format safetensors) or a zoo");
      }
      let arch: NetworkArchitecture;
      try {
        arch = networkArchitecture(this.run.runFile.family, spec, "architecture");
      } catch (e) {
        if (e instanceof ArchitectureError) throw new PredictInputError(file, e.message);
        throw e;
      }
      this.checkInterface(file, arch);
      this.networks.push({ name: file, spec, params: this.weightsFor(file, arch, tensors), truth });
      return;
    }
    if (spec !== undefined) {
      const diff = describeSpecDifference(spec, plainSpec(this.run));
      if (diff !== "") throw new PredictInputError(file, `is not of the run's architecture: ${diff}`);
    }
    const arch = this.run.architecture.variantField === null ? this.run.architecture : this.run.architecture.variant(0);
    this.networks.push({ name: file, spec: plainSpec(this.run), params: this.weightsFor(file, arch, tensors), variant: this.variantOf(file, activation), truth });
  }

  /** A CNN Wild Park checkpoint: its config is its architecture. */
  private addWithConfig(ckpt: TorchCheckpoint, tensors: Map<string, { shape: readonly number[]; values: () => Float32Array }>, truth?: number): void {
    const file = ckpt.file;
    if (this.run.runFile.family !== "cnn") throw new PredictInputError(file, `is a checkpoint with a CNN config (CNN Wild Park's); the run was trained on ${this.run.runFile.family} networks`);
    const spec = { ...wildParkArchitecture(ckpt, this.run.probeShape[1]) } as Record<string, unknown>;
    let arch: NetworkArchitecture;
    try {
      arch = networkArchitecture(this.run.runFile.family, spec, "config");
    } catch (e) {
      if (e instanceof ArchitectureError) throw new PredictInputError(file, e.message);
      throw e;
    }
    this.checkInterface(file, arch);
    if (this.run.architecture !== null) {
      // A run of one architecture takes networks of that architecture only.
      const run = plainSpec(this.run);
      const activations = (spec.layers as { activation: string }[]).map((l) => l.activation);
      const variant = this.run.architecture.variantField !== null && activations.every((a) => a === activations[0]) ? activations[0] : undefined;
      const own = variant === undefined ? spec : { ...spec, layers: (spec.layers as Record<string, unknown>[]).map((l) => ({ ...l, activation: (run.layers as { activation: string }[])[0].activation })) };
      const diff = describeSpecDifference(parseSizedCnnArchitecture(own), parseSizedCnnArchitecture(run));
      if (diff !== "") throw new PredictInputError(file, `is not of the run's architecture: ${diff}`);
      this.networks.push({ name: file, spec: run, params: this.weightsFor(file, arch, tensors), variant: this.variantOf(file, variant), truth });
      return;
    }
    this.networks.push({ name: file, spec, params: this.weightsFor(file, arch, tensors), truth });
  }

  private checkInterface(where: string, arch: NetworkArchitecture): void {
    if (arch.probeShape.join(",") !== this.run.probeShape.join(",") || arch.outputsPerProbe !== this.run.outputsPerProbe) {
      throw new PredictInputError(where, `its networks take inputs [${arch.probeShape.join(",")}] and give ${arch.outputsPerProbe} outputs; the run's take [${this.run.probeShape.join(",")}] and give ${this.run.outputsPerProbe}`);
    }
  }

  /** A probegen zoo: the chosen networks, with their labels or targets, named label#index. */
  addZoo(dir: string, label = dir, zoo = Zoo.open(dir)): void {
    const m = zoo.manifest;
    const file = join(dir, MANIFEST_FILE);
    if (m.family !== this.run.runFile.family) throw new PredictInputError(file, `holds ${m.family} networks; the run was trained on ${this.run.runFile.family} networks`);
    let bound: NetworkArchitecture[];
    try {
      bound = m.architectures.map((a) => networkArchitecture(m.family, a.architecture));
    } catch (e) {
      if (e instanceof ArchitectureError) throw new PredictInputError(file, e.message);
      throw e;
    }
    if (this.run.architecture !== null) {
      if (m.architectures.length !== 1) throw new PredictInputError(file, `holds networks of ${m.architectures.length} architectures; the run was trained on one`);
      const { activationByField: ownField, ...own } = m.architectures[0].architecture as Record<string, unknown>;
      const diff = describeSpecDifference(own, plainSpec(this.run));
      if (diff !== "") throw new PredictInputError(file, `is not of the run's architecture: ${diff}`);
      if (((ownField === undefined) !== (this.run.architecture.variantField === null))) throw new PredictInputError(file, "its networks' activations are recorded differently from the run's");
    } else {
      for (const a of bound) this.checkInterface(file, a);
    }
    const all = zoo.readAll();
    const indices = this.opts.indices ?? rangesIndices(m.splits[this.opts.split ?? "test"]);
    for (const i of indices) if (!Number.isInteger(i) || i < 0 || i >= m.count) throw new PredictInputError(file, `has no network ${i} (it holds ${m.count})`);
    const rowOf = new Int32Array(m.count);
    const seen = new Int32Array(m.architectures.length);
    for (let i = 0; i < m.count; i++) rowOf[i] = seen[all.architecture[i]]++;
    const truthField = this.run.task === "classification" ? "label" : this.run.runFile.target ?? m.task.target;
    const truths = truthField === undefined ? undefined : all.fields.get(truthField);
    const byField = (m.architectures[0].architecture as { activationByField?: { field: string; names: string[] } }).activationByField;
    const sources = all.strings.get("source");
    const blackBoxIndices = indices.filter((i) => bound[all.architecture[i]].blackBox);
    const blackBoxFiles = new Map(blackBoxModelFiles(file, all.strings.get("model"), blackBoxIndices).map((f, j) => [blackBoxIndices[j], f]));
    for (const i of indices) {
      const k = all.architecture[i];
      const a = m.architectures[k];
      const name = `${label}#${i}${sources !== undefined ? ` (${sources[i]})` : ""}`;
      const truth = truths === undefined ? undefined : Number(truths[i]);
      const blackBox = blackBoxFiles.get(i);
      if (blackBox !== undefined) {
        this.networks.push({ name, spec: a.architecture, params: [], blackBox, truth });
        continue;
      }
      const params = a.parameters.map((p) => {
        const per = p.shape.reduce((x, y) => x * y, 1);
        return all.groups[k].get(p.name)!.slice(rowOf[i] * per, (rowOf[i] + 1) * per);
      });
      for (const [pi, p] of params.entries()) {
        const bad = firstNonFinite(p);
        if (bad >= 0) throw new PredictInputError(file, `network ${i} holds a non-finite value in ${a.parameters[pi].name}`);
      }
      const variant = byField === undefined ? undefined : this.variantOf(file, byField.names[all.fields.get(byField.field)![i]]);
      const spec = this.run.architecture !== null ? plainSpec(this.run) : a.architecture;
      this.networks.push({ name, spec, params, variant, truth });
    }
  }

  /** A zoo in a public layout: imported into a temporary probegen zoo, all its networks taken. */
  async addPublic(path: string): Promise<void> {
    // What the layout holds is checked against the run before anything is copied.
    const needs = (family: string, layout: string) => {
      if (this.run.runFile.family !== family) throw new PredictInputError(path, `is ${layout}, of ${family} networks; the run was trained on ${this.run.runFile.family} networks`);
    };
    const isFolder = statSync(path).isDirectory();
    let doc: Record<string, { label?: unknown; score?: unknown }> | null = null;
    let kind: "dwsnets" | "wild-park" | "small-cnn-zoo";
    if (isFolder) kind = "small-cnn-zoo";
    else {
      doc = readJsonFile(path) as Record<string, { label?: unknown; score?: unknown }>;
      const first = SPLIT_NAMES.map((s) => doc?.[s]).find((s) => s !== undefined);
      if (first?.label !== undefined) kind = "dwsnets";
      else if (first?.score !== undefined) kind = "wild-park";
      else throw new PredictInputError(path, "is a JSON file but neither a DWSNets nor a CNN Wild Park splits file");
    }
    needs(kind === "dwsnets" ? "siren" : "cnn", kind === "dwsnets" ? "a DWSNets splits file" : kind === "wild-park" ? "a CNN Wild Park splits file" : "a Small CNN Zoo folder");
    let tmp: string;
    try {
      removeAbandonedCopies();
      tmp = mkdtempSync(join(tmpdir(), `${COPY_PREFIX}${process.pid}-`));
    } catch (e) {
      throw new FileWriteError(tmpdir(), `cannot hold a temporary folder for ${path}'s import: ${describeSystemError(e)}; set TMPDIR to a writable folder`);
    }
    this.temporaries.push(tmp);
    // A signal mid-import removes the copy too (interrupts.ts).
    this.forgets.push(atInterrupt(() => rmSync(tmp, { recursive: true, force: true })));
    const out = join(tmp, "zoo");
    if (isFolder) {
      const padding = ((plainSpec(this.run).layers as { padding: number }[] | undefined)?.[0]?.padding ?? 0) === 1 ? 1 : 0;
      await importSmallCnnZoo({ dir: path, out, padding, splitFile: existsSync(join(path, "nfn_split.csv")) ? join(path, "nfn_split.csv") : undefined });
    } else if (kind === "dwsnets") {
      const d = this.run.runFile.dataset;
      await importDwsnets({ splitsFile: path, out, dataset: d === "mnist" || d === "fmnist" ? d : undefined });
    } else {
      await importWildPark({ splitsFile: path, out, inputSize: this.run.probeShape[1] });
    }
    const indices = this.opts.indices;
    const before = { ...this.opts };
    this.opts.indices = indices ?? rangesIndices([[0, Zoo.open(out).count]]);
    try {
      this.addZoo(out, path);
    } finally {
      Object.assign(this.opts, before);
    }
  }

  /** Adds one NETWORK argument, whatever it is. */
  async add(arg: string): Promise<void> {
    this.added.push(arg);
    // Networks are named by the path as given, as the user wrote it.
    const path = arg;
    let isDir: boolean;
    try {
      isDir = statSync(path).isDirectory();
    } catch (e) {
      // The cause as the system gives it: a missing file, a symbolic link loop, a part that is no folder.
      throw new PredictInputError(arg, describeSystemError(e));
    }
    if (isDir) {
      if (existsSync(join(path, MANIFEST_FILE))) this.addZoo(path);
      else if (existsSync(join(path, "weights.npy"))) await this.addPublic(path);
      else throw new PredictInputError(arg, "is a folder but neither a probegen zoo (zoo.json) nor a Small CNN Zoo (weights.npy)");
    } else if (/\.(pth|pt|ckpt|bin)$/i.test(path)) this.addCheckpoint(path);
    else if (/\.safetensors$/i.test(path)) this.addSafetensors(path);
    else if (/\.onnx$/i.test(path)) this.addOnnx(path);
    else if (/\.json$/i.test(path)) await this.addPublic(path);
    else throw new PredictInputError(arg, "is not a network this command reads (.pth, .pt, .safetensors, .onnx, a zoo folder, a public splits file or a Small CNN Zoo folder)");
  }

  /** Everything added, as one in-memory zoo whose networks keep their order. */
  gather(): PredictionInputs {
    const everything = this.networks;
    if (everything.length === 0) throw new PredictInputError(this.added.join(", ") || "(inputs)", `holds no networks to predict (an empty ${this.opts.split ?? "test"} split? choose another with --split or --index)`);
    const blackBox = everything.flatMap((n, at) => (n.blackBox !== undefined ? [{ at, file: n.blackBox }] : []));
    const names = everything.map((n) => n.name), truth = Float64Array.from(everything, (n) => n.truth ?? NaN);
    const nets = everything.filter((n) => n.blackBox === undefined);
    if (nets.length === 0) return { zoo: null, blackBox, names, truth };
    const keys = new Map<string, number>();
    const architectures: ZooArchitecture[] = [];
    const archOf = nets.map((n) => {
      const key = JSON.stringify(n.spec);
      let k = keys.get(key);
      if (k === undefined) {
        k = architectures.length;
        keys.set(key, k);
        const spec = this.run.architecture !== null ? (this.run.runFile.architecture as Record<string, unknown>) : n.spec;
        architectures.push({ architecture: spec, parameters: networkArchitecture(this.run.runFile.family, spec).parameters.map(([name, shape]) => ({ name, shape })) });
      }
      return k;
    });
    const byField = this.run.architecture?.variantField ?? null;
    const fields: ZooField[] = [];
    const values = new Map<string, Float32Array | Int32Array>();
    if (byField !== null) { fields.push({ name: byField, dtype: "I32", description: "activation code" }); values.set(byField, Int32Array.from(nets, (n) => n.variant ?? 0)); }
    if (architectures.length > 1) { fields.push({ name: ARCHITECTURE, dtype: "I32", description: "architecture" }); values.set(ARCHITECTURE, Int32Array.from(archOf)); }
    const groups = architectures.map((a, k) => {
      const members = nets.filter((_, i) => archOf[i] === k);
      return new Map(a.parameters.map((p, pi) => {
        const per = p.shape.reduce((x, y) => x * y, 1);
        const data = new Float32Array(members.length * per);
        members.forEach((n, j) => data.set(n.params[pi], j * per));
        return [p.name, data];
      }));
    });
    const count = nets.length;
    const manifest: ZooManifest = {
      format: "probegen-zoo", version: architectures.length > 1 ? 2 : 1, family: this.run.runFile.family, architectures,
      ...(architectures.length > 1 ? { architectureField: ARCHITECTURE } : {}),
      fields, strings: [],
      task: this.run.task === "classification" ? { kind: "classification", labelNames: this.run.labelNames } : { kind: "regression", target: TRUTH },
      count, splits: { train: [], val: [], test: [[0, count]] }, shards: [{ file: "(memory)", start: 0, count }],
      provenance: this.run.runFile.dataset !== undefined ? { dataset: this.run.runFile.dataset } : {},
    };
    const all: ShardData = {
      params: architectures.length === 1 ? groups[0] : new Map(), groups, architecture: Int32Array.from(archOf),
      fields: values as ShardData["fields"], strings: new Map(), count,
    };
    void VARIANT;
    return { zoo: Zoo.inMemory("(inputs)", manifest, all), blackBox, names, truth };
  }

  /** Removes what public-layout imports left in the temporary folder. */
  cleanup(): void {
    for (const t of this.temporaries) rmSync(t, { recursive: true, force: true });
    for (const f of this.forgets) f();
  }
}
