// ONNX graphs as a network family: a graph whose ops probegen's engine has is planned once per
// structure (the ops, their attributes, the initializers' shapes and the input's shape), and a
// zoo of networks with that structure is evaluated with one engine op per node over the whole
// zoo, the initializers stacked over the networks. Shapes are resolved at planning, so the
// forward pass does no shape arithmetic per network. A graph with an op outside the set is
// black-box (onnxruntime); the plan says which op, in which node, made it so.
import { createHash } from "node:crypto";
import {
  Tensor, add, broadcast, broadcastShape, concatAxis, conv2d, erf, globalAvgPool, leakyRelu, linear, matmul, maxPool2d, narrow, permute, powScalar, relu, reshape,
  scale, sigmoid, sin, softmaxLast, sqrt, tanh, ShapeError, type BroadcastOp,
} from "../engine/index.js";
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
  | { op: "reshape"; input: string; output: string; shape: Shape }
  // The ops a transformer's graph adds. Axes are per-probe axes (after the networks' and the
  // probes'), resolved at planning from ONNX's, whose batch axis may move (a Transpose).
  | { op: "permute"; input: string; output: string; perm: number[] }
  | { op: "narrow"; input: string; output: string; axis: number; start: number; end: number }
  | { op: "concat"; inputs: string[]; output: string; axis: number }
  | { op: "binary"; fn: BroadcastOp; a: Operand; b: Operand; output: string }
  | { op: "expand"; param: string; view: Shape; output: string; shape: Shape }
  | { op: "unary"; fn: "sqrt" | "erf" | "softmax" | "pow" | "meanLast"; input: string; output: string; p: number }
  | { op: "matmul"; inputs: [string, string]; output: string };

/**
 * An operand of a broadcasting step: a computed value; a parameter, viewed per network as `view`
 * (its ONNX dims aligned to the value it meets, the batch's axis dropped); or a small constant.
 */
export type Operand = { value: string } | { param: string; view: Shape } | { constant: number[]; dims: Shape };

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
  const batchAxis = new Map<string, number>();
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
    let why: string | null;
    try {
      why = planNode(n, { uses, batchAxis, initializers: g.initializers, shapes, perNetwork, constants, aliases, resolve, steps, useParameter });
    } catch (e) {
      // An initializer read in two layouts: the graph is black-box, for this reason.
      if (!(e instanceof OnnxPlanError)) throw e;
      why = e.message;
    }
    if (why !== null) return { node: n.name, opType: n.opType, reason: why };
    for (const st of steps.slice(before)) if (readsParameters(st, perNetwork)) perNetwork.add(st.output);
  }
  const out = resolve(g.outputs[0].name);
  const outShape = shapes.get(out);
  if (outShape === undefined) return { node: "(graph)", opType: "", reason: `its output '${g.outputs[0].name}' is a constant, not computed from the input` };
  if (!perNetwork.has(out)) return { node: "(graph)", opType: "", reason: `its output '${g.outputs[0].name}' does not depend on the network's parameters` };
  const plan = { input: { name: input.name, shape: shapes.get(input.name)! }, output: { name: out, shape: outShape }, steps, parameters: [...parameters.values()], shapes, perNetwork };
  return { key: structureKey(plan), ...plan };
}

/** The values a step reads. */
export function stepInputs(st: OnnxStep): string[] {
  switch (st.op) {
    case "add": case "concat": case "matmul": return [...st.inputs];
    case "binary": return [st.a, st.b].flatMap((o) => ("value" in o ? [o.value] : []));
    case "expand": return [];
    default: return [st.input];
  }
}

/** Whether a step's output depends on the networks' parameters (per network) or on the probes alone. */
function readsParameters(st: OnnxStep, perNetwork: ReadonlySet<string>): boolean {
  if (st.op === "conv" || st.op === "linear" || st.op === "expand") return true;
  if (st.op === "binary" && [st.a, st.b].some((o) => "param" in o)) return true;
  return stepInputs(st).some((r) => perNetwork.has(r));
}

export function isOnnxPlan(p: OnnxPlan | OnnxUnsupported): p is OnnxPlan {
  return "steps" in p;
}

interface PlanState {
  /** How many node inputs and graph outputs read each value. */
  uses: Map<string, number>;
  /** Where the batch is among a computed value's ONNX axes (0 unless a Transpose moved it). */
  batchAxis: Map<string, number>;
  /** The graph's initializers (parameters, as opposed to constants computed at planning). */
  initializers: ReadonlyMap<string, OnnxTensor>;
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
  const batchOf = (name: string) => s.batchAxis.get(name) ?? 0;
  // Images, pooling and reshapes read the batch as the first axis.
  const layoutOps = ["Conv", "MaxPool", "GlobalAveragePool", "Flatten", "Reshape"];
  if (layoutOps.includes(n.opType) && shapeOf(ins[0]) !== undefined && batchOf(ins[0]) !== 0) return "its input's batch is not its first axis";
  const transformer = planTransformerOp(n, ins, out, s);
  if (transformer !== undefined) return transformer;
  // Another name for a value: the same value (an initializer under it stays a parameter).
  if (n.opType === "Identity") { s.aliases.set(out, ins[0]); return null; }
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
      if (a === undefined || b === undefined || !same(a, b) || batchOf(ins[0]) !== batchOf(ins[1]) || s.perNetwork.has(ins[0]) !== s.perNetwork.has(ins[1])) return planBinary("add", ins[0], ins[1], out, s);
      s.steps.push({ op: "add", inputs: [ins[0], ins[1]], output: out });
      s.shapes.set(out, a);
      return null;
    }
    case "Mul": {
      const [xi, ci] = shapeOf(ins[0]) !== undefined ? [0, 1] : [1, 0];
      const x = shapeOf(ins[xi]), c = constant(ins[ci]);
      if (x === undefined || c === undefined || prod(c.dims) !== 1 || s.initializers.has(ins[ci])) return planBinary("mul", ins[0], ins[1], out, s);
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
      if (x === undefined || x.length !== 3 || batchOf(ins[0]) !== 0 || !same([...axes].sort(), [2, 3])) return "a mean other than over an image's height and width";
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

/** A computed value's ONNX axis as a per-probe axis, or null for the batch's own. */
function probeAxis(s: PlanState, name: string, axis: number): number | null {
  const rank = s.shapes.get(name)!.length + 1, b = s.batchAxis.get(name) ?? 0;
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank || a === b) return null;
  return a < b ? a : a - 1;
}

/** A known operand (a parameter or a constant) aligned to a value of ONNX rank `rank` with its batch at `batch`: its dims padded to that rank, the batch's axis (which must be 1) dropped. */
function alignedDims(dims: readonly number[], rank: number, batch: number): Shape | null {
  if (dims.length > rank) return null;
  const padded = [...new Array<number>(rank - dims.length).fill(1), ...dims];
  if (padded[batch] !== 1) return null;
  return padded.filter((_, i) => i !== batch);
}

/** An elementwise step between two operands, numpy-broadcast; at least one is a computed value. */
function planBinary(fn: BroadcastOp, x: string, y: string, out: string, s: PlanState): string | null {
  const sx = s.shapes.get(x), sy = s.shapes.get(y);
  if (sx === undefined && sy === undefined) return "an operation on values not computed from the probes";
  const lead = sx !== undefined ? x : y;
  const rank = s.shapes.get(lead)!.length + 1, batch = s.batchAxis.get(lead) ?? 0;
  if (sx !== undefined && sy !== undefined && (s.batchAxis.get(x) ?? 0) !== (s.batchAxis.get(y) ?? 0)) return "operands whose batch axes differ";
  const operand = (name: string): Operand | string => {
    if (s.shapes.has(name)) return { value: name };
    const t = s.constants.get(name);
    if (t === undefined) return `'${name}' is neither computed nor known`;
    const view = alignedDims(t.dims, rank, batch);
    if (view === null) return `'${name}' [${t.dims.join(",")}] does not broadcast over the batch`;
    if (s.initializers.has(name) && t.dtype === "float32") return { param: s.useParameter(name, view.length > 0 ? view : [1], "as-is"), view };
    if (t.data.length > 4096 || Array.from(t.data).some((v) => !Number.isFinite(v))) return `'${name}' is not a small finite constant`;
    return { constant: Array.from(t.data), dims: view };
  };
  const a = operand(x), b = operand(y);
  if (typeof a === "string") return a;
  if (typeof b === "string") return b;
  const shapeOfOperand = (o: Operand): Shape => ("value" in o ? s.shapes.get(o.value)! : "param" in o ? o.view : o.dims);
  let shape: Shape;
  try {
    shape = broadcastShape("onnx", shapeOfOperand(a), shapeOfOperand(b));
  } catch {
    return `shapes [${shapeOfOperand(a).join(",")}] and [${shapeOfOperand(b).join(",")}] do not broadcast`;
  }
  s.steps.push({ op: "binary", fn, a, b, output: out });
  s.shapes.set(out, shape);
  s.batchAxis.set(out, batch);
  return null;
}


/**
 * The ops of a transformer's graph: Transpose (the batch may move), Split, Gather of one index,
 * Squeeze and Unsqueeze of computed values, Concat, Expand of a parameter, Sub, Div, Pow, Sqrt,
 * Erf, Softmax, a mean over the last axis, and MatMul of two computed values. Returns why a node
 * of these cannot be, null when planned, undefined for other nodes.
 */
function planTransformerOp(n: OnnxNode, ins: string[], out: string, s: PlanState): string | null | undefined {
  const shape = (name: string) => s.shapes.get(name);
  const x = shape(ins[0]);
  const batch = s.batchAxis.get(ins[0]) ?? 0;
  const known = (name: string) => (name === "" ? undefined : s.constants.get(name));
  const intsOf = (k: string) => { const a = n.attributes.get(k); return a?.kind === "ints" ? a.value : null; };
  const intOf = (k: string, d: number) => { const a = n.attributes.get(k); return a?.kind === "int" ? a.value : d; };
  const set = (name: string, sh: Shape, b: number) => { s.shapes.set(name, sh); s.batchAxis.set(name, b); };
  switch (n.opType) {
    case "Transpose": {
      if (x === undefined) return undefined;
      const rank = x.length + 1;
      const perm = intsOf("perm") ?? Array.from({ length: rank }, (_, i) => rank - 1 - i);
      if (perm.length !== rank) return `perm ${JSON.stringify(perm)} for rank ${rank}`;
      const newBatch = perm.indexOf(batch);
      const probePerm = perm.filter((a) => a !== batch).map((a) => (a < batch ? a : a - 1));
      s.steps.push({ op: "permute", input: ins[0], output: out, perm: probePerm });
      set(out, probePerm.map((a) => x[a]), newBatch);
      return null;
    }
    case "Split": {
      if (x === undefined) return undefined;
      const axis = probeAxis(s, ins[0], intOf("axis", 0));
      if (axis === null) return "a split along the batch";
      const given = known(ins[1]);
      const sizes = given !== undefined ? Array.from(given.data) : intsOf("split") ?? new Array<number>(n.outputs.length).fill(x[axis] / n.outputs.length);
      if (sizes.length !== n.outputs.length || sizes.some((v) => !Number.isInteger(v) || v < 1) || sizes.reduce((a, b) => a + b, 0) !== x[axis]) return `sizes ${JSON.stringify(sizes)} along an axis of ${x[axis]}`;
      let at = 0;
      n.outputs.forEach((o, i) => {
        s.steps.push({ op: "narrow", input: ins[0], output: o, axis, start: at, end: at + sizes[i] });
        set(o, x.map((d, j) => (j === axis ? sizes[i] : d)), batch);
        at += sizes[i];
      });
      return null;
    }
    case "Gather": {
      if (x === undefined) return undefined;
      const idx = known(ins[1]);
      const axis = probeAxis(s, ins[0], intOf("axis", 0));
      if (axis === null || idx === undefined || idx.data.length !== 1 || idx.dims.length !== 0) return "a Gather other than of one index, off the batch";
      const i = idx.data[0] < 0 ? idx.data[0] + x[axis] : idx.data[0];
      if (!Number.isInteger(i) || i < 0 || i >= x[axis]) return `index ${idx.data[0]} of an axis of ${x[axis]}`;
      const dropped = x.filter((_, j) => j !== axis);
      if (dropped.length === 0) return "a Gather leaving only the batch";
      const part = `${out}:narrow`;
      s.steps.push({ op: "narrow", input: ins[0], output: part, axis, start: i, end: i + 1 });
      s.shapes.set(part, x.map((d, j) => (j === axis ? 1 : d)));
      s.steps.push({ op: "reshape", input: part, output: out, shape: dropped });
      const onnxAxis = axis < batch ? axis : axis + 1;
      set(out, dropped, onnxAxis < batch ? batch - 1 : batch);
      return null;
    }
    case "Squeeze": case "Unsqueeze": {
      if (x === undefined) return undefined;
      const axesT = known(ins[1]);
      const axes = axesT !== undefined ? Array.from(axesT.data) : intsOf("axes");
      if (axes === null) return "axes not known at planning";
      const full: (number | "batch")[] = [...x];
      full.splice(batch, 0, "batch");
      let next: (number | "batch")[];
      if (n.opType === "Squeeze") {
        const norm = axes.map((a) => (a < 0 ? a + full.length : a));
        if (norm.some((a) => full[a] !== 1)) return "a Squeeze of an axis that is not 1 (or of the batch)";
        next = full.filter((_, i) => !norm.includes(i));
      } else {
        const rank = full.length + axes.length;
        next = [...full];
        for (const a of axes.map((v) => (v < 0 ? v + rank : v)).sort((p, q) => p - q)) next.splice(a, 0, 1);
      }
      const nb = next.indexOf("batch");
      const sh = next.filter((d): d is number => d !== "batch");
      if (sh.length === 0) return "nothing but the batch left";
      s.steps.push({ op: "reshape", input: ins[0], output: out, shape: sh });
      set(out, sh, nb);
      return null;
    }
    case "Concat": {
      if (ins.some((i) => shape(i) === undefined)) return x === undefined ? undefined : "a Concat of computed and known values";
      const axis = probeAxis(s, ins[0], intOf("axis", 0));
      if (axis === null || ins.some((i) => (s.batchAxis.get(i) ?? 0) !== batch)) return "a Concat along the batch, or of values whose batch axes differ";
      if (ins.some((i) => s.perNetwork.has(i) !== s.perNetwork.has(ins[0]))) return "a Concat of per-network and shared values";
      const shapes = ins.map((i) => shape(i)!);
      if (shapes.some((sh) => sh.length !== x!.length || sh.some((d, j) => j !== axis && d !== x![j]))) return "parts whose shapes differ off the axis";
      s.steps.push({ op: "concat", inputs: ins, output: out, axis });
      set(out, x!.map((d, j) => (j === axis ? shapes.reduce((t, sh) => t + sh[axis], 0) : d)), batch);
      return null;
    }
    case "Expand": {
      const t = known(ins[0]), target = known(ins[1]);
      if (t === undefined || target === undefined || !s.initializers.has(ins[0])) return x === undefined ? "an Expand of a value not known at planning" : undefined;
      const dims = Array.from(target.data);
      if (!Number.isNaN(dims[0]) || dims.slice(1).some((d) => Number.isNaN(d))) return "an Expand other than over the batch";
      const full = dims.map((d, i) => (i === 0 ? 1 : Math.max(d, t.dims[t.dims.length - dims.length + i] ?? 1)));
      const view = alignedDims(t.dims, dims.length, 0);
      if (view === null) return `'${ins[0]}' does not broadcast over the batch`;
      const outShape = full.slice(1);
      if (view.some((d, i) => d !== outShape[i] && d !== 1)) return "an Expand past the parameter's own sizes";
      s.steps.push({ op: "expand", param: s.useParameter(ins[0], view.length > 0 ? view : [1], "as-is"), view, output: out, shape: outShape });
      set(out, outShape, 0);
      return null;
    }
    case "Sub": case "Div": {
      if (x === undefined && shape(ins[1]) === undefined) return undefined;
      return planBinary(n.opType === "Sub" ? "sub" : "div", ins[0], ins[1], out, s);
    }
    case "Pow": {
      const p = known(ins[1]);
      if (x === undefined) return undefined;
      if (p === undefined || p.data.length !== 1) return "a power other than a known scalar";
      s.steps.push({ op: "unary", fn: "pow", input: ins[0], output: out, p: p.data[0] });
      set(out, x, batch);
      return null;
    }
    case "Sqrt": case "Erf": case "Softmax": {
      if (x === undefined) return undefined;
      if (n.opType === "Softmax") {
        const axis = probeAxis(s, ins[0], intOf("axis", -1));
        if (axis !== x.length - 1) return "a Softmax over other than the last axis";
      }
      s.steps.push({ op: "unary", fn: n.opType === "Sqrt" ? "sqrt" : n.opType === "Erf" ? "erf" : "softmax", input: ins[0], output: out, p: 0 });
      set(out, x, batch);
      return null;
    }
    case "ReduceMean": {
      if (x === undefined) return undefined;
      const axes = intsOf("axes");
      if (axes === null || axes.length !== 1 || probeAxis(s, ins[0], axes[0]) !== x.length - 1) return undefined;
      if (intOf("keepdims", 1) !== 1) return "a mean over the last axis without keepdims";
      s.steps.push({ op: "unary", fn: "meanLast", input: ins[0], output: out, p: 0 });
      set(out, [...x.slice(0, -1), 1], batch);
      return null;
    }
    case "MatMul": {
      const y = shape(ins[1]);
      if (x === undefined || y === undefined) return undefined;
      if (x.length < 2 || y.length !== x.length || batch !== (s.batchAxis.get(ins[1]) ?? 0) || batch > x.length - 2) return "a MatMul of stacks that do not line up";
      if (x.slice(0, -2).some((d, i) => d !== y[i]) || x[x.length - 1] !== y[y.length - 2]) return `a MatMul of [${x.join(",")}] and [${y.join(",")}]`;
      if (s.perNetwork.has(ins[0]) !== s.perNetwork.has(ins[1])) return "a MatMul of a per-network and a shared value";
      s.steps.push({ op: "matmul", inputs: [ins[0], ins[1]], output: out });
      set(out, [...x.slice(0, -1), y[y.length - 1]], batch);
      return null;
    }
  }
  return undefined;
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
      case "permute": {
        const lead = isShared(st.input) ? 1 : 2;
        y = permute(get(st.input), [...Array.from({ length: lead }, (_, i) => i), ...st.perm.map((p) => p + lead)]);
        break;
      }
      case "narrow": y = narrow(get(st.input), st.axis + (isShared(st.input) ? 1 : 2), st.start, st.end); break;
      case "concat": y = concatAxis(st.inputs.map(get), st.axis + (isShared(st.inputs[0]) ? 1 : 2)); break;
      case "matmul": y = matmul(get(st.inputs[0]), get(st.inputs[1])); break;
      case "binary": {
        // A value's axes lead with the networks' and the probes' (or the probes' alone); a
        // parameter's view leads with the networks' and a 1 for the probes'; a constant with 1s.
        const ranked = (o: Operand, other: Operand): Tensor => {
          if ("value" in o) return get(o.value);
          const otherShared = "value" in other && isShared(other.value);
          if ("param" in o) return reshape(param(o.param), [B, 1, ...o.view]);
          const t = Tensor.from(Float32Array.from(o.constant), otherShared ? [1, ...o.dims] : [1, 1, ...o.dims]);
          return t;
        };
        y = broadcast(st.fn, ranked(st.a, st.b), ranked(st.b, st.a));
        break;
      }
      case "expand": y = broadcast("add", Tensor.zeros([B, K, ...st.shape]), reshape(param(st.param), [B, 1, ...st.view])); break;
      case "unary": {
        const x = get(st.input);
        if (st.fn === "sqrt") y = sqrt(x);
        else if (st.fn === "erf") y = erf(x);
        else if (st.fn === "softmax") y = softmaxLast(x);
        else if (st.fn === "pow") y = powScalar(x, st.p);
        else {
          // The mean over the last axis, kept as an axis of 1: the pool over the last two axes of [..., n, 1].
          y = reshape(globalAvgPool(reshape(x, [...x.shape, 1])), [...x.shape.slice(0, -1), 1]);
        }
        break;
      }
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
    values.set(st.output, y);
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
    const param = (k: string, nullable: boolean, record: Record<string, unknown> = s.record): [string | null, Shape | null] => {
      const name = record[k];
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
    const op = s.choice("op", ["conv", "linear", "add", "scale", "activation", "globalAvgPool", "maxPool", "reshape", "permute", "narrow", "concat", "binary", "expand", "unary", "matmul"] as const);
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
      case "permute": {
        const [x, xs] = value("input"), perm = s.ints("perm", 0);
        if (perm.length !== xs.length || [...perm].sort((a, b) => a - b).some((p, i) => p !== i)) fail(`perm ${JSON.stringify(perm)} for [${xs.join(",")}]`);
        return set(perm.map((p) => xs[p]), perNetwork.has(x), { op, input: x, output: output as string, perm });
      }
      case "narrow": {
        const [x, xs] = value("input"), axis = s.int("axis", 0), start = s.int("start", 0), end = s.int("end", 1);
        if (axis >= xs.length || end <= start || end > xs[axis]) fail(`[${start}, ${end}) along axis ${axis} of [${xs.join(",")}]`);
        return set(xs.map((d, i) => (i === axis ? end - start : d)), perNetwork.has(x), { op, input: x, output: output as string, axis, start, end });
      }
      case "concat": {
        const names = s.list("inputs"), axis = s.int("axis", 0);
        const parts = names.map((nm, j) => valueNamed(nm, `inputs[${j}]`));
        if (parts.length === 0) fail("concatenates nothing");
        const [first] = parts;
        if (parts.some(([nm, sh]) => sh.length !== first[1].length || axis >= sh.length || sh.some((d, j) => j !== axis && d !== first[1][j]) || perNetwork.has(nm) !== perNetwork.has(first[0]))) fail("concatenates parts that do not line up");
        return set(first[1].map((d, j) => (j === axis ? parts.reduce((t, [, sh]) => t + sh[axis], 0) : d)), perNetwork.has(first[0]), { op, inputs: parts.map(([nm]) => nm), output: output as string, axis });
      }
      case "binary": {
        const fn = s.choice("fn", ["add", "sub", "mul", "div"] as const);
        const operand = (raw: unknown, what: string): [Operand, Shape, boolean] => {
          const o = fieldsOf(raw, `${at}.${what}`);
          if (o.optional("value")) { const [nm, sh] = valueNamed(o.record.value, `${what}.value`); return [{ value: nm }, sh, perNetwork.has(nm)]; }
          if (o.optional("param")) {
            const [nm, ps] = param("param", false, o.record) as [string, Shape];
            const view = o.ints("view", 1);
            if (prod(view) !== prod(ps)) fail(`${what}: view [${view.join(",")}] of parameter [${ps.join(",")}]`);
            return [{ param: nm, view }, view, true];
          }
          const dims = o.ints("dims", 1), constant = o.list("constant");
          if (constant.length !== prod(dims) || constant.some((v) => typeof v !== "number" || !Number.isFinite(v))) fail(`${what}: constant of [${dims.join(",")}]`);
          return [{ constant: constant as number[], dims }, dims, false];
        };
        const [a, as, ap] = operand(s.record.a, "a"), [b, bs, bp] = operand(s.record.b, "b");
        if (!("value" in a) && !("value" in b)) fail("has no computed operand");
        let shape: Shape = [];
        try { shape = broadcastShape("onnx", as, bs); } catch { fail(`broadcasts [${as.join(",")}] and [${bs.join(",")}]`); }
        return set(shape, ap || bp, { op, fn, a, b, output: output as string });
      }
      case "expand": {
        const [nm, ps] = param("param", false) as [string, Shape];
        const view = s.ints("view", 1), shape = s.ints("shape", 1);
        if (prod(view) !== prod(ps) || view.length !== shape.length || view.some((d, i) => d !== shape[i] && d !== 1)) fail(`expands [${view.join(",")}] to [${shape.join(",")}]`);
        return set(shape, true, { op, param: nm, view, output: output as string, shape });
      }
      case "unary": {
        const [x, xs] = value("input"), fn = s.choice("fn", ["sqrt", "erf", "softmax", "pow", "meanLast"] as const), p = s.num("p");
        return set(fn === "meanLast" ? [...xs.slice(0, -1), 1] : xs, perNetwork.has(x), { op, fn, input: x, output: output as string, p });
      }
      case "matmul": {
        const pair = s.list("inputs");
        if (pair.length !== 2) fail("inputs must be two values");
        const [a, as] = valueNamed(pair[0], "inputs[0]"), [b, bs] = valueNamed(pair[1], "inputs[1]");
        if (as.length < 2 || bs.length !== as.length || as.slice(0, -2).some((d, i) => d !== bs[i]) || as[as.length - 1] !== bs[bs.length - 2] || perNetwork.has(a) !== perNetwork.has(b)) fail(`multiplies [${as.join(",")}] by [${bs.join(",")}]`);
        return set([...as.slice(0, -1), bs[bs.length - 1]], perNetwork.has(a), { op, inputs: [a, b], output: output as string });
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
    else if (st.op === "matmul") { const a = plan.shapes.get(st.inputs[0])!; flops += 2 * prod(out) * a[a.length - 1]; }
    else flops += prod(out);
  }
  return flops;
}
