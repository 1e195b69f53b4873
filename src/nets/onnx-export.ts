// A network as an ONNX graph: the nodes its family's forward runs, with its parameters as the
// initializers, under the zoo's own parameter names. `zoo import onnx` of the files gives back
// the same parameters, and the engine evaluates them with the same kernels in the same order.
// For now: CNNs without residual connections (every activation but GELU, which opset 13 has no
// node for) and ONNX graphs whose linear layers read vectors.
import { buildOnnxModel, type OnnxBuildGraph, type OnnxBuildNode } from "../io/onnx-build.js";
import { parseCnnArchitecture, residualSources } from "./cnn.js";
import type { NetworkArchitecture } from "./family.js";
import { parseOnnxPlan } from "./onnx-graph.js";

export class OnnxExportError extends Error {}

/** Builds one network's model from its parameters (by name, in the zoo's layout). */
export type OnnxNetworkWriter = (params: ReadonlyMap<string, Float32Array>) => Uint8Array;

export function onnxWriter(arch: NetworkArchitecture): OnnxNetworkWriter {
  const graph = arch.family === "cnn" ? cnnGraph(arch) : arch.family === "onnx" ? planGraph(arch) : null;
  if (graph === null) throw new OnnxExportError(`exporting ${arch.family} networks as ONNX is not supported yet (cnn and onnx zoos are)`);
  return (params) => buildOnnxModel({
    ...graph,
    floats: [
      ...arch.parameters.map(([name, shape]) => {
        const data = params.get(name);
        if (data === undefined) throw new OnnxExportError(`missing parameter ${name}`);
        return { name, dims: shape, data };
      }),
      ...graph.floats,
    ],
  });
}

type Template = Omit<OnnxBuildGraph, "floats"> & { floats: OnnxBuildGraph["floats"] };

function cnnGraph(arch: NetworkArchitecture): Template {
  const a = parseCnnArchitecture(arch.spec);
  if (residualSources(a).some((r) => r >= 0)) throw new OnnxExportError("CNNs with residual connections are not exported as ONNX yet");
  const nodes: OnnxBuildNode[] = [];
  const floats: Template["floats"] = [];
  let x = "input";
  a.layers.forEach((l, i) => {
    const conv = `conv${i}`;
    nodes.push({ op: "Conv", inputs: [x, `layers.${i}.weight`, `layers.${i}.bias`], outputs: [conv], attributes: { kernel_shape: { ints: [l.kernel, l.kernel] }, strides: { ints: [l.stride, l.stride] }, pads: { ints: [l.padding, l.padding, l.padding, l.padding] } } });
    x = conv;
    const act = `act${i}`;
    switch (l.activation) {
      case "none": return;
      case "relu": nodes.push({ op: "Relu", inputs: [x], outputs: [act] }); break;
      case "tanh": nodes.push({ op: "Tanh", inputs: [x], outputs: [act] }); break;
      case "sigmoid": nodes.push({ op: "Sigmoid", inputs: [x], outputs: [act] }); break;
      case "leaky_relu": nodes.push({ op: "LeakyRelu", inputs: [x], outputs: [act], attributes: { alpha: { float: 0.01 } } }); break;
      case "sin": {
        floats.push({ name: `w0_${i}`, dims: [], data: Float32Array.of(l.w0 ?? 1) });
        nodes.push({ op: "Mul", inputs: [x, `w0_${i}`], outputs: [`scaled${i}`] }, { op: "Sin", inputs: [`scaled${i}`], outputs: [act] });
        break;
      }
      case "gelu": throw new OnnxExportError("GELU has no ONNX node at opset 13; CNNs with GELU are not exported as ONNX yet");
    }
    x = act;
  });
  nodes.push({ op: "GlobalAveragePool", inputs: [x], outputs: ["pooled"] }, { op: "Flatten", inputs: ["pooled"], outputs: ["features"], attributes: { axis: { int: 1 } } },
    { op: "Gemm", inputs: ["features", "fc.weight", "fc.bias"], outputs: ["output"], attributes: { transB: { int: 1 } } });
  return { input: { name: "input", shape: arch.probeShape }, output: { name: "output", shape: [a.classes] }, nodes, floats };
}

function planGraph(arch: NetworkArchitecture): Template {
  const plan = parseOnnxPlan(arch.spec);
  const nodes: OnnxBuildNode[] = [];
  const floats: Template["floats"] = [];
  const int64s: NonNullable<Template["int64s"]> = [];
  plan.steps.forEach((st, i) => {
    switch (st.op) {
      case "conv": {
        const w = plan.parameters.find((p) => p.name === st.weight)!.shape;
        const out = st.relu ? `${st.output}:conv` : st.output;
        nodes.push({ op: "Conv", inputs: [st.input, st.weight, ...(st.bias === null ? [] : [st.bias])], outputs: [out], attributes: { kernel_shape: { ints: [w[2], w[3]] }, strides: { ints: st.stride }, pads: { ints: [...st.padding, ...st.padding] } } });
        if (st.relu) nodes.push({ op: "Relu", inputs: [out], outputs: [st.output] });
        return;
      }
      case "linear":
        if (plan.shapes.get(st.input)!.length !== 1) throw new OnnxExportError(`step ${i}: a linear layer on a rank-${plan.shapes.get(st.input)!.length + 1} input is not exported as ONNX yet`);
        nodes.push({ op: "Gemm", inputs: [st.input, st.weight, ...(st.bias === null ? [] : [st.bias])], outputs: [st.output], attributes: { transB: { int: 1 } } });
        return;
      case "add": nodes.push({ op: "Add", inputs: [...st.inputs], outputs: [st.output] }); return;
      case "scale":
        floats.push({ name: `${st.output}:factor`, dims: [], data: Float32Array.of(st.factor) });
        nodes.push({ op: "Mul", inputs: [st.input, `${st.output}:factor`], outputs: [st.output] });
        return;
      case "activation": {
        const op = { relu: "Relu", tanh: "Tanh", sigmoid: "Sigmoid", sin: "Sin", leakyRelu: "LeakyRelu" }[st.fn];
        nodes.push({ op, inputs: [st.input], outputs: [st.output], ...(st.fn === "leakyRelu" ? { attributes: { alpha: { float: st.alpha } } } : {}) });
        return;
      }
      case "globalAvgPool":
        nodes.push(st.keepDims ? { op: "GlobalAveragePool", inputs: [st.input], outputs: [st.output] } : { op: "ReduceMean", inputs: [st.input], outputs: [st.output], attributes: { axes: { ints: [2, 3] }, keepdims: { int: 0 } } });
        return;
      case "maxPool":
        nodes.push({ op: "MaxPool", inputs: [st.input], outputs: [st.output], attributes: { kernel_shape: { ints: [st.kernel, st.kernel] }, strides: { ints: [st.stride, st.stride] }, pads: { ints: [st.padding, st.padding, st.padding, st.padding] } } });
        return;
      case "reshape":
        int64s.push({ name: `${st.output}:shape`, dims: [st.shape.length + 1], data: [-1, ...st.shape] });
        nodes.push({ op: "Reshape", inputs: [st.input, `${st.output}:shape`], outputs: [st.output] });
        return;
      case "permute": case "narrow": case "concat": case "binary": case "expand": case "unary": case "matmul":
        throw new OnnxExportError(`step ${i} (${st.op}): exporting a transformer's graph as ONNX is not supported yet`);
      default: {
        // Every step kind has its nodes above: a new kind fails to compile here.
        const unknown: never = st;
        throw new OnnxExportError(`step ${i} of an unknown kind ${JSON.stringify(unknown)}`);
      }
    }
  });
  return { input: plan.input, output: plan.output, nodes, floats, int64s };
}
