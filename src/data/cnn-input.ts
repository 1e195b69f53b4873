// Images as the Small CNN Zoo's networks see them: grayscale, centred in a side x side canvas
// (28x28 padded by 2 to 32x32), pixels scaled from [0, 255] to [-1, 1]; the padding is black (-1).
import type { ImageSet } from "./image-sets.js";

export const CNN_INPUT_SIZE = 32;

export const CNN_INPUT_DESCRIPTION = "grayscale 28x28 centred in 32x32 (padding -1), pixels scaled to [-1, 1]";

/** Images `indices` of a split as [n, 1, side, side] floats. */
export function cnnInputs(set: ImageSet, split: "train" | "test", indices: ArrayLike<number>, side = CNN_INPUT_SIZE,
  out = new Float32Array(indices.length * side * side)): Float32Array {
  const { rows, cols } = set;
  if (side < rows || side < cols) throw new RangeError(`cnnInputs: side ${side} is smaller than the ${rows}x${cols} images`);
  const top = (side - rows) >> 1, left = (side - cols) >> 1;
  const s = set[split];
  const per = side * side;
  for (let n = 0; n < indices.length; n++) {
    const i = indices[n];
    if (!Number.isInteger(i) || i < 0 || i >= s.count) throw new RangeError(`${set.name} ${split}: image ${i} out of range [0, ${s.count})`);
    const dst = out.subarray(n * per, (n + 1) * per);
    dst.fill(-1);
    for (let r = 0; r < rows; r++) {
      const src = (i * rows + r) * cols;
      const d = (top + r) * side + left;
      for (let c = 0; c < cols; c++) dst[d + c] = s.images[src + c] * (2 / 255) - 1;
    }
  }
  return out;
}
