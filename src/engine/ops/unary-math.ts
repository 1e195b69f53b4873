// Elementwise functions an ONNX graph spells out where PyTorch had one op: Sqrt and Pow for a
// LayerNorm before opset 17, Erf for GELU at opset 13. Loops in double (Math's functions), then
// stored: the graphs that use them are small.
import { gradSink, record } from "../autograd.js";
import { Tensor } from "../tensor.js";
import { erf as erfValue } from "../kernels/reference.js";

function unary(name: string, x: Tensor, f: (v: number) => number, df: (v: number, y: number) => number): Tensor {
  const y = Tensor.empty(x.shape);
  for (let i = 0; i < x.size; i++) y.data[i] = f(x.data[i]);
  return record(y, name, [x], (g) => {
    const sx = gradSink(x);
    if (sx === null) return;
    for (let i = 0; i < x.size; i++) {
      const d = g[i] * df(x.data[i], y.data[i]);
      sx.g[i] = sx.acc ? sx.g[i] + d : d;
    }
  });
}

export function sqrt(x: Tensor): Tensor {
  return unary("sqrt", x, Math.sqrt, (_v, y) => 0.5 / y);
}

/** x to a fixed power p. */
export function powScalar(x: Tensor, p: number): Tensor {
  if (p === 2) return unary("square", x, (v) => v * v, (v) => 2 * v);
  return unary("pow", x, (v) => v ** p, (v) => p * v ** (p - 1));
}

export function erf(x: Tensor): Tensor {
  return unary("erf", x, erfValue, (v) => (2 / Math.sqrt(Math.PI)) * Math.exp(-v * v));
}
