// Checkpoints of a run: the model's saved tensors (and for `last`, Adam's moments of the trainable
// ones) in one safetensors file whose metadata holds the step and the best result so far — one
// atomic write, so a kill at any moment leaves the previous checkpoint or the new one, never a
// mix. The JSON sidecar repeats the metadata for people and tools.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { firstNonFinite, type Adam, type Tensor } from "../engine/index.js";
import { FileFormatError } from "../file-error.js";
import { writeFileAtomic } from "../io/atomic.js";
import { readRegularFile } from "../io/read-file.js";
import { encodeSafetensors, readSafetensors } from "../io/safetensors.js";

export class CheckpointError extends FileFormatError {}

export interface CheckpointInfo {
  step: number;
  adamSteps: number;
  /** Best validation score so far (accuracy, or Kendall's tau) and the step it was reached at. */
  best: { step: number; valScore: number } | null;
  /** Lines of metrics.jsonl written up to this checkpoint. */
  metricsLines: number;
  /** Training seconds so far, across resumptions (kept in the sidecar only, so that the same
   * run gives byte-identical checkpoint files). */
  seconds: number;
}

/** An optimiser's state to keep: Adam and the named tensors it trains (in its order). */
export interface OptimizerState {
  adam: Adam;
  params: [string, Tensor][];
}

export function saveCheckpoint(dir: string, name: "best" | "last", saved: [string, Tensor][], info: CheckpointInfo, optimizer?: OptimizerState): void {
  const tensors: [string, { shape: number[]; data: Float32Array }][] = saved.map(([n, t]) => [n, { shape: [...t.shape], data: t.data }]);
  if (optimizer !== undefined) {
    const st = optimizer.adam.state();
    optimizer.params.forEach(([n], i) => {
      tensors.push([`adam.m.${n}`, { shape: [...st.m[i].shape], data: st.m[i].data }], [`adam.v.${n}`, { shape: [...st.v[i].shape], data: st.v[i].data }]);
    });
  }
  const { seconds: _timing, ...deterministic } = info;
  writeFileAtomic(join(dir, `${name}.safetensors`), encodeSafetensors(tensors, { probegen_checkpoint: JSON.stringify(deterministic) }));
  writeFileAtomic(join(dir, `${name}.json`), `${JSON.stringify(info, null, 2)}\n`);
}

function isInfo(v: unknown): v is Omit<CheckpointInfo, "seconds"> {
  const i = v as CheckpointInfo;
  return v !== null && typeof v === "object" && Number.isInteger(i.step) && i.step >= 0 && Number.isInteger(i.adamSteps) && i.adamSteps >= 0
    && Number.isInteger(i.metricsLines) && i.metricsLines >= 0
    && (i.best === null || (typeof i.best === "object" && Number.isInteger(i.best.step) && (i.best.valScore === null || Number.isFinite(i.best.valScore))));
}

/**
 * Loads a checkpoint into the given tensors (and Adam's moments of the trainable ones). Every
 * tensor must be there, F32, of the model's shape and finite; errors name the file and tensor.
 */
export function loadCheckpoint(dir: string, name: "best" | "last", saved: [string, Tensor][], optimizer?: OptimizerState): CheckpointInfo {
  const file = join(dir, `${name}.safetensors`);
  if (!existsSync(file)) throw new CheckpointError(file, `no ${name} checkpoint in ${dir}`);
  const st = readSafetensors(file);
  let meta: unknown;
  try {
    meta = JSON.parse(st.metadata.probegen_checkpoint ?? "");
  } catch {
    throw new CheckpointError(file, "not a probegen checkpoint (its metadata has no probegen_checkpoint entry)");
  }
  if (!isInfo(meta)) throw new CheckpointError(file, `its probegen_checkpoint metadata ${JSON.stringify(meta)} is not a checkpoint record`);
  const info: CheckpointInfo = { seconds: 0, ...meta };
  // JSON writes a NaN best score (a constant prediction's Kendall's tau) as null.
  if (info.best !== null && info.best.valScore === null) info.best = { ...info.best, valScore: NaN };
  // Elapsed time comes from the sidecar when it belongs to the same step.
  try {
    const side = JSON.parse(Buffer.from(readRegularFile(join(dir, `${name}.json`), 2 ** 20)).toString("utf8")) as CheckpointInfo;
    if (side.step === info.step && Number.isFinite(side.seconds)) info.seconds = side.seconds;
  } catch { /* timing only */ }
  const take = (key: string, into: Tensor) => {
    const t = st.tensors.get(key);
    if (t === undefined) throw new CheckpointError(file, `missing tensor ${key} (was this checkpoint made with other settings?)`);
    if (t.dtype !== "F32") throw new CheckpointError(file, `tensor ${key} is ${t.dtype}, expected F32`);
    if (t.shape.length !== into.shape.length || t.shape.some((d, i) => d !== into.shape[i])) {
      throw new CheckpointError(file, `${key} has shape [${t.shape.join(",")}] but the model expects [${into.shape.join(",")}]`);
    }
    const values = t.data as Float32Array;
    const bad = firstNonFinite(values);
    if (bad >= 0) throw new CheckpointError(file, `tensor ${key} holds a non-finite value (${values[bad]} at ${bad}); this checkpoint cannot be used`);
    into.data.set(values);
  };
  for (const [n, t] of saved) take(n, t);
  if (optimizer !== undefined) {
    const s = optimizer.adam.state();
    optimizer.params.forEach(([n], i) => { take(`adam.m.${n}`, s.m[i]); take(`adam.v.${n}`, s.v[i]); });
    optimizer.adam.t = info.adamSteps;
  }
  return info;
}
