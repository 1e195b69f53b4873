// The images a zoo of trained networks is built from: a pool of training images every network
// draws from, and the test images every network is scored on, each chosen by a seeded stream of
// the build and prepared as the CNN input (grayscale 28x28 padded to 32x32 in [-1, 1]).
import { Rng } from "../../engine/index.js";
import { CNN_INPUT_SIZE, cnnInputs } from "../../data/cnn-input.js";
import type { loadImageSet } from "../../data/image-sets.js";

export interface ImagePool {
  /** [n, C, H, W] flattened. */
  images: Float32Array;
  labels: Uint8Array;
  /** Each image's index in its split of the image set. */
  indices: Int32Array;
  count: number;
  channels: number;
  size: number;
}

/** n of the indices 0..from-1, drawn without replacement, in increasing order (the builders' image choices). */
export function pickSorted(rng: Rng, n: number, from: number): Int32Array {
  const all = rng.shuffle(Int32Array.from({ length: from }, (_, i) => i));
  // a copy, so that keeping the choice does not keep all `from` indices alive
  return all.subarray(0, n).sort().slice();
}

function imagePool(set: ReturnType<typeof loadImageSet>, split: "train" | "test", idx: Int32Array): ImagePool {
  return { images: cnnInputs(set, split, idx), labels: Uint8Array.from(idx, (i) => set[split].labels[i]), indices: idx, count: idx.length, channels: 1, size: CNN_INPUT_SIZE };
}

/** The training pool and the test images of a build seeded `seed`, drawn by streams named after `stream`. */
export function imagePools(set: ReturnType<typeof loadImageSet>, seed: number, stream: string, trainImages: number, testImages: number): { pool: ImagePool; test: ImagePool } {
  return {
    pool: imagePool(set, "train", pickSorted(new Rng(seed, `${stream}:train-pool`), trainImages, set.train.count)),
    test: imagePool(set, "test", pickSorted(new Rng(seed, `${stream}:test-images`), testImages, set.test.count)),
  };
}

/** An option that must be a whole number in [lo, hi]; `name` is its flag, for the message. */
export function checkRecipeInt(name: string, v: number, lo: number, hi: number): void {
  if (!Number.isInteger(v) || v < lo || v > hi) throw new RangeError(`${name} must be an integer in [${lo}, ${hi}], got ${v}`);
}
