// Pointwise non-linearities, each with its exact derivative.
import { kernels } from "../backend.js";
import { gradSink, needsGrad, record } from "../autograd.js";
import { Tensor } from "../tensor.js";
import type { F32 } from "../kernels/kernels.js";
import { ShapeError, fmtShape } from "../errors.js";

export type ActivationName = "relu" | "gelu" | "tanh" | "sigmoid" | "leaky_relu" | "sin" | "none";

/**
 * A pointwise op: y = forward(x); backward adds g * dy/dx into x's gradient, computed from x or
 * from y by the kernel's own derivative.
 */
function pointwise(op: string, x: Tensor, forward: (x: F32, y: F32) => void,
  backward: (x: F32, y: F32, g: F32, dx: F32, acc: boolean) => void): Tensor {
  const y = Tensor.empty(x.shape);
  forward(x.data, y.data);
  return record(y, op, [x], (g) => {
    const s = gradSink(x);
    if (s !== null) backward(x.data, y.data, g, s.g, s.acc);
  });
}

/** sin(w0 * x): the SIREN non-linearity. */
export function sin(x: Tensor, w0 = 1): Tensor {
  const k = kernels();
  return pointwise("sin", x, (a, y) => k.sinForward(a, y, w0), (a, _y, g, dx, acc) => k.sinBackward(a, g, dx, w0, acc));
}

/**
 * sin(w0 * (z + b)), the SIREN activation with its layer's bias folded in: one pass computes the
 * sine and keeps the derivative w0 cos(.) for backward, instead of separate bias, sine and
 * cosine passes. z [..., out] with b [out] (shared), or z [B, K, out] with b [B, out] (a zoo).
 */
export function biasSin(z: Tensor, b: Tensor, w0: number): Tensor {
  const out = z.shape[z.rank - 1];
  const zoo = b.rank === 2;
  if (!(b.rank === 1 && b.shape[0] === out) && !(zoo && z.rank === 3 && b.shape[0] === z.shape[0] && b.shape[1] === out)) {
    throw new ShapeError("biasSin", `bias ${fmtShape(b.shape)} does not match input ${fmtShape(z.shape)}`);
  }
  const n0 = zoo ? b.shape[0] : 1, n2 = out, n1 = z.size / (n0 * n2);
  const y = Tensor.empty(z.shape);
  const k = kernels();
  // Evaluation (no gradient to come) skips the derivative: this kernel was 23% of a SIREN
  // evaluation pass, about half of it the cosine.
  if (!needsGrad(z, b)) {
    k.biasSinForward(z.data, b.data, y.data, null, n0, n1, n2, w0);
    return y;
  }
  const dydz = Tensor.empty(z.shape);
  k.biasSinForward(z.data, b.data, y.data, dydz.data, n0, n1, n2, w0);
  return record(y, "biasSin", [z, b], (g) => {
    const sz = gradSink(z);
    const sb = b.requiresGrad ? { sink: gradSink(b)! } : null;
    if (sz !== null && !sz.acc) {
      k.mul(g, dydz.data, sz.g, false);
      if (sb !== null) k.sumChannel(sz.g, sb.sink.g, n0, n1, n2, 1, sb.sink.acc);
      return;
    }
    const dz = Tensor.empty(z.shape);
    k.mul(g, dydz.data, dz.data, false);
    if (sz !== null) k.axpby(dz.data, sz.g, 1, 1);
    if (sb !== null) k.sumChannel(dz.data, sb.sink.g, n0, n1, n2, 1, sb.sink.acc);
    dz.dispose();
  });
}

/** cos(w0 * x) */
export function cos(x: Tensor, w0 = 1): Tensor {
  const k = kernels();
  return pointwise("cos", x, (a, y) => k.cosForward(a, y, w0), (a, _y, g, dx, acc) => k.cosBackward(a, g, dx, w0, acc));
}

export function tanh(x: Tensor): Tensor {
  const k = kernels();
  return pointwise("tanh", x, (a, y) => k.tanhForward(a, y), (_a, y, g, dx, acc) => k.tanhBackward(y, g, dx, acc));
}

export function sigmoid(x: Tensor): Tensor {
  const k = kernels();
  return pointwise("sigmoid", x, (a, y) => k.sigmoidForward(a, y), (_a, y, g, dx, acc) => k.sigmoidBackward(y, g, dx, acc));
}

/** x for x > 0, slope * x otherwise (PyTorch's default slope is 0.01). */
export function leakyRelu(x: Tensor, slope = 0.01): Tensor {
  const k = kernels();
  return pointwise("leakyRelu", x, (a, y) => k.leakyReluForward(a, y, slope), (a, _y, g, dx, acc) => k.leakyReluBackward(a, g, dx, slope, acc));
}

export function relu(x: Tensor): Tensor {
  const k = kernels();
  return pointwise("relu", x, (a, y) => k.leakyReluForward(a, y, 0), (a, _y, g, dx, acc) => k.leakyReluBackward(a, g, dx, 0, acc));
}

/** GELU in its exact erf form (torch.nn.GELU()). */
export function gelu(x: Tensor): Tensor {
  const k = kernels();
  return pointwise("gelu", x, (a, y) => k.geluForward(a, y), (a, _y, g, dx, acc) => k.geluBackward(a, g, dx, acc));
}

/** A named activation's kernels: forward x -> y, and backward adding g * dy/dx into dx. */
export interface ActivationKernels {
  forward(x: F32, y: F32): void;
  backward(x: F32, y: F32, g: F32, dx: F32, acc: boolean): void;
}

/** The kernels of a named activation ("none" included, as a copy); `sin` uses frequency w0. */
export function activationKernels(name: ActivationName, opts: { w0?: number; slope?: number } = {}): ActivationKernels {
  const k = kernels();
  const w0 = opts.w0 ?? 1, slope = name === "relu" ? 0 : opts.slope ?? 0.01;
  switch (name) {
    case "relu":
    case "leaky_relu": return { forward: (a, y) => k.leakyReluForward(a, y, slope), backward: (a, _y, g, dx, acc) => k.leakyReluBackward(a, g, dx, slope, acc) };
    case "gelu": return { forward: (a, y) => k.geluForward(a, y), backward: (a, _y, g, dx, acc) => k.geluBackward(a, g, dx, acc) };
    case "tanh": return { forward: (a, y) => k.tanhForward(a, y), backward: (_a, y, g, dx, acc) => k.tanhBackward(y, g, dx, acc) };
    case "sigmoid": return { forward: (a, y) => k.sigmoidForward(a, y), backward: (_a, y, g, dx, acc) => k.sigmoidBackward(y, g, dx, acc) };
    case "sin": return { forward: (a, y) => k.sinForward(a, y, w0), backward: (a, _y, g, dx, acc) => k.sinBackward(a, g, dx, w0, acc) };
    case "none": return { forward: (a, y) => y.set(a), backward: (_a, _y, g, dx, acc) => k.axpby(g, dx, 1, acc ? 1 : 0) };
    default: throw new Error(`unknown activation "${String(name)}"`);
  }
}

/** Applies a named activation; `sin` uses frequency w0. */
export function activation(x: Tensor, name: ActivationName, opts: { w0?: number; slope?: number } = {}): Tensor {
  switch (name) {
    case "relu": return relu(x);
    case "gelu": return gelu(x);
    case "tanh": return tanh(x);
    case "sigmoid": return sigmoid(x);
    case "leaky_relu": return leakyRelu(x, opts.slope ?? 0.01);
    case "sin": return sin(x, opts.w0 ?? 1);
    case "none": return x;
    default: throw new Error(`unknown activation "${String(name)}"`);
  }
}
