// ONNX models as a zoo: a folder of .onnx files and a CSV naming each file with its label (or a
// numeric target). Each model's graph is planned for the engine (nets/onnx-graph.ts); models of
// one structure share an architecture in zoo.json (the plan), and each network's initializers are
// its parameters, in the engine's layout. Graphs with an op outside the engine's set are named
// with the op and refused here: they are probed black-box, through onnxruntime.
import { resolve, join, isAbsolute } from "node:path";
import { allFinite } from "../../engine/finite.js";
import { readOnnx } from "../../io/onnx.js";
import { isOnnxPlan, onnxParameterValues, onnxPlanSpec, planOnnxGraph, type OnnxPlan } from "../../nets/onnx-graph.js";
import { PROBEGEN_VERSION } from "../../version.js";
import { encodeShard, type ZooArchitecture } from "../format.js";
import { checkListedFiles, runImport, type ImportPlan, type ImportReport } from "./import-build.js";
import { labelledZooManifest, readLabelRows, rowSplits } from "./labels-csv.js";
import { ImportError } from "./state-dict.js";

export interface OnnxImportOptions {
  /** Folder the CSV's file names are relative to. */
  dir: string;
  /** CSV with a `file` column and a `label` (class index) or target column; an optional `split` column. */
  labels: string;
  /** The CSV's numeric target column ("target"). */
  target?: string;
  out: string;
  /** Seed of the 70/10/20 split used when the CSV has no split column (0). */
  splitSeed?: number;
  shardSize?: number;
  workers?: number;
  onProgress?: (done: number, total: number) => void;
  /** Take files the CSV names outside `dir`. */
  allowOutsideRoot?: boolean;
}

export interface OnnxImportPlan extends ImportPlan {
  kind: "onnx";
  files: string[];
  sources: string[];
  architecture: number[];
  values: number[];
}

/** A model's plan, or an ImportError naming the file and why the engine cannot run it. */
export function planOnnxModel(file: string): OnnxPlan {
  const plan = planOnnxGraph(readOnnx(file));
  if (!isOnnxPlan(plan)) {
    throw new ImportError(file, `is black-box: node ${plan.node}${plan.opType ? ` (${plan.opType})` : ""}: ${plan.reason}. This import takes graphs the engine runs (white-box); a run trained on a zoo of the same input and outputs predicts it with \`probegen predict RUN --black-box FILE\` (onnxruntime)`);
  }
  return plan;
}

export function planOnnxImport(opts: OnnxImportOptions): OnnxImportPlan {
  const dir = resolve(opts.dir), csvFile = resolve(opts.labels);
  const targetColumn = opts.target ?? "target";
  const { rows, task } = readLabelRows(csvFile, targetColumn);
  const files = rows.map((r) => (isAbsolute(r.file) ? r.file : join(dir, r.file)));
  checkListedFiles(csvFile, files, rows.map((r) => r.file), (i) => `row ${i + 2}`, dir, opts.allowOutsideRoot);
  const architectures: ZooArchitecture[] = [];
  const outputs: number[] = [];
  const index = new Map<string, number>();
  const architecture = files.map((f) => {
    const plan = planOnnxModel(f);
    if (!index.has(plan.key)) {
      index.set(plan.key, architectures.length);
      architectures.push({ architecture: onnxPlanSpec(plan), parameters: plan.parameters.map((p) => ({ name: p.name, shape: p.shape })) });
      outputs.push(plan.output.shape.reduce((a, b) => a * b, 1));
    }
    return index.get(plan.key)!;
  });
  if (task === "classification") {
    rows.forEach((r, i) => {
      const classes = outputs[architecture[i]];
      if (r.value >= classes) throw new ImportError(csvFile, `row ${i + 2} (${r.file}): label ${r.value} is not one of the model's ${classes} outputs (0 to ${classes - 1})`);
    });
  }
  const splitOf = rowSplits(rows, csvFile, opts.splitSeed ?? 0, "onnx-split");
  const manifest = labelledZooManifest({
    family: "onnx", architectures, task, rows, splitOf, classes: task === "classification" ? Math.max(...outputs) : 0, targetColumn,
    splitSeed: opts.splitSeed ?? 0, shardSize: opts.shardSize ?? 500,
    sourceDescription: "the ONNX file as the CSV names it", architectureDescription: "index of the network's graph structure in zoo.json",
    provenance: { importer: "probegen zoo import onnx", probegenVersion: PROBEGEN_VERSION, source: dir, labels: csvFile },
  });
  return { kind: "onnx", out: opts.out, manifest, files, sources: rows.map((r) => r.file), architecture, values: rows.map((r) => r.value) };
}

export function importOnnxShard(plan: OnnxImportPlan, si: number, onNetwork: () => void): Uint8Array {
  const m = plan.manifest;
  const { start, count } = m.shards[si];
  const networks = [];
  for (let i = start; i < start + count; i++) {
    const file = plan.files[i];
    const model = readOnnx(file);
    const graphPlan = planOnnxGraph(model);
    const spec = m.architectures[plan.architecture[i]].architecture as { key?: unknown };
    if (!isOnnxPlan(graphPlan) || graphPlan.key !== spec.key) throw new ImportError(file, "changed since the import was planned (its graph differs)");
    const values = onnxParameterValues(graphPlan, model.graph);
    const params = graphPlan.parameters.map((p) => values.get(p.name)!);
    const bad = graphPlan.parameters.find((p, k) => !allFinite(params[k]));
    if (bad !== undefined) throw new ImportError(file, `initializer ${bad.name} holds non-finite values`);
    networks.push({ architecture: plan.architecture[i], params });
    onNetwork();
  }
  const slice = <T>(a: T[]) => a.slice(start, start + count);
  return encodeShard(m, si, networks, { [m.fields[0].name]: slice(plan.values), architecture: slice(plan.architecture) }, { source: slice(plan.sources) });
}

export async function importOnnx(opts: OnnxImportOptions): Promise<ImportReport & { plan: OnnxImportPlan }> {
  const plan = planOnnxImport(opts);
  const report = await runImport(plan, importOnnxShard, opts.workers ?? 1, opts.onProgress);
  return { ...report, plan };
}
