// Fitting many SIRENs at once: a pool of `batch` slots, each holding one INR being fitted to
// one image, evaluated as one zoo-batched forward and backward on the shared pixel grid.
// Each slot has its own Adam state and step count and its own loss (the mean over its pixels),
// so an INR's result does not depend on which slot, batch or shard it was fitted in: a slot
// that finishes is refilled from the queue at once.
import { Tensor, backward, optimizerStep, perNetworkMse, tidy, Rng, type OptimizerRule } from "../../engine/index.js";
import { initSiren, sirenForward, sirenParameterShapes, type SirenArchitecture, type SirenInit } from "../../nets/siren.js";

export interface InrRecipe {
  /** Adam steps at most (1000). */
  steps: number;
  /** Adam learning rate (5e-4). */
  lr: number;
  /** Stop an INR once its PSNR (pixel range [0, 1]) reaches this many dB (40). */
  psnr: number;
  init: SirenInit;
}

export const DEFAULT_INR_RECIPE: InrRecipe = { steps: 1000, lr: 5e-4, psnr: 40, init: "siren" };

export interface InrJob {
  /** Index of the INR in its zoo; it also seeds the INR's initialisation. */
  index: number;
  /** Pixel targets in [0, 1], one per grid coordinate. */
  target: Float32Array;
}

export interface InrResult {
  index: number;
  /** One array per parameter, state-dict order. */
  params: Float32Array[];
  psnr: number;
  steps: number;
}


export function psnrOf(mse: number): number {
  return mse > 0 ? 10 * Math.log10(1 / mse) : Infinity;
}

export class InrFitter {
  private readonly shapes: [string, number[]][];
  private readonly params: Tensor[];
  private readonly m: Tensor[];
  private readonly v: Tensor[];
  private readonly coords: Tensor;
  private readonly targets: Tensor;
  private readonly seedGrad: Tensor;
  private readonly slotJob: (InrJob | null)[];
  private readonly slotSteps: Int32Array;
  private readonly points: number;
  /** Adam with PyTorch's defaults, each INR's slice stepped with its own step count. */
  private readonly rule: OptimizerRule;

  constructor(readonly arch: SirenArchitecture, readonly recipe: InrRecipe, readonly batch: number,
    coords: Float32Array, readonly seed: number) {
    if (!Number.isInteger(batch) || batch < 1) throw new RangeError(`batch must be a positive integer, got ${batch}`);
    if (arch.outDim !== 1) throw new RangeError("INR fitting supports one output channel");
    this.points = coords.length / arch.inDim;
    this.shapes = sirenParameterShapes(arch);
    this.params = this.shapes.map(([, s]) => Tensor.zeros([batch, ...s], { persistent: true }).requireGrad());
    this.m = this.shapes.map(([, s]) => Tensor.zeros([batch, ...s], { persistent: true }));
    this.v = this.shapes.map(([, s]) => Tensor.zeros([batch, ...s], { persistent: true }));
    this.coords = Tensor.from(coords, [this.points, arch.inDim], { persistent: true });
    this.targets = Tensor.zeros([batch, this.points, 1], { persistent: true });
    this.seedGrad = Tensor.zeros([batch, this.points, 1], { persistent: true });
    this.slotJob = new Array<InrJob | null>(batch).fill(null);
    this.slotSteps = new Int32Array(batch);
    this.rule = { kind: "adam", lr: recipe.lr, beta1: 0.9, beta2: 0.999, eps: 1e-8 };
  }

  private slice(t: Tensor, slot: number): Float32Array {
    const per = t.size / this.batch;
    return t.data.subarray(slot * per, (slot + 1) * per);
  }

  private assign(slot: number, job: InrJob): void {
    if (job.target.length !== this.points) throw new RangeError(`INR ${job.index}: ${job.target.length} targets for ${this.points} coordinates`);
    this.slotJob[slot] = job;
    this.slotSteps[slot] = 0;
    initSiren(this.arch, this.recipe.init, new Rng(this.seed, `inr:${job.index}`), this.params.map((p) => this.slice(p, slot)));
    for (const t of [...this.m, ...this.v]) this.slice(t, slot).fill(0);
    this.slice(this.targets, slot).set(job.target);
  }

  /**
   * Fits every job; onDone is called once per INR, in order of completion. Jobs are taken from
   * the iterator as slots free up.
   */
  run(jobs: Iterator<InrJob>, onDone: (r: InrResult) => void): void {
    const named = new Map(this.shapes.map(([n], i) => [n, this.params[i]]));
    let active = 0;
    let exhausted = false;
    const refill = (slot: number) => {
      if (exhausted) return;
      const next = jobs.next();
      if (next.done) { exhausted = true; return; }
      this.assign(slot, next.value);
      active++;
    };
    for (let s = 0; s < this.batch; s++) refill(s);
    const update = new Uint8Array(this.batch);
    while (active > 0) {
      for (const p of this.params) p.gradValid = false;
      tidy(() => {
        const out = sirenForward(this.arch, named, this.coords); // [batch, points, 1]
        let any = false;
        const mses = perNetworkMse(out, this.targets, this.batch, this.seedGrad, (s) => this.slotJob[s] !== null);
        for (let s = 0; s < this.batch; s++) {
          const job = this.slotJob[s];
          const grad = this.slice(this.seedGrad, s);
          update[s] = 0;
          if (job === null) continue;
          const psnr = psnrOf(mses[s]);
          if (psnr >= this.recipe.psnr || this.slotSteps[s] >= this.recipe.steps) {
            onDone({ index: job.index, params: this.params.map((p) => Float32Array.from(this.slice(p, s))), psnr, steps: this.slotSteps[s] });
            this.slotJob[s] = null;
            active--;
            grad.fill(0);
          } else {
            update[s] = 1;
            any = true;
          }
        }
        if (any) backward(out, this.seedGrad.data);
      });
      for (let s = 0; s < this.batch; s++) {
        if (update[s]) {
          const t = ++this.slotSteps[s];
          this.params.forEach((p, i) => {
            optimizerStep(this.rule, t, this.slice(p, s), this.slice(p.grad!, s), this.slice(this.m[i], s), this.slice(this.v[i], s));
          });
        }
      }
      for (let s = 0; s < this.batch; s++) if (this.slotJob[s] === null) refill(s);
    }
  }

  dispose(): void {
    for (const t of [...this.params, ...this.m, ...this.v, this.coords, this.targets, this.seedGrad]) t.dispose();
  }
}
