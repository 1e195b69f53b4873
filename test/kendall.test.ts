// Kendall's tau-b against a hand-computed case and a direct O(n^2) count.
import { test } from "node:test";
import assert from "node:assert/strict";
import { kendallTau } from "../src/train/kendall.js";
import { Rng } from "../src/engine/index.js";

function bruteTauB(x: number[], y: number[]): number {
  let nc = 0, nd = 0, tx = 0, ty = 0;
  const n = x.length;
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) {
    const dx = Math.sign(x[i] - x[j]), dy = Math.sign(y[i] - y[j]);
    if (dx === 0) tx++;
    if (dy === 0) ty++;
    if (dx !== 0 && dy !== 0) { if (dx === dy) nc++; else nd++; }
  }
  const n0 = (n * (n - 1)) / 2;
  return (nc - nd) / Math.sqrt((n0 - tx) * (n0 - ty));
}

test("tau-b of a hand-computed case with ties in both variables", () => {
  // x = [1,2,2,3], y = [1,3,2,3]. Pairs by index: (0,1) (0,2) (0,3) (2,3) concordant,
  // (1,2) tied in x, (1,3) tied in y: nc = 4, nd = 0, n0 = 6, so tau_b = 4 / sqrt(5 * 5) = 0.8.
  assert.equal(kendallTau([1, 2, 2, 3], [1, 3, 2, 3]), 0.8);
  assert.equal(kendallTau([1, 2, 3, 4], [4, 3, 2, 1]), -1);
  assert.equal(kendallTau([1, 2, 3], [1, 2, 3]), 1);
  // scipy.stats.kendalltau([12,2,1,12,2],[1,4,7,1,0]) = -0.47140452079103173
  assert.ok(Math.abs(kendallTau([12, 2, 1, 12, 2], [1, 4, 7, 1, 0]) - -0.47140452079103173) < 1e-12);
  assert.ok(Number.isNaN(kendallTau([1, 1, 1], [1, 2, 3])), "undefined when one variable is constant");
});

test("tau-b equals the direct pair count on random data with many ties", () => {
  const rng = new Rng(5);
  for (const n of [2, 7, 50, 400]) {
    const x = Array.from({ length: n }, () => rng.int(6));
    const y = Array.from({ length: n }, (_, i) => (rng.uniform() < 0.5 ? x[i] : rng.int(5)));
    assert.ok(Math.abs(kendallTau(x, y) - bruteTauB(x, y)) < 1e-12, `n=${n}`);
    const u = Array.from({ length: n }, () => rng.uniform()), v = u.map((t) => t + rng.normal(0, 0.3));
    assert.ok(Math.abs(kendallTau(u, v) - bruteTauB(u, v)) < 1e-12, `continuous n=${n}`);
  }
});
