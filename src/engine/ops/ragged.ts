// Zoos of networks that differ in shape (CNN Wild Park): one op runs every network with its own
// geometry, over flat tensors that hold the networks' blocks one after another. Nothing is
// padded, so a 4-channel 3x3 layer costs what it costs beside a 32-channel 7x7 one; padding
// every network to the widest and largest kernel would cost about 8x the work on the
// park's draws. The loops over networks are inside the ops (as inside the zoo conv kernel), so
// a batch of B mixed networks is a handful of op calls per layer, not B forward passes.
import { kernels } from "../backend.js";
import { gradSink, record } from "../autograd.js";
import { ShapeError } from "../errors.js";
import { Tensor } from "../tensor.js";
import type { ConvGeometry } from "../kernels/kernels.js";
import { activationKernels, type ActivationName } from "./activations.js";

/** One network's convolution: its geometry and where its blocks start (in elements). */
export interface RaggedConvSegment {
  geometry: ConvGeometry;
  /** Its input [nImg, C, H, W] in x (the same offset for every network when they share x). */
  x: number;
  /** Its weight [O, C, KH, KW] in w, bias [O] in b, output [nImg, O, OH, OW] in y. */
  w: number;
  b: number;
  y: number;
}

function within(op: string, t: Tensor, offset: number, size: number, what: string): Float32Array {
  if (offset < 0 || offset + size > t.size) throw new ShapeError(op, `${what} [${offset}, ${offset + size}) is outside a tensor of ${t.size} values`);
  return t.data.subarray(offset, offset + size);
}

/** A gradient buffer written by several segments: cleared first unless it accumulates. */
function sharedSink(t: Tensor | null): Float32Array | null {
  const s = gradSink(t);
  if (s === null) return null;
  if (!s.acc) s.g.fill(0);
  return s.g;
}

/**
 * Every segment's conv2d (cross-correlation, as torch) on nImg images: y (flat, ySize values)
 * holds each network's output at its segment's offset.
 */
export function raggedConv2d(x: Tensor, w: Tensor, b: Tensor, segments: readonly RaggedConvSegment[], nImg: number, ySize: number): Tensor {
  const k = kernels();
  const views = segments.map((s) => {
    const g = s.geometry;
    if (g.OH < 1 || g.OW < 1 || g.OH !== Math.floor((g.H + 2 * g.padH - g.KH) / g.strideH) + 1 || g.OW !== Math.floor((g.W + 2 * g.padW - g.KW) / g.strideW) + 1) {
      throw new ShapeError("raggedConv2d", `a segment's output ${g.OH}x${g.OW} does not follow from its input ${g.H}x${g.W}, kernel ${g.KH}x${g.KW}`);
    }
    const shape = { ...g, nNet: 1, nImg, xShared: true };
    return {
      shape,
      x: within("raggedConv2d", x, s.x, nImg * g.C * g.H * g.W, "an input block"),
      w: within("raggedConv2d", w, s.w, g.O * g.C * g.KH * g.KW, "a weight block"),
      b: within("raggedConv2d", b, s.b, g.O, "a bias block"),
      yOffset: s.y, ySize: nImg * g.O * g.OH * g.OW,
    };
  });
  // Segments that tile the output leave nothing to clear.
  const y = tiles(views.map((v) => [v.yOffset, v.ySize]), ySize) ? Tensor.empty([ySize]) : Tensor.zeros([ySize]);
  for (const v of views) {
    if (v.yOffset < 0 || v.yOffset + v.ySize > ySize) throw new ShapeError("raggedConv2d", `an output block [${v.yOffset}, ${v.yOffset + v.ySize}) is outside ${ySize} values`);
    k.conv2dForward(v.shape, v.x, v.w, y.data.subarray(v.yOffset, v.yOffset + v.ySize), v.b, false);
  }
  return record(y, "raggedConv2d", [x, w, b], (g) => {
    const dx = sharedSink(x), dw = sharedSink(w), db = sharedSink(b);
    segments.forEach((s, i) => {
      const v = views[i];
      const gy = g.subarray(v.yOffset, v.yOffset + v.ySize);
      if (dx !== null) k.conv2dBackwardInput(v.shape, gy, v.w, dx.subarray(s.x, s.x + v.x.length), true);
      if (dw !== null) k.conv2dBackwardWeight(v.shape, v.x, gy, dw.subarray(s.w, s.w + v.w.length), true);
      if (db !== null) k.sumChannel(gy, db.subarray(s.b, s.b + v.b.length), 1, nImg, v.shape.O, v.shape.OH * v.shape.OW, true);
    });
  });
}

/** Whether blocks [offset, size] cover [0, total) exactly, in order and without overlap. */
export function tiles(blocks: readonly [number, number][], total: number): boolean {
  let at = 0;
  for (const [offset, size] of blocks) {
    if (offset !== at) return false;
    at += size;
  }
  return at === total;
}

/** A block of x with its own activation. */
export interface RaggedActivationSegment {
  offset: number;
  size: number;
  activation: ActivationName;
  /** Frequency of a "sin" activation (1). */
  w0?: number;
}

/** Each segment's activation on its block; values outside every segment pass through unchanged. */
export function raggedActivation(x: Tensor, segments: readonly RaggedActivationSegment[]): Tensor {
  const y = Tensor.empty(x.shape);
  if (!tiles(segments.map((s) => [s.offset, s.size]), x.size)) y.data.set(x.data);
  const ks = segments.map((s) => {
    within("raggedActivation", x, s.offset, s.size, "a block");
    return activationKernels(s.activation, { w0: s.w0 });
  });
  segments.forEach((s, i) => ks[i].forward(x.data.subarray(s.offset, s.offset + s.size), y.data.subarray(s.offset, s.offset + s.size)));
  return record(y, "raggedActivation", [x], (g) => {
    const s0 = gradSink(x);
    if (s0 === null) return;
    const k = kernels();
    // Identity outside the segments; each segment then overwrites (or adds) its own block.
    if (s0.acc) {
      const outside = Tensor.from(g);
      segments.forEach((s) => outside.data.fill(0, s.offset, s.offset + s.size));
      k.axpby(outside.data, s0.g, 1, 1);
      outside.dispose();
    } else {
      s0.g.set(g);
    }
    segments.forEach((s, i) => {
      const r = (t: Float32Array) => t.subarray(s.offset, s.offset + s.size);
      ks[i].backward(r(x.data), r(y.data), r(g), r(s0.g), s0.acc);
    });
  });
}

/** One network's residual: the first min(cy, cr) channels of a source block added to its block of y. */
export interface RaggedResidualSegment {
  /** Its block of y: nImg x [cy, plane]. */
  y: number;
  cy: number;
  /** Which of the sources, and where its block [nImg, cr, plane] starts. */
  source: number;
  r: number;
  cr: number;
  plane: number;
}

/** y plus each segment's residual from its source (Neural Graphs' rule), as addLeadingChannels per network. */
export function raggedAddLeading(y: Tensor, sources: readonly Tensor[], segments: readonly RaggedResidualSegment[], nImg: number): Tensor {
  const k = kernels();
  const out = Tensor.empty(y.shape);
  out.data.set(y.data);
  for (const s of segments) {
    const src = sources[s.source];
    if (src === undefined) throw new ShapeError("raggedAddLeading", `source ${s.source} of ${sources.length}`);
    within("raggedAddLeading", y, s.y, nImg * s.cy * s.plane, "a block");
    within("raggedAddLeading", src, s.r, nImg * s.cr * s.plane, "a source block");
  }
  const each = (s: RaggedResidualSegment, f: (yAt: number, rAt: number, n: number) => void) => {
    const n = Math.min(s.cy, s.cr) * s.plane;
    for (let i = 0; i < nImg; i++) f(s.y + i * s.cy * s.plane, s.r + i * s.cr * s.plane, n);
  };
  for (const s of segments) {
    const r = sources[s.source].data;
    each(s, (yAt, rAt, n) => k.axpby(r.subarray(rAt, rAt + n), out.data.subarray(yAt, yAt + n), 1, 1));
  }
  return record(out, "raggedAddLeading", [y, ...sources], (g) => {
    const sy = gradSink(y);
    if (sy !== null) k.axpby(g, sy.g, 1, sy.acc ? 1 : 0);
    const sinks = sources.map((t) => (segments.some((s) => sources[s.source] === t) ? sharedSink(t) : null));
    for (const s of segments) {
      const dr = sinks[s.source];
      if (dr === null) continue;
      each(s, (yAt, rAt, n) => k.axpby(g.subarray(yAt, yAt + n), dr.subarray(rAt, rAt + n), 1, 1));
    }
  });
}

/** One network's head: global average pooling of its last feature maps, then its Linear. */
export interface RaggedPoolLinearSegment {
  /** Which of the sources holds its feature maps [nImg, C, plane], from offset x. */
  source: number;
  x: number;
  C: number;
  plane: number;
  /** Its weight [classes, C] in w and bias [classes] in b. */
  w: number;
  b: number;
}

/** Logits [segments.length, nImg, classes]: for each network, linear(mean over the plane). */
export function raggedPoolLinear(sources: readonly Tensor[], w: Tensor, b: Tensor, segments: readonly RaggedPoolLinearSegment[], nImg: number, classes: number): Tensor {
  const k = kernels();
  const pooled = segments.map((s) => {
    const x = within("raggedPoolLinear", sources[s.source] ?? Tensor.empty([0]), s.x, nImg * s.C * s.plane, "a feature block");
    within("raggedPoolLinear", w, s.w, classes * s.C, "a weight block");
    within("raggedPoolLinear", b, s.b, classes, "a bias block");
    // Kept for backward, as every op keeps what its backward reads (freed with the scope).
    const p = Tensor.empty([nImg * s.C]);
    k.meanLast(x, p.data, nImg * s.C, s.plane);
    return p.data;
  });
  const out = Tensor.empty([segments.length, nImg, classes]);
  segments.forEach((s, n) => {
    const o = out.data.subarray(n * nImg * classes, (n + 1) * nImg * classes);
    for (let i = 0; i < nImg; i++) o.set(b.data.subarray(s.b, s.b + classes), i * classes);
    k.gemm(false, true, nImg, classes, s.C, 1, pooled[n], s.C, w.data.subarray(s.w), s.C, 1, o, classes);
  });
  return record(out, "raggedPoolLinear", [...sources, w, b], (g) => {
    const dw = sharedSink(w), db = sharedSink(b);
    const sinks = sources.map((t) => (segments.some((s) => sources[s.source] === t) ? sharedSink(t) : null));
    segments.forEach((s, n) => {
      const go = g.subarray(n * nImg * classes, (n + 1) * nImg * classes);
      if (dw !== null) k.gemm(true, false, classes, s.C, nImg, 1, go, classes, pooled[n], s.C, 1, dw.subarray(s.w), s.C);
      if (db !== null) for (let i = 0; i < nImg; i++) k.axpby(go.subarray(i * classes, (i + 1) * classes), db.subarray(s.b, s.b + classes), 1, 1);
      const dx = sinks[s.source];
      if (dx !== null) {
        const dp = Tensor.empty([nImg * s.C]);
        k.gemm(false, false, nImg, s.C, classes, 1, go, classes, w.data.subarray(s.w), s.C, 0, dp.data, s.C);
        k.meanLastBackward(dp.data, dx.subarray(s.x, s.x + nImg * s.C * s.plane), nImg * s.C, s.plane, true);
        dp.dispose();
      }
    });
  });
}
