// DWSNets' INR zoos (MNIST and Fashion-MNIST INRs, as DWSNets, NFN and ProbeGen use them): one
// PyTorch checkpoint per SIREN, listed by a splits file {split: {path: [...], label: [...]}}.
// Two layouts:
// - MNIST: mnist-inrs/mnist_png_{training|testing}_<label>_<idx>/checkpoints/model_final.pth,
//   the label in the folder name (and, as strings, in the splits file);
// - FMNIST: fmnist_inrs/<split>/model_<i>.pth, each state dict with an int `label` entry.
// Import reads either into a probegen zoo (labels checked against every place they appear);
// export writes a probegen INR zoo in either layout.
import { makeDirectory } from "../../io/dirs.js";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { LABEL_NAMES, IMAGE_SET_NAMES, type ImageSetName } from "../../data/image-sets.js";
import type { SirenArchitecture } from "../../nets/siren.js";
import { readTorchCheckpoint } from "../../io/torch-checkpoint.js";
import { stateDictValue, writeTorchCheckpoint } from "../../io/torch-save.js";
import { PROBEGEN_VERSION } from "../../version.js";
import { SPLIT_NAMES, Zoo, encodeShard, planShards, rangesIndices, soleArchitecture, type SplitName, type ZooManifest, type ZooParameter } from "../format.js";
import { checkListedFiles, findRoot, reconcileDataset, runImport, splitsOf, type ImportPlan, type ImportReport } from "./import-build.js";
import { ExportFolder, readJsonFile, type ExportReport } from "./export-folder.js";
import { ImportError, extractParameters, parametersOf, stateDictOf } from "./state-dict.js";

export type DwsnetsLayout = "mnist" | "fmnist";

export interface DwsnetsImportOptions {
  splitsFile: string;
  out: string;
  /** Folder the splits file's paths are relative to (default: the splits file's folder). */
  root?: string;
  /** Take files the splits file names outside the root (refused by default). */
  allowOutsideRoot?: boolean;
  /** Names the classes; inferred from the paths when they say (mnist_png_..., fmnist_...). */
  dataset?: ImageSetName;
  /** Sine frequency of the SIRENs (DWSNets: 30). */
  w0?: number;
  /** Leave out networks with non-finite weights (found by reading every file first). */
  skipNonFinite?: boolean;
  shardSize?: number;
  workers?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface DwsnetsPlan extends ImportPlan {
  kind: "dwsnets";
  layout: DwsnetsLayout;
  /** Each network's checkpoint (absolute), label and path as the splits file gives it, in zoo order. */
  files: string[];
  labels: number[];
  sources: string[];
}

const MNIST_FOLDER = /mnist_png_(training|testing)_(\d+)_(\d+)/;

interface SplitEntry { file: string; source: string; label: number; split: SplitName }

/** The splits file's entries, in train, val, test order; labels parsed and checked; paths resolved from `root` (see findRoot). */
function readSplits(splitsFile: string, explicitRoot?: string, allowOutsideRoot = false): { entries: SplitEntry[]; root: string } {
  const doc = readJsonFile(splitsFile);
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) throw new ImportError(splitsFile, "is not a JSON object of splits");
  const entries: SplitEntry[] = [];
  for (const split of SPLIT_NAMES) {
    const s = (doc as Record<string, unknown>)[split];
    if (s === undefined) continue;
    const { path, label } = (s ?? {}) as { path?: unknown; label?: unknown };
    if (!Array.isArray(path) || !Array.isArray(label)) throw new ImportError(splitsFile, `split "${split}" must hold "path" and "label" lists`);
    if (path.length !== label.length) throw new ImportError(splitsFile, `split "${split}" lists ${path.length} paths and ${label.length} labels; they must be of the same length`);
    const bad = path.findIndex((p) => typeof p !== "string" || p === "");
    if (bad >= 0) throw new ImportError(splitsFile, `${split} entry ${bad}: the path is ${JSON.stringify(path[bad])}, not a file name`);
    path.forEach((p: string, i) => {
      const l = typeof label[i] === "string" && /^\d+$/.test(label[i]) ? Number(label[i]) : label[i];
      if (!Number.isInteger(l) || (l as number) < 0 || (l as number) > 9) throw new ImportError(splitsFile, `${split} entry ${i} (${p}) has label ${JSON.stringify(label[i])}, not a class 0-9`);
      entries.push({ file: p, source: p, label: l as number, split });
    });
  }
  if (entries.length === 0) throw new ImportError(splitsFile, "lists no networks (expected train, val and test splits)");
  const root = findRoot(splitsFile, entries.map((e) => e.source), explicitRoot);
  for (const e of entries) e.file = isAbsolute(e.source) ? e.source : join(root, e.source);
  const within = entries.map((e, i) => i - entries.findIndex((x) => x.split === e.split));
  checkListedFiles(splitsFile, entries.map((e) => e.file), entries.map((e) => e.source), (i) => `${entries[i].split} entry ${within[i]}`, root, allowOutsideRoot);
  return { entries, root };
}

/** The SIREN whose state dict has these parameters (seq.{i}.weight [out, in], seq.{i}.bias [out]). */
function sirenOf(params: ZooParameter[], w0: number, file: string): SirenArchitecture {
  const layers = params.length / 2;
  const ok = Number.isInteger(layers) && layers >= 2 && params.every((p, i) =>
    p.name === `seq.${Math.floor(i / 2)}.${i % 2 === 0 ? "weight" : "bias"}` && p.shape.length === (i % 2 === 0 ? 2 : 1));
  if (!ok) throw new ImportError(file, `is not a DWSNets SIREN state dict (seq.{i}.weight and seq.{i}.bias): it holds ${params.map((p) => `${p.name} [${p.shape.join(",")}]`).join(", ")}`);
  const w = (i: number) => params[2 * i].shape;
  for (let i = 1; i < layers; i++) {
    if (w(i)[1] !== w(i - 1)[0]) throw new ImportError(file, `seq.${i}.weight takes ${w(i)[1]} inputs but seq.${i - 1} gives ${w(i - 1)[0]}`);
  }
  return { inDim: w(0)[1], hidden: Array.from({ length: layers - 1 }, (_, i) => w(i)[0]), outDim: w(layers - 1)[0], w0, outputOffset: 0.5 };
}

export function planDwsnetsImport(opts: DwsnetsImportOptions): DwsnetsPlan {
  const splitsFile = resolve(opts.splitsFile);
  const read = readSplits(splitsFile, opts.root, opts.allowOutsideRoot);
  let entries = read.entries;
  const root = read.root;
  const mnist = entries.every((e) => MNIST_FOLDER.test(e.source));
  const layout: DwsnetsLayout = mnist ? "mnist" : "fmnist";
  if (mnist) {
    for (const e of entries) {
      const folderLabel = Number(MNIST_FOLDER.exec(e.source)![2]);
      if (folderLabel !== e.label) throw new ImportError(e.file, `its folder says label ${folderLabel}, ${splitsFile} says ${e.label}`);
    }
  }
  // The MNIST layout (labels in mnist_png_* folder names) is MNIST's; other paths only hint, and --dataset overrides them.
  const dataset = (mnist ? reconcileDataset(opts.dataset, "mnist", splitsFile)
    : opts.dataset ?? (entries.every((e) => /fmnist|fashion/i.test(e.source)) ? "fmnist" : undefined)) as ImageSetName | undefined;
  if (dataset === undefined) throw new ImportError(splitsFile, `its paths do not say which image set the INRs draw; pass --dataset ${IMAGE_SET_NAMES.join(" or ")}`);
  const first = readTorchCheckpoint(entries[0].file);
  const parameters = parametersOf(stateDictOf(first));
  const arch = sirenOf(parameters, opts.w0 ?? 30, entries[0].file);
  const skipped: string[] = [];
  if (opts.skipNonFinite) {
    entries = entries.filter((e) => {
      const { nonFinite } = extractParameters(stateDictOf(readTorchCheckpoint(e.file)), parameters, e.file);
      if (nonFinite !== null) skipped.push(e.source);
      return nonFinite === null;
    });
  }
  const count = entries.length;
  const splits = splitsOf(entries.map((e) => e.split));
  const manifest: ZooManifest = {
    format: "probegen-zoo", version: 1, family: "siren",
    architectures: [{ architecture: { ...arch }, parameters }],
    fields: [
      { name: "label", dtype: "I32", description: `class the INR draws (${layout === "mnist" ? "from its folder name" : "from its checkpoint's label entry"}, checked against the splits file)` },
      ...(layout === "mnist" ? [{ name: "source_split", dtype: "U8" as const, description: "split of the image set the image comes from, by the folder name: 0 training, 1 testing" }] : []),
    ],
    strings: [{ name: "source", description: "the checkpoint's path as the splits file gives it" }],
    task: { kind: "classification", labelNames: LABEL_NAMES[dataset] },
    count, splits,
    shards: planShards(count, opts.shardSize ?? 1000),
    provenance: {
      importer: "probegen zoo import dwsnets", probegenVersion: PROBEGEN_VERSION,
      splitsFile, root, layout, dataset,
      architecture: `SIREN ${arch.inDim}->${arch.hidden.join("->")}->${arch.outDim}, sin(${arch.w0} x), +0.5 (DWSNets)`,
      skippedNonFinite: skipped,
    },
  };
  return { kind: "dwsnets", out: opts.out, manifest, layout, files: entries.map((e) => e.file), labels: entries.map((e) => e.label), sources: entries.map((e) => e.source) };
}

export function importDwsnetsShard(plan: DwsnetsPlan, si: number, onNetwork: () => void): Uint8Array {
  const m = plan.manifest;
  const { start, count } = m.shards[si];
  const parameters = m.architectures[0].parameters;
  const networks = [];
  for (let i = start; i < start + count; i++) {
    const file = plan.files[i];
    const sd = stateDictOf(readTorchCheckpoint(file));
    if (plan.layout === "fmnist" && sd.has("label") && Number(sd.get("label")) !== plan.labels[i]) {
      throw new ImportError(file, `holds label ${String(sd.get("label"))}, the splits file says ${plan.labels[i]}`);
    }
    const { values, nonFinite } = extractParameters(sd, parameters, file);
    if (nonFinite !== null) throw new ImportError(file, `parameter ${nonFinite} holds non-finite values (NaN or infinity); rerun with --skip-nonfinite to leave such networks out`);
    networks.push({ params: values });
    onNetwork();
  }
  const idx = Array.from({ length: count }, (_, k) => start + k);
  const fields: Record<string, number[]> = { label: idx.map((i) => plan.labels[i]) };
  if (plan.layout === "mnist") fields.source_split = idx.map((i) => (MNIST_FOLDER.exec(plan.sources[i])![1] === "testing" ? 1 : 0));
  return encodeShard(m, si, networks, fields, { source: idx.map((i) => plan.sources[i]) });
}

export async function importDwsnets(opts: DwsnetsImportOptions): Promise<ImportReport & { plan: DwsnetsPlan }> {
  const plan = planDwsnetsImport(opts);
  const report = await runImport(plan, importDwsnetsShard, opts.workers ?? 1, opts.onProgress);
  return { ...report, plan };
}

export interface DwsnetsExportOptions {
  zoo: string;
  out: string;
  /** mnist (labels in folder names) or fmnist (a label entry in each file); default by the zoo's image set. */
  layout?: DwsnetsLayout;
  onProgress?: (done: number, total: number) => void;
}

/** Writes an INR zoo in DWSNets' layout: a checkpoint per INR and the splits file. */
export function exportDwsnets(opts: DwsnetsExportOptions): ExportReport {
  const zoo = Zoo.open(opts.zoo);
  const m = zoo.manifest;
  if (m.family !== "siren") throw new ImportError(opts.zoo, `holds ${m.family} networks; the DWSNets layout holds SIREN INRs`);
  soleArchitecture(m, "the DWSNets layout");
  if (m.task.kind !== "classification") throw new ImportError(opts.zoo, "is not a classification zoo; the DWSNets layout gives each INR a class");
  const layout: DwsnetsLayout = opts.layout ?? (m.provenance.dataset === "fmnist" ? "fmnist" : "mnist");
  const settings = { format: "dwsnets", layout, zoo: resolve(opts.zoo) };
  const folder = ExportFolder.start(opts.out, settings);
  const all = zoo.readAll();
  const labels = all.fields.get("label")!;
  const sourceSplit = all.fields.get("source_split");
  const params = m.architectures[0].parameters;
  const listed: Record<SplitName, { path: string[]; label: (string | number)[] }> = { train: { path: [], label: [] }, val: { path: [], label: [] }, test: { path: [], label: [] } };
  let done = 0;
  for (const split of SPLIT_NAMES) {
    for (const i of rangesIndices(m.splits[split])) {
      const label = labels[i];
      const testing = sourceSplit !== undefined ? sourceSplit[i] === 1 : split === "test";
      const rel = layout === "mnist"
        ? `mnist-inrs/mnist_png_${testing ? "testing" : "training"}_${label}_${i}/checkpoints/model_final.pth`
        : `fmnist_inrs/${split}/model_${i}.pth`;
      const file = join(opts.out, rel);
      makeDirectory(dirname(file));
      const tensors = params.map((p): [string, { data: Float32Array; shape: number[] }] => {
        const per = p.shape.reduce((a, b) => a * b, 1);
        return [p.name, { data: all.params.get(p.name)!.subarray(i * per, (i + 1) * per), shape: p.shape }];
      });
      writeTorchCheckpoint(file, stateDictValue(tensors, layout === "fmnist" ? [["label", label]] : []));
      listed[split].path.push(rel);
      listed[split].label.push(layout === "mnist" ? String(label) : label);
      opts.onProgress?.(++done, m.count);
    }
  }
  return folder.finish([[join(opts.out, `${layout}_splits.json`), JSON.stringify(listed)]], done);
}
