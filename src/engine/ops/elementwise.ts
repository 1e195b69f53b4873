// Elementwise arithmetic on tensors of equal shape.
import { kernels } from "../backend.js";
import { gradSink, record } from "../autograd.js";
import { ShapeError, fmtShape } from "../errors.js";
import { Tensor } from "../tensor.js";

export function sameShape(op: string, a: Tensor, b: Tensor): void {
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new ShapeError(op, `shapes ${fmtShape(a.shape)} and ${fmtShape(b.shape)} differ`);
  }
}

function addInto(g: Float32Array, sink: { g: Float32Array; acc: boolean } | null, scale: number): void {
  if (sink !== null) kernels().axpby(g, sink.g, scale, sink.acc ? 1 : 0);
}

export function add(a: Tensor, b: Tensor): Tensor {
  sameShape("add", a, b);
  const y = Tensor.empty(a.shape);
  kernels().add(a.data, b.data, y.data);
  return record(y, "add", [a, b], (g) => {
    addInto(g, gradSink(a), 1);
    addInto(g, gradSink(b), 1);
  });
}

export function sub(a: Tensor, b: Tensor): Tensor {
  sameShape("sub", a, b);
  const y = Tensor.empty(a.shape);
  kernels().sub(a.data, b.data, y.data);
  return record(y, "sub", [a, b], (g) => {
    addInto(g, gradSink(a), 1);
    addInto(g, gradSink(b), -1);
  });
}

export function mul(a: Tensor, b: Tensor): Tensor {
  sameShape("mul", a, b);
  const y = Tensor.empty(a.shape);
  kernels().mul(a.data, b.data, y.data, false);
  return record(y, "mul", [a, b], (g) => {
    const sa = gradSink(a);
    if (sa !== null) kernels().mul(g, b.data, sa.g, sa.acc);
    const sb = gradSink(b);
    if (sb !== null) kernels().mul(g, a.data, sb.g, sb.acc);
  });
}

/** a * x */
export function scale(x: Tensor, a: number): Tensor {
  const y = Tensor.empty(x.shape);
  kernels().axpby(x.data, y.data, a, 0);
  return record(y, "scale", [x], (g) => addInto(g, gradSink(x), a));
}

/** x + c */
export function addScalar(x: Tensor, c: number): Tensor {
  const y = Tensor.empty(x.shape);
  kernels().addScalar(x.data, y.data, c);
  return record(y, "addScalar", [x], (g) => addInto(g, gradSink(x), 1));
}

/** The same values with another shape of equal size (a copy; gradients flow through). */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const known = shape.filter((d) => d !== -1).reduce((p, d) => p * d, 1);
  const free = shape.filter((d) => d === -1).length;
  const full = free === 1 && known > 0 && x.size % known === 0 ? shape.map((d) => (d === -1 ? x.size / known : d)) : [...shape];
  if (free > 1 || full.reduce((p, d) => p * d, 1) !== x.size) {
    throw new ShapeError("reshape", `cannot view ${fmtShape(x.shape)} (${x.size} elements) as ${fmtShape(shape)}`);
  }
  const y = Tensor.empty(full);
  y.data.set(x.data);
  return record(y, "reshape", [x], (g) => addInto(g, gradSink(x), 1));
}

/** Sum of all elements, as a scalar. */
export function sum(x: Tensor): Tensor {
  const y = Tensor.scalar(kernels().sum(x.data));
  return record(y, "sum", [x], (g) => {
    const s = gradSink(x);
    if (s === null) return;
    if (s.acc) kernels().addScalar(s.g, s.g, g[0]);
    else kernels().fill(s.g, g[0]);
  });
}

/** Mean of all elements, as a scalar. */
export function mean(x: Tensor): Tensor {
  return scale(sum(x), 1 / x.size);
}
