// Training many small CNNs at once: a pool of `batch` slots, each holding one network being
// trained on its own minibatches with its own hyperparameters (optimiser, learning rate, L2,
// dropout), evaluated as one zoo-batched forward and backward (per-network inputs). Every
// network's data order, dropout masks and initialisation come from its own generator, and its
// loss is the mean over its own minibatch, so a network comes out the same whichever slot,
// batch or thread it was trained in. All networks of one trainer share an architecture: a
// small CNN (with its activation) or a ResNet-18 (TrainableNet).
import { Tensor, Rng, addL2Gradient, backward, diverged, getRuntime, noGrad, optimizerStep, perNetworkCrossEntropy, tidy, zooDropout, type OptimizerRule } from "../../engine/index.js";
import { cnnForward, cnnParameterShapes, type CnnArchitecture } from "../../nets/cnn.js";
import { resnetForward, resnetParameterShapes, type ResNetArchitecture } from "../../nets/resnet.js";
import { initKernel, type CnnHyperparameters, type CnnRecipe } from "./cnn-recipe.js";
import { scoreLogitsRow } from "./score-logits.js";

/** What the trainer needs of a network family: its parameters and a zoo-batched forward to logits. */
export interface TrainableNet {
  readonly inChannels: number;
  readonly classes: number;
  readonly shapes: readonly [string, number[]][];
  /** Logits [B, n, classes] of B networks (params [B, ...shape] by name) on x [B, n, C, H, W] or shared [n, C, H, W]. */
  forward(params: ReadonlyMap<string, Tensor>, x: Tensor, afterActivation?: (layer: number, h: Tensor) => Tensor): Tensor;
  /** Whether the family can apply dropout after its activations (through afterActivation). */
  readonly dropout: boolean;
  /** Kernels that start at zero whatever the initialiser: a residual branch's last convolution
   * in a network without BatchNorm, so every block starts as the identity (Fixup). */
  zeroInit(name: string): boolean;
}

/** A small CNN (cnn.ts) as the trainer sees it. */
export function cnnNet(arch: CnnArchitecture): TrainableNet {
  return {
    inChannels: arch.inChannels, classes: arch.classes, shapes: cnnParameterShapes(arch), dropout: true,
    forward: (params, x, afterActivation) => cnnForward(arch, params, x, afterActivation === undefined ? {} : { afterActivation }),
    zeroInit: () => false,
  };
}

/**
 * A ResNet (resnet.ts), trained in its folded form: convolutions with biases and no BatchNorm,
 * each block's second convolution zero-initialised so the untrained network is its stem, the
 * shortcuts' downsampling and fc. Dropout does not apply.
 */
export function resnetNet(arch: ResNetArchitecture): TrainableNet {
  return {
    inChannels: arch.inChannels, classes: arch.classes, shapes: resnetParameterShapes(arch), dropout: false,
    forward: (params, x) => resnetForward(arch, params, x),
    zeroInit: (name) => /^layer\d+\.\d+\.conv2\.weight$/.test(name),
  };
}

const trainable = (net: CnnArchitecture | TrainableNet): TrainableNet => ("forward" in net ? net : cnnNet(net));

export interface CnnJob {
  /** Index of the network in its zoo. */
  index: number;
  hp: CnnHyperparameters;
  /** 0 for the first try; a network whose training diverged is trained again with new draws. */
  attempt: number;
  /** Its training images: indices into the trainer's image pool. */
  subset: Int32Array;
  steps: number;
  /** Seed and stream label of its initialisation, data order and dropout masks. */
  seed: number;
  stream: string;
}

/** The job's generator for one purpose ("init", "data", ...) of its current attempt. */
export function jobRng(job: Pick<CnnJob, "seed" | "stream" | "attempt">, purpose: string): Rng {
  return new Rng(job.seed, `${job.stream}:${purpose}:${job.attempt}`);
}

export interface CnnResult {
  index: number;
  hp: CnnHyperparameters;
  attempt: number;
  steps: number;
  subset: Int32Array;
  /** One array per parameter, cnnParameterShapes order. */
  params: Float32Array[];
  /** Mean minibatch loss over its last epoch (cross-entropy, without the L2 term). */
  lastEpochLoss: number;
}

/** Keras' defaults for the moment estimates. */
/** The optimisers of the Small CNN Zoo's recipe, with Keras' defaults (Adam's eps 1e-7, RMSProp's rho 0.9). */
function kerasRule(optimizer: CnnHyperparameters["optimizer"], lr: number): OptimizerRule {
  switch (optimizer) {
    case "adam": return { kind: "adam", lr, beta1: 0.9, beta2: 0.999, eps: 1e-7 };
    case "rmsprop": return { kind: "rmsprop", lr, rho: 0.9, eps: 1e-7 };
    case "sgd": return { kind: "sgd", lr };
  }
}

interface Slot {
  job: CnnJob;
  step: number;
  order: Int32Array;
  pos: number;
  dataRng: Rng;
  dropRng: Rng;
  epochLoss: number;
  epochSteps: number;
  lastEpochLoss: number;
}

export class CnnTrainer {
  readonly net: TrainableNet;
  private readonly shapes: readonly [string, number[]][];
  private readonly params: Tensor[];
  private readonly m: Tensor[];
  private readonly v: Tensor[];
  private readonly x: Tensor;
  private readonly seedGrad: Tensor;
  private readonly labels: Int32Array;
  private readonly labelsPtr: number;
  private readonly slots: (Slot | null)[];
  private readonly views = new Map<number, { params: Tensor[]; x: Tensor; seedGrad: Tensor }>();
  private readonly imageSize: number;
  /** Which parameters get the L2 penalty (kernels, not biases). */
  private readonly isKernel: boolean[];

  /**
   * pool: training images [n, C, H, W] flattened, poolLabels: their classes. redraw(job) gives
   * the next attempt of a network whose training diverged.
   */
  constructor(net: CnnArchitecture | TrainableNet, readonly recipe: CnnRecipe, readonly batch: number,
    private readonly pool: Float32Array, private readonly poolLabels: ArrayLike<number>, readonly inputSize: number,
    private readonly redraw: (job: CnnJob) => CnnJob) {
    if (!Number.isInteger(batch) || batch < 1) throw new RangeError(`batch must be a positive integer, got ${batch}`);
    const arch = this.net = trainable(net);
    this.imageSize = arch.inChannels * inputSize * inputSize;
    this.shapes = arch.shapes;
    this.isKernel = this.shapes.map(([n]) => n.endsWith("weight"));
    this.params = this.shapes.map(([, s]) => Tensor.zeros([batch, ...s], { persistent: true }));
    this.m = this.shapes.map(([, s]) => Tensor.zeros([batch, ...s], { persistent: true }));
    this.v = this.shapes.map(([, s]) => Tensor.zeros([batch, ...s], { persistent: true }));
    const bs = recipe.batchSize;
    this.x = Tensor.zeros([batch, bs, arch.inChannels, inputSize, inputSize], { persistent: true });
    this.seedGrad = Tensor.zeros([batch, bs, arch.classes], { persistent: true });
    const heap = getRuntime().heap;
    this.labelsPtr = heap.alloc(batch * bs * 4);
    this.labels = heap.i32(this.labelsPtr, batch * bs);
    this.slots = new Array<Slot | null>(batch).fill(null);
  }

  /** Slot `slot` of t, a tensor over `of` slots (all of them by default). */
  private slice(t: Tensor, slot: number, of = this.batch): Float32Array {
    const per = t.size / of;
    return t.data.subarray(slot * per, (slot + 1) * per);
  }

  private assign(slot: number, job: CnnJob): void {
    const init = jobRng(job, "init");
    this.shapes.forEach(([name, shape], i) => {
      const p = this.slice(this.params[i], slot);
      if (this.isKernel[i]) initKernel(job.hp.init, job.hp.initStd, shape, init, p);
      if (!this.isKernel[i] || this.net.zeroInit(name)) p.fill(0);
      this.slice(this.m[i], slot).fill(0);
      this.slice(this.v[i], slot).fill(0);
    });
    this.slots[slot] = {
      job, step: 0, order: Int32Array.from(job.subset), pos: job.subset.length,
      dataRng: jobRng(job, "data"), dropRng: jobRng(job, "dropout"),
      epochLoss: 0, epochSteps: 0, lastEpochLoss: NaN,
    };
  }

  /** Copies the slot's next minibatch into its input and label rows (a new epoch reshuffles). */
  private loadBatch(slot: number, st: Slot): void {
    const bs = this.recipe.batchSize, n = this.imageSize;
    if (st.pos + bs > st.order.length) {
      st.dataRng.shuffle(st.order);
      st.pos = 0;
    }
    const x = this.slice(this.x, slot);
    for (let r = 0; r < bs; r++) {
      const img = st.order[st.pos + r];
      x.set(this.pool.subarray(img * n, (img + 1) * n), r * n);
      this.labels[slot * bs + r] = this.poolLabels[img];
    }
    st.pos += bs;
  }

  /** Moves slot `from`'s network (weights, optimiser state, progress) into the empty slot `to`. */
  private move(from: number, to: number): void {
    for (const t of [...this.params, ...this.m, ...this.v]) this.slice(t, to).set(this.slice(t, from));
    this.slots[to] = this.slots[from];
    this.slots[from] = null;
  }

  /** Views of the first n slots: parameters (with their own gradients), inputs, seed gradients. */
  private leading(n: number): { params: Tensor[]; x: Tensor; seedGrad: Tensor } {
    let v = this.views.get(n);
    if (v === undefined) {
      v = { params: this.params.map((p) => p.leading(n).requireGrad()), x: this.x.leading(n), seedGrad: this.seedGrad.leading(n) };
      this.views.set(n, v);
    }
    return v;
  }

  /**
   * Trains every job; onDone is called once per network, in order of completion. Active
   * networks are kept in the leading slots and only those are computed, so the batch shrinks
   * as the last networks finish instead of carrying empty slots.
   */
  run(jobs: Iterator<CnnJob>, onDone: (r: CnnResult) => void): void {
    const bs = this.recipe.batchSize;
    let exhausted = false;
    const next = (): CnnJob | null => {
      if (exhausted) return null;
      const n = jobs.next();
      if (n.done) { exhausted = true; return null; }
      return n.value;
    };
    let active = 0;
    for (let job = active < this.batch ? next() : null; job !== null; job = active < this.batch ? next() : null) this.assign(active++, job);
    const rates = new Float32Array(this.batch);
    const dropRngs = new Array<Rng>(this.batch);
    const losses = new Float64Array(this.batch);
    while (active > 0) {
      const n = active;
      const view = this.leading(n);
      for (let s = 0; s < n; s++) {
        const st = this.slots[s]!;
        rates[s] = st.job.hp.dropout;
        dropRngs[s] = st.dropRng;
        this.loadBatch(s, st);
      }
      for (const p of view.params) p.gradValid = false;
      const named = new Map(this.shapes.map(([name], i) => [name, view.params[i]]));
      tidy(() => {
        const out = this.net.forward(named, view.x,
          this.net.dropout ? (_i, h) => zooDropout(h, rates.subarray(0, n), dropRngs.slice(0, n)) : undefined);
        losses.set(perNetworkCrossEntropy(out, this.labels, n, view.seedGrad));
        backward(out, view.seedGrad.data);
      });
      const finished: number[] = [];
      for (let s = 0; s < n; s++) {
        const st = this.slots[s]!;
        if (!Number.isFinite(losses[s]) || !this.update(s, st, view.params, n)) {
          this.assign(s, this.redraw(st.job));
          continue;
        }
        st.step++;
        st.epochLoss += losses[s];
        st.epochSteps++;
        if (st.pos + bs > st.order.length) {
          st.lastEpochLoss = st.epochLoss / st.epochSteps;
          st.epochLoss = 0;
          st.epochSteps = 0;
        }
        if (st.step >= st.job.steps) {
          const { job } = st;
          onDone({
            index: job.index, hp: job.hp, attempt: job.attempt, steps: st.step, subset: job.subset,
            params: this.params.map((p) => Float32Array.from(this.slice(p, s))),
            lastEpochLoss: Number.isNaN(st.lastEpochLoss) ? st.epochLoss / Math.max(1, st.epochSteps) : st.lastEpochLoss,
          });
          this.slots[s] = null;
          finished.push(s);
        }
      }
      // Refill freed slots from the queue; once it is empty, close the gaps from the end.
      for (const s of finished) {
        const job = next();
        if (job !== null) this.assign(s, job);
        else active--;
      }
      for (let s = 0, last = this.slots.length - 1; s < active; s++) {
        if (this.slots[s] !== null) continue;
        while (this.slots[last] === null) last--;
        this.move(last, s);
      }
    }
  }

  /** One optimiser step of slot s (of the n leading slots); false when it left a non-finite weight (the network diverged). */
  private update(s: number, st: Slot, params: readonly Tensor[], n: number): boolean {
    const hp = st.job.hp;
    const t = st.step + 1;
    const rule = kerasRule(hp.optimizer, hp.lr);
    let finite = true;
    params.forEach((param, i) => {
      const p = this.slice(param, s, n), g = this.slice(param.grad!, s, n);
      // d/dw of l2 * sum(w^2)
      if (this.isKernel[i] && hp.l2 > 0) addL2Gradient(p, g, hp.l2);
      optimizerStep(rule, t, p, g, this.slice(this.m[i], s), this.slice(this.v[i], s));
      if (diverged(p)) finite = false;
    });
    return finite;
  }

  dispose(): void {
    for (const v of this.views.values()) for (const t of [...v.params, v.x, v.seedGrad]) t.dispose();
    for (const t of [...this.params, ...this.m, ...this.v, this.x, this.seedGrad]) t.dispose();
    getRuntime().heap.free(this.labelsPtr, this.batch * this.recipe.batchSize * 4);
  }
}

/** Accuracy and mean cross-entropy of one network. */
export interface CnnScore {
  accuracy: number;
  loss: number;
}

/**
 * Scores networks (params per network, cnnParameterShapes order) on labelled images: shared
 * images [n, C, H, W] for all, or, when `subsets` is given, network i on images subsets[i] of
 * the pool. Evaluated `batch` networks x `chunk` images at a time, without gradients.
 */
export function scoreCnns(family: CnnArchitecture | TrainableNet, nets: readonly Float32Array[][], images: Float32Array, labels: ArrayLike<number>,
  imageSize: number, opts: { subsets?: readonly Int32Array[]; batch?: number; chunk?: number } = {}): CnnScore[] {
  const arch = trainable(family);
  const shapes = arch.shapes;
  const B = opts.batch ?? 32, chunk = opts.chunk ?? 256;
  const per = arch.inChannels * imageSize * imageSize, classes = arch.classes;
  const nShared = images.length / per;
  const scores: CnnScore[] = [];
  for (let n0 = 0; n0 < nets.length; n0 += B) {
    const group = nets.slice(n0, n0 + B);
    const subsets = opts.subsets?.slice(n0, n0 + B);
    const count = subsets === undefined ? nShared : Math.max(...subsets.map((s) => s.length));
    const correct = new Float64Array(group.length), lossSum = new Float64Array(group.length), seen = new Float64Array(group.length);
    noGrad(() => tidy(() => {
      const named = new Map(shapes.map(([name, shape], i) => {
        const size = shape.reduce((a, b) => a * b, 1);
        const t = Tensor.empty([group.length, ...shape]);
        group.forEach((p, j) => t.data.set(p[i], j * size));
        return [name, t];
      }));
      for (let c0 = 0; c0 < count; c0 += chunk) {
        const m = Math.min(chunk, count - c0);
        tidy(() => {
          let x: Tensor;
          if (subsets === undefined) {
            x = Tensor.from(images.subarray(c0 * per, (c0 + m) * per), [m, arch.inChannels, imageSize, imageSize]);
          } else {
            // Networks with fewer images than this chunk repeat their last one; only their own count.
            x = Tensor.empty([group.length, m, arch.inChannels, imageSize, imageSize]);
            subsets.forEach((sub, j) => {
              for (let r = 0; r < m; r++) {
                const img = sub[Math.min(c0 + r, sub.length - 1)];
                x.data.set(images.subarray(img * per, (img + 1) * per), (j * m + r) * per);
              }
            });
          }
          const out = arch.forward(named, x).data; // [group, m, classes]
          group.forEach((_, j) => {
            const sub = subsets?.[j];
            for (let r = 0; r < m; r++) {
              if (sub !== undefined && c0 + r >= sub.length) break;
              const label = sub === undefined ? labels[c0 + r] : labels[sub[c0 + r]];
              const s = scoreLogitsRow(out, (j * m + r) * classes, classes, label);
              lossSum[j] += s.loss;
              if (s.correct) correct[j]++;
              seen[j]++;
            }
          });
        });
      }
    }));
    group.forEach((_, j) => scores.push({ accuracy: correct[j] / seen[j], loss: lossSum[j] / seen[j] }));
  }
  return scores;
}
