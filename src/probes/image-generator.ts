// ProbeGen for image inputs: latents [K, 32, 1, 1] through a deep linear stack of transposed
// convolutions (1x1 -> 4 -> 8 -> 16 -> 32), then tanh. deep_linear_5 of the paper's code;
// deep_linear_6 adds a 3x3 stride-1 layer at 16x16. Networks taking other sizes (an ONNX
// model's 28x28, 64x64) get the paper's stack with one more stride-2 layer per doubling past
// 32, and the image's central window of their size: at 32x32 nothing changes.
import { ConvTranspose2dLayer, cropCenter, normalParameter, relu, tanh, type Rng, type Tensor } from "../engine/index.js";
import type { ProbeSource } from "./source.js";

export interface ImageGeneratorOptions {
  latentDim?: number;
  /** Output channels of the image (1 grayscale, 3 RGB). */
  channels?: number;
  /** The images' height and width ([32, 32]). */
  size?: [number, number];
  /** 5 (deep_linear_5) or 6 (deep_linear_6). */
  layers?: 5 | 6;
  /** Multiplies the widths 128, 64, 32, 16. */
  widthMultiplier?: number;
  activation?: "none" | "relu";
}

/** The largest side the generator makes (past it, a probe batch of K images would not fit). */
export const MAX_IMAGE_SIDE = 1024;

export class ImageGenerator implements ProbeSource {
  readonly method = "probegen" as const;
  readonly learned = true;
  readonly shape: readonly number[];
  readonly latents: Tensor;
  readonly layers: ConvTranspose2dLayer[];
  readonly activation: "none" | "relu";

  constructor(readonly probes: number, rng: Rng, opts: ImageGeneratorOptions = {}) {
    const z = opts.latentDim ?? 32;
    const c = opts.channels ?? 1;
    const m = opts.widthMultiplier ?? 1;
    const [w1, w2, w3, w4] = [128, 64, 32, 16].map((w) => Math.max(1, Math.round(w * m)));
    this.activation = opts.activation ?? "none";
    const [H, W] = opts.size ?? [32, 32];
    if (!Number.isInteger(H) || !Number.isInteger(W) || H < 1 || W < 1 || Math.max(H, W) > MAX_IMAGE_SIDE) {
      throw new RangeError(`the image probe generator makes images of 1 to ${MAX_IMAGE_SIDE} pixels a side, not ${H}x${W}`);
    }
    // Doublings past 32 to cover the larger side.
    let doublings = 0;
    while (32 << doublings < Math.max(H, W)) doublings++;
    const specs = [
      { inChannels: z, outChannels: w1, kernel: 4, stride: 1, padding: 0 },
      { inChannels: w1, outChannels: w2, kernel: 4, stride: 2, padding: 1 },
      { inChannels: w2, outChannels: w3, kernel: 4, stride: 2, padding: 1 },
      ...(opts.layers === 6 ? [{ inChannels: w3, outChannels: w3, kernel: 3, stride: 1, padding: 1 }] : []),
      { inChannels: w3, outChannels: w4, kernel: 4, stride: 2, padding: 1 },
      ...Array.from({ length: doublings }, () => ({ inChannels: w4, outChannels: w4, kernel: 4, stride: 2, padding: 1 })),
      { inChannels: w4, outChannels: c, kernel: 3, stride: 1, padding: 1 },
    ];
    this.shape = [c, H, W];
    this.latents = normalParameter([probes, z, 1, 1], 1, rng.fork("latents"));
    const layerRng = rng.fork("layers");
    this.layers = specs.map((s) => new ConvTranspose2dLayer(s, layerRng));
  }

  get count(): number { return this.probes; }

  /** Forward FLOPs of the transposed convolutions for all K probes. */
  flops(): number {
    let side = 1, f = 0;
    for (const l of this.layers) {
      const { inChannels, outChannels, kernel } = l.spec;
      f += 2 * this.probes * side * side * inChannels * outChannels * kernel * kernel;
      side = (side - 1) * l.spec.stride - 2 * l.spec.padding + kernel;
    }
    return f;
  }

  /** The K probe images, [K, C, H, W], in (-1, 1). */
  forward(): Tensor {
    let h = this.latents;
    this.layers.forEach((l, i) => {
      h = l.forward(h);
      if (this.activation === "relu" && i < this.layers.length - 1) h = relu(h);
    });
    return tanh(cropCenter(h, this.shape[1], this.shape[2]));
  }

  namedParameters(): [string, Tensor][] {
    return [["latents", this.latents], ...this.layers.flatMap((l, i) => l.namedParameters(`gen.${i}.`))];
  }
}
