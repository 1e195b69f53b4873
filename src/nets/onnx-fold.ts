// Shape arithmetic in ONNX graphs, resolved once when a graph is planned: PyTorch exports
// `x.view(x.size(0), -1)` as Shape, Gather, Unsqueeze, Concat and Reshape, and `expand` with
// ConstantOfShape, Equal and Where. Nodes whose inputs are all known are computed here on small
// vectors. The batch (where the probes go) is not a number at planning: Shape gives NaN for it,
// arithmetic carries it, and a Reshape reads a NaN first dimension as "the batch, unchanged".
import type { OnnxNode, OnnxTensor } from "../io/onnx.js";

/** The largest constant folded (a shape vector, a scalar; not a weight). */
const MAX_FOLD_ELEMENTS = 4096;

type Known = (name: string) => OnnxTensor | undefined;

const int = (name: string, dims: number[], data: ArrayLike<number>): OnnxTensor => ({ name, dtype: "int64", dims, data: Float64Array.from(data) });
const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** Ops this file computes from known inputs. */
export const FOLDED_OPS: ReadonlySet<string> = new Set(["Shape", "Gather", "Unsqueeze", "Squeeze", "Concat", "Cast", "Slice", "Add", "Sub", "Mul", "Div", "Equal", "Where", "ConstantOfShape", "Reshape"]);

/**
 * The node's output computed at planning, or null when it cannot be (an input not known, or a
 * use this folder does not cover). `shapeOf` gives a computed value's per-probe shape (for Shape).
 */
export function foldNode(n: OnnxNode, known: Known, shapeOf: (name: string) => number[] | undefined): OnnxTensor | null {
  const out = n.outputs[0];
  const ins = n.inputs.map((i) => (i === "" ? undefined : known(i)));
  const attrInts = (k: string) => { const a = n.attributes.get(k); return a?.kind === "ints" ? a.value : null; };
  const attrInt = (k: string, d: number) => { const a = n.attributes.get(k); return a?.kind === "int" ? a.value : d; };
  switch (n.opType) {
    case "Shape": {
      const s = shapeOf(n.inputs[0]) ?? (ins[0] ? ins[0].dims : undefined);
      if (s === undefined) return null;
      const full = shapeOf(n.inputs[0]) !== undefined ? [NaN, ...s] : s;
      const rank = full.length;
      const at = (v: number) => Math.min(Math.max(v < 0 ? v + rank : v, 0), rank);
      const start = at(attrInt("start", 0)), end = at(attrInt("end", rank));
      return int(out, [Math.max(0, end - start)], full.slice(start, end));
    }
  }
  if (ins.some((t, i) => t === undefined && n.inputs[i] !== "") || ins.some((t) => t !== undefined && t.data.length > MAX_FOLD_ELEMENTS)) return null;
  const a = ins[0]!;
  switch (n.opType) {
    case "Gather": {
      const idx = ins[1]!;
      if (attrInt("axis", 0) !== 0 || a.dims.length !== 1) return null;
      const len = a.dims[0];
      const values = Array.from(idx.data, (i) => a.data[i < 0 ? i + len : i]);
      if (values.some((v, k) => idx.data[k] >= len || idx.data[k] < -len) || values.some((v) => v === undefined)) return null;
      return { name: out, dtype: a.dtype, dims: idx.dims, data: Float64Array.from(values) };
    }
    case "Unsqueeze": {
      const axes = ins[1] ? Array.from(ins[1].data) : attrInts("axes");
      if (axes === null) return null;
      const rank = a.dims.length + axes.length;
      const norm = axes.map((x) => (x < 0 ? x + rank : x)).sort((p, q) => p - q);
      const dims = [...a.dims];
      for (const x of norm) dims.splice(x, 0, 1);
      return { ...a, name: out, dims };
    }
    case "Squeeze": {
      const axes = ins[1] ? Array.from(ins[1].data) : attrInts("axes");
      const norm = axes?.map((x) => (x < 0 ? x + a.dims.length : x)) ?? null;
      return { ...a, name: out, dims: a.dims.filter((d, i) => (norm === null ? d !== 1 : !norm.includes(i))) };
    }
    case "Concat": {
      if (ins.some((t) => t!.dims.length !== 1)) return null;
      const data = ins.flatMap((t) => Array.from(t!.data));
      return { name: out, dtype: a.dtype, dims: [data.length], data: Float64Array.from(data) };
    }
    case "Cast": {
      const to = attrInt("to", 1);
      const isInt = [2, 3, 4, 5, 6, 7, 12, 13].includes(to), isBool = to === 9;
      const data = Float64Array.from(a.data, (v) => (isBool ? Number(v !== 0) : isInt ? Math.trunc(v) : v));
      return { name: out, dtype: isBool ? "bool" : isInt ? "int64" : "float32", dims: a.dims, data };
    }
    case "Slice": {
      if (a.dims.length !== 1 || !ins[1] || !ins[2]) return null;
      const len = a.dims[0];
      if (ins[3] && (ins[3].data.length !== 1 || (ins[3].data[0] !== 0 && ins[3].data[0] !== -1))) return null;
      const step = ins[4] ? ins[4].data[0] : 1;
      if (step !== 1) return null;
      const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + len : v, 0), len);
      const values = Array.from(a.data).slice(clamp(ins[1].data[0]), clamp(ins[2].data[0]));
      return { name: out, dtype: a.dtype, dims: [values.length], data: Float64Array.from(values) };
    }
    case "Add": case "Sub": case "Mul": case "Div": case "Equal": {
      const b = ins[1]!;
      const f = { Add: (x: number, y: number) => x + y, Sub: (x: number, y: number) => x - y, Mul: (x: number, y: number) => x * y, Div: (x: number, y: number) => (a.dtype === "int64" ? Math.trunc(x / y) : x / y), Equal: (x: number, y: number) => Number(x === y) }[n.opType];
      const r = broadcast2(a, b, f);
      if (r === null) return null;
      return { name: out, dtype: n.opType === "Equal" ? "bool" : a.dtype, dims: r.dims, data: r.data };
    }
    case "Where": {
      const [c, x, y] = [ins[0]!, ins[1]!, ins[2]!];
      const size = Math.max(c.data.length, x.data.length, y.data.length);
      const pick = (t: OnnxTensor, i: number) => (t.data.length === 1 ? t.data[0] : t.data[i]);
      if ([c, x, y].some((t) => t.data.length !== 1 && t.data.length !== size)) return null;
      const dims = [c, x, y].find((t) => t.data.length === size)!.dims;
      return { name: out, dtype: x.dtype, dims, data: Float64Array.from({ length: size }, (_, i) => (pick(c, i) ? pick(x, i) : pick(y, i))) };
    }
    case "Reshape": {
      const target = ins[1]!;
      const dims = Array.from(target.data, (d, i) => (d === 0 ? a.dims[i] : d));
      const free = dims.filter((d) => d === -1).length, known = prod(dims.filter((d) => d !== -1));
      if (free > 1 || dims.some((d) => !Number.isInteger(d) || d < -1)) return null;
      const full = dims.map((d) => (d === -1 ? a.data.length / known : d));
      if (prod(full) !== a.data.length || !full.every(Number.isInteger)) return null;
      return { ...a, name: out, dims: full };
    }
    case "ConstantOfShape": {
      const dims = Array.from(a.data);
      if (dims.some((d) => !Number.isInteger(d) || d < 0) || prod(dims) > MAX_FOLD_ELEMENTS) return null;
      const v = n.attributes.get("value");
      const fill = v?.kind === "tensor" ? v.value.data[0] : 0;
      return { name: out, dtype: v?.kind === "tensor" ? v.value.dtype : "float32", dims, data: new Float64Array(prod(dims)).fill(fill) };
    }
  }
  return null;
}

/** f over two tensors of one shape, or one of them a single value. */
function broadcast2(a: OnnxTensor, b: OnnxTensor, f: (x: number, y: number) => number): { dims: number[]; data: Float64Array } | null {
  if (a.data.length === b.data.length) return { dims: a.dims.length >= b.dims.length ? a.dims : b.dims, data: Float64Array.from(a.data, (x, i) => f(x, b.data[i])) };
  if (b.data.length === 1) return { dims: a.dims, data: Float64Array.from(a.data, (x) => f(x, b.data[0])) };
  if (a.data.length === 1) return { dims: b.dims, data: Float64Array.from(b.data, (y) => f(a.data[0], y)) };
  return null;
}
