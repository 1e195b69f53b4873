// ONNX graphs as a network family: a graph whose ops probegen's engine has is planned once per
// structure (the ops, their attributes, the initializers' shapes and the input's shape), and a
// zoo of networks with that structure is evaluated with one engine op per node over the whole
// zoo, the initializers stacked over the networks. Shapes are resolved at planning, so the
// forward pass does no shape arithmetic per network. A graph with an op outside the set is
// black-box (onnxruntime); the plan says which op, in which node, made it so.
import { createHash } from "node:crypto";
import { add, conv2d, globalAvgPool, leakyRelu, linear, maxPool2d, relu, reshape, scale, sigmoid, sin, tanh, ShapeError, type Tensor } from "../engine/index.js";
import type { OnnxGraph, OnnxModel, OnnxNode, OnnxTensor } from "../io/onnx.js";
import { ArchitectureError, fieldsOf } from "./spec-check.js";
import { FOLDED_OPS, foldNode } from "./onnx-fold.js";

/** A per-probe shape: the dimensions after the probes' (and the networks') axes. */
type Shape = number[];

/** One node as the forward pass runs it: what it reads and writes, its resolved settings. */
export type OnnxStep =
  /** relu: a Relu that only this convolution's output feeds, fused into it (one pass over the maps, not two). */
  | { op: "conv"; input: string; output: string; weight: string; bias: string | null; stride: [number, number]; padding: [number, number]; relu: boolean }
  | { op: "linear"; input: string; output: string; weight: string; bias: string | null }
  | { op: "add"; inputs: [string, string]; output: string }
  | { op: "scale"; input: string; output: string; factor: number }
  | { op: "activation"; input: string; output: string; fn: "relu" | "tanh" | "sigmoid" | "sin" | "leakyRelu"; alpha: number }
  | { op: "globalAvgPool"; input: string; output: string; keepDims: boolean }
  | { op: "maxPool"; input: string; output: string; kernel: number; stride: number; padding: number }
  | { op: "reshape"; input: string; output: string; shape: Shape };

/** A parameter of the family: an initializer as each network holds it, transposed or reshaped into the engine's layout. */
export interface OnnxParameter {
  name: string;
  /** The shape the engine reads (per network). */
  shape: Shape;
  /** From the initializer's values, in its layout, to the engine's layout. */
  layout: "as-is" | "transpose";
}

export interface OnnxPlan {
  /** A digest of the structure: models with the same key are one batch. */
  key: string;
  input: { name: string; shape: Shape };
  output: { name: string; shape: Shape };
  steps: OnnxStep[];
  parameters: OnnxParameter[];
  /** Per-probe shapes of every value, by name (the hidden readout reads intermediate values). */
  shapes: Map<string, Shape>;
  /** The values computed from the networks' parameters ([B, K, ...]); the rest are the probes' alone ([K, ...]). */
  perNetwork: Set<string>;
}

/** Why a graph is black-box: the first node whose op (or use of it) the engine does not have. */
export interface OnnxUnsupported {
  node: string;
  opType: string;
  reason: string;
}

export class OnnxPlanError extends Error {}

const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const same = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((v, i) => v === b[i]);

/** The op types the white-box path translates (the rest are black-box). */
export const WHITE_BOX_OPS: readonly string[] = ["Conv", "Gemm", "MatMul", "Add", "Mul", "Relu", "LeakyRelu", "Tanh", "Sigmoid", "Sin", "MaxPool", "GlobalAveragePool", "ReduceMean", "Flatten", "Reshape", "Constant", "Identity",
  // resolved at planning when their inputs are known (shape arithmetic)
  "Shape", "Gather", "Unsqueeze", "Squeeze", "Concat", "Cast", "Slice", "Sub", "Div", "Equal", "Where", "ConstantOfShape"];

/**
 * Plans a model's graph for zoo-batched evaluation, or says why it cannot be: the first
 * unsupported node. The graph must take one float input whose dimensions past the first
 * (the batch, where the probes go) are all known.
 */
export function planOnnxGraph(model: OnnxModel): OnnxPlan | OnnxUnsupported {
  const g = model.graph;
  if (g.inputs.length !== 1) return { node: "(graph)", opType: "", reason: `the graph takes ${g.inputs.length} inputs; probing feeds one` };
  if (g.outputs.length !== 1) return { node: "(graph)", opType: "", reason: `the graph has ${g.outputs.length} outputs; probing reads one` };
  const input = g.inputs[0];
  if (input.dtype !== "float32" || input.shape === null || input.shape.length < 2 || input.shape.slice(1).some((d) => typeof d !== "number" || d < 1)) {
    return { node: "(graph)", opType: "", reason: `its input '${input.name}' is ${input.dtype ?? "untyped"} of shape [${input.shape?.join(",") ?? "unknown"}]; probing needs float32 [batch, known sizes...]` };
  }
  const shapes = new Map<string, Shape>([[input.name, input.shape.slice(1) as number[]]]);
  const constants = new Map<string, OnnxTensor>(g.initializers);
  const aliases = new Map<string, string>();
  const steps: OnnxStep[] = [];
  const uses = new Map<string, number>();
  for (const name of [...g.nodes.flatMap((n) => n.inputs), ...g.outputs.map((o) => o.name)]) uses.set(name, (uses.get(name) ?? 0) + 1);
  const perNetwork = new Set<string>();
  const parameters = new Map<string, OnnxParameter>();
  const resolve = (name: string) => aliases.get(name) ?? name;
  const useParameter = (name: string, shape: Shape, layout: OnnxParameter["layout"]) => {
    const prior = parameters.get(name);
    if (prior !== undefined && (prior.layout !== layout || !same(prior.shape, shape))) throw new OnnxPlanError(`initializer '${name}' is read in two layouts`);
    parameters.set(name, { name, shape, layout });
    return name;
  };
  for (const n of g.nodes) {
    const before = steps.length;
    const why = planNode(n, { uses, shapes, perNetwork, constants, aliases, resolve, steps, useParameter });
    if (why !== null) return { node: n.name, opType: n.opType, reason: why };
    for (const st of steps.slice(before)) {
      const reads = st.op === "add" ? st.inputs : [st.input];
      if (st.op === "conv" || st.op === "linear" || reads.some((r) => perNetwork.has(r))) perNetwork.add(st.output);
    }
  }
  const out = resolve(g.outputs[0].name);
  const outShape = shapes.get(out);
  if (outShape === undefined) return { node: "(graph)", opType: "", reason: `its output '${g.outputs[0].name}' is a constant, not computed from the input` };
  if (!perNetwork.has(out)) return { node: "(graph)", opType: "", reason: `its output '${g.outputs[0].name}' does not depend on the network's parameters` };
  const plan = { input: { name: input.name, shape: shapes.get(input.name)! }, output: { name: out, shape: outShape }, steps, parameters: [...parameters.values()], shapes, perNetwork };
  return { key: structureKey(plan), ...plan };
}

export function isOnnxPlan(p: OnnxPlan | OnnxUnsupported): p is OnnxPlan {
  return "steps" in p;
}

interface PlanState {
  /** How many node inputs and graph outputs read each value. */
  uses: Map<string, number>;
  shapes: Map<string, Shape>;
  /** Values computed from some network's parameters (the rest are the probes' alone). */
  perNetwork: Set<string>;
  constants: Map<string, OnnxTensor>;
  aliases: Map<string, string>;
  resolve(name: string): string;
  steps: OnnxStep[];
  useParameter(name: string, shape: Shape, layout: OnnxParameter["layout"]): string;
}

const intAttr = (n: OnnxNode, name: string, fallback: number): number => {
  const a = n.attributes.get(name);
  return a?.kind === "int" ? a.value : fallback;
};
const floatAttr = (n: OnnxNode, name: string, fallback: number): number => {
  const a = n.attributes.get(name);
  return a?.kind === "float" ? a.value : fallback;
};
const intsAttr = (n: OnnxNode, name: string): number[] | null => {
  const a = n.attributes.get(name);
  return a?.kind === "ints" ? a.value : null;
};

/** Adds the node's step (or resolves it at planning); returns why it cannot be, or null. */
function planNode(n: OnnxNode, s: PlanState): string | null {
  if (n.domain !== "") return `its domain '${n.domain}' is not ONNX's own`;
  const ins = n.inputs.map((i) => (i === "" ? "" : s.resolve(i)));
  const out = n.outputs[0];
  const shapeOf = (name: string) => s.shapes.get(name);
  const constant = (name: string) => s.constants.get(name);
  // Shape arithmetic: computed here, once, when every input is known (onnx-fold.ts).
  if (FOLDED_OPS.has(n.opType) && (n.opType === "Shape" || ins.every((i) => i === "" || constant(i) !== undefined))) {
    const folded = foldNode({ ...n, inputs: ins }, constant, shapeOf);
    if (folded !== null) { s.constants.set(out, folded); return null; }
    if (n.opType !== "Identity" && n.opType !== "Add" && n.opType !== "Mul") return `shape arithmetic probegen cannot resolve at planning`;
  }
  switch (n.opType) {
    case "Identity": {
      if (constant(ins[0]) !== undefined) s.constants.set(out, constant(ins[0])!);
      else s.aliases.set(out, ins[0]);
      return null;
    }
    case "Constant": {
      const v = n.attributes.get("value");
      if (v?.kind === "tensor") { s.constants.set(out, v.value); return null; }
      const f = n.attributes.get("value_float"), i = n.attributes.get("value_int");
      const scalar = f?.kind === "float" ? f.value : i?.kind === "int" ? i.value : null;
      if (scalar !== null) {
        s.constants.set(out, { name: out, dtype: f ? "float32" : "int64", dims: [], data: Float64Array.of(scalar) });
        return null;
      }
      return "a Constant of a kind other than a tensor or a scalar";
    }
    case "Conv": {
      const x = shapeOf(ins[0]), w = constant(ins[1]);
      if (x === undefined || x.length !== 3) return `its input is not an image [C,H,W] computed from the probes`;
      if (w === undefined || w.dims.length !== 4) return "its weight is not a 4-d initializer";
      if (intAttr(n, "group", 1) !== 1) return "a grouped convolution";
      const dil = intsAttr(n, "dilations");
      if (dil !== null && dil.some((d) => d !== 1)) return "a dilated convolution";
      const autoPad = n.attributes.get("auto_pad");
      if (autoPad?.kind === "string" && autoPad.value !== "NOTSET") return `auto_pad ${autoPad.value}`;
      const [O, C, KH, KW] = w.dims;
      if (C !== x[0]) return `weight [${w.dims.join(",")}] against input channels ${x[0]}`;
      const strides = intsAttr(n, "strides") ?? [1, 1];
      const pads = intsAttr(n, "pads") ?? [0, 0, 0, 0];
      if (pads[0] !== pads[2] || pads[1] !== pads[3]) return `asymmetric padding [${pads.join(",")}]`;
      const OH = Math.floor((x[1] + 2 * pads[0] - KH) / strides[0]) + 1, OW = Math.floor((x[2] + 2 * pads[1] - KW) / strides[1]) + 1;
      if (OH < 1 || OW < 1) return "no output pixels";
      const b = ins[2] ? constant(ins[2]) : undefined;
      if (ins[2] && (b === undefined || prod(b.dims) !== O)) return "its bias is not an initializer of the output channels";
      s.steps.push({ op: "conv", input: ins[0], output: out, weight: s.useParameter(ins[1], w.dims, "as-is"), bias: b ? s.useParameter(ins[2], [O], "as-is") : null, stride: [strides[0], strides[1]], padding: [pads[0], pads[1]], relu: false });
      s.shapes.set(out, [O, OH, OW]);
      return null;
    }
    case "Gemm":
    case "MatMul": {
      const x = shapeOf(ins[0]), w = constant(ins[1]);
      if (x === undefined) return "its first input is not computed from the probes";
      if (w === undefined || w.dims.length !== 2) return "its second input is not a 2-d initializer";
      const transA = n.opType === "Gemm" ? intAttr(n, "transA", 0) : 0, transB = n.opType === "Gemm" ? intAttr(n, "transB", 0) : 0;
      if (transA !== 0) return "transA";
      if (n.opType === "Gemm" && (floatAttr(n, "alpha", 1) !== 1 || floatAttr(n, "beta", 1) !== 1)) return "alpha or beta other than 1";
      if (n.opType === "Gemm" && x.length !== 1) return `Gemm on a rank-${x.length + 1} input`;
      const [inF, outF] = transB ? [w.dims[1], w.dims[0]] : w.dims;
      if (x[x.length - 1] !== inF) return `weight [${w.dims.join(",")}] against input features ${x[x.length - 1]}`;
      const c = ins[2] ? constant(ins[2]) : undefined;
      if (ins[2] && (c === undefined || prod(c.dims) !== outF)) return "its bias is not an initializer of the output features";
      s.steps.push({ op: "linear", input: ins[0], output: out, weight: s.useParameter(ins[1], [outF, inF], transB ? "as-is" : "transpose"), bias: c ? s.useParameter(ins[2], [outF], "as-is") : null });
      s.shapes.set(out, [...x.slice(0, -1), outF]);
      return null;
    }
    case "Add": {
      const a = shapeOf(ins[0]), b = shapeOf(ins[1]);
      if (a === undefined || b === undefined || !same(a, b)) return "an addition other than of two computed values of one shape";
      if (s.perNetwork.has(ins[0]) !== s.perNetwork.has(ins[1])) return "an addition of a value computed from the probes alone and a per-network one";
      s.steps.push({ op: "add", inputs: [ins[0], ins[1]], output: out });
      s.shapes.set(out, a);
      return null;
    }
    case "Mul": {
      const [xi, ci] = shapeOf(ins[0]) !== undefined ? [0, 1] : [1, 0];
      const x = shapeOf(ins[xi]), c = constant(ins[ci]);
      if (x === undefined || c === undefined || prod(c.dims) !== 1) return "a product other than of a computed value and a scalar";
      s.steps.push({ op: "scale", input: ins[xi], output: out, factor: c.data[0] });
      s.shapes.set(out, x);
      return null;
    }
    case "Relu": case "Tanh": case "Sigmoid": case "Sin": case "LeakyRelu": {
      const x = shapeOf(ins[0]);
      if (x === undefined) return "its input is not computed from the probes";
      const last = s.steps[s.steps.length - 1];
      if (n.opType === "Relu" && last?.op === "conv" && !last.relu && last.output === ins[0] && s.uses.get(ins[0]) === 1) {
        // The convolution's maps are read by this Relu alone: one fused pass, the Relu's output its name.
        last.relu = true;
        s.aliases.set(out, ins[0]);
        return null;
      }
      const fn = ({ Relu: "relu", Tanh: "tanh", Sigmoid: "sigmoid", Sin: "sin", LeakyRelu: "leakyRelu" } as const)[n.opType];
      s.steps.push({ op: "activation", input: ins[0], output: out, fn, alpha: floatAttr(n, "alpha", 0.01) });
      s.shapes.set(out, x);
      return null;
    }
    case "MaxPool": {
      const x = shapeOf(ins[0]);
      if (x === undefined || x.length !== 3) return "its input is not an image [C,H,W]";
      const k = intsAttr(n, "kernel_shape") ?? [], st = intsAttr(n, "strides") ?? [1, 1], pads = intsAttr(n, "pads") ?? [0, 0, 0, 0];
      const dil = intsAttr(n, "dilations");
      if (k.length !== 2 || k[0] !== k[1] || st[0] !== st[1] || pads.some((p) => p !== pads[0]) || 2 * pads[0] > k[0]) return "a pool other than square, with one stride and even padding";
      if (intAttr(n, "ceil_mode", 0) !== 0 || (dil !== null && dil.some((d) => d !== 1)) || n.outputs.length > 1 && n.outputs[1] !== "") return "ceil_mode, dilation or indices";
      const O = Math.floor((x[1] + 2 * pads[0] - k[0]) / st[0]) + 1, OW = Math.floor((x[2] + 2 * pads[0] - k[0]) / st[0]) + 1;
      if (O < 1 || OW < 1) return "no output pixels";
      s.steps.push({ op: "maxPool", input: ins[0], output: out, kernel: k[0], stride: st[0], padding: pads[0] });
      s.shapes.set(out, [x[0], O, OW]);
      return null;
    }
    case "GlobalAveragePool": {
      const x = shapeOf(ins[0]);
      if (x === undefined || x.length !== 3) return "its input is not an image [C,H,W]";
      s.steps.push({ op: "globalAvgPool", input: ins[0], output: out, keepDims: true });
      s.shapes.set(out, [x[0], 1, 1]);
      return null;
    }
    case "ReduceMean": {
      const x = shapeOf(ins[0]);
      const axes = (intsAttr(n, "axes") ?? []).map((a) => (a < 0 ? a + (x?.length ?? 0) + 1 : a));
      if (x === undefined || x.length !== 3 || !same([...axes].sort(), [2, 3])) return "a mean other than over an image's height and width";
      const keep = intAttr(n, "keepdims", 1) !== 0;
      s.steps.push({ op: "globalAvgPool", input: ins[0], output: out, keepDims: keep });
      s.shapes.set(out, keep ? [x[0], 1, 1] : [x[0]]);
      return null;
    }
    case "Flatten": {
      const x = shapeOf(ins[0]);
      if (x === undefined) return "its input is not computed from the probes";
      if (intAttr(n, "axis", 1) !== 1) return "a Flatten of other than the axes after the batch";
      s.steps.push({ op: "reshape", input: ins[0], output: out, shape: [prod(x)] });
      s.shapes.set(out, [prod(x)]);
      return null;
    }
    case "Reshape": {
      const x = shapeOf(ins[0]), target = constant(ins[1]);
      if (x === undefined || target === undefined) return "a Reshape to a shape not known at planning";
      const dims = Array.from(target.data, Number);
      // The batch: -1, 0 (copy), or NaN (the batch size as Shape gave it).
      if (dims[0] !== -1 && dims[0] !== 0 && !Number.isNaN(dims[0])) return "a Reshape that moves the batch axis";
      if (dims.slice(1).some((d) => Number.isNaN(d))) return "a Reshape that moves the batch axis";
      const rest = dims.slice(1).map((d, i) => (d === 0 ? x[i] : d));
      const known = rest.filter((d) => d !== -1);
      const shape = rest.map((d) => (d === -1 ? prod(x) / prod(known) : d));
      if (!Number.isInteger(prod(shape)) || prod(shape) !== prod(x)) return `a Reshape of [${x.join(",")}] to [${dims.join(",")}]`;
      s.steps.push({ op: "reshape", input: ins[0], output: out, shape });
      s.shapes.set(out, shape);
      return null;
    }
    default:
      return WHITE_BOX_OPS.includes(n.opType) ? "this use of it" : "probegen's engine does not have this op";
  }
}

// Scalars folded into steps (a SIREN's 30) are in the steps; the initializers read as
// parameters are per network, and only their names, shapes and layouts count.
function structureKey(plan: Pick<OnnxPlan, "input" | "output" | "steps" | "parameters">): string {
  const h = createHash("sha256");
  h.update(JSON.stringify({ input: plan.input, output: plan.output.name, steps: plan.steps, parameters: plan.parameters }));
  return h.digest("hex").slice(0, 16);
}

/**
 * Evaluates a zoo of networks of one plan on shared probes: params maps each of the plan's
 * parameters to a tensor [B, ...shape]; probes is [K, ...input shape]. Returns [B, K, ...output
 * shape]. With onValue, every computed value is handed over as it is made (hidden readouts).
 */
export function onnxForward(plan: OnnxPlan, params: ReadonlyMap<string, Tensor>, probes: Tensor, onValue?: (name: string, t: Tensor) => void): Tensor {
  if (!same(probes.shape.slice(1), plan.input.shape)) throw new ShapeError("onnxForward", `probes [${probes.shape.join(",")}] do not match the graph's input [K,${plan.input.shape.join(",")}]`);
  const B = (params.values().next().value as Tensor | undefined)?.shape[0] ?? 1;
  const K = probes.shape[0];
  // A value is either shared by every network ([K, ...]: the probes, and what is computed from
  // them alone) or per network ([B, K, ...]); planning kept the two from meeting in one op.
  const values = new Map<string, Tensor>([[plan.input.name, probes]]);
  const get = (name: string) => values.get(name)!;
  const isShared = (name: string) => get(name).shape.length === plan.shapes.get(name)!.length + 1;
  const param = (name: string) => params.get(name)!;
  for (const st of plan.steps) {
    let y: Tensor;
    switch (st.op) {
      case "conv":
        y = conv2d(get(st.input), param(st.weight), st.bias === null ? null : param(st.bias), { stride: st.stride, padding: st.padding, ...(st.relu ? { activation: "relu" as const } : {}) });
        break;
      case "linear": {
        const x = get(st.input);
        const shared = isShared(st.input);
        const shape = plan.shapes.get(st.input)!;
        const rows = shared ? [K * prod(shape.slice(0, -1))] : [B, K * prod(shape.slice(0, -1))];
        const flat = reshape(x, [...rows, shape[shape.length - 1]]);
        const out = linear(flat, param(st.weight), st.bias === null ? null : param(st.bias));
        y = reshape(out, [B, K, ...plan.shapes.get(st.output)!]);
        break;
      }
      case "add": y = add(get(st.inputs[0]), get(st.inputs[1])); break;
      case "scale": y = scale(get(st.input), st.factor); break;
      case "activation": {
        const x = get(st.input);
        y = st.fn === "relu" ? relu(x) : st.fn === "tanh" ? tanh(x) : st.fn === "sigmoid" ? sigmoid(x) : st.fn === "sin" ? sin(x) : leakyRelu(x, st.alpha);
        break;
      }
      case "maxPool": y = maxPool2d(get(st.input), st.kernel, st.stride, st.padding); break;
      case "globalAvgPool": {
        const pooled = globalAvgPool(get(st.input));
        y = st.keepDims ? reshape(pooled, [...pooled.shape, 1, 1]) : pooled;
        break;
      }
      case "reshape": {
        const x = get(st.input);
        y = reshape(x, [...x.shape.slice(0, isShared(st.input) ? 1 : 2), ...st.shape]);
        break;
      }
    }
    values.set("output" in st ? st.output : "", y);
    onValue?.(st.output, y);
  }
  return get(plan.output.name);
}

/** One network's values of the plan's parameters, in the engine's layout, from its graph's initializers. */
export function onnxParameterValues(plan: OnnxPlan, graph: OnnxGraph): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const p of plan.parameters) {
    const t = graph.initializers.get(p.name);
    if (t === undefined || prod(t.dims) !== prod(p.shape)) throw new OnnxPlanError(`initializer '${p.name}' is missing or of another size than the plan's [${p.shape.join(",")}]`);
    if (p.layout === "as-is") { out.set(p.name, Float32Array.from(t.data)); continue; }
    // A MatMul's [in, out] as a linear layer's [out, in].
    const [rows, cols] = t.dims, v = new Float32Array(rows * cols);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) v[c * rows + r] = t.data[r * cols + c];
    out.set(p.name, v);
  }
  return out;
}

/** The plan as zoo.json records it: its steps and parameters; shapes and key are derived again on reading. */
export function onnxPlanSpec(plan: OnnxPlan): Record<string, unknown> {
  return { key: plan.key, input: plan.input, output: { name: plan.output.name }, steps: plan.steps, parameters: plan.parameters };
}

/**
 * A plan from zoo.json (untrusted): every step's fields checked, every value read after it is
 * written, and every shape derived again from the input's and the parameters' shapes, so that
 * the forward pass meets no shape it was not checked for.
 */
export function parseOnnxPlan(spec: unknown, path = "architecture"): OnnxPlan {
  const f = fieldsOf(spec, path);
  const inp = fieldsOf(f.record.input, `${path}.input`);
  const inputName = inp.record.name;
  if (typeof inputName !== "string" || inputName === "") throw new ArchitectureError(`${path}.input.name must name the graph's input`);
  const input = { name: inputName, shape: inp.ints("shape", 1) };
  const outName = fieldsOf(f.record.output, `${path}.output`).record.name;
  if (typeof outName !== "string") throw new ArchitectureError(`${path}.output.name must name a value`);
  const parameters = f.list("parameters").map((p, i): OnnxParameter => {
    const q = fieldsOf(p, `${path}.parameters[${i}]`);
    if (typeof q.record.name !== "string" || q.record.name === "") throw new ArchitectureError(`${path}.parameters[${i}].name must name an initializer`);
    return { name: q.record.name, shape: q.ints("shape", 1), layout: q.choice("layout", ["as-is", "transpose"] as const) };
  });
  const paramShape = new Map(parameters.map((p) => [p.name, p.shape]));
  const shapes = new Map<string, Shape>([[input.name, input.shape]]);
  const perNetwork = new Set<string>();
  const steps = f.list("steps").map((raw, i): OnnxStep => {
    const at = `${path}.steps[${i}]`;
    const s = fieldsOf(raw, at);
    const fail = (what: string): never => { throw new ArchitectureError(`${at}: ${what}`); };
    const valueNamed = (name: unknown, what: string): [string, Shape] => {
      if (typeof name !== "string" || !shapes.has(name)) fail(`${what} ${JSON.stringify(name)} is not a value written before it`);
      return [name as string, shapes.get(name as string)!];
    };
    const value = (k: string) => valueNamed(s.record[k], k);
    const param = (k: string, nullable: boolean): [string | null, Shape | null] => {
      const name = s.record[k];
      if (nullable && name === null) return [null, null];
      if (typeof name !== "string" || !paramShape.has(name)) fail(`${k} ${JSON.stringify(name)} is not one of the parameters`);
      return [name as string, paramShape.get(name as string)!];
    };
    const output = s.record.output;
    if (typeof output !== "string" || output === "" || shapes.has(output)) fail(`output ${JSON.stringify(output)} must be a new value's name`);
    const set = (shape: Shape, per: boolean, step: OnnxStep): OnnxStep => {
      if (shape.some((d) => !Number.isInteger(d) || d < 1)) fail(`gives the shape [${shape.join(",")}]`);
      shapes.set(output as string, shape);
      if (per) perNetwork.add(output as string);
      return step;
    };
    const op = s.choice("op", ["conv", "linear", "add", "scale", "activation", "globalAvgPool", "maxPool", "reshape"] as const);
    switch (op) {
      case "conv": {
        const [x, xs] = value("input"), [w, ws] = param("weight", false), [b, bs] = param("bias", true);
        const stride = s.ints("stride", 1), padding = s.ints("padding", 0);
        if (xs.length !== 3 || ws!.length !== 4 || ws![1] !== xs[0] || stride.length !== 2 || padding.length !== 2) fail(`a convolution of [${xs.join(",")}] by [${ws!.join(",")}]`);
        if (bs !== null && !same(bs, [ws![0]])) fail(`bias [${bs.join(",")}] for ${ws![0]} channels`);
        const OH = Math.floor((xs[1] + 2 * padding[0] - ws![2]) / stride[0]) + 1, OW = Math.floor((xs[2] + 2 * padding[1] - ws![3]) / stride[1]) + 1;
        return set([ws![0], OH, OW], true, { op, input: x, output: output as string, weight: w!, bias: b, stride: [stride[0], stride[1]], padding: [padding[0], padding[1]], relu: s.record.relu === true });
      }
      case "linear": {
        const [x, xs] = value("input"), [w, ws] = param("weight", false), [b, bs] = param("bias", true);
        if (ws!.length !== 2 || xs[xs.length - 1] !== ws![1]) fail(`a linear layer [${ws!.join(",")}] on [${xs.join(",")}]`);
        if (bs !== null && !same(bs, [ws![0]])) fail(`bias [${bs.join(",")}] for ${ws![0]} features`);
        return set([...xs.slice(0, -1), ws![0]], true, { op, input: x, output: output as string, weight: w!, bias: b });
      }
      case "add": {
        const pair = s.list("inputs");
        if (pair.length !== 2) fail("inputs must be two values");
        const [a, as] = valueNamed(pair[0], "inputs[0]"), [b, bs] = valueNamed(pair[1], "inputs[1]");
        if (!same(as, bs) || perNetwork.has(a) !== perNetwork.has(b)) fail(`adds [${as.join(",")}] and [${bs.join(",")}]`);
        return set(as, perNetwork.has(a), { op, inputs: [a, b], output: output as string });
      }
      case "scale": {
        const [x, xs] = value("input");
        return set(xs, perNetwork.has(x), { op, input: x, output: output as string, factor: s.num("factor") });
      }
      case "activation": {
        const [x, xs] = value("input");
        return set(xs, perNetwork.has(x), { op, input: x, output: output as string, fn: s.choice("fn", ["relu", "tanh", "sigmoid", "sin", "leakyRelu"] as const), alpha: s.num("alpha") });
      }
      case "globalAvgPool": {
        const [x, xs] = value("input");
        if (xs.length !== 3) fail(`pools [${xs.join(",")}], not an image`);
        const keepDims = s.record.keepDims === true;
        return set(keepDims ? [xs[0], 1, 1] : [xs[0]], perNetwork.has(x), { op, input: x, output: output as string, keepDims });
      }
      case "maxPool": {
        const [x, xs] = value("input"), kernel = s.int("kernel", 1), stride = s.int("stride", 1), padding = s.int("padding", 0);
        if (xs.length !== 3 || 2 * padding > kernel) fail(`pools [${xs.join(",")}] with kernel ${kernel} and padding ${padding}`);
        const OH = Math.floor((xs[1] + 2 * padding - kernel) / stride) + 1, OW = Math.floor((xs[2] + 2 * padding - kernel) / stride) + 1;
        return set([xs[0], OH, OW], perNetwork.has(x), { op, input: x, output: output as string, kernel, stride, padding });
      }
      case "reshape": {
        const [x, xs] = value("input"), shape = s.ints("shape", 1);
        if (prod(shape) !== prod(xs)) fail(`reshapes [${xs.join(",")}] to [${shape.join(",")}]`);
        return set(shape, perNetwork.has(x), { op, input: x, output: output as string, shape });
      }
    }
  });
  const outShape = shapes.get(outName);
  if (outShape === undefined || !perNetwork.has(outName)) throw new ArchitectureError(`${path}.output.name ${JSON.stringify(outName)} is not a value computed from the parameters`);
  const plan = { input, output: { name: outName, shape: outShape }, steps, parameters, shapes, perNetwork };
  return { key: structureKey(plan), ...plan };
}

/** Forward FLOPs of one network on one probe. */
export function onnxFlopsPerProbe(plan: OnnxPlan): number {
  let flops = 0;
  for (const st of plan.steps) {
    const out = plan.shapes.get(st.output)!;
    if (st.op === "conv") { const w = plan.parameters.find((p) => p.name === st.weight)!.shape; flops += 2 * prod(out) * w[1] * w[2] * w[3]; }
    else if (st.op === "linear") { const w = plan.parameters.find((p) => p.name === st.weight)!.shape; flops += 2 * prod(out) * w[1]; }
    else flops += prod(out);
  }
  return flops;
}
