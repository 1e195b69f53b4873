// Pointwise non-linearities, each with its exact derivative.
import { kernels } from "../backend.js";
import { gradSink, record } from "../autograd.js";
import { Tensor } from "../tensor.js";

export type ActivationName = "relu" | "gelu" | "tanh" | "sigmoid" | "leaky_relu" | "sin" | "none";

/** sin(w0 * x): the SIREN non-linearity. */
export function sin(x: Tensor, w0 = 1): Tensor {
  const y = Tensor.empty(x.shape);
  kernels().sinForward(x.data, y.data, w0);
  return record(y, "sin", [x], (g) => {
    const s = gradSink(x);
    if (s !== null) kernels().sinBackward(x.data, g, s.g, w0, s.acc);
  });
}

/** cos(w0 * x) */
export function cos(x: Tensor, w0 = 1): Tensor {
  const y = Tensor.empty(x.shape);
  kernels().cosForward(x.data, y.data, w0);
  return record(y, "cos", [x], (g) => {
    const s = gradSink(x);
    if (s !== null) kernels().cosBackward(x.data, g, s.g, w0, s.acc);
  });
}

export function tanh(x: Tensor): Tensor {
  const y = Tensor.empty(x.shape);
  kernels().tanhForward(x.data, y.data);
  return record(y, "tanh", [x], (g) => {
    const s = gradSink(x);
    if (s !== null) kernels().tanhBackward(y.data, g, s.g, s.acc);
  });
}

export function sigmoid(x: Tensor): Tensor {
  const y = Tensor.empty(x.shape);
  kernels().sigmoidForward(x.data, y.data);
  return record(y, "sigmoid", [x], (g) => {
    const s = gradSink(x);
    if (s !== null) kernels().sigmoidBackward(y.data, g, s.g, s.acc);
  });
}

/** x for x > 0, slope * x otherwise (PyTorch's default slope is 0.01). */
export function leakyRelu(x: Tensor, slope = 0.01): Tensor {
  const y = Tensor.empty(x.shape);
  kernels().leakyReluForward(x.data, y.data, slope);
  return record(y, "leakyRelu", [x], (g) => {
    const s = gradSink(x);
    if (s !== null) kernels().leakyReluBackward(x.data, g, s.g, slope, s.acc);
  });
}

export function relu(x: Tensor): Tensor {
  const y = Tensor.empty(x.shape);
  kernels().leakyReluForward(x.data, y.data, 0);
  return record(y, "relu", [x], (g) => {
    const s = gradSink(x);
    if (s !== null) kernels().leakyReluBackward(x.data, g, s.g, 0, s.acc);
  });
}

/** GELU in its exact erf form (torch.nn.GELU()). */
export function gelu(x: Tensor): Tensor {
  const y = Tensor.empty(x.shape);
  kernels().geluForward(x.data, y.data);
  return record(y, "gelu", [x], (g) => {
    const s = gradSink(x);
    if (s !== null) kernels().geluBackward(x.data, g, s.g, s.acc);
  });
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
