// Probes through every network of a batch in as few zoo-batched passes as the zoo allows.
// Networks of one architecture (and one variant, such as the Small-CNN zoo's activation) go
// through together as one zoo batch and are put back in order; a zoo of many CNN architectures
// with few networks each (a Wild Park) goes through as one ragged batch instead.
import { reshape, type Tensor } from "../engine/index.js";
import { cnnForwardRagged, packRaggedCnn, raggedCnnLayout } from "../nets/ragged-cnn.js";
import { evaluateInGroups } from "../nets/groups.js";
import { represent, type NetworkArchitecture } from "../nets/family.js";
import type { ZooData } from "./zoo-data.js";

export class ZooForward {
  /** Whether batches go through the ragged CNN forward. */
  private readonly ragged: boolean;

  /** hiddenSlots: with the hidden readout, the layer slots every network fills; undefined: outputs only. */
  constructor(readonly architectures: readonly NetworkArchitecture[], data: ZooData, private readonly hiddenSlots: number | undefined) {
    // Groups of equal architecture while they are big enough to batch well (8 networks or more
    // per architecture on average): the fused zoo kernels, and the same numbers as a zoo of one
    // architecture with variants (a Small-CNN zoo exported as a park and imported back trains
    // to the same bytes). Ragged once most groups would be a network or two (a Wild Park).
    this.ragged = architectures.length > 1 && data.architectureOf.length < 8 * architectures.length
      && architectures.every((a) => a.cnn !== null && a.variantField === null);
  }

  /** [indices.length, K * answer size]: each network's answers to the probes, concatenated. */
  answers(data: ZooData, indices: ArrayLike<number>, probes: Tensor): Tensor {
    if (this.ragged) return this.raggedAnswers(data, indices, probes);
    return evaluateInGroups(Array.from(indices, (i) => data.architectureOf[i]), (k, rows) =>
      this.architectureAnswers(data, this.architectures[k], rows.map((r) => indices[r]), probes));
  }

  /** The whole batch in one ragged forward, each network at its own size. */
  private raggedAnswers(data: ZooData, indices: ArrayLike<number>, probes: Tensor): Tensor {
    const idx = Array.from(indices);
    const layout = raggedCnnLayout(idx.map((i) => this.architectures[data.architectureOf[i]].cnn!));
    const params = packRaggedCnn(layout, (n, name, size) => {
      const i = idx[n], row = data.rowOf[i];
      return data.groups[data.architectureOf[i]].get(name)!.data.subarray(row * size, (row + 1) * size);
    });
    const out = cnnForwardRagged(layout, params, probes, { hiddenSlots: this.hiddenSlots });
    return reshape(out, [out.shape[0], out.shape[1] * out.shape[2]]);
  }

  /** Networks of one architecture; a variant field splits them further. */
  private architectureAnswers(data: ZooData, arch: NetworkArchitecture, indices: number[], probes: Tensor): Tensor {
    const field = arch.variantField;
    if (field === null) return represent(arch, data.gather(indices), probes, this.hiddenSlots);
    const codes = data.fields.get(field);
    if (codes === undefined) throw new Error(`the zoo's architecture takes each network's variant from field "${field}", which the zoo lacks`);
    return evaluateInGroups(indices.map((i) => codes[i]), (code, rows) =>
      represent(arch.variant(code), data.gather(rows.map((r) => indices[r])), probes, this.hiddenSlots));
  }
}
