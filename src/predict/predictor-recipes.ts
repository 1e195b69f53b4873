// How each shipped predictor is made: its zoos (the `zoo build` arguments), which of them it
// trains on and which it is tested on, the `train` arguments and seeds, and the shard that
// `probegen predictors check` rebuilds. `probegen predictors rebuild` follows these exactly, and
// each card records its recipe. Shard sizes put a test split in whole shards, so one of them can
// be rebuilt alone (`zoo build --shard I/N`) and the shipped predictor's score on it checked.
import type { CardZoo } from "./predictor-card.js";

export interface PredictorRecipe {
  name: string;
  title: string;
  predicts: string;
  accepts: string[];
  zoos: Omit<CardZoo, "networks" | "shards" | "splits">[];
  /** Zoos trained on: one, or several merged in this order (`zoo merge`). */
  trainZoos: string[];
  /** Zoos whose test splits give the card's test score. */
  testZoos: string[];
  train: string[];
  seeds: number[];
  shippedSeed: number;
  check: { zoo: string; shard: number };
  traded: string;
  /** Example networks shipped beside it: `count` test-split networks of a zoo (exampleIndices), in a public layout. */
  examples: { zoo: string; count: number; format: "dwsnets" | "wild-park" | "safetensors" };
}

const INR_ACCEPTS = (set: string) => [
  `${set === "MNIST" ? "an" : "a"} ${set} SIREN INR as a PyTorch state dict (.pth, .pt) or .safetensors: 2 -> 32 -> 32 -> 1, sin(30x), DWSNets' keys (seq.0.weight [32,2], ..., seq.2.bias [1]), as the public DWSNets zoos' files`,
  "fitted either way: faithfully (probegen's default, 40 dB) or with DWSNets' initialisation (the public sets, about 23 dB)",
];

const inrRecipe = (set: "mnist" | "fmnist", title: string, predicts: string): PredictorRecipe => ({
  name: `${set}-inr`, title, predicts,
  accepts: INR_ACCEPTS(set === "mnist" ? "MNIST" : "Fashion-MNIST"),
  zoos: [
    { name: `${set}-inr-siren`, build: ["inr", "--dataset", set, "--count", "3500", "--init", "siren", "--shard-size", "250", "--seed", "0"], recipe: "SIRENs fitted faithfully (probegen's default initialisation, up to 40 dB)" },
    { name: `${set}-inr-dwsnets`, build: ["inr", "--dataset", set, "--count", "3500", "--init", "dwsnets", "--shard-size", "250", "--seed", "1"], recipe: "SIRENs fitted as the public DWSNets sets were (their initialisation, 1,000 steps)" },
  ],
  trainZoos: [`${set}-inr-siren`, `${set}-inr-dwsnets`],
  testZoos: [`${set}-inr-siren`, `${set}-inr-dwsnets`],
  train: [],
  seeds: [0, 1, 2], shippedSeed: 0,
  check: { zoo: `${set}-inr-siren`, shard: 13 },
  traded: "the paper's head and K = 64 in float32; zoos of 3,500 INRs of each kind rather than the public 70,000 (build time, not size)",
  examples: { zoo: `${set}-inr-dwsnets`, count: 3, format: "dwsnets" },
});

const cnnRecipe = (set: "mnist" | "fmnist", title: string): PredictorRecipe => ({
  name: `${set}-cnn`, title,
  predicts: `the test accuracy a Small-CNN-Zoo network reaches on ${set === "mnist" ? "MNIST" : "Fashion-MNIST"}`,
  accepts: [
    "a Small-CNN-Zoo CNN as a PyTorch state dict (.pth, .pt) or .safetensors: 3 x [Conv 16, 3x3, stride 2, padding 1], global average pooling, Linear(16, 10), on grayscale 32x32 in [-1, 1]",
    "its activation (relu or tanh) with --activation, or in the file's metadata (a probegen export)",
  ],
  zoos: [{ name: `${set}-cnn`, build: ["cnn", "--dataset", set, "--count", "1000", "--shard-size", "100", "--seed", "0"], recipe: "Small CNNs with the Small CNN Zoo's hyperparameter draws (Unterthiner et al. 2020)" }],
  trainZoos: [`${set}-cnn`], testZoos: [`${set}-cnn`],
  train: ["--epochs", "150"],
  seeds: [0, 1, 2], shippedSeed: 0,
  check: { zoo: `${set}-cnn`, shard: 9 },
  traded: "the paper's head and K = 64 in float32; a zoo of 1,000 CNNs rather than about 30,000 (build time, not size)",
  examples: { zoo: `${set}-cnn`, count: 3, format: "safetensors" },
});

export const PREDICTOR_RECIPES: readonly PredictorRecipe[] = [
  inrRecipe("mnist", "MNIST INR digit", "which digit (0-9) an MNIST INR draws"),
  inrRecipe("fmnist", "Fashion-MNIST INR class", "which Fashion-MNIST class (T-shirt/top ... ankle boot) an INR draws"),
  cnnRecipe("mnist", "Small-CNN test accuracy (MNIST)"),
  cnnRecipe("fmnist", "Small-CNN test accuracy (Fashion-MNIST)"),
  {
    name: "shape-inr", title: "3-D shape class",
    predicts: "which of ten procedural 3-D shapes (sphere, cube, cylinder, cone, torus, capsule, pyramid, ellipsoid, prism, compound) an occupancy INR holds",
    accepts: ["an occupancy SIREN as a state dict (.pth, .pt) or .safetensors: 3 -> 32 -> 32 -> 1, sin(30x), DWSNets' keys, over [-1, 1]^3"],
    zoos: [{ name: "shape-inr", build: ["shape-inr", "--count", "500", "--grid", "12", "--steps", "400", "--shard-size", "50", "--seed", "0"], recipe: "occupancy SIRENs of procedural shapes in random poses, fitted on a 12^3 grid for up to 400 steps" }],
    trainZoos: ["shape-inr"], testZoos: ["shape-inr"],
    // 350 training shapes make 11 steps an epoch: 150 epochs give the head the steps the paper's INR runs get.
    train: ["--epochs", "150"],
    seeds: [0, 1, 2], shippedSeed: 0,
    check: { zoo: "shape-inr", shard: 9 },
    traded: "the paper's head and K = 64 in float32; a zoo of 500 shapes fitted coarsely (12^3 points, 400 steps), small enough that CI rebuilds this predictor whole",
    examples: { zoo: "shape-inr", count: 3, format: "safetensors" },
  },
  {
    name: "fmnist-wild-park", title: "CNN Wild Park test accuracy (Fashion-MNIST)",
    predicts: "the test accuracy of a CNN of any Wild Park architecture (2-5 conv layers of 4-32 channels, 3/5/7 kernels, per-layer activations and residuals) on Fashion-MNIST",
    accepts: [
      "a CNN Wild Park checkpoint.pt (model, config: n_layers, channels, kernel_size, residual, activation, ...), as Neural Graphs' park writes them",
      "a .safetensors with its architecture in the metadata (a probegen export)",
    ],
    zoos: [{ name: "fmnist-wild-park", build: ["wild-park", "--dataset", "fmnist", "--count", "100", "--shard-size", "10", "--seed", "0"], recipe: "CNNs of Wild Park architectures, kept after epochs 1 and 3" }],
    trainZoos: ["fmnist-wild-park"], testZoos: ["fmnist-wild-park"],
    train: [],
    seeds: [0, 1, 2], shippedSeed: 0,
    check: { zoo: "fmnist-wild-park", shard: 9 },
    traded: "the paper's head and K = 64 in float32; a park of 100 networks (200 checkpoints) rather than 2,800",
    examples: { zoo: "fmnist-wild-park", count: 3, format: "wild-park" },
  },
];

export function predictorRecipe(name: string): PredictorRecipe | undefined {
  return PREDICTOR_RECIPES.find((r) => r.name === name);
}
