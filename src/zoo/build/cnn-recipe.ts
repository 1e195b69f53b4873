// How the networks of a Small-CNN zoo are trained: the hyperparameters drawn per network as in
// Unterthiner et al. (2020) — activation, weight initialisation and its std, optimiser, learning
// rate (log-uniform), L2 penalty (log-uniform), dropout, the fraction of the training images
// used and the epochs — and the settings shared by the whole zoo.
import type { Rng } from "../../engine/index.js";

export const CNN_ACTIVATIONS = ["relu", "tanh"] as const;
export type CnnZooActivation = (typeof CNN_ACTIVATIONS)[number];
export const CNN_INITS = ["random_normal", "truncated_normal", "glorot_normal", "glorot_uniform", "he_normal"] as const;
export type CnnInit = (typeof CNN_INITS)[number];
export const CNN_OPTIMIZERS = ["adam", "rmsprop", "sgd"] as const;
export type CnnOptimizer = (typeof CNN_OPTIMIZERS)[number];
export const TRAIN_FRACTIONS = [0.1, 0.25, 0.5, 1] as const;

export interface CnnHyperparameters {
  activation: CnnZooActivation;
  init: CnnInit;
  /** Std of the random_normal and truncated_normal inits (log-uniform). */
  initStd: number;
  optimizer: CnnOptimizer;
  lr: number;
  /** Coefficient of the L2 penalty sum(w^2) on conv and dense kernels (Keras kernel_regularizer). */
  l2: number;
  /** Dropout rate after each conv layer's activation. */
  dropout: number;
  trainFraction: number;
  epochs: number;
}

/** The hyperparameter space and the zoo-wide settings. */
export interface CnnRecipe {
  /** Training images pooled for the zoo (drawn from the image set's training split); each
   * network trains on its own random trainFraction of them. */
  trainImages: number;
  /** Test images (from the image set's test split) every network's test accuracy is measured on. */
  testImages: number;
  /** Images of its own training subset a network's train accuracy is measured on, at most. */
  trainEvalImages: number;
  batchSize: number;
  lrRange: [number, number];
  l2Range: [number, number];
  initStdRange: [number, number];
  dropoutRange: [number, number];
  /** Epochs are drawn uniformly from these integers. */
  epochsRange: [number, number];
}

export const DEFAULT_CNN_RECIPE: CnnRecipe = {
  trainImages: 6000,
  testImages: 2000,
  trainEvalImages: 1000,
  batchSize: 32,
  lrRange: [5e-4, 5e-2],
  l2Range: [1e-8, 1e-2],
  initStdRange: [1e-3, 0.5],
  dropoutRange: [0, 0.7],
  epochsRange: [1, 4],
};

const logUniform = (rng: Rng, [lo, hi]: [number, number]) => Math.exp(rng.uniform(Math.log(lo), Math.log(hi)));
const pick = <T>(rng: Rng, options: readonly T[]): T => options[rng.int(options.length)];
/** float32-exact, so what is recorded in the zoo is what was used. */
const f32 = Math.fround;

export function drawHyperparameters(recipe: CnnRecipe, rng: Rng): CnnHyperparameters {
  return {
    activation: pick(rng, CNN_ACTIVATIONS),
    init: pick(rng, CNN_INITS),
    initStd: f32(logUniform(rng, recipe.initStdRange)),
    optimizer: pick(rng, CNN_OPTIMIZERS),
    lr: f32(logUniform(rng, recipe.lrRange)),
    l2: f32(logUniform(rng, recipe.l2Range)),
    dropout: f32(rng.uniform(...recipe.dropoutRange)),
    trainFraction: pick(rng, TRAIN_FRACTIONS),
    epochs: recipe.epochsRange[0] + rng.int(recipe.epochsRange[1] - recipe.epochsRange[0] + 1),
  };
}

/** Images a network trains on, and the optimiser steps that takes (incomplete batches dropped). */
export function trainingSize(recipe: CnnRecipe, hp: CnnHyperparameters): { images: number; steps: number } {
  const images = Math.max(recipe.batchSize, Math.round(hp.trainFraction * recipe.trainImages));
  return { images, steps: hp.epochs * Math.floor(images / recipe.batchSize) };
}

/** Fills a conv [O, C, k, k] or dense [O, C] kernel as Keras' initialisers do (fans from the shape). */
export function initKernel(init: CnnInit, std: number, shape: readonly number[], rng: Rng, out: Float32Array): void {
  const receptive = shape.slice(2).reduce((a, b) => a * b, 1);
  const fanIn = shape[1] * receptive, fanOut = shape[0] * receptive;
  switch (init) {
    case "random_normal": rng.fillNormal(out, 0, std); break;
    case "truncated_normal":
      for (let i = 0; i < out.length; i++) {
        let v: number;
        do v = rng.normal(); while (Math.abs(v) > 2);
        out[i] = v * std;
      }
      break;
    case "glorot_normal": rng.fillNormal(out, 0, Math.sqrt(2 / (fanIn + fanOut))); break;
    case "glorot_uniform": { const a = Math.sqrt(6 / (fanIn + fanOut)); rng.fillUniform(out, -a, a); break; }
    case "he_normal": rng.fillNormal(out, 0, Math.sqrt(2 / fanIn)); break;
  }
}
