// The image probe generator at any input size: a 28x28 network's probes are the central window
// of the 32x32 ones (same seed, same layers), larger sides add one stride-2 layer per doubling.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng, Tensor, cropCenter, noGrad } from "../src/engine/index.js";
import { ImageGenerator } from "../src/probes/image-generator.js";
import { makeProbeSource } from "../src/probes/make.js";

test("cropCenter takes the window starting at half the margin, rounded down", () => {
  const x = Tensor.from(Float32Array.from({ length: 2 * 5 * 6 }, (_, i) => i), [2, 5, 6]);
  const y = cropCenter(x, 2, 3);
  // margins 3 and 3: rows 1..2, columns 1..3 of each plane
  assert.deepEqual([...y.data], [7, 8, 9, 13, 14, 15, 37, 38, 39, 43, 44, 45]);
  assert.equal(cropCenter(x, 5, 6), x, "the whole image is the image");
  assert.throws(() => cropCenter(x, 6, 6), /a 6x6 window does not fit in \[2,5,6\]/);
});

test("image generator: 28x28 probes are the 32x32 ones' central window; 64x64 adds a layer", () => noGrad(() => {
  const g32 = new ImageGenerator(5, new Rng(4, "g"), { channels: 1 });
  const g28 = new ImageGenerator(5, new Rng(4, "g"), { channels: 1, size: [28, 28] });
  assert.deepEqual(g28.shape, [1, 28, 28]);
  assert.equal(g28.layers.length, g32.layers.length);
  const a = g32.forward(), b = g28.forward();
  assert.deepEqual(b.shape, [5, 1, 28, 28]);
  assert.deepEqual([...b.data], [...cropCenter(a, 28, 28).data]);
  const g64 = new ImageGenerator(2, new Rng(4, "g"), { channels: 3, size: [64, 48] });
  assert.equal(g64.layers.length, g32.layers.length + 1);
  assert.deepEqual(g64.forward().shape, [2, 3, 64, 48]);
  assert.throws(() => new ImageGenerator(2, new Rng(1), { size: [2048, 8] }), /1 to 1024 pixels a side, not 2048x8/);
  const source = makeProbeSource({ method: "probegen", count: 3 }, [1, 28, 28], new Rng(2));
  assert.deepEqual(source.forward().shape, [3, 1, 28, 28]);
}));
