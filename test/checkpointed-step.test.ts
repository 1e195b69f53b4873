// Gradient checkpointing over networks: a step represented pass by pass gives the loss and
// gradients of a one-pass step, for learned and fixed probes, and passes follow the budget.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng, Tensor, backward, mseLoss, reshape, tidy, zeroGrad } from "../src/engine/index.js";
import { cnnForward, cnnParameterShapes } from "../src/nets/cnn.js";
import { smallCnnZooArchitecture } from "../src/nets/small-cnn.js";
import { ImageGenerator } from "../src/probes/image-generator.js";
import { MlpHead } from "../src/train/head.js";
import { checkpointedStep, planPasses } from "../src/train/checkpointed-step.js";

test("planPasses groups consecutive networks within the budget; one over it goes alone", () => {
  assert.deepEqual(planPasses([3, 3, 3, 3], 6), [[0, 1], [2, 3]]);
  assert.deepEqual(planPasses([3, 3, 3, 3], 7), [[0, 1], [2, 3]]);
  assert.deepEqual(planPasses([3, 3, 3, 3], 9), [[0, 1, 2], [3]]);
  assert.deepEqual(planPasses([2, 10, 2, 2], 5), [[0], [1], [2, 3]]);
  assert.deepEqual(planPasses([1, 1, 1], 100), [[0, 1, 2]]);
  assert.deepEqual(planPasses([], 5), []);
});

test("a checkpointed step gives the one-pass step's loss and gradients (learned and fixed probes)", () => {
  const B = 5, K = 4;
  const rng = new Rng(3, "checkpointed");
  const arch = { ...smallCnnZooArchitecture(), inputSize: 32 };
  const shapes = cnnParameterShapes(arch);
  const zoo = new Map(shapes.map(([name, shape]) => {
    const t = Tensor.empty([B, ...shape], { persistent: true });
    rng.fillNormal(t.data, 0, name.endsWith("bias") ? 0.05 : Math.sqrt(2 / shape.slice(1).reduce((a, b) => a * b, 1)));
    return [name, t] as const;
  }));
  const gen = new ImageGenerator(K, rng.fork("gen"));
  const head = new MlpHead(K * 10, 1, rng.fork("head"), { width: 16, depth: 3 });
  const targets = [0.1, 0.5, 0.9, 0.3, 0.7];
  const params = [...gen.namedParameters(), ...head.namedParameters()];
  const rowsOf = (positions: readonly number[]) => new Map([...zoo].map(([name, t]) => {
    const per = t.size / B;
    const out = Tensor.empty([positions.length, ...t.shape.slice(1)]);
    positions.forEach((p, i) => out.data.set(t.data.subarray(p * per, (p + 1) * per), i * per));
    return [name, out] as const;
  }));
  const represent = (positions: readonly number[], probes: Tensor) => {
    const logits = cnnForward(arch, rowsOf(positions), probes);
    return reshape(logits, [positions.length, K * 10]);
  };
  const grads = () => params.map(([n, t]) => [n, t.grad === null || !t.gradValid ? null : Float32Array.from(t.grad.data)] as const);
  const all = [0, 1, 2, 3, 4];

  for (const learned of [true, false]) {
    zeroGrad(params.map(([, t]) => t));
    const oneLoss = tidy(() => {
      const probes = gen.forward();
      const l = mseLoss(head.forward(represent(all, learned ? probes : Tensor.from(probes.data, probes.shape))), targets);
      backward(l);
      return l.item();
    });
    const one = grads();
    zeroGrad(params.map(([, t]) => t));
    const passes = [[0, 3], [1], [2, 4]];
    let fixedCalls = 0;
    const fixedProbes = tidy(() => Float32Array.from(gen.forward().data));
    let calls = 0;
    const loss = checkpointedStep({
      probes: () => (learned ? gen.forward() : null),
      passes,
      representPass: (at, probes) => {
        calls++;
        if (probes === null) fixedCalls++;
        return represent(at, probes ?? Tensor.from(fixedProbes, [K, 1, 32, 32]));
      },
      loss: (r) => mseLoss(head.forward(r), targets),
    });
    const two = grads();
    assert.equal(loss, oneLoss, "the same representation gives the same loss");
    assert.equal(fixedCalls, learned ? 0 : passes.length, "fixed probes: each pass once, on the source's own probes");
    // learned: each pass once, and again with its graph, but for the first, which keeps it
    assert.equal(calls, learned ? 2 * passes.length - 1 : passes.length, "the networks' evaluations");
    if (learned) {
      // Every pass evaluated again in order, as the step did before it kept the first pass's
      // graph: the generator's gradient is the same bytes.
      zeroGrad(params.map(([, t]) => t));
      tidy(() => {
        const probes = gen.forward();
        const fixed = Tensor.from(probes.data, probes.shape), leaf = Tensor.from(probes.data, probes.shape).requireGrad();
        const reps = Tensor.empty([B, K * 10]);
        for (const pass of passes) {
          const r = represent(pass, fixed);
          pass.forEach((at, i) => reps.data.set(r.data.subarray(i * K * 10, (i + 1) * K * 10), at * K * 10));
        }
        const representation = reps.requireGrad();
        backward(mseLoss(head.forward(representation), targets));
        for (const pass of passes) {
          const r = represent(pass, leaf);
          const seed = new Float32Array(r.size);
          pass.forEach((at, i) => seed.set(representation.grad!.data.subarray(at * K * 10, (at + 1) * K * 10), i * K * 10));
          backward(r, seed);
        }
        backward(probes, leaf.grad!.data);
      });
      const again = grads();
      again.forEach(([name, g], i) => assert.deepEqual(Array.from(two[i][1]!), Array.from(g!), `${name}: the same bytes as evaluating every pass again`));
    }
    one.forEach(([name, g], i) => {
      const h = two[i][1];
      if (name.startsWith("head.")) {
        assert.ok(g !== null && h !== null && g.some((v) => v !== 0), `${name} has a gradient`);
        assert.deepEqual(Array.from(h!), Array.from(g!), `${name}: the head's gradient is exactly the one-pass step's`);
      } else if (!learned) {
        assert.equal(h, null, `${name}: no gradient reaches a fixed source`);
      } else {
        assert.ok(g !== null && h !== null && g.some((v) => v !== 0), `${name} has a gradient`);
        const scale = g!.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
        const err = g!.reduce((m, v, k) => Math.max(m, Math.abs(v - h![k])), 0);
        assert.ok(err <= 1e-5 * scale, `${name}: the generator's gradient differs by ${err} (largest ${scale})`);
      }
    });
  }
});
