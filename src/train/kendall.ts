// Kendall's rank correlation tau-b, tie-aware, in O(n log n) by Knight's algorithm (1966):
// sort by (x, y), count the pairs tied in x and in both, then count discordant pairs as the
// swaps a merge sort by y makes.
//   tau_b = (n_c - n_d) / sqrt((n0 - n_x) (n0 - n_y)), n0 = n(n-1)/2,
// where n_x and n_y count pairs tied in x and in y (pairs tied in both are in both counts).

function tiedPairs(sortedKeys: ArrayLike<number>, order: ArrayLike<number>, sameGroup?: (a: number, b: number) => boolean): number {
  let pairs = 0, run = 1;
  for (let i = 1; i <= order.length; i++) {
    const same = i < order.length && sortedKeys[order[i]] === sortedKeys[order[i - 1]] && (sameGroup?.(order[i], order[i - 1]) ?? true);
    if (same) run++;
    else { pairs += (run * (run - 1)) / 2; run = 1; }
  }
  return pairs;
}

/** Sorts idx by y (stable) in place and returns the number of inversions (swaps). */
function mergeSortCount(idx: Int32Array, y: ArrayLike<number>, tmp: Int32Array, lo: number, hi: number): number {
  if (hi - lo < 2) return 0;
  const mid = (lo + hi) >> 1;
  let swaps = mergeSortCount(idx, y, tmp, lo, mid) + mergeSortCount(idx, y, tmp, mid, hi);
  let i = lo, j = mid, k = lo;
  while (i < mid && j < hi) {
    if (y[idx[j]] < y[idx[i]]) { tmp[k++] = idx[j++]; swaps += mid - i; }
    else tmp[k++] = idx[i++];
  }
  while (i < mid) tmp[k++] = idx[i++];
  while (j < hi) tmp[k++] = idx[j++];
  for (let t = lo; t < hi; t++) idx[t] = tmp[t];
  return swaps;
}

export function kendallTau(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = x.length;
  if (y.length !== n) throw new RangeError(`kendallTau: ${n} and ${y.length} values`);
  if (n < 2) return NaN;
  const idx = Int32Array.from({ length: n }, (_, i) => i);
  idx.sort((a, b) => (x[a] - x[b]) || (y[a] - y[b]));
  const n0 = (n * (n - 1)) / 2;
  const nx = tiedPairs(x, idx);
  const nxy = tiedPairs(x, idx, (a, b) => y[a] === y[b]);
  const swaps = mergeSortCount(idx, y, new Int32Array(n), 0, n);
  const ny = tiedPairs(y, idx);
  // Pairs neither tied in x nor in y are concordant or discordant; swaps counts the discordant.
  const nd = swaps;
  const nc = n0 - nx - ny + nxy - nd;
  const denom = Math.sqrt((n0 - nx) * (n0 - ny));
  return denom === 0 ? NaN : (nc - nd) / denom;
}
