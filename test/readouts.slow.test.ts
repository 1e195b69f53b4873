// The labelled readout's arithmetic, and which readouts and methods "auto" resolves to.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Tensor, tidy } from "../src/engine/index.js";
import { labelledAnswers, labelledFeaturesPerProbe } from "../src/train/readouts.js";
import { resolveMethod, resolveReadout } from "../src/train/default-predictor.js";
import type { ZooManifest } from "../src/zoo/format.js";

test("labelled answers: softmax, the true class's probability and margin, and whether it is predicted", () => tidy(() => {
  // 2 networks x 2 probes x 3 classes; probe 0 is of class 2, probe 1 of class 0.
  const z = [1, 2, 3, 0, 0, 0, /* network 1 */ 5, 1, 1, -1, 4, 2];
  const y = labelledAnswers(Tensor.from(Float32Array.from(z), [2, 2, 3]), [2, 0]);
  assert.equal(labelledFeaturesPerProbe(3), 6);
  assert.deepEqual(y.shape, [2, 12]);
  const sm = (a: number[]) => { const e = a.map((v) => Math.exp(v - Math.max(...a))); const s = e.reduce((p, q) => p + q, 0); return e.map((v) => v / s); };
  const want = [
    ...sm([1, 2, 3]), sm([1, 2, 3])[2], 3 - 2, 1,
    ...sm([0, 0, 0]), 1 / 3, 0, 1, // all logits tie: the arg max is the first class, probe 1's own
    ...sm([5, 1, 1]), sm([5, 1, 1])[2], 1 - 5, 0,
    ...sm([-1, 4, 2]), sm([-1, 4, 2])[0], -1 - 4, 0,
  ];
  y.data.forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-6, `feature ${i}: ${v} vs ${want[i]}`));
  assert.throws(() => labelledAnswers(Tensor.from(Float32Array.from(z), [2, 2, 3]), [2, 3]), /probe 1's class 3 is not one of the 3 outputs/);
  assert.throws(() => labelledAnswers(Tensor.from(Float32Array.from(z), [2, 2, 3]).requireGrad(), [2, 0]), /for fixed probes/);
}));

test("auto: data probes read with their classes for image zoos of a set probegen has, ProbeGen's outputs otherwise, fixed probes for black boxes", () => {
  const zoo = (dataset: string | undefined, blackBox = false) => ({
    provenance: dataset === undefined ? {} : { dataset },
    architectures: [{ architecture: {}, parameters: [] }, ...(blackBox ? [{ architecture: { blackBox: { node: "n", opType: "CumSum", reason: "r" } }, parameters: [] }] : [])],
  }) as unknown as ZooManifest;
  // A zoo holding black-box networks gets fixed probes: real images where it can, else Dead Leaves or noise.
  assert.equal(resolveMethod({ method: "auto" }, [1, 32, 32], zoo("fmnist", true)), "data");
  assert.equal(resolveMethod({ method: "auto" }, [3, 32, 32], zoo("cifar10", true)), "dead-leaves");
  assert.equal(resolveMethod({ method: "auto" }, [8], zoo(undefined, true)), "uniform");
  assert.equal(resolveMethod({ method: "vanilla" }, [8], zoo(undefined, true)), "vanilla", "an explicit method is kept (and refused later if it cannot run)");
  assert.equal(resolveMethod({ method: "auto" }, [1, 32, 32], zoo("fmnist")), "data");
  assert.equal(resolveMethod({ method: "auto" }, [1, 32, 32], zoo("mnist")), "data");
  assert.equal(resolveMethod({ method: "auto" }, [3, 32, 32], zoo("cifar10")), "probegen");
  assert.equal(resolveMethod({ method: "auto" }, [2], zoo("mnist")), "probegen");
  assert.equal(resolveMethod({ method: "vanilla" }, [1, 32, 32], zoo("fmnist")), "vanilla");
  assert.equal(resolveReadout({ method: "data", readout: "auto" }, true), "labelled");
  assert.equal(resolveReadout({ method: "probegen", readout: "auto" }, false), "logits");
  assert.equal(resolveReadout({ method: "data", readout: "hidden" }, true), "hidden");
  assert.equal(resolveReadout({ method: "statnn", readout: "auto" }, false), "logits");
  assert.throws(() => resolveReadout({ method: "probegen", readout: "labelled" }, false), /--readout labelled needs probes that carry classes .* the probegen method's probes have none/);
  assert.throws(() => resolveReadout({ method: "statnn", readout: "labelled" }, false), /the statnn method has no probes/);
});
