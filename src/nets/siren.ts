// SIREN implicit neural representations (DWSNets convention), evaluated zoo-batched:
// Linear(2,32), sin(30.), Linear(32,32), sin(30.), Linear(32,1), + 0.5.
// Parameters are stacked over networks under DWSNets' state-dict names: seq.{i}.weight
// [B, out, in] and seq.{i}.bias [B, out].
import { addScalar, biasSin, linear, noGrad, tidy, Tensor, ShapeError, fmtShape } from "../engine/index.js";
import { fieldsOf } from "./spec-check.js";
import { withHiddenReadout } from "./hidden-readout.js";

export interface SirenArchitecture {
  inDim: number;
  hidden: number[];
  outDim: number;
  w0: number;
  outputOffset: number;
}

export const DWSNETS_SIREN: SirenArchitecture = { inDim: 2, hidden: [32, 32], outDim: 1, w0: 30, outputOffset: 0.5 };

/** A SIREN architecture as recorded (zoo.json), checked: an ArchitectureError names the bad field. */
export function parseSirenArchitecture(spec: unknown, path = "architecture"): SirenArchitecture {
  const f = fieldsOf(spec, path);
  return { inDim: f.int("inDim", 1), hidden: f.ints("hidden", 1), outDim: f.int("outDim", 1), w0: f.num("w0", true), outputOffset: f.num("outputOffset") };
}

/** Parameter names and per-network shapes, in state-dict order. */
export function sirenParameterShapes(arch: SirenArchitecture): [string, number[]][] {
  const dims = [arch.inDim, ...arch.hidden, arch.outDim];
  const out: [string, number[]][] = [];
  for (let i = 0; i + 1 < dims.length; i++) {
    out.push([`seq.${i}.weight`, [dims[i + 1], dims[i]]], [`seq.${i}.bias`, [dims[i + 1]]]);
  }
  return out;
}

/**
 * Evaluates B SIRENs at coordinates x ([K, inDim] shared, or [B, K, inDim]) -> [B, K, outDim].
 * params maps each name of sirenParameterShapes to a tensor stacked over the B networks.
 */
export function sirenForward(arch: SirenArchitecture, params: ReadonlyMap<string, Tensor>, x: Tensor, onHidden?: (layer: number, h: Tensor) => void): Tensor {
  const layers = arch.hidden.length + 1;
  let h = x;
  for (let i = 0; i < layers; i++) {
    const w = params.get(`seq.${i}.weight`), b = params.get(`seq.${i}.bias`);
    if (w === undefined || b === undefined) throw new ShapeError("sirenForward", `missing parameters seq.${i}.weight/bias`);
    if (w.rank !== 3) throw new ShapeError("sirenForward", `seq.${i}.weight ${fmtShape(w.shape)} must be stacked [B,out,in]`);
    // Hidden layers: sin(w0 (x W^T + b)) with bias and frequency fused into the sine kernel.
    h = i < layers - 1 ? biasSin(linear(h, w), b, arch.w0) : linear(h, w, b);
    if (i < layers - 1) onHidden?.(i, h);
  }
  return arch.outputOffset !== 0 ? addScalar(h, arch.outputOffset) : h;
}

/** The hidden readout (hidden-readout.ts): outputs and every sine layer's neurons, [B, K, outDim + slots * CHANNEL_SUMMARY_STATS]. */
export function sirenForwardHidden(arch: SirenArchitecture, params: ReadonlyMap<string, Tensor>, x: Tensor, slots: number): Tensor {
  const layers: Tensor[] = [];
  const out = sirenForward(arch, params, x, (_, h) => layers.push(h));
  return withHiddenReadout(out, layers, slots);
}

/** Forward FLOPs to evaluate one SIREN at one coordinate (2 per multiply-add, 1 per sine). */
export function sirenFlopsPerPoint(arch: SirenArchitecture): number {
  const dims = [arch.inDim, ...arch.hidden, arch.outDim];
  let f = 0;
  for (let i = 0; i + 1 < dims.length; i++) f += 2 * dims[i] * dims[i + 1] + dims[i + 1];
  return f + arch.hidden.reduce((s, h) => s + h, 0);
}

/**
 * SIREN initialisations:
 * - "dwsnets": what DWSNets' code did for the public MNIST/FMNIST INR zoos — every sine layer,
 *   the first included, draws W ~ U(-sqrt(6/in)/w0, sqrt(6/in)/w0) with zero bias; the last
 *   Linear keeps PyTorch's default W, b ~ U(-1/sqrt(in), 1/sqrt(in)).
 * - "siren": the same, except the first layer's W ~ U(-1/in, 1/in) as in the SIREN paper,
 *   which fits far better (about 40 dB on MNIST within ~540 steps instead of ~23.5 dB after 1000).
 */
export type SirenInit = "dwsnets" | "siren";
export const SIREN_INITS: readonly SirenInit[] = ["dwsnets", "siren"];

/** Fills one network's parameters (state-dict order; each array its layer's values). */
export function initSiren(arch: SirenArchitecture, scheme: SirenInit, rng: { uniform(lo: number, hi: number): number }, params: Float32Array[]): void {
  const shapes = sirenParameterShapes(arch);
  const layers = shapes.length / 2;
  for (let l = 0; l < layers; l++) {
    const [, [, inF]] = shapes[2 * l];
    const w = params[2 * l], b = params[2 * l + 1];
    const last = l === layers - 1;
    let bound: number;
    if (last) bound = 1 / Math.sqrt(inF);
    else if (l === 0 && scheme === "siren") bound = 1 / inF;
    else bound = Math.sqrt(6 / inF) / arch.w0;
    for (let i = 0; i < w.length; i++) w[i] = rng.uniform(-bound, bound);
    for (let i = 0; i < b.length; i++) b[i] = last ? rng.uniform(-bound, bound) : 0;
  }
}

/**
 * The coordinates of a rows x cols pixel grid in [-1, 1]^2, DWSNets' order: pixel (r, c) at
 * index r * cols + c has coordinate (linspace(-1,1,rows)[r], linspace(-1,1,cols)[c]), so the
 * second coordinate varies fastest.
 */
export function gridCoordinates(rows: number, cols: number): Float32Array {
  const lin = (n: number, i: number) => (n === 1 ? 0 : -1 + (2 * i) / (n - 1));
  const out = new Float32Array(rows * cols * 2);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      out[2 * (r * cols + c)] = lin(rows, r);
      out[2 * (r * cols + c) + 1] = lin(cols, c);
    }
  }
  return out;
}

/**
 * A 3-D SIREN (a shape INR) drawn as an image over (x, y) in [-1, 1]^2, row-major: its output on
 * the plane z = slice, or, with slice null, the largest output along z over `depth` points
 * (a silhouette of the occupancy, seen down the z axis).
 */
export function renderSiren3d(arch: SirenArchitecture, params: ReadonlyMap<string, Float32Array>, size: number, slice: number | null, depth = 33): Float32Array {
  if (arch.inDim !== 3) throw new RangeError(`renderSiren3d draws SIRENs with 3 inputs, this one has ${arch.inDim}`);
  const zs = slice !== null ? [slice] : Array.from({ length: depth }, (_, i) => (depth === 1 ? 0 : -1 + (2 * i) / (depth - 1)));
  const plane = gridCoordinates(size, size);
  const coords = new Float32Array(size * size * zs.length * 3);
  let k = 0;
  for (let p = 0; p < size * size; p++) {
    for (const z of zs) { coords[k++] = plane[2 * p]; coords[k++] = plane[2 * p + 1]; coords[k++] = z; }
  }
  const out = sirenOnPoints(arch, params, coords);
  const img = new Float32Array(size * size);
  for (let p = 0; p < size * size; p++) {
    let m = -Infinity;
    for (let j = 0; j < zs.length; j++) m = Math.max(m, out[p * zs.length + j]);
    img[p] = m;
  }
  return img;
}

/** One SIREN's output on a size x size grid over [-1, 1]^2, row-major ([size * size]). */
export function renderSiren(arch: SirenArchitecture, params: ReadonlyMap<string, Float32Array>, size: number): Float32Array {
  return sirenOnPoints(arch, params, gridCoordinates(size, size));
}

/** One SIREN's output at each of the points (arch.inDim coordinates each). */
function sirenOnPoints(arch: SirenArchitecture, params: ReadonlyMap<string, Float32Array>, coords: Float32Array): Float32Array {
  return tidy(() => {
    const stacked = new Map(sirenParameterShapes(arch).map(([name, shape]) => {
      const values = params.get(name);
      if (values === undefined) throw new ShapeError("renderSiren", `missing parameter ${name}`);
      return [name, Tensor.from(values, [1, ...shape])];
    }));
    const out = noGrad(() => sirenForward(arch, stacked, Tensor.from(coords, [coords.length / arch.inDim, arch.inDim])));
    return Float32Array.from(out.data);
  });
}
