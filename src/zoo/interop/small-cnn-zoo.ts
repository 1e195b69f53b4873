// The Small CNN Zoo (Unterthiner et al. 2020; CIFAR10-GS and its siblings): weights.npy (one row
// of flattened TF variables per network and checkpoint), layout.csv (each variable's name, column
// range and TF shape), metrics.csv.gz (hyperparameters and scores per row, read by column name)
// and, from NFN, a split file (a permutation of the rows).
//
// Import keeps one training step (86, the last, by default) in the split file's order, leaves
// out networks whose weights are not finite (as NFN's loader requires), splits as NFN does
// (second half test, first half 80/20 by Python's random.Random(0)), and stores each network under
// the generic CNN family's names in PyTorch layouts (TF conv kernels [kh, kw, in, out] become
// [out, in, kh, kw]; dense [in, out] becomes [out, in]). Rows of weights.npy are read one at a
// time: a 5 GB file is never in memory. Export writes a probegen CNN zoo in these files.
import { existsSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { gzipSync } from "node:zlib";
import { parse as parseCsv } from "csv-parse/sync";
import type { ActivationName } from "../../engine/index.js";
import { parseSizedCnnArchitecture, type SizedCnnArchitecture } from "../../nets/family.js";
import { cnnParameterShapes, residualSources } from "../../nets/cnn.js";
import { csvText, readCsvColumns, type CsvColumn } from "../../io/csv-columns.js";
import { NpyRowReader, NpyWriter } from "../../io/npy.js";
import { readRegularFile } from "../../io/read-file.js";
import { CNN_ACTIVATIONS, CNN_INITS, CNN_OPTIMIZERS } from "../build/cnn-recipe.js";
import { PROBEGEN_VERSION } from "../../version.js";
import { Zoo, encodeShard, planShards, soleArchitecture, type ZooField, type ZooManifest, type ZooStringField } from "../format.js";
import { nfnSplits } from "../nfn-split.js";
import { ExportFolder, type ExportReport } from "./export-folder.js";
import { reconcileDataset, runImport, type ImportPlan, type ImportReport } from "./import-build.js";
import { allFinite } from "../../engine/finite.js";
import { ImportError } from "./state-dict.js";

/** How the split file's first line is read: as the header it is, or as a row (pandas' header=None, as the official code). */
export type SplitReading = "header" | "official";

export interface SmallCnnZooImportOptions {
  dir: string;
  out: string;
  /** NFN's split file (a permutation of the rows); without it, rows keep their file order. */
  splitFile?: string;
  splitReading?: SplitReading;
  /** Training step to keep (86). */
  step?: number;
  /** Convolution padding: 0 ('valid', as the networks were trained) or 1 (as the ProbeGen code evaluates them). */
  padding?: 0 | 1;
  /** Convolution stride (2). */
  stride?: number;
  /** Side of the square input images (32). */
  inputSize?: number;
  /** The metrics column to predict (test_accuracy). */
  target?: string;
  /** The image set the networks were trained on (mnist, fmnist), when metrics.csv.gz's config.dataset or the folder's name does not say. */
  dataset?: string;
  shardSize?: number;
  workers?: number;
  onProgress?: (done: number, total: number) => void;
}

/** One TF variable of a row: where it is and how to lay it out. */
interface LayoutVariable { name: string; start: number; end: number; tfShape: number[] }

export interface SmallCnnZooPlan extends ImportPlan {
  kind: "small-cnn-zoo";
  weightsFile: string;
  /** Each parameter (generic CNN order): its TF variable. */
  variables: LayoutVariable[];
  /** weights.npy row of each network, in zoo order. */
  rows: number[];
  /** Each field's value per network (zoo order). */
  fieldValues: Record<string, number[]>;
  stringValues: Record<string, string[]>;
}

const TF_ACTIVATIONS: Record<string, ActivationName> = {
  relu: "relu", tanh: "tanh", sigmoid: "sigmoid", gelu: "gelu", leaky_relu: "leaky_relu", linear: "none", none: "none",
};

/** "(3, 3, 1, 16)" -> [3, 3, 1, 16]. */
function tupleOf(text: string, file: string, what: string): number[] {
  const m = /^\(\s*([\d\s,]*)\)$/.exec(text.trim());
  const parts = m?.[1].split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (m === null || parts === undefined || parts.length === 0 || !parts.every((p) => /^\d+$/.test(p))) throw new ImportError(file, `${what}: shape ${JSON.stringify(text)} is not a tuple of sizes`);
  return parts.map(Number);
}

interface ParsedLayout {
  /** Per conv layer and the dense layer: bias and kernel variables. */
  convs: { kernel: LayoutVariable; bias: LayoutVariable }[];
  dense: { kernel: LayoutVariable; bias: LayoutVariable };
  rowLength: number;
}

function readLayout(file: string): ParsedLayout {
  let rows: Record<string, string>[];
  try {
    rows = parseCsv(Buffer.from(readRegularFile(file, 2 ** 26)).toString("utf8"), { columns: true, skip_empty_lines: true }) as Record<string, string>[];
  } catch (e) {
    if (e instanceof ImportError) throw e;
    throw new ImportError(file, `not a readable CSV file (${(e as Error).message})`);
  }
  const layers = new Map<string, { kernel?: LayoutVariable; bias?: LayoutVariable }>();
  let rowLength = 0;
  for (const [i, r] of rows.entries()) {
    for (const col of ["varname", "start_idx", "end_idx", "shape"]) if (r[col] === undefined) throw new ImportError(file, `has no column "${col}" (columns: ${Object.keys(r).join(", ")})`);
    const start = Number(r.start_idx), end = Number(r.end_idx);
    const tfShape = tupleOf(r.shape, file, `row ${i + 2} (${r.varname})`);
    if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end <= start || end - start !== tfShape.reduce((a, b) => a * b, 1)) {
      throw new ImportError(file, `row ${i + 2} (${r.varname}): columns ${r.start_idx}..${r.end_idx} do not hold shape ${r.shape}`);
    }
    const m = /^(.*)\/(kernel|bias)(:\d+)?$/.exec(r.varname);
    if (m === null) throw new ImportError(file, `row ${i + 2}: variable ${r.varname} is neither a kernel nor a bias`);
    const layer = layers.get(m[1]) ?? {};
    layer[m[2] as "kernel" | "bias"] = { name: r.varname, start, end, tfShape };
    layers.set(m[1], layer);
    rowLength = Math.max(rowLength, end);
  }
  const list = [...layers].map(([name, l]) => {
    if (l.kernel === undefined || l.bias === undefined) throw new ImportError(file, `layer ${name} lacks its ${l.kernel === undefined ? "kernel" : "bias"}`);
    return { name, kernel: l.kernel, bias: l.bias };
  });
  const convs = list.filter((l) => l.kernel.tfShape.length === 4);
  const dense = list.filter((l) => l.kernel.tfShape.length === 2);
  if (convs.length === 0 || dense.length !== 1 || list.indexOf(dense[0]) !== list.length - 1 || convs.length + 1 !== list.length) {
    throw new ImportError(file, `expected convolution layers then one dense layer, found ${list.map((l) => `${l.name} [${l.kernel.tfShape.join(",")}]`).join(", ")}`);
  }
  return { convs, dense: dense[0], rowLength };
}

function architectureOf(layout: ParsedLayout, file: string, o: { stride: number; padding: number; inputSize: number }, activations: ActivationName[], field: string): SizedCnnArchitecture {
  let inChannels = -1, c = -1;
  const layers = layout.convs.map(({ kernel, bias }) => {
    const [kh, kw, cin, cout] = kernel.tfShape;
    if (kh !== kw) throw new ImportError(file, `${kernel.name}: kernel ${kh}x${kw} is not square`);
    if (c >= 0 && cin !== c) throw new ImportError(file, `${kernel.name} takes ${cin} channels, the layer before gives ${c}`);
    if (bias.tfShape.length !== 1 || bias.tfShape[0] !== cout) throw new ImportError(file, `${bias.name} [${bias.tfShape.join(",")}] does not match ${cout} channels`);
    if (inChannels < 0) inChannels = cin;
    c = cout;
    return { channels: cout, kernel: kh, stride: o.stride, padding: o.padding, activation: "relu" as ActivationName };
  });
  const [din, classes] = layout.dense.kernel.tfShape;
  if (din !== c) throw new ImportError(file, `${layout.dense.kernel.name} takes ${din} inputs, but global pooling of the last convolution gives ${c}`);
  return {
    inChannels, layers, residual: false, classes, inputSize: o.inputSize,
    activationByField: { field, names: activations },
  } as SizedCnnArchitecture;
}

/** Rows of the split file, by the given reading. */
function readPermutation(file: string, reading: SplitReading, rows: number): number[] {
  const lines = Buffer.from(readRegularFile(file, 2 ** 30)).toString("utf8").split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== "");
  const body = reading === "header" ? lines.slice(1) : lines;
  // A row listed twice would put one network in two places (train and test, say). The official
  // reading's extra first row (the header "0" read as a row) is the one repeat it makes by design.
  const lineOf = new Map<number, number>();
  return body.map((l, i) => {
    const cell = l.replace(/^"|"$/g, "");
    const v = /^\d+$/.test(cell) ? Number(cell) : NaN;
    const line = i + (reading === "header" ? 2 : 1);
    if (!Number.isInteger(v) || v < 0 || v >= rows) throw new ImportError(file, `line ${line}: ${JSON.stringify(l)} is not a row of weights.npy (0..${rows - 1})`);
    const prior = lineOf.get(v);
    if (prior !== undefined && !(reading === "official" && prior === 1)) {
      throw new ImportError(file, `lines ${prior} and ${line} both list row ${v}: a split file is a permutation of the rows, each listed once`);
    }
    lineOf.set(v, line);
    return v;
  });
}

/** The dataset column's single value, as probegen names image sets (for `data` probes). */
function datasetName(col: CsvColumn | undefined, rows: number[]): string | undefined {
  if (col === undefined || col.kind !== "codes") return undefined;
  const used = new Set(rows.map((r) => col.names[col.codes[r]]));
  if (used.size !== 1) return undefined;
  const v = [...used][0];
  return ({ mnist: "mnist", fmnist: "fmnist", fashion_mnist: "fmnist", "fashion-mnist": "fmnist" } as Record<string, string>)[v.toLowerCase()] ?? v;
}

/** The image set a Small CNN Zoo folder's name gives (the public archive unpacks to mnist/, fashion_mnist/, cifar10/, svhn_cropped/). */
function datasetOfFolder(dir: string): string | undefined {
  const name = basename(dir).toLowerCase();
  return /^(fashion[_-]?mnist|fmnist)$/.test(name) ? "fmnist" : name === "mnist" ? "mnist" : undefined;
}

export async function planSmallCnnZooImport(opts: SmallCnnZooImportOptions): Promise<SmallCnnZooPlan> {
  const dir = resolve(opts.dir);
  const weightsFile = join(dir, "weights.npy"), layoutFile = join(dir, "layout.csv"), metricsFile = join(dir, "metrics.csv.gz");
  for (const f of [weightsFile, layoutFile, metricsFile]) if (!existsSync(f)) throw new ImportError(f, "not found (a Small CNN Zoo folder holds weights.npy, layout.csv and metrics.csv.gz)");
  const step = opts.step ?? 86;
  const padding = opts.padding ?? 0;
  const splitReading = opts.splitReading ?? "header";
  const target = opts.target ?? "test_accuracy";
  const layout = readLayout(layoutFile);
  const npy = new NpyRowReader(weightsFile);
  try {
    if (npy.rowLength !== layout.rowLength) throw new ImportError(weightsFile, `rows hold ${npy.rowLength} values, ${layoutFile} lays out ${layout.rowLength}`);
    const metrics = await readCsvColumns(metricsFile, npy.rows);
    if (metrics.rows !== npy.rows) throw new ImportError(metricsFile, `has ${metrics.rows} rows, ${weightsFile} has ${npy.rows}`);
    const column = (name: string, kind?: CsvColumn["kind"]): CsvColumn => {
      const c = metrics.columns.get(name);
      if (c === undefined) throw new ImportError(metricsFile, `has no column "${name}" (columns: ${[...metrics.columns.keys()].join(", ")})`);
      if (kind !== undefined && c.kind !== kind) throw new ImportError(metricsFile, `column "${name}" holds ${c.kind === "numbers" ? "numbers" : "text"}, expected ${kind === "numbers" ? "numbers" : "text"}`);
      return c;
    };
    const steps = (column("step", "numbers") as { values: Float64Array }).values;
    column(target, "numbers");
    const actCol = column("config.activation");
    if (actCol.kind !== "codes") throw new ImportError(metricsFile, `column "config.activation" is not a short list of activation names`);
    const activations = actCol.names.map((n) => {
      const a = TF_ACTIVATIONS[n.toLowerCase()];
      if (a === undefined) throw new ImportError(metricsFile, `activation "${n}" is not one probegen evaluates (${Object.keys(TF_ACTIVATIONS).join(", ")})`);
      return a;
    });
    const order = opts.splitFile === undefined ? Array.from({ length: npy.rows }, (_, i) => i) : readPermutation(resolve(opts.splitFile), splitReading, npy.rows);
    const atStep = order.filter((r) => steps[r] === step);
    if (atStep.length === 0) throw new ImportError(metricsFile, `no row is at step ${step} (steps present: ${[...new Set(steps)].slice(0, 12).join(", ")})`);
    const buf = new Float32Array(npy.rowLength);
    const rows = atStep.filter((r) => { npy.readRow(r, buf); return allFinite(buf); });
    const skipped = atStep.length - rows.length;
    const arch = architectureOf(layout, layoutFile, { stride: opts.stride ?? 2, padding, inputSize: opts.inputSize ?? 32 }, activations, "config.activation");
    const parameters = cnnParameterShapes(arch).map(([name, shape]) => ({ name, shape }));
    const variables = layout.convs.flatMap((l) => [l.kernel, l.bias]).concat([layout.dense.kernel, layout.dense.bias]);
    const fields: ZooField[] = [], strings: ZooStringField[] = [];
    const fieldValues: Record<string, number[]> = {}, stringValues: Record<string, string[]> = {};
    for (const [name, c] of metrics.columns) {
      if (c.kind === "numbers") {
        const values = rows.map((r) => c.values[r]);
        const integral = values.every((v) => Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 31);
        fields.push({ name, dtype: integral ? "I32" : "F32", description: `metrics.csv.gz column ${name}` });
        fieldValues[name] = values;
      } else if (c.kind === "codes" && new Set(rows.map((r) => c.codes[r])).size < Math.max(2, rows.length)) {
        fields.push({ name, dtype: c.names.length <= 256 ? "U8" : "I32", description: `metrics.csv.gz column ${name}: ${c.names.map((n, i) => `${i} ${n}`).join(", ")}`, codes: c.names });
        fieldValues[name] = rows.map((r) => c.codes[r]);
      } else {
        // Text that names each network apart (e.g. its model folder) is kept as per-network strings.
        strings.push({ name, description: `metrics.csv.gz column ${name}` });
        stringValues[name] = rows.map((r) => (c.kind === "codes" ? c.names[c.codes[r]] : c.values[r]));
      }
    }
    fields.push({ name: "source_row", dtype: "I32", description: "row of weights.npy and metrics.csv.gz" });
    fieldValues.source_row = rows;
    const count = rows.length;
    const manifest: ZooManifest = {
      format: "probegen-zoo", version: 1, family: "cnn",
      architectures: [{ architecture: { ...arch }, parameters }],
      fields, strings,
      task: { kind: "regression", target },
      count, splits: nfnSplits(count), shards: planShards(count, opts.shardSize ?? 1000),
      provenance: {
        importer: "probegen zoo import small-cnn-zoo", probegenVersion: PROBEGEN_VERSION,
        source: dir, splitFile: opts.splitFile === undefined ? null : resolve(opts.splitFile),
        splitReading: opts.splitFile === undefined ? "none (file order)" : splitReading === "header"
          ? "header: the split file's first line is its header"
          : "official: the first line read as a row, as the ProbeGen/NFN code does (pandas header=None)",
        step, padding: padding === 0 ? "valid (0), as the networks were trained" : "1, as the ProbeGen code evaluates them",
        stride: opts.stride ?? 2, inputSize: opts.inputSize ?? 32, rows: npy.rows, atStep: atStep.length, skippedNonFinite: skipped,
        dataset: reconcileDataset(opts.dataset, datasetName(metrics.columns.get("config.dataset"), rows), metricsFile) ?? datasetOfFolder(dir) ?? null,
        split: "NFN: second half test, first half shuffled by Python's random.Random(0) into 80% train and 20% val",
      },
    };
    return { kind: "small-cnn-zoo", out: opts.out, manifest, weightsFile, variables, rows, fieldValues, stringValues };
  } finally {
    npy.close();
  }
}

/**
 * Calls visit(tf, torch) with each element's index in TF layout (conv [kh,kw,in,out], dense
 * [in,out], bias as is) and in PyTorch's ([out,in,kh,kw], [out,in]).
 */
function forEachLayoutPair(tfShape: readonly number[], visit: (tf: number, torch: number) => void): void {
  if (tfShape.length === 4) {
    const [kh, kw, cin, cout] = tfShape;
    for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) for (let i = 0; i < cin; i++) for (let o = 0; o < cout; o++) {
      visit(((y * kw + x) * cin + i) * cout + o, ((o * cin + i) * kh + y) * kw + x);
    }
  } else if (tfShape.length === 2) {
    const [din, dout] = tfShape;
    for (let i = 0; i < din; i++) for (let o = 0; o < dout; o++) visit(i * dout + o, o * din + i);
  } else {
    const n = tfShape.reduce((a, b) => a * b, 1);
    for (let k = 0; k < n; k++) visit(k, k);
  }
}

/** A TF variable of a weights row in PyTorch layout. */
function toTorchLayout(row: Float32Array, v: LayoutVariable): Float32Array {
  const src = row.subarray(v.start, v.end);
  const out = new Float32Array(src.length);
  forEachLayoutPair(v.tfShape, (tf, torch) => { out[torch] = src[tf]; });
  return out;
}

/** A parameter in PyTorch layout written into `out` in TF layout. */
function toTfLayout(src: Float32Array, tfShape: readonly number[], out: Float32Array): void {
  forEachLayoutPair(tfShape, (tf, torch) => { out[tf] = src[torch]; });
}

export function importSmallCnnZooShard(plan: SmallCnnZooPlan, si: number, onNetwork: () => void): Uint8Array {
  const m = plan.manifest;
  const { start, count } = m.shards[si];
  const npy = new NpyRowReader(plan.weightsFile);
  try {
    const row = new Float32Array(npy.rowLength);
    const networks = [];
    for (let i = start; i < start + count; i++) {
      npy.readRow(plan.rows[i], row);
      if (!allFinite(row)) throw new ImportError(plan.weightsFile, `row ${plan.rows[i]} holds non-finite values now, but did not when the import was planned: the file changed`);
      networks.push({ params: plan.variables.map((v) => toTorchLayout(row, v)) });
      onNetwork();
    }
    const slice = <T>(a: T[]) => a.slice(start, start + count);
    return encodeShard(m, si, networks,
      Object.fromEntries(Object.entries(plan.fieldValues).map(([k, v]) => [k, slice(v)])),
      Object.fromEntries(Object.entries(plan.stringValues).map(([k, v]) => [k, slice(v)])));
  } finally {
    npy.close();
  }
}

export async function importSmallCnnZoo(opts: SmallCnnZooImportOptions): Promise<ImportReport & { plan: SmallCnnZooPlan }> {
  const plan = await planSmallCnnZooImport(opts);
  const report = await runImport(plan, importSmallCnnZooShard, opts.workers ?? 1, opts.onProgress);
  return { ...report, plan };
}

/** The Small CNN Zoo's metrics column for each field of a zoo built by `probegen zoo build cnn`. */
const BUILDER_COLUMNS: Record<string, string> = {
  activation: "config.activation", init: "config.w_init", init_std: "config.init_std", optimizer: "config.optimizer",
  lr: "config.learning_rate", l2: "config.l2reg", dropout: "config.dropout", train_fraction: "config.train_fraction",
};
const BUILDER_CODES: Record<string, readonly string[]> = { activation: CNN_ACTIVATIONS, init: CNN_INITS, optimizer: CNN_OPTIMIZERS };

export interface SmallCnnZooExportOptions {
  zoo: string;
  out: string;
  onProgress?: (done: number, total: number) => void;
}

/** Writes a CNN zoo of one architecture as weights.npy, layout.csv, metrics.csv.gz and an NFN split file (the identity order). */
export function exportSmallCnnZoo(opts: SmallCnnZooExportOptions): ExportReport {
  const zoo = Zoo.open(opts.zoo);
  const m = zoo.manifest;
  if (m.family !== "cnn") throw new ImportError(opts.zoo, `holds ${m.family} networks; the Small CNN Zoo layout holds CNNs`);
  const { architecture, parameters } = soleArchitecture(m, "the Small CNN Zoo layout");
  const arch = parseSizedCnnArchitecture(architecture);
  if (residualSources(arch).some((r) => r >= 0)) throw new ImportError(opts.zoo, "its CNNs have residual connections, which the Small CNN Zoo layout cannot describe");
  const byField = arch.activationByField;
  if (byField === undefined && arch.layers.some((l) => l.activation !== arch.layers[0].activation)) {
    throw new ImportError(opts.zoo, "its layers differ in activation; the Small CNN Zoo gives a network one activation (config.activation)");
  }
  const settings = { format: "small-cnn-zoo", zoo: resolve(opts.zoo) };
  const folder = ExportFolder.start(opts.out, settings);
  // Variables in TF order: each conv layer's bias then kernel, then the dense layer's.
  const tfVars: { name: string; param: string; tfShape: number[] }[] = [];
  arch.layers.forEach((l, i) => {
    const prefix = `sequential/conv2d${i === 0 ? "" : `_${i}`}`;
    const cin = i === 0 ? arch.inChannels : arch.layers[i - 1].channels;
    tfVars.push({ name: `${prefix}/bias:0`, param: `layers.${i}.bias`, tfShape: [l.channels] },
      { name: `${prefix}/kernel:0`, param: `layers.${i}.weight`, tfShape: [l.kernel, l.kernel, cin, l.channels] });
  });
  const last = arch.layers[arch.layers.length - 1].channels;
  tfVars.push({ name: "sequential/dense/bias:0", param: "fc.bias", tfShape: [arch.classes] },
    { name: "sequential/dense/kernel:0", param: "fc.weight", tfShape: [last, arch.classes] });
  let offset = 0;
  const layoutRows = tfVars.map((v) => {
    const size = v.tfShape.reduce((a, b) => a * b, 1);
    const row = [v.name, offset, offset + size, `(${v.tfShape.join(", ")}${v.tfShape.length === 1 ? "," : ""})`];
    offset += size;
    return row;
  });
  const all = zoo.readAll();
  const weights = new NpyWriter(join(opts.out, "weights.npy"), [m.count, offset]);
  try {
    const row = new Float32Array(offset);
    for (let n = 0; n < m.count; n++) {
      let at = 0;
      for (const v of tfVars) {
        const p = parameters.find((q) => q.name === v.param)!;
        const per = p.shape.reduce((a, b) => a * b, 1);
        toTfLayout(all.params.get(v.param)!.subarray(n * per, (n + 1) * per), v.tfShape, row.subarray(at, at + per));
        at += per;
      }
      weights.append(row);
      opts.onProgress?.(n + 1, m.count);
    }
    weights.finish();
  } catch (e) {
    weights.abort();
    throw e;
  }
  // Metrics: every field (codes by name), under the Small CNN Zoo's column names where the field is one of its hyperparameters.
  const columns: { name: string; value: (n: number) => string | number }[] = [];
  const named = (f: ZooField) => (m.provenance.builder === "probegen zoo build cnn" ? BUILDER_COLUMNS[f.name] : undefined) ?? f.name;
  for (const f of m.fields) {
    const values = all.fields.get(f.name)!;
    const codes = f.codes ?? (byField?.field === f.name ? byField.names : m.provenance.builder === "probegen zoo build cnn" ? BUILDER_CODES[f.name] : undefined);
    columns.push({ name: named(f), value: codes !== undefined ? (n) => codes[values[n]] ?? String(values[n]) : (n) => values[n] });
  }
  for (const s of m.strings) columns.push({ name: s.name, value: (n) => all.strings.get(s.name)![n] });
  const has = (name: string) => columns.some((c) => c.name === name);
  if (!has("config.activation")) columns.push({ name: "config.activation", value: () => arch.layers[0].activation });
  if (!has("step")) columns.push({ name: "step", value: () => 86 });
  if (!has("modeldir")) columns.push({ name: "modeldir", value: (n) => `zoo/${n}` });
  if (!has("config.dataset") && typeof m.provenance.dataset === "string") columns.push({ name: "config.dataset", value: () => String(m.provenance.dataset) });
  const metricRows = Array.from({ length: m.count }, (_, n) => columns.map((c) => c.value(n)));
  const permutation = ["0", ...Array.from({ length: m.count }, (_, n) => String(n))].join("\n") + "\n";
  return folder.finish([
    [join(opts.out, "layout.csv"), csvText(["varname", "start_idx", "end_idx", "shape"], layoutRows as (string | number)[][])],
    [join(opts.out, "metrics.csv.gz"), gzipSync(csvText(columns.map((c) => c.name), metricRows))],
    [join(opts.out, "nfn_split.csv"), permutation],
  ], m.count);
}
