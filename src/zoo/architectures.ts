// A zoo's architectures, as zoo.json records them, checked and bound to their network families
// (nets/family.ts): what probing, prediction and the weight statistics go through.
import { ArchitectureError } from "../nets/spec-check.js";
import { networkArchitecture, type NetworkArchitecture } from "../nets/family.js";
import { ZooFormatError, type ZooManifest } from "./format.js";

/**
 * The architectures of a zoo, each checked by its family and against the parameters zoo.json
 * declares for it; errors name the file.
 */
export function zooArchitectures(m: ZooManifest, file: string): NetworkArchitecture[] {
  return m.architectures.map((a, k) => {
    const path = m.architectures.length === 1 ? "architecture" : `architectures[${k}].architecture`;
    let bound: NetworkArchitecture;
    try {
      bound = networkArchitecture(m.family, a.architecture, path);
    } catch (e) {
      if (e instanceof ArchitectureError) throw new ZooFormatError(file, e.message);
      throw e;
    }
    const declared = a.parameters.map((p) => `${p.name} [${p.shape.join(",")}]`).join(", ");
    const implied = bound.parameters.map(([n, s]) => `${n} [${s.join(",")}]`).join(", ");
    if (declared !== implied) throw new ZooFormatError(file, `${path} has parameters ${implied}, but zoo.json declares ${declared}`);
    return bound;
  });
}
