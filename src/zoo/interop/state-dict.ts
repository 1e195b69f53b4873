// A network's parameters out of a PyTorch checkpoint: the state dict's tensors in the order an
// architecture declares them, with every name, shape and value checked. Errors name the file and
// what differs (the parameter and both shapes).
import { allFinite } from "../../engine/finite.js";
import { FileFormatError } from "../../file-error.js";
import { TorchTensor, floatWeights, type TorchCheckpoint } from "../../io/torch-checkpoint.js";
import type { ZooParameter } from "../format.js";

export class ImportError extends FileFormatError {}

/** The state dict of a checkpoint: the value itself, or its `key` entry (e.g. "model"). */
export function stateDictOf(ckpt: TorchCheckpoint, key?: string): Map<unknown, unknown> {
  let v = ckpt.value;
  if (key !== undefined) {
    if (!(v instanceof Map) || !v.has(key)) throw new ImportError(ckpt.file, `holds no "${key}" entry (found ${v instanceof Map ? [...v.keys()].map(String).join(", ") : "no dict"})`);
    v = v.get(key);
  }
  if (!(v instanceof Map)) throw new ImportError(ckpt.file, `${key === undefined ? "does not hold a state dict" : `its "${key}" entry is not a state dict`} (a dict of tensors)`);
  return v;
}

/** The tensors of a state dict (other entries, e.g. an FMNIST INR's label, are left out). */
export function tensorsOf(sd: Map<unknown, unknown>): Map<string, TorchTensor> {
  const out = new Map<string, TorchTensor>();
  for (const [k, v] of sd) if (typeof k === "string" && v instanceof TorchTensor) out.set(k, v);
  return out;
}

/** Parameter names and shapes of a state dict, in its order. */
export function parametersOf(sd: Map<unknown, unknown>): ZooParameter[] {
  return [...tensorsOf(sd)].map(([name, t]) => ({ name, shape: [...t.shape] }));
}

export interface ExtractedParameters {
  values: Float32Array[];
  /** The first parameter holding a non-finite value, or null. */
  nonFinite: string | null;
}

/** The parameters `parameters` declares, in its order, from a state dict; names and shapes must match exactly. */
export function extractParameters(sd: Map<unknown, unknown>, parameters: readonly ZooParameter[], file: string): ExtractedParameters {
  const tensors = tensorsOf(sd);
  const values: Float32Array[] = [];
  let nonFinite: string | null = null;
  for (const p of parameters) {
    const t = tensors.get(p.name);
    if (t === undefined) throw new ImportError(file, `has no parameter ${p.name} [${p.shape.join(",")}] (it holds ${[...tensors.keys()].join(", ") || "no tensors"})`);
    if (t.shape.length !== p.shape.length || t.shape.some((d, i) => d !== p.shape[i])) {
      throw new ImportError(file, `parameter ${p.name} has shape [${t.shape.join(",")}], but the zoo's architecture needs [${p.shape.join(",")}]`);
    }
    const v = floatWeights(t, file, p.name);
    if (nonFinite === null && !allFinite(v)) nonFinite = p.name;
    values.push(v);
  }
  const extra = [...tensors.keys()].filter((n) => !parameters.some((p) => p.name === n));
  if (extra.length > 0) throw new ImportError(file, `holds parameter${extra.length > 1 ? "s" : ""} ${extra.join(", ")} that the zoo's architecture does not have`);
  return { values, nonFinite };
}
