// A network as an ONNX graph: the nodes its family's forward runs, with its parameters as the
// initializers, under the zoo's own parameter names. `zoo import onnx` of the files gives back
// the same parameters, and the engine evaluates them with the same kernels in the same order.
// Every family: SIRENs, CNNs (residual connections too; every activation but GELU, which opset
// 13 has no node for), ResNets, and ONNX graphs whose linear layers read vectors.
import { buildOnnxModel, type OnnxBuildGraph, type OnnxBuildNode } from "../io/onnx-build.js";
import { parseCnnArchitecture, residualSources } from "./cnn.js";
import { parseSirenArchitecture } from "./siren.js";
import { parseResNetArchitecture, resnetConvs } from "./resnet.js";
import type { NetworkArchitecture } from "./family.js";
import { parseOnnxPlan } from "./onnx-graph.js";

export class OnnxExportError extends Error {}

/** Builds one network's model from its parameters (by name, in the zoo's layout). */
export type OnnxNetworkWriter = (params: ReadonlyMap<string, Float32Array>) => Uint8Array;

export function onnxWriter(arch: NetworkArchitecture): OnnxNetworkWriter {
  const graphs: Record<string, (a: NetworkArchitecture) => Template> = { cnn: cnnGraph, onnx: planGraph, siren: sirenGraph, resnet: resnetGraph };
  const make = graphs[arch.family];
  if (make === undefined) throw new OnnxExportError(`exporting ${arch.family} networks as ONNX is not supported`);
  const graph = make(arch);
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
  const residual = residualSources(a);
  const nodes: OnnxBuildNode[] = [];
  const floats: Template["floats"] = [];
  const int64s: NonNullable<Template["int64s"]> = [];
  // Each layer's output (after its residual and activation): what later layers and residuals read.
  const outputOf: string[] = [];
  let x = "input";
  a.layers.forEach((l, i) => {
    const conv = `conv${i}`;
    nodes.push({ op: "Conv", inputs: [x, `layers.${i}.weight`, `layers.${i}.bias`], outputs: [conv], attributes: { kernel_shape: { ints: [l.kernel, l.kernel] }, strides: { ints: [l.stride, l.stride] }, pads: { ints: [l.padding, l.padding, l.padding, l.padding] } } });
    x = conv;
    if (residual[i] >= 0) x = addLeadingChannels(nodes, int64s, i, x, outputOf[residual[i]], l.channels, a.layers[residual[i]].channels);
    const act = `act${i}`;
    switch (l.activation) {
      case "none": break;
      case "relu": nodes.push({ op: "Relu", inputs: [x], outputs: [act] }); x = act; break;
      case "tanh": nodes.push({ op: "Tanh", inputs: [x], outputs: [act] }); x = act; break;
      case "sigmoid": nodes.push({ op: "Sigmoid", inputs: [x], outputs: [act] }); x = act; break;
      case "leaky_relu": nodes.push({ op: "LeakyRelu", inputs: [x], outputs: [act], attributes: { alpha: { float: 0.01 } } }); x = act; break;
      case "sin": {
        floats.push({ name: `w0_${i}`, dims: [], data: Float32Array.of(l.w0 ?? 1) });
        nodes.push({ op: "Mul", inputs: [x, `w0_${i}`], outputs: [`scaled${i}`] }, { op: "Sin", inputs: [`scaled${i}`], outputs: [act] });
        x = act;
        break;
      }
      case "gelu": throw new OnnxExportError("GELU has no ONNX node at opset 13; CNNs with GELU are not exported as ONNX yet");
    }
    outputOf.push(x);
  });
  nodes.push(...classifierNodes(x));
  return { input: { name: "input", shape: arch.probeShape }, output: { name: "output", shape: [a.classes] }, nodes, floats, int64s };
}

/** Global average pooling, then fc: the head every CNN family ends in. */
function classifierNodes(x: string): OnnxBuildNode[] {
  return [
    { op: "GlobalAveragePool", inputs: [x], outputs: ["pooled"] },
    { op: "Flatten", inputs: ["pooled"], outputs: ["features"], attributes: { axis: { int: 1 } } },
    { op: "Gemm", inputs: ["features", "fc.weight", "fc.bias"], outputs: ["output"], attributes: { transB: { int: 1 } } },
  ];
}

/**
 * y + r on the first min(C_y, C_r) channels, y elsewhere (the engine's addLeadingChannels): an
 * Add where the channels agree, else the longer one split at the shorter's channels.
 */
function addLeadingChannels(nodes: OnnxBuildNode[], int64s: NonNullable<Template["int64s"]>, i: number, y: string, r: string, cy: number, cr: number): string {
  const out = `residual${i}`;
  if (cy === cr) {
    nodes.push({ op: "Add", inputs: [y, r], outputs: [out] });
  } else if (cr < cy) {
    int64s.push({ name: `${out}:split`, dims: [2], data: [cr, cy - cr] });
    nodes.push({ op: "Split", inputs: [y, `${out}:split`], outputs: [`${out}:lead`, `${out}:rest`], attributes: { axis: { int: 1 } } },
      { op: "Add", inputs: [`${out}:lead`, r], outputs: [`${out}:sum`] },
      { op: "Concat", inputs: [`${out}:sum`, `${out}:rest`], outputs: [out], attributes: { axis: { int: 1 } } });
  } else {
    int64s.push({ name: `${out}:split`, dims: [2], data: [cy, cr - cy] });
    nodes.push({ op: "Split", inputs: [r, `${out}:split`], outputs: [`${out}:lead`, `${out}:rest`], attributes: { axis: { int: 1 } } },
      { op: "Add", inputs: [y, `${out}:lead`], outputs: [out] });
  }
  return out;
}

/** Hidden layers sin(w0 (W x + b)), a linear output layer, and the output offset (the DWSNets recipe's +0.5). */
function sirenGraph(arch: NetworkArchitecture): Template {
  const a = parseSirenArchitecture(arch.spec);
  const nodes: OnnxBuildNode[] = [];
  const floats: Template["floats"] = [{ name: "w0", dims: [], data: Float32Array.of(a.w0) }];
  let x = "input";
  const layers = a.hidden.length + 1;
  for (let i = 0; i < layers; i++) {
    const y = i === layers - 1 && a.outputOffset === 0 ? "output" : `linear${i}`;
    nodes.push({ op: "Gemm", inputs: [x, `seq.${i}.weight`, `seq.${i}.bias`], outputs: [y], attributes: { transB: { int: 1 } } });
    x = y;
    if (i < layers - 1) {
      nodes.push({ op: "Mul", inputs: [x, "w0"], outputs: [`scaled${i}`] }, { op: "Sin", inputs: [`scaled${i}`], outputs: [`sin${i}`] });
      x = `sin${i}`;
    }
  }
  if (a.outputOffset !== 0) {
    floats.push({ name: "output_offset", dims: [], data: Float32Array.of(a.outputOffset) });
    nodes.push({ op: "Add", inputs: [x, "output_offset"], outputs: ["output"] });
  }
  return { input: { name: "input", shape: [a.inDim] }, output: { name: "output", shape: [a.outDim] }, nodes, floats };
}

/** torchvision's BasicBlock ResNet with BatchNorm folded into the convolutions, as the engine runs it. */
function resnetGraph(arch: NetworkArchitecture): Template {
  const a = parseResNetArchitecture(arch.spec);
  const convs = new Map(resnetConvs(a).map((c) => [c.name, c]));
  const nodes: OnnxBuildNode[] = [];
  const conv = (x: string, name: string, relu: boolean): string => {
    const c = convs.get(name)!;
    const out = `${name}:out`;
    nodes.push({ op: "Conv", inputs: [x, `${name}.weight`, `${name}.bias`], outputs: [relu ? `${name}:conv` : out], attributes: { kernel_shape: { ints: [c.kernel, c.kernel] }, strides: { ints: [c.stride, c.stride] }, pads: { ints: [c.padding, c.padding, c.padding, c.padding] } } });
    if (relu) nodes.push({ op: "Relu", inputs: [`${name}:conv`], outputs: [out] });
    return out;
  };
  let h = conv("input", "conv1", true);
  if (a.stem === "imagenet") {
    nodes.push({ op: "MaxPool", inputs: [h], outputs: ["stem:pool"], attributes: { kernel_shape: { ints: [3, 3] }, strides: { ints: [2, 2] }, pads: { ints: [1, 1, 1, 1] } } });
    h = "stem:pool";
  }
  a.blocks.forEach((n, s) => {
    for (let b = 0; b < n; b++) {
      const p = `layer${s + 1}.${b}`;
      const y = conv(conv(h, `${p}.conv1`, true), `${p}.conv2`, false);
      const shortcut = convs.has(`${p}.downsample.0`) ? conv(h, `${p}.downsample.0`, false) : h;
      nodes.push({ op: "Add", inputs: [y, shortcut], outputs: [`${p}:sum`] }, { op: "Relu", inputs: [`${p}:sum`], outputs: [`${p}:out`] });
      h = `${p}:out`;
    }
  });
  nodes.push(...classifierNodes(h));
  return { input: { name: "input", shape: arch.probeShape }, output: { name: "output", shape: [a.classes] }, nodes, floats: [] };
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
