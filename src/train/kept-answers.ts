// Fixed probes give a network the same answers at every step (nothing trains but the head, and
// networks are not augmented): each network is evaluated once and its answers kept, which makes
// a fixed-probe run cost one pass over the zoo instead of one per epoch.
import { Tensor } from "../engine/index.js";
import type { ZooData } from "./zoo-data.js";

/** At most 256 MiB of kept answers (a 55k-INR zoo at K=64 needs 14 MiB). */
const MAX_KEPT_FLOATS = 2 ** 26;

export class KeptAnswers {
  private readonly kept = new WeakMap<ZooData, Map<number, Float32Array>>();
  private keptFloats = 0;

  constructor(private readonly features: number) {}

  /** [indices.length, features]: kept rows, and `compute`'s for the networks not yet kept. */
  represent(data: ZooData, indices: ArrayLike<number>, compute: (missing: number[]) => Tensor): Tensor {
    let kept = this.kept.get(data);
    if (kept === undefined) this.kept.set(data, (kept = new Map()));
    const idx = Array.from(indices);
    const missing = [...new Set(idx.filter((i) => !kept.has(i)))];
    const fresh = missing.length > 0 ? compute(missing) : null;
    const out = Tensor.empty([idx.length, this.features]);
    const row = (t: Float32Array, r: number) => t.subarray(r * this.features, (r + 1) * this.features);
    const freshRow = new Map(missing.map((i, r) => [i, r]));
    idx.forEach((i, r) => {
      const f = freshRow.get(i);
      out.data.set(f !== undefined ? row(fresh!.data, f) : kept.get(i)!, r * this.features);
    });
    // Kept outside the WASM memory, up to a bound, past which networks are evaluated every time.
    for (const [i, r] of freshRow) {
      if (this.keptFloats + this.features > MAX_KEPT_FLOATS) break;
      kept.set(i, Float32Array.from(row(fresh!.data, r)));
      this.keptFloats += this.features;
    }
    return out;
  }
}
