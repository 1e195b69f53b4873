// Parts of a tensor along one axis, and tensors joined along one: ONNX's Slice, Split, Gather of
// one index and Concat (a ViT splits q, k and v apart, and puts its class token before the
// patches). Copies by loops over contiguous runs, as concat and crop.
import { gradSink, record } from "../autograd.js";
import { ShapeError, fmtShape } from "../errors.js";
import { Tensor } from "../tensor.js";

/** outer: the product of the axes before `axis`; inner: of those after. */
function around(shape: readonly number[], axis: number): { outer: number; inner: number } {
  return { outer: shape.slice(0, axis).reduce((a, b) => a * b, 1), inner: shape.slice(axis + 1).reduce((a, b) => a * b, 1) };
}

/** x's indices [start, end) along `axis`. */
export function narrow(x: Tensor, axis: number, start: number, end: number): Tensor {
  if (!Number.isInteger(axis) || axis < 0 || axis >= x.rank || !(0 <= start && start < end && end <= x.shape[axis])) {
    throw new ShapeError("narrow", `[${start}, ${end}) along axis ${axis} of ${fmtShape(x.shape)}`);
  }
  const { outer, inner } = around(x.shape, axis), n = x.shape[axis], m = end - start;
  const y = Tensor.empty(x.shape.map((d, i) => (i === axis ? m : d)));
  for (let o = 0; o < outer; o++) y.data.set(x.data.subarray((o * n + start) * inner, (o * n + end) * inner), o * m * inner);
  return record(y, "narrow", [x], (g) => {
    const sx = gradSink(x);
    if (sx === null) return;
    if (!sx.acc) sx.g.fill(0);
    for (let o = 0; o < outer; o++) {
      const to = (o * n + start) * inner, from = o * m * inner;
      for (let j = 0; j < m * inner; j++) sx.g[to + j] += g[from + j];
    }
  });
}

/** The parts joined along `axis`; every other axis the same. */
export function concatAxis(parts: readonly Tensor[], axis: number): Tensor {
  if (parts.length === 0) throw new ShapeError("concatAxis", "no parts");
  const first = parts[0];
  parts.forEach((p, i) => {
    if (p.rank !== first.rank || p.shape.some((d, j) => j !== axis && d !== first.shape[j])) {
      throw new ShapeError("concatAxis", `part ${i} ${fmtShape(p.shape)} does not match part 0 ${fmtShape(first.shape)} off axis ${axis}`);
    }
  });
  const sizes = parts.map((p) => p.shape[axis]), total = sizes.reduce((a, b) => a + b, 0);
  const { outer, inner } = around(first.shape, axis);
  const y = Tensor.empty(first.shape.map((d, j) => (j === axis ? total : d)));
  let at = 0;
  const starts = sizes.map((s) => { const v = at; at += s; return v; });
  parts.forEach((p, i) => {
    const m = sizes[i];
    for (let o = 0; o < outer; o++) y.data.set(p.data.subarray(o * m * inner, (o + 1) * m * inner), (o * total + starts[i]) * inner);
  });
  return record(y, "concatAxis", parts, (g) => {
    parts.forEach((p, i) => {
      const s = gradSink(p);
      if (s === null) return;
      const m = sizes[i];
      for (let o = 0; o < outer; o++) {
        const from = (o * total + starts[i]) * inner, to = o * m * inner;
        for (let j = 0; j < m * inner; j++) s.g[to + j] = (s.acc ? s.g[to + j] : 0) + g[from + j];
      }
    });
  });
}
