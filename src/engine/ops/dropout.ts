// Inverted dropout for a zoo of networks trained side by side, each with its own rate.
import { kernels } from "../backend.js";
import { gradSink, record } from "../autograd.js";
import { ShapeError, fmtShape } from "../errors.js";
import type { Rng } from "../random.js";
import { getRuntime } from "../memory.js";
import { Tensor } from "../tensor.js";

/**
 * x [B, ...]: each element of network b is zeroed with probability rates[b] and the others are
 * scaled by 1 / (1 - rates[b]). Network b's mask is drawn from rngs[b] alone, so it does not
 * depend on which networks share the batch.
 */
export function zooDropout(x: Tensor, rates: ArrayLike<number>, rngs: readonly Rng[]): Tensor {
  const B = x.shape[0];
  if (x.rank < 2 || rates.length !== B || rngs.length !== B) {
    throw new ShapeError("zooDropout", `input ${fmtShape(x.shape)} needs one rate and one generator per network (got ${rates.length} and ${rngs.length})`);
  }
  let any = false;
  for (let b = 0; b < B; b++) {
    const p = rates[b];
    if (!(p >= 0 && p < 1)) throw new RangeError(`zooDropout: rate ${p} of network ${b} is not in [0, 1)`);
    if (p > 0) any = true;
  }
  if (!any) return x;
  const mask = Tensor.empty(x.shape);
  const per = x.size / B;
  // Each network's generator draws its mask inside the kernel (in JS the draws were a third of
  // a Small-CNN zoo build): its state goes in, and comes back advanced as next() would leave it.
  // An element is dropped when a uniform 32-bit draw falls below p * 2^32.
  const heap = getRuntime().heap;
  const words = heap.alloc(24 * B);
  const keep = Tensor.empty([B]);
  try {
    const state = heap.i32(words, 4 * B), mode = heap.i32(words + 16 * B, 2 * B);
    for (let b = 0; b < B; b++) {
      const p = rates[b], threshold = Math.round(p * 4294967296);
      rngs[b].saveState(state, 4 * b);
      mode[2 * b] = p === 0 ? 0 : threshold > 0xffffffff ? 2 : 1;
      mode[2 * b + 1] = threshold | 0;
      keep.data[b] = 1 / (1 - p);
    }
    kernels().dropoutMask(state, mode, keep.data, mask.data, per);
    for (let b = 0; b < B; b++) rngs[b].loadState(state, 4 * b);
  } finally {
    keep.dispose();
    heap.free(words, 24 * B);
  }
  const y = Tensor.empty(x.shape);
  const k = kernels();
  k.mul(x.data, mask.data, y.data, false);
  return record(y, "zooDropout", [x], (g) => {
    const s = gradSink(x);
    if (s !== null) k.mul(g, mask.data, s.g, s.acc);
  });
}
