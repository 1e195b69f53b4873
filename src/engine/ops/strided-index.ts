// For each element of an output of shape `shape`, read in row-major order, the offset that
// per-axis strides give it in another tensor (a stride of 0 repeats an axis): the index map of
// broadcasting and of permuting axes, walked with a counter instead of divisions per element.
export function stridedIndex(shape: readonly number[], strides: readonly number[]): Int32Array {
  const rank = shape.length, n = shape.reduce((p, d) => p * d, 1);
  const idx = new Int32Array(n), counter = new Array<number>(rank).fill(0);
  let at = 0;
  for (let k = 0; k < n; k++) {
    idx[k] = at;
    for (let i = rank - 1; i >= 0; i--) {
      counter[i]++;
      at += strides[i];
      if (counter[i] < shape[i]) break;
      at -= strides[i] * shape[i];
      counter[i] = 0;
    }
  }
  return idx;
}
