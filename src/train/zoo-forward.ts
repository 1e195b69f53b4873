// Probes through every network of a batch in as few zoo-batched passes as the zoo allows.
// Networks of one architecture (and one variant, such as the Small-CNN zoo's activation) go
// through together as one zoo batch and are put back in order; a zoo of many CNN architectures
// with few networks each (a Wild Park) goes through as one ragged batch instead. Black-box
// networks (an ONNX zoo's graphs the engine cannot run) answer from what onnxruntime gave for
// the run's fixed probes, kept here before training starts.
import { Tensor, reshape } from "../engine/index.js";
import { cnnForwardRagged, packRaggedCnn, raggedCnnLayout } from "../nets/ragged-cnn.js";
import { evaluateInGroups } from "../nets/groups.js";
import { represent, type NetworkArchitecture } from "../nets/family.js";
import type { ZooData } from "./zoo-data.js";

export class ZooForward {
  /** Whether batches go through the ragged CNN forward. */
  private readonly ragged: boolean;
  /** Black-box networks' answers to the run's fixed probes, by network index. */
  private readonly blackBoxAnswers = new Map<number, Float32Array>();

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
    return evaluateInGroups(Array.from(indices, (i) => data.architectureOf[i]), (k, rows) => this.architectures[k].blackBox
      ? this.keptBlackBoxAnswers(rows.map((r) => indices[r]), probes.shape[0] * this.architectures[k].outputsPerProbe)
      : this.architectureAnswers(data, this.architectures[k], rows.map((r) => indices[r]), probes));
  }

  /** Keeps black-box network `index`'s answers [K * outputs] to the run's fixed probes. */
  keepBlackBoxAnswers(index: number, answers: Float32Array): void {
    this.blackBoxAnswers.set(index, answers);
  }

  private keptBlackBoxAnswers(indices: number[], features: number): Tensor {
    const out = new Float32Array(indices.length * features);
    indices.forEach((i, r) => {
      const a = this.blackBoxAnswers.get(i);
      // The representation asks onnxruntime for every black-box network before the first step.
      if (a === undefined || a.length !== features) throw new Error(`network ${i} is a black-box ONNX model, and onnxruntime has not answered these probes for it: \`probegen train\` and \`probegen eval\` have it answer a zoo's black-box networks, and \`probegen predict RUN --black-box FILE.onnx\` predicts such a file`);
      out.set(a, r * features);
    });
    return Tensor.from(out, [indices.length, features]);
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
