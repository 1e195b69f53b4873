// Procedural Dead Leaves images (Baradad et al. 2021), the fixed image probes' baseline.
// Shapes are painted front to back: each new shape only covers pixels no earlier shape covered,
// until the canvas is covered or `maxShapes` have been placed. Each shape has a uniform random
// centre and colour, a radius r * size with r in [rMin, 1] drawn from p(r) ~ r^-3, and is one of
// circle, square, oriented square, rectangle, triangle or quadrilateral. Values are in [-1, 1].
import { Rng } from "../engine/index.js";

export interface DeadLeavesOptions {
  size?: number;
  channels?: 1 | 3;
  rMin?: number;
  maxShapes?: number;
}

type Inside = (x: number, y: number) => boolean;

function convexPolygon(px: number[], py: number[]): Inside {
  return (x, y) => {
    let sign = 0;
    for (let i = 0; i < px.length; i++) {
      const j = (i + 1) % px.length;
      const c = (px[j] - px[i]) * (y - py[i]) - (py[j] - py[i]) * (x - px[i]);
      if (c !== 0) {
        if (sign === 0) sign = Math.sign(c);
        else if (Math.sign(c) !== sign) return false;
      }
    }
    return true;
  };
}

function shape(rng: Rng, cx: number, cy: number, r: number): Inside {
  const kind = rng.int(6);
  const theta = rng.uniform(0, 2 * Math.PI);
  const rotated = (hw: number, hh: number, angle: number): Inside => {
    const c = Math.cos(angle), s = Math.sin(angle);
    return (x, y) => {
      const dx = x - cx, dy = y - cy;
      return Math.abs(c * dx + s * dy) <= hw && Math.abs(-s * dx + c * dy) <= hh;
    };
  };
  switch (kind) {
    case 0: return (x, y) => (x - cx) ** 2 + (y - cy) ** 2 <= r * r;
    case 1: return rotated(r, r, 0);
    case 2: return rotated(r, r, theta);
    case 3: return rotated(r, r * rng.uniform(0.3, 1), theta);
    default: {
      const n = kind === 4 ? 3 : 4;
      const angles = Array.from({ length: n }, () => rng.uniform(0, 2 * Math.PI)).sort((a, b) => a - b);
      return convexPolygon(angles.map((a) => cx + r * Math.cos(a)), angles.map((a) => cy + r * Math.sin(a)));
    }
  }
}

/** count images [count, channels, size, size], seeded. */
export function deadLeaves(count: number, seed: number, opts: DeadLeavesOptions = {}): Float32Array {
  const size = opts.size ?? 32, channels = opts.channels ?? 1, rMin = opts.rMin ?? 0.03, maxShapes = opts.maxShapes ?? 5000;
  const out = new Float32Array(count * channels * size * size);
  const a = rMin ** -2, b = 1;
  for (let k = 0; k < count; k++) {
    const rng = new Rng(seed, `dead-leaves:${k}`);
    const covered = new Uint8Array(size * size);
    let left = size * size;
    for (let s = 0; s < maxShapes && left > 0; s++) {
      const r = (a - rng.uniform() * (a - b)) ** -0.5 * size;
      const cx = rng.uniform(0, size), cy = rng.uniform(0, size);
      const colour = Array.from({ length: channels }, () => rng.uniform(-1, 1));
      const inside = shape(rng, cx, cy, r);
      const x0 = Math.max(0, Math.floor(cx - r)), x1 = Math.min(size - 1, Math.ceil(cx + r));
      const y0 = Math.max(0, Math.floor(cy - r)), y1 = Math.min(size - 1, Math.ceil(cy + r));
      for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) {
        const p = y * size + x;
        if (covered[p] || !inside(x + 0.5, y + 0.5)) continue;
        covered[p] = 1;
        left--;
        for (let c = 0; c < channels; c++) out[((k * channels + c) * size + y) * size + x] = colour[c];
      }
    }
  }
  return out;
}
