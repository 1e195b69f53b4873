// Procedural 3-D shapes for point-cloud INR zoos (ShapeNet is not available here): ten classes,
// each a signed distance function in a canonical frame inside the unit ball, drawn with a random
// rotation, scale and surface noise, and sampled as a point cloud on its surface (as ShapeNet's
// are) or as occupancy samples for fitting. Every draw comes from a seeded Rng.
import type { Rng } from "../engine/index.js";

export const SHAPE_CLASSES = ["sphere", "cube", "cylinder", "cone", "torus", "capsule", "pyramid", "ellipsoid", "prism", "compound"] as const;
export type ShapeClass = (typeof SHAPE_CLASSES)[number];

type Sdf = (x: number, y: number, z: number) => number;

const len2 = (a: number, b: number) => Math.hypot(a, b);
const len3 = (a: number, b: number, c: number) => Math.hypot(a, b, c);

function box(hx: number, hy: number, hz: number): Sdf {
  return (x, y, z) => {
    const qx = Math.abs(x) - hx, qy = Math.abs(y) - hy, qz = Math.abs(z) - hz;
    return len3(Math.max(qx, 0), Math.max(qy, 0), Math.max(qz, 0)) + Math.min(Math.max(qx, qy, qz), 0);
  };
}

function cylinder(r: number, h: number): Sdf {
  return (x, y, z) => {
    const dx = len2(x, y) - r, dz = Math.abs(z) - h;
    return Math.min(Math.max(dx, dz), 0) + len2(Math.max(dx, 0), Math.max(dz, 0));
  };
}

function sphere(r: number): Sdf {
  return (x, y, z) => len3(x, y, z) - r;
}

/** A cone along z: base radius r at z = -h, apex at z = +h, as the intersection of its base and side half-spaces (a distance bound, exact in sign). */
function cone(r: number, h: number): Sdf {
  const n = Math.hypot(2 * h, r);
  return (x, y, z) => Math.max(-z - h, (2 * h * len2(x, y) + r * (z - h)) / n);
}

function torus(R: number, r: number): Sdf {
  return (x, y, z) => len2(len2(x, y) - R, z) - r;
}

function capsule(h: number, r: number): Sdf {
  return (x, y, z) => len3(x, y, z - Math.min(Math.max(z, -h), h)) - r;
}

/** A square pyramid: base half-width b at z = -h, apex at z = +h, as the intersection of its five half-spaces (a distance bound, exact in sign). */
function pyramid(b: number, h: number): Sdf {
  const nz = b / Math.hypot(b, 2 * h), nxy = (2 * h) / Math.hypot(b, 2 * h);
  return (x, y, z) => Math.max(
    -z - h,
    nxy * x + nz * (z - h), -nxy * x + nz * (z - h),
    nxy * y + nz * (z - h), -nxy * y + nz * (z - h),
  );
}

/** An ellipsoid with radii (a, b, c): the first-order distance estimate, exact in sign. */
function ellipsoid(a: number, b: number, c: number): Sdf {
  return (x, y, z) => {
    const k0 = len3(x / a, y / b, z / c), k1 = len3(x / (a * a), y / (b * b), z / (c * c));
    return k1 === 0 ? -Math.min(a, b, c) : (k0 * (k0 - 1)) / k1;
  };
}

/** A triangular prism along z: an equilateral triangle of circumradius r, half-length h. */
function prism(r: number, h: number): Sdf {
  return (x, y, z) => {
    // distances to the triangle's three edges (apothem r/2) and to the end caps
    let d = -Infinity;
    for (let k = 0; k < 3; k++) {
      const a = (2 * Math.PI * k) / 3 + Math.PI / 2;
      d = Math.max(d, -(x * Math.cos(a) + y * Math.sin(a)) - r / 2);
    }
    return Math.max(d, Math.abs(z) - h);
  };
}

/** A sphere resting on a box (a union: the smaller distance). */
function compound(): Sdf {
  const base = box(0.4, 0.4, 0.25), top = sphere(0.32);
  return (x, y, z) => Math.min(base(x, y, z + 0.3), top(x, y, z - 0.3));
}

/** Each class's canonical shape, all inside the unit ball. */
export const CANONICAL_SHAPES: Record<ShapeClass, Sdf> = {
  sphere: sphere(0.6),
  cube: box(0.42, 0.42, 0.42),
  cylinder: cylinder(0.4, 0.5),
  cone: cone(0.5, 0.55),
  torus: torus(0.5, 0.18),
  capsule: capsule(0.4, 0.3),
  pyramid: pyramid(0.5, 0.45),
  ellipsoid: ellipsoid(0.75, 0.45, 0.3),
  prism: prism(0.6, 0.45),
  compound: compound(),
};

/** A drawn shape: a class in a random pose. */
export interface Shape3d {
  readonly cls: number;
  readonly name: ShapeClass;
  /** Row-major rotation applied to the canonical shape. */
  readonly rotation: Float64Array;
  readonly scale: number;
  /** Standard deviation of the Gaussian noise on sampled surface points. */
  readonly noise: number;
  /** Signed distance (a bound for some classes; always the right sign) in the posed frame. */
  sdf(x: number, y: number, z: number): number;
}

export interface ShapeDrawOptions {
  /** Range of the scale (default [0.75, 1]): a posed shape stays inside the unit ball. */
  scale?: [number, number];
  /** Surface noise standard deviation (default 0.01). */
  noise?: number;
}

/** A uniformly random rotation (from a uniformly random unit quaternion). */
function randomRotation(rng: Rng): Float64Array {
  let q: number[];
  do q = [rng.normal(), rng.normal(), rng.normal(), rng.normal()]; while (Math.hypot(...q) < 1e-6);
  const n = Math.hypot(...q);
  const [w, x, y, z] = q.map((v) => v / n);
  return Float64Array.from([
    1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
    2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
    2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
  ]);
}

export function drawShape(cls: number, rng: Rng, opts: ShapeDrawOptions = {}): Shape3d {
  const name = SHAPE_CLASSES[cls];
  if (name === undefined) throw new RangeError(`shape class ${cls} is not one of 0..${SHAPE_CLASSES.length - 1}`);
  const [lo, hi] = opts.scale ?? [0.75, 1];
  const scale = lo + (hi - lo) * rng.uniform();
  const rotation = randomRotation(rng);
  const canonical = CANONICAL_SHAPES[name];
  const R = rotation;
  return {
    cls, name, rotation, scale, noise: opts.noise ?? 0.01,
    // x = s R c  <=>  c = R^T x / s; distances scale by s
    sdf: (x, y, z) => scale * canonical(
      (R[0] * x + R[3] * y + R[6] * z) / scale, (R[1] * x + R[4] * y + R[7] * z) / scale, (R[2] * x + R[5] * y + R[8] * z) / scale),
  };
}

function gradient(f: Sdf, x: number, y: number, z: number, h = 1e-4): [number, number, number] {
  return [(f(x + h, y, z) - f(x - h, y, z)) / (2 * h), (f(x, y + h, z) - f(x, y - h, z)) / (2 * h), (f(x, y, z + h) - f(x, y, z - h)) / (2 * h)];
}

/**
 * n points on the shape's surface with its noise, [n, 3]: uniform points in the unit cube
 * projected onto the zero level set along the distance gradient (kept when they converge),
 * then jittered by Gaussian noise.
 */
export function samplePointCloud(shape: Shape3d, n: number, rng: Rng): Float32Array {
  const out = new Float32Array(3 * n);
  const f = (x: number, y: number, z: number) => shape.sdf(x, y, z);
  let k = 0, tries = 0;
  while (k < n) {
    if (++tries > 50 * n + 1000) throw new Error(`samplePointCloud: the ${shape.name} surface did not attract enough points`);
    let x = 2 * rng.uniform() - 1, y = 2 * rng.uniform() - 1, z = 2 * rng.uniform() - 1;
    let d = f(x, y, z);
    for (let it = 0; it < 12 && Math.abs(d) > 1e-5; it++) {
      const [gx, gy, gz] = gradient(f, x, y, z);
      const g2 = gx * gx + gy * gy + gz * gz;
      if (!(g2 > 1e-12)) break;
      x -= (d * gx) / g2; y -= (d * gy) / g2; z -= (d * gz) / g2;
      d = f(x, y, z);
    }
    if (!(Math.abs(d) <= 1e-4) || Math.max(Math.abs(x), Math.abs(y), Math.abs(z)) > 1) continue;
    out[3 * k] = x + shape.noise * rng.normal();
    out[3 * k + 1] = y + shape.noise * rng.normal();
    out[3 * k + 2] = z + shape.noise * rng.normal();
    k++;
  }
  return out;
}

/**
 * Occupancy samples for fitting an INR: n points, [n, 3], a fraction near the surface (surface
 * points jittered by 0.05) and the rest uniform in [-1, 1]^3; occupancy 1 inside, 0 outside.
 */
export function sampleOccupancy(shape: Shape3d, n: number, rng: Rng, nearSurface = 0.5): { points: Float32Array; occupancy: Float32Array } {
  const near = Math.round(n * nearSurface);
  const points = new Float32Array(3 * n);
  points.set(samplePointCloud({ ...shape, noise: 0.05 }, near, rng));
  for (let i = 3 * near; i < 3 * n; i++) points[i] = 2 * rng.uniform() - 1;
  const occupancy = new Float32Array(n);
  for (let i = 0; i < n; i++) occupancy[i] = shape.sdf(points[3 * i], points[3 * i + 1], points[3 * i + 2]) < 0 ? 1 : 0;
  return { points, occupancy };
}
