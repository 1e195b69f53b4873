// What the head reads of a network's answer to a probe. "auto" is chosen per network family by
// measurement (README, results): see resolveReadout.
import type { ZooManifest } from "../zoo/format.js";
import type { Readout } from "../nets/hidden-readout.js";
import type { TrainConfig } from "./config.js";

/**
 * The readout of this run. statnn has no probes, so it has no readout but the weights': a
 * hidden readout is refused for it, auto is "logits" (what it records).
 */
export function resolveReadout(config: Pick<TrainConfig, "method" | "readout">, manifest: ZooManifest): Readout {
  const r = config.readout ?? "auto";
  if (config.method === "statnn") {
    if (r === "hidden") throw new RangeError("--readout hidden reads what the hidden layers answer to probes; the statnn method has no probes");
    return "logits";
  }
  if (r !== "auto") return r;
  void manifest;
  return "logits";
}
