// The default predictor: which representation method and readout a run takes when its settings
// leave them at "auto". Chosen by measurement on the four benchmark zoos (docs/results.md):
// - image zoos whose image set probegen has (MNIST, Fashion-MNIST): fixed real images of that
//   set, read with their classes (the labelled readout), ahead of every other method on the
//   Small-CNN zoo, the Wild Park and the ResNet zoo;
// - other image zoos (imported, of sets probegen lacks) and INR zoos: ProbeGen, its outputs;
// - zoos holding black-box networks (ONNX graphs onnxruntime runs, which give no gradients):
//   fixed probes: real images as above, else Dead Leaves for images, uniform noise otherwise.
import { IMAGE_SET_NAMES } from "../data/image-sets.js";
import { isBlackBoxSpec } from "../nets/onnx-black-box.js";
import type { RepresentationMethod } from "../probes/source.js";
import type { ZooManifest } from "../zoo/format.js";
import type { TrainConfig } from "./config.js";
import type { Readout } from "./readouts.js";

/** Whether the zoo names an image set probegen has, whose images data probes are drawn from. */
export function zooHasImageSet(manifest: ZooManifest): boolean {
  const d = manifest.provenance.dataset;
  return typeof d === "string" && (IMAGE_SET_NAMES as readonly string[]).includes(d);
}

/** The run's method: auto is data for image networks of a set probegen has, probegen otherwise (fixed probes for black boxes). */
export function resolveMethod(config: Pick<TrainConfig, "method">, probeShape: readonly number[], manifest: ZooManifest): RepresentationMethod {
  if (config.method !== "auto") return config.method;
  const images = probeShape.length === 3;
  if (images && zooHasImageSet(manifest)) return "data";
  if (manifest.architectures.some((a) => isBlackBoxSpec(a.architecture))) return images ? "dead-leaves" : "uniform";
  return "probegen";
}

/**
 * The run's readout, for its resolved method. labelled: whether its probes carry classes that
 * the networks' outputs name (data probes of the zoo's own image set). statnn has no probes:
 * it takes no readout but its own, recorded as logits.
 */
export function resolveReadout(config: { method: RepresentationMethod; readout: TrainConfig["readout"] | undefined }, labelled: boolean): Readout {
  const r = config.readout ?? "auto";
  if (config.method === "statnn") {
    if (r === "hidden" || r === "labelled") throw new RangeError(`--readout ${r} reads what networks answer to probes; the statnn method has no probes`);
    return "logits";
  }
  if (r === "labelled" && !labelled) {
    throw new RangeError(`--readout labelled needs probes that carry classes the networks' outputs name: real images of the zoo's image set (--method data); the ${config.method} method's probes have none`);
  }
  if (r !== "auto") return r;
  return labelled ? "labelled" : "logits";
}
