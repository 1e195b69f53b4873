// Fixed probes: only the head trains. "uniform" draws coordinates from U(-1, 1); "grid" spaces
// them evenly over [-1, 1]^dim (the first K points of the smallest grid with at least K points);
// "dead-leaves" paints procedural images; "data" takes real images of the image set the zoo's
// networks were trained on, prepared as those networks saw them.
import { Tensor, type Rng } from "../engine/index.js";
import { deadLeaves } from "../data/dead-leaves.js";
import { cnnInputs } from "../data/cnn-input.js";
import type { ImageSet } from "../data/image-sets.js";
import type { ProbeSource } from "./source.js";

/** K distinct images drawn from the set's training split, as [K, C, side, side] in [-1, 1], and their classes. */
function dataProbeImages(set: ImageSet, count: number, shape: readonly number[], rng: Rng): { values: Float32Array; labels: Int32Array } {
  const [c, h, w] = shape;
  if (shape.length !== 3 || h !== w) throw new RangeError(`data probes are square images; this zoo's networks take [${shape.join(",")}]`);
  if (count > set.train.count) throw new RangeError(`${count} data probes asked of ${set.train.count} ${set.name} training images`);
  const picked = rng.shuffle(Int32Array.from({ length: set.train.count }, (_, i) => i)).subarray(0, count);
  const gray = cnnInputs(set, "train", picked, h);
  const labels = Int32Array.from(picked, (i) => set.train.labels[i]);
  if (c === 1) return { values: gray, labels };
  // Grayscale images for colour networks: the same plane in every channel.
  const out = new Float32Array(count * c * h * w), plane = h * w;
  for (let k = 0; k < count; k++) for (let ch = 0; ch < c; ch++) out.set(gray.subarray(k * plane, (k + 1) * plane), (k * c + ch) * plane);
  return { values: out, labels };
}

function gridPoints(count: number, dim: number): Float32Array {
  const side = Math.max(1, Math.ceil(count ** (1 / dim) - 1e-9));
  const lin = (i: number) => (side === 1 ? 0 : -1 + (2 * i) / (side - 1));
  const out = new Float32Array(count * dim);
  for (let k = 0; k < count; k++) {
    let rest = k;
    for (let d = dim - 1; d >= 0; d--) {
      out[k * dim + d] = lin(rest % side);
      rest = Math.floor(rest / side);
    }
  }
  return out;
}

/** The values of K fixed probes, [K, ...shape] flattened (the same for a seed wherever they are made). */
export function fixedProbeValues(method: "uniform" | "grid" | "dead-leaves" | "data", count: number, shape: readonly number[], rng: Rng,
  imageSet?: ImageSet): Float32Array {
  return fixedProbes(method, count, shape, rng, imageSet).values;
}

/** The values of K fixed probes, and for data probes each image's class (null otherwise). */
function fixedProbes(method: "uniform" | "grid" | "dead-leaves" | "data", count: number, shape: readonly number[], rng: Rng,
  imageSet?: ImageSet): { values: Float32Array; labels: Int32Array | null } {
  const size = shape.reduce((a, b) => a * b, 1);
  if (method === "data") {
    if (imageSet === undefined) throw new RangeError("data probes need the image set the zoo was trained on (the zoo's provenance names none)");
    return dataProbeImages(imageSet, count, shape, rng.fork("data"));
  }
  if (method === "dead-leaves") {
    const [c, h, w] = shape;
    if (shape.length !== 3 || h !== w || (c !== 1 && c !== 3)) throw new RangeError(`dead-leaves probes are square 1- or 3-channel images, not [${shape.join(",")}]`);
    return { values: deadLeaves(count, rng.fork("dead-leaves").next(), { size: h, channels: c as 1 | 3 }), labels: null };
  }
  if (shape.length !== 1) throw new RangeError(`${method} probes are coordinates; image inputs [${shape.join(",")}] take dead-leaves, data, vanilla or probegen probes`);
  return { values: method === "grid" ? gridPoints(count, size) : rng.fork("probes").fillUniform(new Float32Array(count * size), -1, 1), labels: null };
}

export class FixedProbes implements ProbeSource {
  readonly learned = false;
  readonly probes: Tensor;
  readonly labels: Int32Array | null;

  constructor(readonly method: "uniform" | "grid" | "dead-leaves" | "data", readonly count: number, readonly shape: readonly number[], rng: Rng,
    imageSet?: ImageSet) {
    const { values, labels } = fixedProbes(method, count, shape, rng, imageSet);
    this.probes = Tensor.from(values, [count, ...shape], { persistent: true });
    this.labels = labels;
  }

  forward(): Tensor { return this.probes; }
  flops(): number { return 0; }
  /** Saved with checkpoints so that a run's probes can be read back, though never trained. */
  namedParameters(): [string, Tensor][] { return []; }
}
