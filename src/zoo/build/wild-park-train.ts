// Training a cohort of CNN Wild Park networks of different architectures at once: one ragged
// forward and backward per step (nets/ragged-cnn.ts), each network on its own minibatches with
// its own initialisation and data order, and one AdamW step over the packed parameters. A
// network's blocks never mix with another's, so it comes out the same in any cohort.
import { Rng, Tensor, backward, getRuntime, noGrad, optimizerStep, perNetworkCrossEntropy, tidy, type OptimizerRule } from "../../engine/index.js";
import { cnnParameterShapes, type CnnArchitecture } from "../../nets/cnn.js";
import { scoreLogitsRow } from "./score-logits.js";
import type { ImagePool } from "./image-pools.js";
import { cnnForwardRagged, packRaggedCnn, raggedCnnLayout, raggedCnnTensors, unpackRaggedCnn, type RaggedCnnLayout, type RaggedCnnParams } from "../../nets/ragged-cnn.js";

/** How a park's networks are trained. */
export interface WildParkRecipe {
  /** Training images pooled for the park; every network trains on all of them. */
  trainImages: number;
  /** Test images every checkpoint's accuracy is measured on. */
  testImages: number;
  batchSize: number;
  lr: number;
  weightDecay: number;
  /** Epochs after which a checkpoint is taken (the last is the end of training). */
  checkpoints: number[];
}

export interface WildParkJob {
  index: number;
  arch: CnnArchitecture;
  seed: number;
  stream: string;
  attempt: number;
}

/** One network at one checkpoint. */
export interface WildParkCheckpoint {
  epoch: number;
  step: number;
  params: Float32Array[];
  testAccuracy: number;
  testLoss: number;
  /** Mean minibatch loss over the epoch just finished. */
  trainLoss: number;
}

export interface WildParkResult {
  job: WildParkJob;
  checkpoints: WildParkCheckpoint[];
}

export function wildParkJobRng(job: Pick<WildParkJob, "seed" | "stream" | "attempt">, purpose: string): Rng {
  return new Rng(job.seed, `${job.stream}:${purpose}:${job.attempt}`);
}

/** PyTorch's default Conv2d and Linear initialisation: weights and biases from U(-1/sqrt(fan_in), 1/sqrt(fan_in)). */
export function torchDefaultInit(arch: CnnArchitecture, rng: Rng): Float32Array[] {
  let bound = 0;
  return cnnParameterShapes(arch).map(([name, shape]) => {
    // A bias takes the fan-in of the weight before it.
    if (name.endsWith("weight")) bound = 1 / Math.sqrt(shape.slice(1).reduce((a, b) => a * b, 1));
    const t = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let j = 0; j < t.length; j++) t[j] = rng.uniform(-bound, bound);
    return t;
  });
}

/** Accuracy and mean cross-entropy of every network of a layout on labelled images, shared; chunk images at a time bound the memory (every layer of every network is kept while a chunk passes). */
export function scoreRagged(layout: RaggedCnnLayout, params: RaggedCnnParams, test: ImagePool, chunk = 100): { accuracy: number; loss: number }[] {
  const B = layout.archs.length, classes = layout.classes, per = test.channels * test.size * test.size;
  const correct = new Float64Array(B), loss = new Float64Array(B);
  noGrad(() => {
    for (let c0 = 0; c0 < test.count; c0 += chunk) {
      const m = Math.min(chunk, test.count - c0);
      tidy(() => {
        const x = Tensor.from(test.images.subarray(c0 * per, (c0 + m) * per), [m, test.channels, test.size, test.size]);
        const out = cnnForwardRagged(layout, params, x).data;
        for (let n = 0; n < B; n++) {
          for (let r = 0; r < m; r++) {
            const s = scoreLogitsRow(out, (n * m + r) * classes, classes, test.labels[c0 + r]);
            loss[n] += s.loss;
            if (s.correct) correct[n]++;
          }
        }
      });
    }
  });
  return Array.from({ length: B }, (_, n) => ({ accuracy: correct[n] / test.count, loss: loss[n] / test.count }));
}

/**
 * Trains the cohort for the recipe's last checkpoint epoch, scoring and keeping every network at
 * each checkpoint. A network whose loss or weights become non-finite is returned in `diverged`
 * (its other checkpoints are dropped) for the caller to try again with new draws.
 */
export function trainWildParkCohort(jobs: readonly WildParkJob[], recipe: WildParkRecipe, pool: ImagePool, test: ImagePool): { done: WildParkResult[]; diverged: WildParkJob[] } {
  const layout = raggedCnnLayout(jobs.map((j) => j.arch));
  const inits = jobs.map((j) => torchDefaultInit(j.arch, wildParkJobRng(j, "init")));
  const names = jobs.map((j) => cnnParameterShapes(j.arch).map(([n]) => n));
  const params = packRaggedCnn(layout, (n, name) => inits[n][names[n].indexOf(name)], { persistent: true });
  const tensors = raggedCnnTensors(params).map((t) => t.requireGrad());
  const moments = tensors.map((t) => [Tensor.zeros(t.shape, { persistent: true }), Tensor.zeros(t.shape, { persistent: true })]);
  const B = jobs.length, bs = recipe.batchSize, classes = layout.classes;
  const per = pool.channels * pool.size * pool.size;
  const x = Tensor.zeros([B, bs, pool.channels, pool.size, pool.size], { persistent: true });
  const seedGrad = Tensor.zeros([B, bs, classes], { persistent: true });
  const heap = getRuntime().heap;
  const labelsPtr = heap.alloc(B * bs * 4);
  const labels = heap.i32(labelsPtr, B * bs);
  const orders = jobs.map(() => Int32Array.from({ length: pool.count }, (_, i) => i));
  const dataRngs = jobs.map((j) => wildParkJobRng(j, "data"));
  const rule: OptimizerRule = { kind: "adamw", lr: recipe.lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: recipe.weightDecay };
  const stepsPerEpoch = Math.floor(pool.count / bs);
  const finite = new Uint8Array(B).fill(1);
  const epochLoss = new Float64Array(B);
  const results: WildParkResult[] = jobs.map((job) => ({ job, checkpoints: [] }));
  const last = Math.max(...recipe.checkpoints);
  let step = 0;
  try {
    for (let epoch = 1; epoch <= last; epoch++) {
      for (let n = 0; n < B; n++) dataRngs[n].shuffle(orders[n]);
      epochLoss.fill(0);
      for (let s = 0; s < stepsPerEpoch; s++) {
        for (let n = 0; n < B; n++) {
          for (let r = 0; r < bs; r++) {
            const img = orders[n][s * bs + r];
            x.data.set(pool.images.subarray(img * per, (img + 1) * per), (n * bs + r) * per);
            labels[n * bs + r] = pool.labels[img];
          }
        }
        for (const t of tensors) t.gradValid = false;
        tidy(() => {
          const out = cnnForwardRagged(layout, params, x);
          const losses = perNetworkCrossEntropy(out, labels, B, seedGrad);
          for (let n = 0; n < B; n++) {
            if (!Number.isFinite(losses[n])) finite[n] = 0;
            epochLoss[n] += losses[n];
          }
          backward(out, seedGrad.data);
        });
        step++;
        tensors.forEach((t, i) => optimizerStep(rule, step, t.data, t.grad!.data, moments[i][0].data, moments[i][1].data));
      }
      if (!recipe.checkpoints.includes(epoch)) continue;
      const scores = scoreRagged(layout, params, test);
      for (let n = 0; n < B; n++) {
        const p = unpackRaggedCnn(layout, params, n);
        if (!p.every((a) => a.every(Number.isFinite))) finite[n] = 0;
        if (finite[n] === 0) continue;
        results[n].checkpoints.push({ epoch, step, params: p, testAccuracy: scores[n].accuracy, testLoss: scores[n].loss, trainLoss: epochLoss[n] / stepsPerEpoch });
      }
    }
  } finally {
    for (const t of [...tensors, ...moments.flat(), x, seedGrad]) t.dispose();
    heap.free(labelsPtr, B * bs * 4);
  }
  return { done: results.filter((_, n) => finite[n] === 1), diverged: jobs.filter((_, n) => finite[n] === 0) };
}
