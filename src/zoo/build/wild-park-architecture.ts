// Architectures drawn as Neural Graphs' CNN Wild Park sampler draws them: a depth, then per
// layer a width, a kernel size (stride 1, padding k//2, so every layer keeps the image size), an
// activation and a residual source, then global average pooling and a Linear to the classes.
import type { Rng } from "../../engine/index.js";
import type { CnnActivation, CnnArchitecture } from "../../nets/cnn.js";

export interface WildParkSpace {
  /** Depth drawn uniformly from [min, max] conv layers. */
  layers: [number, number];
  channels: number[];
  kernels: number[];
  activations: CnnActivation[];
}

/** The public CIFAR-10 park's space (2-5 layers); --layers and --channels widen it to their later configuration. */
export const WILD_PARK_SPACE: WildParkSpace = {
  layers: [2, 5],
  channels: [4, 8, 16, 32],
  kernels: [3, 5, 7],
  activations: ["relu", "gelu", "tanh", "sigmoid", "leaky_relu", "none"],
};

export const WIDE_LAYERS: [number, number] = [2, 8];
export const WIDE_CHANNELS = [4, 8, 16, 32, 64];

const pick = <T>(rng: Rng, options: readonly T[]): T => options[rng.int(options.length)];

/**
 * One architecture. Layer i >= 2 takes its residual from one of layers 0..i-2 or from none, all
 * equally likely (layer i-1 is its input already, so never its residual; the last layer is
 * never a source because nothing follows it).
 */
export function drawWildParkArchitecture(space: WildParkSpace, rng: Rng, inChannels: number, classes: number): CnnArchitecture {
  const [lo, hi] = space.layers;
  const depth = lo + rng.int(hi - lo + 1);
  const layers = Array.from({ length: depth }, () => {
    const kernel = pick(rng, space.kernels);
    return { channels: pick(rng, space.channels), kernel, stride: 1, padding: kernel >> 1, activation: pick(rng, space.activations) };
  });
  const residual = layers.map((_, i) => (i < 2 ? -1 : rng.int(i) - 1));
  return { inChannels, layers, residual, classes };
}
