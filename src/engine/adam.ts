// Adam with PyTorch's semantics (bias correction; eps added to sqrt(v_hat); L2 weight decay
// added to the gradient), stepping each parameter with one WASM kernel call.
import { kernels } from "./backend.js";
import { Tensor } from "./tensor.js";

export interface AdamOptions {
  lr?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
}

export class Adam {
  lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  readonly params: readonly Tensor[];
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
    this.m = params.map((p) => Tensor.zeros(p.shape, { persistent: true }));
    this.v = params.map((p) => Tensor.zeros(p.shape, { persistent: true }));
  }

  /** Updates every parameter that received a gradient in this pass. */
  step(): void {
    this.t += 1;
    const bc1 = 1 - this.beta1 ** this.t;
    const bc2Sqrt = Math.sqrt(1 - this.beta2 ** this.t);
    const k = kernels();
    this.params.forEach((p, i) => {
      if (!p.gradValid || p.grad === null) return;
      k.adamStep(p.data, p.grad.data, this.m[i].data, this.v[i].data,
        this.lr, this.beta1, this.beta2, this.eps, bc1, bc2Sqrt, this.weightDecay);
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
