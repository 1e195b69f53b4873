// A training step whose batch is too large to keep every network's activations at once
// (ResNet-18s answering 64 probes hold about 150 MB each): gradient checkpointing over
// networks. The batch is represented pass by pass with nothing kept for backward (but the
// last pass run, which keeps its graph), the head and loss run on the whole batch, and each
// other pass is then evaluated again with its activations and back-propagated from its slice
// of d(loss)/d(representation) into the step's probes. Peak memory is one pass's activations;
// the cost is one more forward of the networks, less one pass. The head's gradients are
// exactly those of a one-pass step; the probes' gradient is the same sum taken pass by pass
// (equal up to float rounding).
import { Tensor, backward, noGrad, tidy } from "../engine/index.js";

export interface CheckpointedStep {
  /** Makes this step's probes with their graph into the probe source, or null for fixed probes (no gradient flows into them). */
  probes(): Tensor | null;
  /** The batch's positions, cut into passes (each a list of positions into the batch). */
  passes: readonly (readonly number[])[];
  /** Rows of the batch at these positions, [positions.length, features], on the given probes (null: the fixed source's own). */
  representPass(positions: readonly number[], probes: Tensor | null): Tensor;
  /** The loss of the whole batch's representation [batch, features] (the head and the loss function). */
  loss(representation: Tensor): Tensor;
}

/**
 * Runs forward and backward for one step, leaving gradients in the head's and the probe
 * source's parameters (accumulated onto whatever zeroGrad left). Returns the loss.
 */
export function checkpointedStep(step: CheckpointedStep): number {
  const { passes } = step;
  if (passes.length === 0) throw new RangeError("checkpointedStep: a step needs at least one network");
  const rows = passes.reduce((n, p) => n + p.length, 0);
  return tidy(() => {
    const probes = step.probes();
    // The probes once, detached: the passes read them without building graphs back into the source.
    const fixed = probes === null ? null : Tensor.from(probes.data, probes.shape);
    const leaf = probes === null ? null : Tensor.from(probes.data, probes.shape).requireGrad();
    type Answers = { features: number; values: Float32Array };
    const answers: Answers[] = new Array(passes.length);
    // A pass's rows, copied out of the WASM memory its scope frees.
    const rowsOf = (k: number, r: Tensor): Answers => {
      if (r.rank !== 2 || r.shape[0] !== passes[k].length) throw new RangeError(`a pass of ${passes[k].length} networks gave a representation of shape [${r.shape.join(",")}]`);
      return { features: r.shape[1], values: Float32Array.from(r.data) };
    };
    // With learned probes the first pass runs last and keeps its graph, so the backward starts
    // from it instead of evaluating it again: 2P - 1 evaluations of P passes instead of 2P. The
    // passes' gradients still reach the probes in order 0, 1, 2, ..., so the bytes are those of
    // evaluating every pass again.
    for (let k = passes.length - 1; k >= (leaf === null ? 0 : 1); k--) {
      answers[k] = noGrad(() => tidy(() => rowsOf(k, step.representPass(passes[k], fixed))));
    }
    const seedOf = (k: number, upstream: Float32Array, size: number, features: number) => {
      const seed = new Float32Array(size);
      passes[k].forEach((at, i) => seed.set(upstream.subarray(at * features, (at + 1) * features), i * features));
      return seed;
    };
    // The first pass's graph lives only in this scope: freed before the others are evaluated again.
    const { loss, upstream, features } = tidy(() => {
      const first = leaf === null ? null : step.representPass(passes[0], leaf);
      if (first !== null) answers[0] = rowsOf(0, first);
      const features = answers[0].features;
      const reps = Tensor.empty([rows, features]);
      passes.forEach((pass, k) => {
        if (answers[k].features !== features) throw new RangeError(`passes gave ${features} and ${answers[k].features} features per network`);
        pass.forEach((at, i) => reps.data.set(answers[k].values.subarray(i * features, (i + 1) * features), at * features));
      });
      const representation = reps.requireGrad();
      const l = step.loss(representation);
      backward(l);
      if (first === null) return { loss: l.item(), upstream: null, features };
      const upstream = Float32Array.from(representation.grad!.data);
      backward(first, seedOf(0, upstream, first.size, features));
      return { loss: l.item(), upstream, features };
    });
    if (leaf !== null && upstream !== null) {
      for (let k = 1; k < passes.length; k++) {
        tidy(() => {
          const r = step.representPass(passes[k], leaf);
          backward(r, seedOf(k, upstream, r.size, features));
        });
      }
      if (probes!.requiresGrad) backward(probes!, leaf.grad!.data);
    }
    return loss;
  });
}

/**
 * Consecutive positions grouped so each group's cost (e.g. activation floats) stays within
 * the budget; a network over the budget on its own is a pass by itself.
 */
export function planPasses(costs: readonly number[], budget: number): number[][] {
  const passes: number[][] = [];
  let current: number[] = [], used = 0;
  costs.forEach((c, i) => {
    if (current.length > 0 && used + c > budget) {
      passes.push(current);
      current = [];
      used = 0;
    }
    current.push(i);
    used += c;
  });
  if (current.length > 0) passes.push(current);
  return passes;
}
