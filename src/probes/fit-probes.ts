// Starts a ProbeGen image generator from given images: its parameters are fitted, by Adam on the
// mean squared error, until the K probes it makes are close to K target images (Dead Leaves or
// real images). Training then moves the probes from there instead of from the near-uniform grey
// that a randomly initialised deep linear generator makes. The generator keeps its structure: it
// is still one shared linear map of the latents, only its starting point changes, and with
// fewer latent dimensions than probes the fit is the best one of that rank, not an exact copy.
import { Adam, Tensor, backward, cosineLr, mseLoss, tidy } from "../engine/index.js";
import type { ImageGenerator } from "./image-generator.js";

export interface ProbeFitOptions {
  /** Adam steps (500). */
  steps?: number;
  /** Adam's learning rate, cosine-annealed (0.003). */
  lr?: number;
}

/** tanh never reaches ±1: targets are pulled in to this bound, or the fit would chase them with ever larger weights. */
export const FIT_BOUND = 0.95;

/**
 * Fits `generator` so that its probes ≈ targets ([K, C, H, W], values in [-1, 1]); returns the
 * mean squared error between its probes and the targets (pulled in to ±FIT_BOUND).
 */
export function fitProbesTo(generator: ImageGenerator, targets: Float32Array, opts: ProbeFitOptions = {}): number {
  const size = generator.count * generator.shape.reduce((a, b) => a * b, 1);
  if (targets.length !== size) throw new RangeError(`fitting ${generator.count} probes of [${generator.shape.join(",")}] needs ${size} target values, got ${targets.length}`);
  const clipped = targets.map((v) => Math.max(-FIT_BOUND, Math.min(FIT_BOUND, v)));
  const target = Tensor.from(clipped, [generator.count, ...generator.shape], { persistent: true });
  // Measured on 4 and 64 Fashion-MNIST and Dead Leaves images: at 0.01 and above, large early
  // steps saturate the tanh at ±1 for small K, where its gradient vanishes and the fit stalls.
  // Fitting before the tanh (against atanh of the targets) never stalls, but weighs the saturated
  // background as much as the object and, at K = 64, ended further from the images (mean squared
  // error 0.034 and 0.098 against 0.015 and 0.070).
  const lr = opts.lr ?? 0.003, steps = opts.steps ?? 500;
  const adam = new Adam(generator.namedParameters().map(([, p]) => p), { lr });
  try {
    for (let s = 0; s < steps; s++) {
      // Annealed: at a constant rate Adam's steps stay large as the gradient vanishes, and the fit can leave its minimum.
      adam.lr = cosineLr(lr, s, steps);
      adam.zeroGrad();
      tidy(() => backward(mseLoss(generator.forward(), target)));
      adam.step();
    }
    const loss = tidy(() => mseLoss(generator.forward(), target).data[0]);
    if (!Number.isFinite(loss)) throw new RangeError(`fitting the generator to its starting images diverged (mean squared error ${loss})`);
    return loss;
  } finally {
    target.dispose();
    for (const t of [...adam.state().m, ...adam.state().v]) t.dispose();
  }
}
