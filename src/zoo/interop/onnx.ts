// ONNX models as a zoo: a folder of .onnx files and a CSV naming each file with its label (or a
// numeric target). Each model's graph is planned for the engine (nets/onnx-graph.ts); models of
// one structure share an architecture in zoo.json (the plan), and each network's initializers are
// its parameters, in the engine's layout. Graphs with an op outside the engine's set are
// black-box (nets/onnx-black-box.ts): each is kept whole in the zoo's models/ folder, grouped by
// its probe interface and the op the engine refused, and answers fixed probes through
// onnxruntime when the zoo is trained on.
import { mkdirSync } from "node:fs";
import { resolve, join, isAbsolute } from "node:path";
import { allFinite } from "../../engine/finite.js";
import { parseOnnx, readOnnx, MAX_ONNX_BYTES } from "../../io/onnx.js";
import { readRegularFile } from "../../io/read-file.js";
import { writeFileAtomic } from "../../io/atomic.js";
import { blackBoxKey, blackBoxSpec, type BlackBoxSpec } from "../../nets/onnx-black-box.js";
import { BLACK_BOX_FOLDER, blackBoxModelPath } from "../black-box-models.js";
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
  /** Each network's file inside the zoo (models/<i>.onnx) when it is black-box, else "". */
  models: string[];
}

/** What the engine makes of a model: its plan (white-box), or its probe interface (black-box). */
export type OnnxModelPlan = { whiteBox: OnnxPlan } | { blackBox: BlackBoxSpec };

/** A model's plan; an ImportError names the file when it cannot be probed either way. */
export function planOnnxModel(file: string): OnnxModelPlan {
  const model = readOnnx(file);
  const plan = planOnnxGraph(model);
  if (isOnnxPlan(plan)) return { whiteBox: plan };
  const spec = blackBoxSpec(model, plan);
  const why = `node ${plan.node}${plan.opType ? ` (${plan.opType})` : ""}: ${plan.reason}`;
  if (typeof spec === "string") throw new ImportError(file, `cannot be probed: the engine cannot run it (${why}), and onnxruntime cannot either: ${spec}`);
  if ([...model.graph.initializers.values()].some((t) => t.external)) {
    throw new ImportError(file, `is black-box (${why}) and keeps weights in external data; a zoo keeps black-box models as one file each: save it with its weights inline`);
  }
  return { blackBox: spec };
}

export function planOnnxImport(opts: OnnxImportOptions): OnnxImportPlan {
  const dir = resolve(opts.dir), csvFile = resolve(opts.labels);
  const targetColumn = opts.target ?? "target";
  const { rows, task } = readLabelRows(csvFile, targetColumn);
  const files = rows.map((r) => (isAbsolute(r.file) ? r.file : join(dir, r.file)));
  checkListedFiles(csvFile, files, rows.map((r) => r.file), (i) => `row ${i + 2}`, dir, opts.allowOutsideRoot);
  const architectures: ZooArchitecture[] = [];
  const index = new Map<string, number>();
  const models: string[] = [];
  const architecture = files.map((f, i) => {
    const planned = planOnnxModel(f);
    const key = "whiteBox" in planned ? planned.whiteBox.key : `black-box:${blackBoxKey(planned.blackBox)}`;
    if (!index.has(key)) {
      index.set(key, architectures.length);
      if ("whiteBox" in planned) {
        const plan = planned.whiteBox;
        architectures.push({ architecture: onnxPlanSpec(plan), parameters: plan.parameters.map((p) => ({ name: p.name, shape: p.shape })) });
      } else {
        architectures.push({ architecture: { ...planned.blackBox }, parameters: [] });
      }
    }
    models.push("blackBox" in planned ? blackBoxModelPath(i) : "");
    return index.get(key)!;
  });
  // A label says what a network is (the digit an INR draws, the data a CNN saw), not one of its
  // outputs: the classes are the labels' own, 0 to the largest.
  const classes = task === "classification" ? rows.reduce((m, r) => Math.max(m, r.value), 0) + 1 : 0;
  const splitOf = rowSplits(rows, csvFile, opts.splitSeed ?? 0, "onnx-split");
  const manifest = labelledZooManifest({
    family: "onnx", architectures, task, rows, splitOf, classes, targetColumn,
    splitSeed: opts.splitSeed ?? 0, shardSize: opts.shardSize ?? 500,
    sourceDescription: "the ONNX file as the CSV names it", architectureDescription: "index of the network's graph structure in zoo.json",
    provenance: { importer: "probegen zoo import onnx", probegenVersion: PROBEGEN_VERSION, source: dir, labels: csvFile },
  });
  if (models.some((f) => f !== "")) manifest.strings.push({ name: "model", description: `a black-box network's ONNX file, inside the zoo (${BLACK_BOX_FOLDER}/); "" for a white-box network` });
  return { kind: "onnx", out: opts.out, manifest, files, sources: rows.map((r) => r.file), architecture, values: rows.map((r) => r.value), models };
}

export function importOnnxShard(plan: OnnxImportPlan, si: number, onNetwork: () => void): Uint8Array {
  const m = plan.manifest;
  const { start, count } = m.shards[si];
  const networks = [];
  for (let i = start; i < start + count; i++) {
    const file = plan.files[i];
    if (plan.models[i] !== "") {
      networks.push({ architecture: plan.architecture[i], params: [] });
      keepBlackBoxModel(plan, i);
      onNetwork();
      continue;
    }
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
  const strings = { source: slice(plan.sources), ...(m.strings.some((f) => f.name === "model") ? { model: slice(plan.models) } : {}) };
  return encodeShard(m, si, networks, { [m.fields[0].name]: slice(plan.values), architecture: slice(plan.architecture) }, strings);
}

/**
 * Network i's file, copied into the zoo (written atomically before its shard, so a shard on disk
 * means its models are too), after checking it still is the black-box model planned.
 */
function keepBlackBoxModel(plan: OnnxImportPlan, i: number): void {
  const file = plan.files[i];
  const bytes = readRegularFile(file, MAX_ONNX_BYTES);
  const model = parseOnnx(bytes, file);
  const graphPlan = planOnnxGraph(model);
  const spec = isOnnxPlan(graphPlan) ? null : blackBoxSpec(model, graphPlan);
  const planned = plan.manifest.architectures[plan.architecture[i]].architecture as unknown as BlackBoxSpec;
  if (spec === null || typeof spec === "string" || blackBoxKey(spec) !== blackBoxKey(planned)) throw new ImportError(file, "changed since the import was planned (its graph differs)");
  mkdirSync(join(plan.out, BLACK_BOX_FOLDER), { recursive: true });
  writeFileAtomic(join(plan.out, plan.models[i]), bytes);
}

export async function importOnnx(opts: OnnxImportOptions): Promise<ImportReport & { plan: OnnxImportPlan }> {
  const plan = planOnnxImport(opts);
  const report = await runImport(plan, importOnnxShard, opts.workers ?? 1, opts.onProgress);
  return { ...report, plan };
}
