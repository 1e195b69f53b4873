// Writing ONNX models: a model's bytes with some float initializers given new values, the rest of
// the file (graph, opsets, metadata) as it was. A zoo's networks exported as ONNX are its
// structure's template model with each network's parameters put in.
import { ModelProtoType } from "./onnx-schema.js";
import { OnnxFormatError } from "./onnx.js";

interface MutableTensor { name?: string; dims?: unknown[]; dataType?: number; rawData?: Uint8Array; floatData?: number[]; dataLocation?: number; externalData?: unknown[] }

/**
 * `template` (an ONNX model's bytes, `file` naming it in errors) with each initializer named in
 * `values` replaced by those float32 values, stored inline as raw data; every named initializer
 * must exist, be float32 and have as many values.
 */
export function withInitializers(template: Uint8Array, values: ReadonlyMap<string, Float32Array>, file: string): Uint8Array {
  const model = ModelProtoType.decode(template) as unknown as { graph?: { initializer?: MutableTensor[] } };
  const found = new Set<string>();
  for (const t of model.graph?.initializer ?? []) {
    const v = values.get(t.name ?? "");
    if (v === undefined) continue;
    if (t.dataType !== 1) throw new OnnxFormatError(file, `initializer '${t.name}' is not float32 (data type ${t.dataType})`);
    const count = (t.dims ?? []).reduce<number>((a, d) => a * Number(d), 1);
    if (count !== v.length) throw new OnnxFormatError(file, `initializer '${t.name}' holds ${count} values; ${v.length} were given`);
    const bytes = new Uint8Array(v.length * 4);
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < v.length; i++) view.setFloat32(4 * i, v[i], true);
    t.rawData = bytes;
    t.floatData = [];
    t.dataLocation = 0;
    t.externalData = [];
    found.add(t.name!);
  }
  const missing = [...values.keys()].filter((k) => !found.has(k));
  if (missing.length > 0) throw new OnnxFormatError(file, `has no initializer named ${missing.map((m) => `'${m}'`).join(", ")}`);
  return ModelProtoType.encode(model as never).finish();
}
