// The optimisers, in one place: the rules (Adam with PyTorch's arithmetic — bias correction, eps
// added to sqrt(v_hat), L2 weight decay added to the gradient; RMSProp and SGD with Keras'), each
// a kernel call on one parameter or on one network's slice of a zoo-batched parameter, so the
// probing trainer and both zoo builders step the same way; the Adam optimiser over a model's
// tensors; and the cosine schedule.
import { kernels } from "./backend.js";
import type { F32 } from "./kernels/kernels.js";
import { Tensor } from "./tensor.js";

export type OptimizerRule =
  | { kind: "adam"; lr: number; beta1: number; beta2: number; eps: number; weightDecay?: number }
  /** torch.optim.AdamW: the weights decay by (1 - lr * weightDecay) apart from the gradient, then Adam. */
  | { kind: "adamw"; lr: number; beta1: number; beta2: number; eps: number; weightDecay: number }
  | { kind: "rmsprop"; lr: number; rho: number; eps: number }
  | { kind: "sgd"; lr: number };

/** g += 2 l2 p: the gradient of an L2 penalty l2 * sum(p^2), added before the optimiser step. */
export function addL2Gradient(p: F32, g: F32, l2: number): void {
  kernels().axpby(p, g, 2 * l2, 1);
}

/**
 * Whether values have left the floats: a non-finite value, or values so large that their sum
 * overflows. A network trained past either has diverged.
 */
export function diverged(p: F32): boolean {
  return !Number.isFinite(kernels().sum(p));
}

/**
 * Step t (from 1) of `rule` on the values p with gradient g. m and v are the rule's state for
 * these values (Adam: both moments; RMSProp: v, the mean square; SGD: neither).
 */
export function optimizerStep(rule: OptimizerRule, t: number, p: F32, g: F32, m: F32, v: F32): void {
  const k = kernels();
  switch (rule.kind) {
    case "adam": {
      const bc1 = 1 - rule.beta1 ** t, bc2Sqrt = Math.sqrt(1 - rule.beta2 ** t);
      k.adamStep(p, g, m, v, rule.lr, rule.beta1, rule.beta2, rule.eps, bc1, bc2Sqrt, rule.weightDecay ?? 0);
      break;
    }
    case "adamw": {
      const bc1 = 1 - rule.beta1 ** t, bc2Sqrt = Math.sqrt(1 - rule.beta2 ** t);
      if (rule.weightDecay !== 0) k.axpby(p, p, 0, 1 - rule.lr * rule.weightDecay);
      k.adamStep(p, g, m, v, rule.lr, rule.beta1, rule.beta2, rule.eps, bc1, bc2Sqrt, 0);
      break;
    }
    case "rmsprop":
      k.rmspropStep(p, g, v, rule.lr, rule.rho, rule.eps);
      break;
    case "sgd":
      k.axpby(g, p, -rule.lr, 1);
      break;
  }
}

export interface AdamOptions {
  lr?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
  /** Per parameter, a factor on lr (1 for all by default): separate rates for parts of a model
   * under one schedule. */
  lrScales?: readonly number[];
}

/** Adam over a model's tensors, with its moments (for checkpoints). */
export class Adam {
  lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  readonly params: readonly Tensor[];
  readonly lrScales: readonly number[];
  /** Steps taken so far (PyTorch's `step` state). */
  t = 0;
  private readonly m: Tensor[];
  private readonly v: Tensor[];

  constructor(params: readonly Tensor[], opts: AdamOptions = {}) {
    this.params = params;
    this.lr = opts.lr ?? 1e-3;
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0;
    this.lrScales = opts.lrScales ?? params.map(() => 1);
    if (this.lrScales.length !== params.length || !this.lrScales.every((x) => x > 0)) {
      throw new RangeError(`Adam: lrScales needs one positive factor per parameter (${params.length}), got [${this.lrScales.join(", ")}]`);
    }
    this.m = params.map((p) => Tensor.zeros(p.shape, { persistent: true }));
    this.v = params.map((p) => Tensor.zeros(p.shape, { persistent: true }));
  }

  /** Updates every parameter that received a gradient in this pass. */
  step(): void {
    this.t += 1;
    const rule: OptimizerRule = { kind: "adam", lr: this.lr, beta1: this.beta1, beta2: this.beta2, eps: this.eps, weightDecay: this.weightDecay };
    this.params.forEach((p, i) => {
      if (!p.gradValid || p.grad === null) return;
      const scale = this.lrScales[i];
      optimizerStep(scale === 1 ? rule : { ...rule, lr: this.lr * scale }, this.t, p.data, p.grad.data, this.m[i].data, this.v[i].data);
    });
  }

  zeroGrad(): void {
    for (const p of this.params) p.gradValid = false;
  }

  /** Moment estimates, for checkpoints. */
  state(): { t: number; m: readonly Tensor[]; v: readonly Tensor[] } {
    return { t: this.t, m: this.m, v: this.v };
  }

  loadState(state: { t: number; m: readonly ArrayLike<number>[]; v: readonly ArrayLike<number>[] }): void {
    this.t = state.t;
    this.m.forEach((m, i) => m.data.set(state.m[i]));
    this.v.forEach((v, i) => v.data.set(state.v[i]));
  }
}

/** torch.optim.lr_scheduler.CosineAnnealingLR: the rate for 0-based step t of total. */
export function cosineLr(base: number, t: number, total: number, min = 0): number {
  if (total <= 0) return base;
  const c = Math.min(t, total) / total;
  return min + ((base - min) * (1 + Math.cos(Math.PI * c))) / 2;
}
