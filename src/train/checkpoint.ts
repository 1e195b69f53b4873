// Checkpoints of a run: the trainable tensors (and for `last`, Adam's moments) in one
// safetensors file whose metadata holds the step and the best result so far — one atomic write,
// so a kill at any moment leaves the previous checkpoint or the new one, never a mix. The JSON
// sidecar repeats the metadata for people and tools.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Adam, Tensor } from "../engine/index.js";
import { writeFileAtomic } from "../io/atomic.js";
import { encodeSafetensors, readSafetensors } from "../io/safetensors.js";

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

export function saveCheckpoint(dir: string, name: "best" | "last", params: [string, Tensor][], info: CheckpointInfo, adam?: Adam): void {
  const tensors: [string, { shape: number[]; data: Float32Array }][] = params.map(([n, t]) => [n, { shape: [...t.shape], data: t.data }]);
  if (adam !== undefined) {
    const st = adam.state();
    params.forEach(([n], i) => {
      tensors.push([`adam.m.${n}`, { shape: [...st.m[i].shape], data: st.m[i].data }], [`adam.v.${n}`, { shape: [...st.v[i].shape], data: st.v[i].data }]);
    });
  }
  const { seconds: _timing, ...deterministic } = info;
  writeFileAtomic(join(dir, `${name}.safetensors`), encodeSafetensors(tensors, { probegen_checkpoint: JSON.stringify(deterministic) }));
  writeFileAtomic(join(dir, `${name}.json`), `${JSON.stringify(info, null, 2)}\n`);
}

/** Loads a checkpoint into the given parameters (and Adam); errors name the file. */
export function loadCheckpoint(dir: string, name: "best" | "last", params: [string, Tensor][], adam?: Adam): CheckpointInfo {
  const file = join(dir, `${name}.safetensors`);
  if (!existsSync(file)) throw new Error(`${file}: no ${name} checkpoint in ${dir}`);
  const st = readSafetensors(file);
  let info: CheckpointInfo;
  try {
    info = { seconds: 0, ...(JSON.parse(st.metadata.probegen_checkpoint ?? "") as Omit<CheckpointInfo, "seconds">) };
  } catch {
    throw new Error(`${file}: not a probegen checkpoint (its metadata has no probegen_checkpoint entry)`);
  }
  // Elapsed time comes from the sidecar when it belongs to the same step.
  try {
    const side = JSON.parse(readFileSync(join(dir, `${name}.json`), "utf8")) as CheckpointInfo;
    if (side.step === info.step) info.seconds = side.seconds;
  } catch { /* timing only */ }
  const take = (key: string, into: Tensor) => {
    const t = st.tensors.get(key);
    if (t === undefined) throw new Error(`${file}: missing tensor ${key} (was this checkpoint made with other settings?)`);
    if (t.shape.length !== into.shape.length || t.shape.some((d, i) => d !== into.shape[i])) {
      throw new Error(`${file}: ${key} has shape [${t.shape.join(",")}] but the model expects [${into.shape.join(",")}]`);
    }
    into.data.set(t.data as Float32Array);
  };
  for (const [n, t] of params) take(n, t);
  if (adam !== undefined) {
    const s = adam.state();
    params.forEach(([n], i) => { take(`adam.m.${n}`, s.m[i]); take(`adam.v.${n}`, s.v[i]); });
    adam.t = info.adamSteps;
  }
  return info;
}
