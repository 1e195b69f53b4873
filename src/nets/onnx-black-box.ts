// Black-box ONNX networks in a zoo: graphs with an op outside the engine's set (onnx-graph.ts
// says which). The engine cannot run them, so they hold no parameters in the zoo's shards: each
// is kept whole as a file in the zoo's folder, and answers fixed probes through onnxruntime
// (onnx-runtime.ts) before training starts. What the zoo records is their probe interface (the
// input shape after the batch, the outputs per probe) and why the engine cannot run them.
import type { OnnxModel } from "../io/onnx.js";
import type { OnnxUnsupported } from "./onnx-graph.js";
import { ArchitectureError, fieldsOf } from "./spec-check.js";

export interface BlackBoxSpec {
  /** Why the engine cannot run the graph: the first node it refused (of the first such model). */
  blackBox: { node: string; opType: string; reason: string };
  input: { shape: number[] };
  outputs: number;
}

/**
 * The probe interface of a model the engine refused (`refusal`): one float32 input, its batch
 * first and every other size known, and a first output of known size per probe. A string says
 * why the model cannot be probed at all.
 */
export function blackBoxSpec(model: OnnxModel, refusal: OnnxUnsupported): BlackBoxSpec | string {
  const g = model.graph;
  if (g.inputs.length !== 1) return `it takes ${g.inputs.length} inputs; probing feeds one`;
  const input = g.inputs[0], output = g.outputs[0];
  if (input.dtype !== "float32") return `its input '${input.name}' is ${input.dtype ?? "untyped"}; probes are float32`;
  const known = (shape: OnnxModel["graph"]["inputs"][number]["shape"]): boolean =>
    shape !== null && shape.length >= 2 && shape.slice(1).every((d) => typeof d === "number" && d >= 1);
  if (!known(input.shape) || input.shape === null) return `its input '${input.name}' has shape [${input.shape?.join(",") ?? "unknown"}]; probing needs [batch, known sizes...]`;
  if (output === undefined || !known(output.shape) || output.shape === null) return `its output ${output === undefined ? "is missing" : `'${output.name}' has shape [${output.shape?.join(",") ?? "unknown"}]`}; probing needs [batch, known sizes...] to know what each probe is answered with`;
  const batch = input.shape[0];
  if (typeof batch === "number" && batch !== 1) return `its input's batch is fixed at ${batch}; probing needs a dynamic batch, or 1`;
  if (model.graph.nodes.length === 0) return "its graph has no nodes";
  return {
    blackBox: { node: refusal.node, opType: refusal.opType, reason: refusal.reason },
    input: { shape: input.shape.slice(1) as number[] },
    outputs: (output.shape.slice(1) as number[]).reduce((a, b) => a * b, 1),
  };
}

/** Models that share this key are one architecture of the zoo: one probe interface, one refused op. */
export function blackBoxKey(spec: BlackBoxSpec): string {
  return JSON.stringify([spec.blackBox.opType, spec.input.shape, spec.outputs]);
}

export function isBlackBoxSpec(spec: unknown): boolean {
  return typeof spec === "object" && spec !== null && "blackBox" in spec;
}

/** A black-box architecture as zoo.json records it (untrusted), checked. */
export function parseBlackBoxSpec(spec: unknown, path: string): BlackBoxSpec {
  const f = fieldsOf(spec, path);
  const why = fieldsOf(f.record.blackBox, `${path}.blackBox`).record;
  for (const k of ["node", "opType", "reason"] as const) {
    if (typeof why[k] !== "string") throw new ArchitectureError(`${path}.blackBox.${k} must be a string`);
  }
  const shape = fieldsOf(f.record.input, `${path}.input`).ints("shape", 1);
  if (shape.length === 0) throw new ArchitectureError(`${path}.input.shape must list the probe's sizes`);
  return { blackBox: why as BlackBoxSpec["blackBox"], input: { shape }, outputs: f.int("outputs", 1) };
}
