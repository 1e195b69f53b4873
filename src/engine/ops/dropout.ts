// Inverted dropout for a zoo of networks trained side by side, each with its own rate.
import { kernels } from "../backend.js";
import { gradSink, record } from "../autograd.js";
import { ShapeError, fmtShape } from "../errors.js";
import type { Rng } from "../random.js";
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
  for (let b = 0; b < B; b++) {
    const m = mask.data.subarray(b * per, (b + 1) * per);
    const p = rates[b];
    if (p === 0) { m.fill(1); continue; }
    // An element is dropped when a uniform 32-bit draw falls below p * 2^32.
    const threshold = Math.round(p * 4294967296), keep = 1 / (1 - p), rng = rngs[b];
    for (let i = 0; i < per; i++) m[i] = rng.next() < threshold ? 0 : keep;
  }
  const y = Tensor.empty(x.shape);
  const k = kernels();
  k.mul(x.data, mask.data, y.data, false);
  return record(y, "zooDropout", [x], (g) => {
    const s = gradSink(x);
    if (s !== null) k.mul(g, mask.data, s.g, s.acc);
  });
}
