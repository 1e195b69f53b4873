// Writing an ONNX model from a list of nodes: the graph a zoo's architecture is, with one
// network's parameters as its initializers (float32, inline), one float input whose first
// dimension is the batch, one output. At opset 13, which PyTorch 1.13 and onnxruntime read.
import { ModelProtoType } from "./onnx-schema.js";
import { PROBEGEN_VERSION } from "../version.js";

/** A float tensor attribute: a Constant node's value of any shape. */
export type OnnxBuildAttribute = { ints: number[] } | { int: number } | { float: number } | { tensor: { dims: number[]; data: Float32Array } };

export interface OnnxBuildNode {
  op: string;
  inputs: string[];
  outputs: string[];
  attributes?: Record<string, OnnxBuildAttribute>;
}

export interface OnnxBuildGraph {
  input: { name: string; shape: number[] };
  output: { name: string; shape: number[] };
  nodes: OnnxBuildNode[];
  /** Float initializers (weights, scalars) and int64 ones (shapes), by name. */
  floats: { name: string; dims: number[]; data: Float32Array }[];
  int64s?: { name: string; dims: number[]; data: number[] }[];
}

export const ONNX_EXPORT_OPSET = 13;

const FLOAT = 1, INT64 = 7;
const ATTRIBUTE_TYPE = { float: 1, int: 2, tensor: 4, ints: 7 } as const;

/** The model's bytes. */
export function buildOnnxModel(g: OnnxBuildGraph): Uint8Array {
  const shape = (dims: number[]) => ({ dim: [{ dimParam: "batch" }, ...dims.map((d) => ({ dimValue: d }))] });
  const raw = (data: Float32Array) => {
    const bytes = new Uint8Array(data.length * 4), view = new DataView(bytes.buffer);
    for (let i = 0; i < data.length; i++) view.setFloat32(4 * i, data[i], true);
    return bytes;
  };
  const attribute = (name: string, a: OnnxBuildAttribute) =>
    "ints" in a ? { name, type: ATTRIBUTE_TYPE.ints, ints: a.ints }
    : "int" in a ? { name, type: ATTRIBUTE_TYPE.int, i: a.int }
    : "tensor" in a ? { name, type: ATTRIBUTE_TYPE.tensor, t: { dims: a.tensor.dims, dataType: FLOAT, rawData: raw(a.tensor.data) } }
    : { name, type: ATTRIBUTE_TYPE.float, f: a.float };
  const message = ModelProtoType.fromObject({
    irVersion: 7,
    opsetImport: [{ domain: "", version: ONNX_EXPORT_OPSET }],
    producerName: "probegen", producerVersion: PROBEGEN_VERSION,
    graph: {
      name: "probegen",
      node: g.nodes.map((n, i) => ({
        name: `${n.op}_${i}`, opType: n.op, input: n.inputs, output: n.outputs,
        attribute: Object.entries(n.attributes ?? {}).map(([k, a]) => attribute(k, a)),
      })),
      initializer: [
        ...g.floats.map((t) => ({ name: t.name, dims: t.dims, dataType: FLOAT, rawData: raw(t.data) })),
        ...(g.int64s ?? []).map((t) => ({ name: t.name, dims: t.dims, dataType: INT64, int64Data: t.data })),
      ],
      input: [{ name: g.input.name, type: { tensorType: { elemType: FLOAT, shape: shape(g.input.shape) } } }],
      output: [{ name: g.output.name, type: { tensorType: { elemType: FLOAT, shape: shape(g.output.shape) } } }],
    },
  });
  return ModelProtoType.encode(message).finish();
}
