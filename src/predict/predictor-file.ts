// A shipped predictor as one file: a trained run's head and its K probes, kept as values (so it
// predicts without the generator that made them or the image set they came from), with the run's
// settings and its card. A safetensors file: probes [K, ...probe shape], probe_labels [K] for
// probes that carry classes, the head's tensors under their checkpoint names, and the settings
// and card as JSON in the metadata.
import { firstNonFinite } from "../engine/index.js";
import { FileFormatError } from "../file-error.js";
import { readRegularFile } from "../io/read-file.js";
import { decodeSafetensors, encodeSafetensors, type SafeArray } from "../io/safetensors.js";
import { parseRunFile, type RunFile } from "../train/run-folder.js";
import type { PredictorCard } from "./predictor-card.js";

export const PREDICTOR_FORMAT = "probegen-predictor";
/** A predictor file's size at most: far past a head and probes of any shipped kind. */
export const PREDICTOR_LIMIT = 2 ** 28;

export class PredictorFileError extends FileFormatError {}

export interface PredictorFile {
  file: string;
  run: RunFile;
  card: PredictorCard;
  /** [K, ...probe shape] */
  probes: Float32Array;
  probeShape: number[];
  labels: Int32Array | null;
  /** The head's tensors by checkpoint name. */
  tensors: Map<string, { shape: number[]; data: Float32Array }>;
}

/** The bytes of a predictor file. */
export function encodePredictor(p: Omit<PredictorFile, "file">): Uint8Array {
  const k = p.probes.length / p.probeShape.reduce((a, b) => a * b, 1);
  const tensors: [string, { shape: number[]; data: SafeArray }][] = [["probes", { shape: [k, ...p.probeShape], data: p.probes }]];
  if (p.labels !== null) tensors.push(["probe_labels", { shape: [k], data: p.labels }]);
  for (const [name, t] of p.tensors) tensors.push([name, t]);
  return encodeSafetensors(tensors, { format: PREDICTOR_FORMAT, version: "1", run: JSON.stringify(p.run), card: JSON.stringify(p.card) });
}

/** Reads a predictor file's bytes; every problem names `file`. */
export function decodePredictor(bytes: Uint8Array, file: string): PredictorFile {
  const st = decodeSafetensors(bytes, file);
  const fail = (detail: string): never => { throw new PredictorFileError(file, detail); };
  if (st.metadata.format !== PREDICTOR_FORMAT) fail(`not a probegen predictor (its metadata says format ${JSON.stringify(st.metadata.format ?? null)})`);
  if (st.metadata.version !== "1") fail(`a predictor of version ${JSON.stringify(st.metadata.version)}; this probegen reads version 1`);
  const json = (key: string): unknown => {
    try {
      return JSON.parse(st.metadata[key] ?? "");
    } catch {
      return fail(`its ${key} metadata is not JSON`);
    }
  };
  const run = parseRunFile(json("run"), file);
  const card = json("card") as PredictorCard;
  if (card === null || typeof card !== "object" || typeof card.name !== "string" || typeof card.title !== "string" || !Array.isArray(card.accepts)) fail("its card has no name, title or inputs");
  const probes = st.tensors.get("probes");
  if (probes === undefined || probes.dtype !== "F32" || probes.shape.length < 2) return fail("holds no probes (an F32 tensor [K, ...one probe's shape])");
  if (probes.shape[0] !== run.config.probes) fail(`holds ${probes.shape[0]} probes; its settings say ${run.config.probes}`);
  const values = probes.data as Float32Array;
  const bad = firstNonFinite(values);
  if (bad >= 0) fail(`probe value ${bad} is ${values[bad]}`);
  const lab = st.tensors.get("probe_labels");
  let labels: Int32Array | null = null;
  if (lab !== undefined) {
    if (lab.dtype !== "I32" || lab.shape.length !== 1 || lab.shape[0] !== probes.shape[0]) fail(`probe_labels must be I32 [${probes.shape[0]}]`);
    labels = lab.data as Int32Array;
    const wrong = labels.findIndex((c) => c < 0);
    if (wrong >= 0) fail(`probe ${wrong}'s class is ${labels[wrong]}`);
  }
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, t] of st.tensors) {
    if (name === "probes" || name === "probe_labels") continue;
    if (t.dtype !== "F32") fail(`tensor ${name} is ${t.dtype}, expected F32`);
    tensors.set(name, { shape: [...t.shape], data: t.data as Float32Array });
  }
  return { file, run, card, probes: values, probeShape: probes.shape.slice(1), labels, tensors };
}

export function readPredictorFile(file: string): PredictorFile {
  return decodePredictor(readRegularFile(file, PREDICTOR_LIMIT), file);
}
