// Network families a zoo can hold: how to evaluate a batch of them on probes, what a probe is,
// and what one evaluation costs. Probing code goes through this, never through a family directly.
import { reshape, type ActivationName, type Tensor } from "../engine/index.js";
import { sirenFlopsPerPoint, sirenForward, type SirenArchitecture } from "./siren.js";
import { cnnFlopsPerImage, cnnForward, withActivation, type CnnArchitecture } from "./cnn.js";

export interface NetworkFamily {
  readonly name: string;
  /** Shape of one probe input: [2] for coordinates, [C, H, W] for images. */
  probeShape(arch: Record<string, unknown>): number[];
  /** Outputs per probe (1 for an INR, the logits of a classifier). */
  outputsPerProbe(arch: Record<string, unknown>): number;
  /** B networks (stacked params) on K shared probes [K, ...probeShape] -> representation [B, K * outputs]. */
  represent(arch: Record<string, unknown>, params: ReadonlyMap<string, Tensor>, probes: Tensor): Tensor;
  /** Forward FLOPs of one network on one probe. */
  flopsPerProbe(arch: Record<string, unknown>): number;
  /**
   * Zoos whose networks differ in one way the weights do not show (e.g. the activation) name a
   * metadata field holding a code per network; null when all networks share the architecture.
   */
  variantField(arch: Record<string, unknown>): string | null;
  /** The architecture of the networks whose variant field holds `code`. */
  variant(arch: Record<string, unknown>, code: number): Record<string, unknown>;
}

const siren: NetworkFamily = {
  name: "siren",
  probeShape: (arch) => [(arch as unknown as SirenArchitecture).inDim],
  outputsPerProbe: (arch) => (arch as unknown as SirenArchitecture).outDim,
  represent(arch, params, probes) {
    const a = arch as unknown as SirenArchitecture;
    const out = sirenForward(a, params, probes); // [B, K, outDim]
    return reshape(out, [out.shape[0], out.shape[1] * out.shape[2]]);
  },
  flopsPerProbe: (arch) => sirenFlopsPerPoint(arch as unknown as SirenArchitecture),
  variantField: () => null,
  variant: (arch) => arch,
};

/**
 * CNNs of one architecture; the architecture records its square input size, and optionally a
 * per-network activation: every layer of network i uses names[fields[field][i]].
 */
export type SizedCnnArchitecture = CnnArchitecture & { inputSize: number; activationByField?: { field: string; names: ActivationName[] } };

const cnn: NetworkFamily = {
  name: "cnn",
  probeShape: (arch) => {
    const a = arch as unknown as SizedCnnArchitecture;
    return [a.inChannels, a.inputSize, a.inputSize];
  },
  outputsPerProbe: (arch) => (arch as unknown as CnnArchitecture).classes,
  represent(arch, params, probes) {
    const out = cnnForward(arch as unknown as CnnArchitecture, params, probes); // [B, K, classes]
    return reshape(out, [out.shape[0], out.shape[1] * out.shape[2]]);
  },
  flopsPerProbe: (arch) => cnnFlopsPerImage(arch as unknown as CnnArchitecture, (arch as unknown as SizedCnnArchitecture).inputSize),
  variantField: (arch) => (arch as unknown as SizedCnnArchitecture).activationByField?.field ?? null,
  variant(arch, code) {
    const a = arch as unknown as SizedCnnArchitecture;
    const name = a.activationByField?.names[code];
    if (name === undefined) throw new RangeError(`activation code ${code} is not one of ${JSON.stringify(a.activationByField?.names ?? [])}`);
    return withActivation(a, name) as unknown as Record<string, unknown>;
  },
};

const families = new Map<string, NetworkFamily>([["siren", siren], ["cnn", cnn]]);

export function networkFamily(name: string): NetworkFamily {
  const f = families.get(name);
  if (f === undefined) throw new Error(`network family "${name}" is not supported for probing (known: ${[...families.keys()].join(", ")})`);
  return f;
}
