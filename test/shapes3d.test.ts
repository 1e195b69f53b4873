// Procedural 3-D shape classes: each canonical shape is where it should be, a pose moves it as
// a rotation and a scale, point clouds lie on the surface, and draws are seeded.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../src/engine/index.js";
import { CANONICAL_SHAPES, SHAPE_CLASSES, drawShape, sampleOccupancy, samplePointCloud } from "../src/data/shapes3d.js";

// A point inside each canonical shape, and one outside it but inside the unit ball.
const INSIDE: Record<string, [number, number, number]> = {
  sphere: [0.5, 0, 0], cube: [0.4, 0.4, 0.4], cylinder: [0.35, 0, 0.45], cone: [0, 0, 0.5], torus: [0.5, 0, 0.1],
  capsule: [0, 0.2, 0.6], pyramid: [0.4, 0.4, -0.4], ellipsoid: [0.7, 0, 0], prism: [0, 0.55, 0], compound: [0, 0, 0.55],
};
const OUTSIDE: Record<string, [number, number, number]> = {
  sphere: [0.65, 0, 0], cube: [0.45, 0, 0], cylinder: [0.45, 0, 0], cone: [0.3, 0, 0.5], torus: [0, 0, 0],
  capsule: [0.35, 0, 0], pyramid: [0.4, 0.4, 0.3], ellipsoid: [0, 0.5, 0], prism: [0, -0.35, 0], compound: [0.4, 0.4, 0.3],
};

test("ten shape classes, each holding its inside point and not its outside one", () => {
  assert.equal(SHAPE_CLASSES.length, 10);
  for (const name of SHAPE_CLASSES) {
    const f = CANONICAL_SHAPES[name];
    assert.ok(f(...INSIDE[name]) < 0, `${name}: ${INSIDE[name]} is inside (sdf ${f(...INSIDE[name])})`);
    assert.ok(f(...OUTSIDE[name]) > 0, `${name}: ${OUTSIDE[name]} is outside (sdf ${f(...OUTSIDE[name])})`);
    assert.ok(f(0.99, 0.99, 0.99) > 0 && f(0, 0, 0.999) > 0 && f(-0.999, 0, 0) > 0, `${name} stays inside the unit ball`);
  }
});

test("a pose rotates and scales the canonical shape", () => {
  const rng = new Rng(3, "pose");
  for (let cls = 0; cls < SHAPE_CLASSES.length; cls++) {
    const s = drawShape(cls, rng);
    const R = s.rotation;
    // R is a rotation: R R^T = I
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) {
      const dot = R[3 * i] * R[3 * j] + R[3 * i + 1] * R[3 * j + 1] + R[3 * i + 2] * R[3 * j + 2];
      assert.ok(Math.abs(dot - (i === j ? 1 : 0)) < 1e-12);
    }
    assert.ok(s.scale >= 0.75 && s.scale <= 1);
    // the canonical inside point, posed (x = s R c), is inside the drawn shape; the outside one is not
    const pose = (c: [number, number, number]): [number, number, number] =>
      [0, 1, 2].map((i) => s.scale * (R[3 * i] * c[0] + R[3 * i + 1] * c[1] + R[3 * i + 2] * c[2])) as [number, number, number];
    assert.ok(s.sdf(...pose(INSIDE[s.name])) < 0, `${s.name} posed inside`);
    assert.ok(s.sdf(...pose(OUTSIDE[s.name])) > 0, `${s.name} posed outside`);
  }
  assert.throws(() => drawShape(10, rng), /shape class 10 is not one of 0\.\.9/);
});

test("point clouds lie on the surface within the noise, and are seeded", () => {
  for (let cls = 0; cls < SHAPE_CLASSES.length; cls++) {
    const s = drawShape(cls, new Rng(cls, "shape"), { noise: 0 });
    const pts = samplePointCloud(s, 300, new Rng(1, "cloud"));
    for (let i = 0; i < 300; i++) {
      const d = s.sdf(pts[3 * i], pts[3 * i + 1], pts[3 * i + 2]);
      assert.ok(Math.abs(d) < 2e-4, `${s.name} point ${i} is ${d} from the surface`);
    }
    assert.deepEqual(samplePointCloud(s, 300, new Rng(1, "cloud")), pts, "the same seed, the same cloud");
  }
  // noise moves points off the surface by about its standard deviation
  const noisy = drawShape(0, new Rng(0, "shape"), { noise: 0.02 });
  const p = samplePointCloud(noisy, 2000, new Rng(2, "cloud"));
  let sq = 0;
  for (let i = 0; i < 2000; i++) sq += noisy.sdf(p[3 * i], p[3 * i + 1], p[3 * i + 2]) ** 2;
  const rms = Math.sqrt(sq / 2000);
  assert.ok(rms > 0.015 && rms < 0.025, `sphere surface noise rms ${rms}`);
});

test("occupancy samples: labels match the sign of the distance, both classes present", () => {
  const s = drawShape(4, new Rng(9, "shape"));
  const { points, occupancy } = sampleOccupancy(s, 1000, new Rng(4, "occ"));
  let inside = 0;
  for (let i = 0; i < 1000; i++) {
    assert.equal(occupancy[i], s.sdf(points[3 * i], points[3 * i + 1], points[3 * i + 2]) < 0 ? 1 : 0);
    inside += occupancy[i];
  }
  assert.ok(inside > 100 && inside < 900, `torus: ${inside} of 1000 samples inside`);
});
