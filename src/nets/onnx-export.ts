// A network as an ONNX graph: the nodes its family's forward runs, with its parameters as the
// initializers, under the zoo's own parameter names. `zoo import onnx` of the files gives back
// the same parameters, and the engine evaluates them with the same kernels in the same order.
// Every family: SIRENs, CNNs (residual connections too; every activation but GELU, which opset
// 13 has no node for), ResNets, and ONNX graphs (transformers too).
import { buildOnnxModel, type OnnxBuildGraph, type OnnxBuildNode } from "../io/onnx-build.js";
import { parseCnnArchitecture, residualSources } from "./cnn.js";
import { parseSirenArchitecture } from "./siren.js";
import { parseResNetArchitecture, resnetConvs } from "./resnet.js";
import type { NetworkArchitecture } from "./family.js";
import { parseOnnxPlan, type Operand } from "./onnx-graph.js";

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
        const layout = graph.layouts?.get(name);
        if (layout?.transpose === true) {
          const [rows, cols] = shape;
          const t = new Float32Array(data.length);
          for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = data[r * cols + c];
          return { name, dims: [cols, rows], data: t };
        }
        return { name, dims: layout?.dims ?? shape, data };
      }),
      ...graph.floats,
    ],
  });
}

/**
 * A graph without the networks' parameters; `layouts` writes a parameter other than in the
 * engine's layout: under other dims (a broadcast operand's view), or transposed (a matrix
 * product's [in, out] where the engine holds [out, in]).
 */
type Template = Omit<OnnxBuildGraph, "floats"> & { floats: OnnxBuildGraph["floats"]; layouts?: Map<string, { dims?: number[]; transpose?: boolean }> };

/** A Constant node holding `data` of shape `dims`: a constant, not a parameter, when imported back. */
function constantNode(output: string, dims: number[], data: Float32Array): OnnxBuildNode {
  return dims.length === 0 ? { op: "Constant", inputs: [], outputs: [output], attributes: { value_float: { float: data[0] } } }
    : { op: "Constant", inputs: [], outputs: [output], attributes: { value: { tensor: { dims, data } } } };
}

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
        nodes.push(constantNode(`w0_${i}`, [], Float32Array.of(l.w0 ?? 1)), { op: "Mul", inputs: [x, `w0_${i}`], outputs: [`scaled${i}`] }, { op: "Sin", inputs: [`scaled${i}`], outputs: [act] });
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
  const nodes0 = [constantNode("w0", [], Float32Array.of(a.w0))];
  let x = "input";
  const nodes: OnnxBuildNode[] = [...nodes0];
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
  if (a.outputOffset !== 0) nodes.push(constantNode("output_offset", [], Float32Array.of(a.outputOffset)), { op: "Add", inputs: [x, "output_offset"], outputs: ["output"] });
  return { input: { name: "input", shape: [a.inDim] }, output: { name: "output", shape: [a.outDim] }, nodes, floats: [] };
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

/**
 * An ONNX zoo's plan as nodes again, the batch first throughout (the plan's axes are per probe:
 * ONNX's are one more). Matrix products of rank-3 and higher values read their weights as
 * [in, out], so those weights are written transposed; broadcast operands under their views.
 */
function planGraph(arch: NetworkArchitecture): Template {
  const plan = parseOnnxPlan(arch.spec);
  const nodes: OnnxBuildNode[] = [];
  const int64s: NonNullable<Template["int64s"]> = [];
  const layouts: NonNullable<Template["layouts"]> = new Map();
  const rank = (v: string) => plan.shapes.get(v)!.length;
  // Weights some linear step applies to more than a vector: MatMul's [in, out] for every use.
  const transposed = new Set(plan.steps.flatMap((st) => (st.op === "linear" && rank(st.input) > 1 ? [st.weight] : [])));
  for (const w of transposed) layouts.set(w, { transpose: true });
  const view = (param: string, dims: number[]) => {
    const known = layouts.get(param);
    if (known !== undefined && (known.transpose === true || (known.dims ?? []).join(",") !== dims.join(","))) throw new OnnxExportError(`parameter ${param} is read in two layouts; exporting such a graph is not supported`);
    layouts.set(param, { dims });
    return param;
  };
  const operand = (o: Operand, name: string): string => {
    if ("value" in o) return o.value;
    if ("param" in o) return view(o.param, o.view);
    nodes.push(constantNode(name, o.dims, Float32Array.from(o.constant)));
    return name;
  };
  const ints = (name: string, data: number[], dims = [data.length]) => { int64s.push({ name, dims, data }); return name; };
  plan.steps.forEach((st, i) => {
    switch (st.op) {
      case "conv": {
        const w = plan.parameters.find((p) => p.name === st.weight)!.shape;
        const out = st.relu ? `${st.output}:conv` : st.output;
        nodes.push({ op: "Conv", inputs: [st.input, st.weight, ...(st.bias === null ? [] : [st.bias])], outputs: [out], attributes: { kernel_shape: { ints: [w[2], w[3]] }, strides: { ints: st.stride }, pads: { ints: [...st.padding, ...st.padding] } } });
        if (st.relu) nodes.push({ op: "Relu", inputs: [out], outputs: [st.output] });
        return;
      }
      case "linear": {
        if (!transposed.has(st.weight)) {
          nodes.push({ op: "Gemm", inputs: [st.input, st.weight, ...(st.bias === null ? [] : [st.bias])], outputs: [st.output], attributes: { transB: { int: 1 } } });
        } else if (rank(st.input) === 1) {
          nodes.push({ op: "Gemm", inputs: [st.input, st.weight, ...(st.bias === null ? [] : [st.bias])], outputs: [st.output] });
        } else {
          const product = st.bias === null ? st.output : `${st.output}:product`;
          nodes.push({ op: "MatMul", inputs: [st.input, st.weight], outputs: [product] });
          if (st.bias !== null) nodes.push({ op: "Add", inputs: [product, st.bias], outputs: [st.output] });
        }
        return;
      }
      case "add": nodes.push({ op: "Add", inputs: [...st.inputs], outputs: [st.output] }); return;
      case "scale":
        nodes.push(constantNode(`${st.output}:factor`, [], Float32Array.of(st.factor)), { op: "Mul", inputs: [st.input, `${st.output}:factor`], outputs: [st.output] });
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
        nodes.push({ op: "Reshape", inputs: [st.input, ints(`${st.output}:shape`, [-1, ...st.shape])], outputs: [st.output] });
        return;
      case "permute":
        nodes.push({ op: "Transpose", inputs: [st.input], outputs: [st.output], attributes: { perm: { ints: [0, ...st.perm.map((a) => a + 1)] } } });
        return;
      case "narrow": {
        // A Split into what comes before, the part, and what comes after (the parts that are not empty).
        const size = plan.shapes.get(st.input)![st.axis];
        const parts = [[`${st.output}:before`, st.start], [st.output, st.end - st.start], [`${st.output}:after`, size - st.end]].filter(([, n]) => (n as number) > 0) as [string, number][];
        nodes.push({ op: "Split", inputs: [st.input, ints(`${st.output}:split`, parts.map(([, n]) => n))], outputs: parts.map(([o]) => o), attributes: { axis: { int: st.axis + 1 } } });
        return;
      }
      case "concat": nodes.push({ op: "Concat", inputs: [...st.inputs], outputs: [st.output], attributes: { axis: { int: st.axis + 1 } } }); return;
      case "binary": {
        const op = { add: "Add", sub: "Sub", mul: "Mul", div: "Div" }[st.fn];
        nodes.push({ op, inputs: [operand(st.a, `${st.output}:a`), operand(st.b, `${st.output}:b`)], outputs: [st.output] });
        return;
      }
      case "expand": {
        // The target shape is the batch (the input's first size) and the step's shape, as torch's exports spell it.
        const p = st.output;
        nodes.push(
          { op: "Shape", inputs: [plan.input.name], outputs: [`${p}:input-shape`] },
          { op: "Gather", inputs: [`${p}:input-shape`, ints(`${p}:zero`, [0], [])], outputs: [`${p}:batch`], attributes: { axis: { int: 0 } } },
          { op: "Unsqueeze", inputs: [`${p}:batch`, ints(`${p}:axes`, [0])], outputs: [`${p}:batch1`] },
          { op: "Concat", inputs: [`${p}:batch1`, ints(`${p}:sizes`, st.shape)], outputs: [`${p}:target`], attributes: { axis: { int: 0 } } },
          { op: "Expand", inputs: [view(st.param, [1, ...st.view]), `${p}:target`], outputs: [st.output] },
        );
        return;
      }
      case "unary": {
        if (st.fn === "pow") nodes.push(constantNode(`${st.output}:p`, [], Float32Array.of(st.p)), { op: "Pow", inputs: [st.input, `${st.output}:p`], outputs: [st.output] });
        else if (st.fn === "meanLast") nodes.push({ op: "ReduceMean", inputs: [st.input], outputs: [st.output], attributes: { axes: { ints: [-1] }, keepdims: { int: 1 } } });
        else if (st.fn === "softmax") nodes.push({ op: "Softmax", inputs: [st.input], outputs: [st.output], attributes: { axis: { int: -1 } } });
        else nodes.push({ op: st.fn === "sqrt" ? "Sqrt" : "Erf", inputs: [st.input], outputs: [st.output] });
        return;
      }
      case "matmul": nodes.push({ op: "MatMul", inputs: [...st.inputs], outputs: [st.output] }); return;
      default: {
        // Every step kind has its nodes above: a new kind fails to compile here.
        const unknown: never = st;
        throw new OnnxExportError(`step ${i} of an unknown kind ${JSON.stringify(unknown)}`);
      }
    }
  });
  return { input: plan.input, output: plan.output, nodes, floats: [], int64s, layouts };
}
