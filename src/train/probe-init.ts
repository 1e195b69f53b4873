// Where a ProbeGen image generator starts. A randomly initialised deep linear generator makes
// near-uniform grey images, and on Small-CNN zoos its probes stayed behind fixed Dead Leaves and
// real images (#15). Fitting the generator to such images first, then learning as usual, starts
// it where fixed probes end. Coordinate generators (INRs) start as initialised: their inputs
// have no images to start from, and random latents already cover the domain.
import type { Rng } from "../engine/index.js";
import { IMAGE_SET_NAMES, loadImageSet, type ImageSet, type ImageSetName } from "../data/image-sets.js";
import { fixedProbeValues } from "../probes/fixed-probes.js";
import { fitProbesTo } from "../probes/fit-probes.js";
import { ImageGenerator } from "../probes/image-generator.js";
import type { ProbeSource } from "../probes/source.js";
import type { ZooManifest } from "../zoo/format.js";
import type { ProbeInit, TrainConfig } from "./config.js";

/** The image set a zoo's networks were trained on, as its provenance records it (for data probes). */
export function zooImageSet(manifest: ZooManifest, dataDir?: string): ImageSet {
  const name = manifest.provenance.dataset;
  if (typeof name !== "string" || !(IMAGE_SET_NAMES as readonly string[]).includes(name)) {
    throw new RangeError(`data probes need the image set the zoo was trained on; its zoo.json provenance.dataset is ${JSON.stringify(name)} (expected one of ${IMAGE_SET_NAMES.join(", ")})`);
  }
  return loadImageSet(name as ImageSetName, dataDir);
}

/**
 * Fits the source's generator to this run's starting images (resolveProbeInit's) and returns
 * the start. `rng` is the probe source's: the images are those fixed probes of this method and
 * seed would be (makeProbeSource's fork), so a generator started from them is compared with
 * those fixed probes on equal terms.
 */
export function startProbeSource(source: ProbeSource, config: TrainConfig, probeShape: readonly number[], manifest: ZooManifest, rng: Rng): Exclude<ProbeInit, "auto"> {
  const start = resolveProbeInit(config, probeShape, manifest);
  if (start === "random") return start;
  if (!(source instanceof ImageGenerator)) throw new RangeError(`--probe-init ${start} starts an image generator; this run's probe source is ${source.method}`);
  const images = fixedProbeValues(start, config.probes, probeShape, rng.fork(start), start === "data" ? zooImageSet(manifest, config.dataDir) : undefined);
  fitProbesTo(source, images);
  return start;
}

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
