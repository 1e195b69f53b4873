// Which images an INR zoo is fitted to, and how its networks split. The default follows the
// image set: INRs of its test images are the test split; a validation split is held out of the
// INRs of its training images in the public sets' proportion (5k of 60k: 55k/5k/10k in all).
import { Rng } from "../../engine/index.js";
import type { ImageSet } from "../../data/image-sets.js";
import type { Ranges, SplitName } from "../format.js";

export interface InrPlanEntry {
  /** Split of the image set the source image comes from. */
  sourceSplit: "train" | "test";
  sourceIndex: number;
  label: number;
}

export interface InrPlan {
  entries: InrPlanEntry[];
  splits: Record<SplitName, Ranges>;
}

export const VAL_FRACTION_OF_TRAIN = 5000 / 60000;

export function planInrZoo(set: ImageSet, count: number, seed: number): InrPlan {
  const total = set.train.count + set.test.count;
  if (!Number.isInteger(count) || count < 1 || count > total) {
    throw new RangeError(`--count must be an integer in [1, ${total}] for ${set.name}, got ${count}`);
  }
  const nTest = Math.round((count * set.test.count) / total);
  const nTrainVal = count - nTest;
  const nVal = Math.round(nTrainVal * VAL_FRACTION_OF_TRAIN);
  const nTrain = nTrainVal - nVal;
  const rng = new Rng(seed, "inr-plan");
  const pick = (n: number, from: number) => rng.shuffle(Array.from({ length: from }, (_, i) => i)).slice(0, n);
  const trainVal = pick(nTrainVal, set.train.count);
  const trainIdx = trainVal.slice(0, nTrain).sort((a, b) => a - b);
  const valIdx = trainVal.slice(nTrain).sort((a, b) => a - b);
  const testIdx = pick(nTest, set.test.count).sort((a, b) => a - b);
  const entry = (split: "train" | "test") => (i: number): InrPlanEntry => ({ sourceSplit: split, sourceIndex: i, label: set[split].labels[i] });
  const entries = [...trainIdx.map(entry("train")), ...valIdx.map(entry("train")), ...testIdx.map(entry("test"))];
  const range = (a: number, b: number): Ranges => (b > a ? [[a, b]] : []);
  return {
    entries,
    splits: { train: range(0, nTrain), val: range(nTrain, nTrainVal), test: range(nTrainVal, count) },
  };
}
