// Tensors and memory, the RNG, Adam and the schedule, shape errors, and whole training steps.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  Adam, Rng, ShapeError, Tensor, backward, conv2d, convTranspose2d, cosineLr, crossEntropy, getRuntime,
  linear, mseLoss, add, mul, sum, tidy, noGrad, relu,
} from "../src/engine/index.js";
import { makeW1, makeW2, trainer } from "../src/workloads/workloads.js";

test("Rng is deterministic per seed and stream, with the documented distributions", () => {
  const a = new Rng(42), b = new Rng(42), c = new Rng(42, "other"), d = new Rng(43);
  const xs = Array.from({ length: 5 }, () => a.next());
  assert.deepEqual(xs, Array.from({ length: 5 }, () => b.next()));
  assert.notDeepEqual(xs, Array.from({ length: 5 }, () => c.next()));
  assert.notDeepEqual(xs, Array.from({ length: 5 }, () => d.next()));
  // Pinned values: changing the algorithm changes every seeded result, so it must be deliberate.
  const z = new Rng(0);
  assert.deepEqual([z.next(), z.next(), z.next()], [2040553127, 2671230994, 3535833209]);
  const r = new Rng(1);
  const n = 200_000;
  let su = 0, sn = 0, sn2 = 0, lo = 1, hi = 0;
  for (let i = 0; i < n; i++) {
    const u = r.uniform();
    su += u; lo = Math.min(lo, u); hi = Math.max(hi, u);
    const z = r.normal();
    sn += z; sn2 += z * z;
  }
  assert.ok(Math.abs(su / n - 0.5) < 0.005 && lo >= 0 && hi < 1, `uniform mean ${su / n}`);
  assert.ok(Math.abs(sn / n) < 0.01, `normal mean ${sn / n}`);
  assert.ok(Math.abs(sn2 / n - 1) < 0.01, `normal variance ${sn2 / n}`);
  const counts = new Array(7).fill(0);
  for (let i = 0; i < 70_000; i++) counts[r.int(7)]++;
  for (const k of counts) assert.ok(Math.abs(k - 10_000) < 500, `int(7) histogram ${counts}`);
  assert.deepEqual(new Rng(5).shuffle([1, 2, 3, 4, 5, 6]).sort(), [1, 2, 3, 4, 5, 6]);
});

test("Adam follows PyTorch's update, bias correction and weight decay included", () => {
  const p = Tensor.from([1, -2]).requireGrad();
  const opt = new Adam([p], { lr: 0.1 });
  // With a constant gradient every bias-corrected step is lr * sign(g) (up to eps).
  for (const expected of [[0.9, -1.9], [0.8, -1.8], [0.7, -1.7]]) {
    opt.zeroGrad();
    tidy(() => backward(sum(mul(p, Tensor.from([1, -1]))))); // constant gradient [1, -1]
    opt.step();
    assert.ok(Math.abs(p.data[0] - expected[0]) < 5e-6 && Math.abs(p.data[1] - expected[1]) < 5e-6, `${p.toArray()} vs ${expected}`);
  }
  // Weight decay: g' = g + wd * p. Step 1 from p = 1 with g = 0: m = 0.1 * wd, v = 0.001 * wd^2,
  // so p moves by lr exactly as with a real gradient of wd * p.
  const q = Tensor.from([1]).requireGrad();
  q.grad = Tensor.zeros([1]);
  q.gradValid = true;
  const opt2 = new Adam([q], { lr: 0.01, weightDecay: 0.5 });
  opt2.step();
  assert.ok(Math.abs(q.data[0] - 0.99) < 1e-6, `weight decay step gave ${q.data[0]}`);
  // A parameter that received no gradient is left alone (PyTorch skips grad=None).
  const untouched = Tensor.from([3]).requireGrad();
  new Adam([untouched], { lr: 1 }).step();
  assert.equal(untouched.data[0], 3);
  // Per-parameter rates: each step moves a parameter by lr x its factor, and lr stays the schedule's.
  const a = Tensor.from([0]).requireGrad(), b = Tensor.from([0]).requireGrad();
  const opt3 = new Adam([a, b], { lr: 0.1, lrScales: [1, 0.25] });
  for (const t of [a, b]) { t.grad = Tensor.from([1]); t.gradValid = true; }
  opt3.step();
  assert.ok(Math.abs(a.data[0] + 0.1) < 1e-6 && Math.abs(b.data[0] + 0.025) < 1e-6, `steps ${a.data[0]}, ${b.data[0]}`);
  assert.throws(() => new Adam([a, b], { lrScales: [1] }), /one positive factor per parameter \(2\)/);
});

test("cosine annealing matches torch's CosineAnnealingLR", () => {
  assert.equal(cosineLr(3e-4, 0, 100), 3e-4);
  assert.ok(Math.abs(cosineLr(3e-4, 50, 100) - 1.5e-4) < 1e-12);
  assert.ok(Math.abs(cosineLr(3e-4, 25, 100) - 3e-4 * (1 + Math.cos(Math.PI / 4)) / 2) < 1e-12);
  assert.equal(cosineLr(3e-4, 100, 100), 0);
  assert.equal(cosineLr(1, 200, 100, 0.1), 0.1);
});

test("tidy frees what it made and keeps what it returns; memory is reused", () => {
  const heap = getRuntime().heap;
  const x = Tensor.from([1, 2, 3]);
  const before = heap.stats().liveBytes;
  const kept = tidy(() => {
    const a = add(x, x);
    const b = add(a, x);
    assert.equal(b.disposed, false);
    return { b };
  });
  assert.deepEqual(kept.b.toArray(), [3, 6, 9]);
  assert.equal(kept.b.persistent, true);
  kept.b.dispose();
  assert.equal(heap.stats().liveBytes, before, "all temporaries released");
  for (let i = 0; i < 50; i++) tidy(() => { add(x, x); });
  assert.equal(heap.stats().liveBytes, before);
  const reserved = heap.stats().reservedBytes;
  for (let i = 0; i < 50; i++) tidy(() => { Tensor.empty([1000]); });
  assert.ok(heap.stats().reservedBytes <= reserved + 4096, "freed blocks are reused");
  assert.equal(kept.b.disposed, true);
  assert.throws(() => kept.b.toArray(), /toArray\(\): tensor of shape \[3\] was disposed/);
  // A one-element tensor, disposed: item() must not read freed memory (it once returned undefined).
  const one = Tensor.scalar(7);
  assert.equal(one.item(), 7);
  one.dispose();
  assert.throws(() => one.item(), /item\(\): tensor of shape \[\] was disposed/);
});

test("a request reuses a free block of a somewhat larger class before the memory grows; views share memory", () => {
  const heap = getRuntime().heap;
  const big = Tensor.empty([10000]); // 40,000 bytes
  const ptr = big.data.byteOffset;
  big.dispose();
  const reserved = heap.stats().reservedBytes;
  const smaller = Tensor.empty([7000]); // 28,000 bytes: a smaller class, within twice the size
  assert.equal(smaller.data.byteOffset, ptr, "the freed larger block serves it");
  assert.equal(heap.stats().reservedBytes, reserved);
  smaller.dispose();
  assert.throws(() => heap.free(ptr + 64, 64), /is not a block of 64 bytes/);

  const t = Tensor.from([1, 2, 3, 4, 5, 6], [3, 2]);
  const head = t.leading(2);
  assert.deepEqual(head.shape, [2, 2]);
  head.data[0] = 9;
  assert.equal(t.data[0], 9, "a view writes through");
  head.dispose();
  assert.equal(t.disposed, false, "disposing a view leaves its tensor");
  t.dispose();
  assert.equal(head.disposed, true, "a view lives as long as its tensor");
  assert.throws(() => t.leading(4), /leading\(4\)/);
});

test("sizes that change from call to call (ragged batches) reuse merged free blocks instead of growing the memory", () => {
  const heap = getRuntime().heap;
  const rng = new Rng(2, "fragments");
  // Warm up: the largest working set of the loop below, then its blocks freed.
  tidy(() => { for (let i = 0; i < 40; i++) Tensor.empty([200_000]); });
  const reserved = heap.stats().reservedBytes;
  for (let step = 0; step < 200; step++) {
    // Each step asks for sizes no earlier step used exactly: classes pile up in the free lists.
    tidy(() => { for (let i = 0; i < 40; i++) Tensor.empty([1000 + rng.int(199_000)]); });
  }
  assert.ok(heap.stats().reservedBytes <= reserved + 4 * 800_000, `reserved ${heap.stats().reservedBytes - reserved} bytes more than the warm-up's`);
});

test("backward through a graph whose tensors were freed is refused", () => {
  const w = Tensor.from([1, 2]).requireGrad();
  // y survives the tidy, but the intermediate it was computed from does not.
  const y = tidy(() => mul(relu(add(w, w)), w));
  assert.throws(() => backward(sum(y)), /freed/);
  assert.equal(w.gradValid, false, "nothing was written");
});

test("a gradient accumulated by backward() calls in inner scopes lives as long as its tensor", () => {
  tidy(() => {
    const x = Tensor.from([1, 2, 3]).requireGrad();
    for (let i = 1; i <= 3; i++) tidy(() => backward(sum(mul(x, Tensor.from([i, i, i])))));
    // 1 + 2 + 3 per element: each call added to the buffer the first one made.
    assert.deepEqual(Array.from(x.grad!.data), [6, 6, 6]);
    const kept = tidy(() => {
      const y = Tensor.from([5]).requireGrad();
      tidy(() => backward(sum(mul(y, Tensor.from([2])))));
      return y;
    });
    assert.deepEqual(Array.from(kept.grad!.data), [2], "a tensor moved to the outer scope keeps its gradient");
  });
});

test("noGrad records no graph", () => {
  const w = Tensor.from([1, 2]).requireGrad();
  const y = noGrad(() => add(w, w));
  assert.equal(y.requiresGrad, false);
  assert.equal(y.node, null);
});

test("mismatched shapes raise an error naming the operation and both shapes", () => {
  const cases: [() => unknown, RegExp][] = [
    [() => linear(Tensor.zeros([4, 3]), Tensor.zeros([5, 2])), /^linear: input \[4,3\] does not match weight \[5,2\]/],
    [() => linear(Tensor.zeros([3, 4, 2]), Tensor.zeros([2, 5, 2])), /^linear: input \[3,4,2\] does not match zoo weight \[2,5,2\]/],
    [() => linear(Tensor.zeros([4, 2]), Tensor.zeros([5, 2]), Tensor.zeros([4])), /^linear: bias \[4\] does not match weight \[5,2\]/],
    [() => conv2d(Tensor.zeros([2, 3, 8, 8]), Tensor.zeros([4, 2, 3, 3])), /^conv2d: input \[2,3,8,8\] does not match weight \[4,2,3,3\]/],
    [() => conv2d(Tensor.zeros([3, 2, 1, 8, 8]), Tensor.zeros([2, 4, 1, 3, 3])), /^conv2d: input \[3,2,1,8,8\] does not match weight \[2,4,1,3,3\]/],
    [() => conv2d(Tensor.zeros([1, 1, 2, 2]), Tensor.zeros([1, 1, 3, 3])), /^conv2d: input \[1,1,2,2\] with kernel 3x3/],
    [() => convTranspose2d(Tensor.zeros([2, 3, 4, 4]), Tensor.zeros([2, 3, 4, 4])), /^convTranspose2d: input \[2,3,4,4\] does not match weight \[2,3,4,4\]/],
    [() => add(Tensor.zeros([2, 3]), Tensor.zeros([3, 2])), /^add: shapes \[2,3\] and \[3,2\] differ/],
    [() => crossEntropy(Tensor.zeros([2, 3]), [0]), /^crossEntropy: logits \[2,3\] and 1 labels disagree/],
    [() => mseLoss(Tensor.zeros([2, 1]), [0, 1, 2]), /^mseLoss: prediction \[2,1\] and target \[3\]/],
  ];
  for (const [f, re] of cases) assert.throws(f, (e: unknown) => e instanceof ShapeError && re.test((e as Error).message), String(re));
  assert.throws(() => crossEntropy(Tensor.zeros([1, 3]), [3]), /label 3 at row 0 is not a class index in \[0, 3\)/);
});

test("training steps are deterministic and reduce the loss (W1 and W2)", () => {
  const run = (make: typeof makeW1, steps: number) => {
    const step = trainer(make(5, 8, 16), 1e-3);
    return Array.from({ length: steps }, () => step());
  };
  const a = run(makeW1, 120), b = run(makeW1, 120);
  assert.deepEqual(a, b, "same seed, same losses");
  assert.ok(a[119] < a[0] * 0.5, `W1 loss ${a[0]} -> ${a[119]}`);
  const c = run(makeW2, 15), d = run(makeW2, 15);
  assert.deepEqual(c, d);
  assert.ok(c[14] < c[0] * 0.5, `W2 loss ${c[0]} -> ${c[14]}`);
});
