// Where a ProbeGen image generator starts. A randomly initialised deep linear generator makes
// near-uniform grey images, and on Small-CNN zoos its probes stayed behind fixed Dead Leaves and
// real images (#15). Fitting the generator to such images first, then learning as usual, starts
// it where fixed probes end. Coordinate generators (INRs) start as initialised: their inputs
// have no images to start from, and random latents already cover the domain.
import { IMAGE_SET_NAMES } from "../data/image-sets.js";
import type { ZooManifest } from "../zoo/format.js";
import type { ProbeInit, TrainConfig } from "./config.js";

/**
 * The starting images of this run's generator, or "random" for none. "auto" is "data" (images of
 * the set the zoo's networks were trained on) when the zoo names a set probegen has, else
 * "dead-leaves" (imported zoos of other image sets).
 */
export function resolveProbeInit(config: Pick<TrainConfig, "method" | "probeInit">, probeShape: readonly number[], manifest: ZooManifest): Exclude<ProbeInit, "auto"> {
  const init = config.probeInit ?? "auto";
  if (config.method !== "probegen") {
    if (init === "auto" || init === "random") return "random";
    throw new RangeError(`--probe-init ${init} starts a ProbeGen generator; the ${config.method} method has none`);
  }
  if (probeShape.length !== 3) {
    if (init === "auto" || init === "random") return "random";
    throw new RangeError(`--probe-init ${init} needs image probes; this zoo's networks take coordinates [${probeShape.join(",")}]`);
  }
  if (init !== "auto") return init;
  const dataset = manifest.provenance.dataset;
  return typeof dataset === "string" && (IMAGE_SET_NAMES as readonly string[]).includes(dataset) ? "data" : "dead-leaves";
}
