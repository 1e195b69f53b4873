// CNNs of different architectures (CNN Wild Park's depths, widths, kernels, activations and
// residual wiring) evaluated together: layer i of every network that has one is one ragged
// convolution, each network keeping its own shape (engine/ops/ragged.ts). Parameters are packed
// per layer index: weights[i] holds the layer-i kernels of those networks one after another.
import { CHANNEL_SUMMARY_STATS, channelSummary, concatLast, ShapeError, Tensor, type ChannelSummarySegment, type ConvGeometry } from "../engine/index.js";
import { hiddenFeaturesPerProbe } from "./hidden-readout.js";
import { raggedActivation, raggedAddLeading, raggedConv2d, raggedPoolLinear, type RaggedActivationSegment, type RaggedConvSegment, type RaggedPoolLinearSegment, type RaggedResidualSegment } from "../engine/ops/ragged.js";
import { cnnParameterShapes, residualSources, type CnnArchitecture } from "./cnn.js";

export interface RaggedCnnLayout {
  readonly archs: readonly CnnArchitecture[];
  readonly inChannels: number;
  readonly classes: number;
  /** Per layer index: the networks that have that layer, and where their blocks start. */
  readonly layers: { nets: number[]; w: number[]; b: number[]; wSize: number; bSize: number }[];
  readonly fc: { w: number[]; b: number[]; wSize: number; bSize: number };
  readonly residual: number[][];
}

/** Where every network's parameters go; all networks must share input channels and classes. */
export function raggedCnnLayout(archs: readonly CnnArchitecture[]): RaggedCnnLayout {
  if (archs.length === 0) throw new RangeError("raggedCnnLayout: no networks");
  const { inChannels, classes } = archs[0];
  archs.forEach((a, n) => {
    if (a.inChannels !== inChannels || a.classes !== classes) {
      throw new RangeError(`network ${n} takes ${a.inChannels} channels to ${a.classes} classes, network 0 ${inChannels} to ${classes}: they cannot share inputs`);
    }
  });
  const depth = Math.max(...archs.map((a) => a.layers.length));
  const layers = Array.from({ length: depth }, () => ({ nets: [] as number[], w: [] as number[], b: [] as number[], wSize: 0, bSize: 0 }));
  const fc = { w: [] as number[], b: [] as number[], wSize: 0, bSize: 0 };
  archs.forEach((a, n) => {
    let c = a.inChannels;
    a.layers.forEach((l, i) => {
      const L = layers[i];
      L.nets.push(n);
      L.w.push(L.wSize);
      L.b.push(L.bSize);
      L.wSize += l.channels * c * l.kernel * l.kernel;
      L.bSize += l.channels;
      c = l.channels;
    });
    fc.w.push(fc.wSize);
    fc.b.push(fc.bSize);
    fc.wSize += classes * c;
    fc.bSize += classes;
  });
  return { archs, inChannels, classes, layers, fc, residual: archs.map((a) => residualSources(a)) };
}

/** Packed parameters: per layer index a flat weight and bias tensor, then the fc layer's. */
export interface RaggedCnnParams {
  weights: Tensor[];
  biases: Tensor[];
  fcWeight: Tensor;
  fcBias: Tensor;
}

/** All packed tensors, layer by layer, then fc. */
export function raggedCnnTensors(p: RaggedCnnParams): Tensor[] {
  return [...p.weights.flatMap((w, i) => [w, p.biases[i]]), p.fcWeight, p.fcBias];
}

/**
 * Packs each network's parameters (by cnnParameterShapes name) into the layout; paramOf(n, name,
 * size) returns network n's values.
 */
export function packRaggedCnn(layout: RaggedCnnLayout, paramOf: (net: number, name: string, size: number) => ArrayLike<number>,
  opts: { persistent?: boolean } = {}): RaggedCnnParams {
  const fill = (size: number, blocks: [number, number, string][]) => {
    const t = Tensor.zeros([size], opts);
    for (const [net, at, name] of blocks) {
      const size1 = blockSize(layout, net, name);
      const v = paramOf(net, name, size1);
      if (v.length !== size1) throw new RangeError(`network ${net}: parameter ${name} has ${v.length} values, its architecture needs ${size1}`);
      t.data.set(v, at);
    }
    return t;
  };
  return {
    weights: layout.layers.map((L, i) => fill(L.wSize, L.nets.map((n, j) => [n, L.w[j], `layers.${i}.weight`]))),
    biases: layout.layers.map((L, i) => fill(L.bSize, L.nets.map((n, j) => [n, L.b[j], `layers.${i}.bias`]))),
    fcWeight: fill(layout.fc.wSize, layout.archs.map((_, n) => [n, layout.fc.w[n], "fc.weight"])),
    fcBias: fill(layout.fc.bSize, layout.archs.map((_, n) => [n, layout.fc.b[n], "fc.bias"])),
  };
}

function blockSize(layout: RaggedCnnLayout, net: number, name: string): number {
  const shape = cnnParameterShapes(layout.archs[net]).find(([n]) => n === name)?.[1];
  if (shape === undefined) throw new RangeError(`network ${net} has no parameter ${name}`);
  return shape.reduce((a, b) => a * b, 1);
}

/** Where network n's parameters lie in the packed tensors: [tensor, offset, size] per parameter, cnnParameterShapes order. */
export function raggedCnnBlocks(layout: RaggedCnnLayout, p: RaggedCnnParams, net: number): [Tensor, number, number][] {
  const a = layout.archs[net];
  const out: [Tensor, number, number][] = [];
  let c = a.inChannels;
  a.layers.forEach((l, i) => {
    const j = layout.layers[i].nets.indexOf(net);
    out.push([p.weights[i], layout.layers[i].w[j], l.channels * c * l.kernel * l.kernel], [p.biases[i], layout.layers[i].b[j], l.channels]);
    c = l.channels;
  });
  out.push([p.fcWeight, layout.fc.w[net], layout.classes * c], [p.fcBias, layout.fc.b[net], layout.classes]);
  return out;
}

/** Network n's parameters as separate arrays (copies), cnnParameterShapes order. */
export function unpackRaggedCnn(layout: RaggedCnnLayout, p: RaggedCnnParams, net: number): Float32Array[] {
  return raggedCnnBlocks(layout, p, net).map(([t, at, size]) => Float32Array.from(t.data.subarray(at, at + size)));
}

/**
 * Every network of the layout on images x -> logits [networks, nImg, classes]. x is
 * [nImg, C, H, W] shared by all networks, or [networks, nImg, C, H, W], one set each. With
 * hiddenSlots, the hidden readout (hidden-readout.ts) too: [networks, nImg, classes + hiddenSlots
 * * CHANNEL_SUMMARY_STATS], layer i of each network in slot i.
 */
export function cnnForwardRagged(layout: RaggedCnnLayout, p: RaggedCnnParams, x: Tensor, opts: { hiddenSlots?: number } = {}): Tensor {
  const B = layout.archs.length;
  const shared = x.rank === 4;
  if (!(shared || (x.rank === 5 && x.shape[0] === B)) || x.shape[x.rank - 3] !== layout.inChannels) {
    throw new ShapeError("cnnForwardRagged", `images [${x.shape.join(",")}] must be [K,${layout.inChannels},H,W] or [${B},K,${layout.inChannels},H,W]`);
  }
  const nImg = x.shape[x.rank - 4];
  const H0 = x.shape[x.rank - 2], W0 = x.shape[x.rank - 1];
  // Per network: where its current feature maps are (which tensor, offset), their channels and size.
  // A network that stops before the deepest keeps its last maps there for the head.
  const at = layout.archs.map((a, n) => ({ source: -1, offset: shared ? 0 : n * nImg * a.inChannels * H0 * W0, C: a.inChannels, H: H0, W: W0 }));
  const outs: Tensor[] = [];
  // Per network, per layer: offset of that layer's activated output in outs[layer].
  const offsets = layout.archs.map(() => [] as number[]);
  // Per network, per layer: the size of that layer's maps (a residual must match it).
  const sizes = layout.archs.map(() => [] as [number, number][]);
  layout.layers.forEach((L, i) => {
    let ySize = 0;
    const conv: RaggedConvSegment[] = [], acts: RaggedActivationSegment[] = [], res: RaggedResidualSegment[] = [];
    L.nets.forEach((n, j) => {
      const l = layout.archs[n].layers[i], cur = at[n];
      const OH = Math.floor((cur.H + 2 * l.padding - l.kernel) / l.stride) + 1, OW = Math.floor((cur.W + 2 * l.padding - l.kernel) / l.stride) + 1;
      if (OH < 1 || OW < 1) throw new ShapeError("cnnForwardRagged", `network ${n}'s layer ${i} (kernel ${l.kernel}) gives no output on ${cur.H}x${cur.W} maps`);
      const geometry: ConvGeometry = { C: cur.C, H: cur.H, W: cur.W, O: l.channels, OH, OW, KH: l.kernel, KW: l.kernel, strideH: l.stride, strideW: l.stride, padH: l.padding, padW: l.padding };
      conv.push({ geometry, x: cur.offset, w: L.w[j], b: L.b[j], y: ySize });
      acts.push({ offset: ySize, size: nImg * l.channels * OH * OW, activation: l.activation, w0: l.w0 });
      const r = layout.residual[n][i];
      if (r >= 0) {
        const src = layout.archs[n].layers[r];
        const srcSize = sizes[n][r];
        if (srcSize[0] !== OH || srcSize[1] !== OW) throw new ShapeError("cnnForwardRagged", `network ${n}: layer ${i}'s residual from layer ${r} is ${srcSize[0]}x${srcSize[1]}, its own output ${OH}x${OW}`);
        res.push({ y: ySize, cy: l.channels, source: r, r: offsets[n][r], cr: src.channels, plane: OH * OW });
      }
      offsets[n].push(ySize);
      sizes[n].push([OH, OW]);
      at[n] = { source: i, offset: ySize, C: l.channels, H: OH, W: OW };
      ySize += nImg * l.channels * OH * OW;
    });
    const input = i === 0 ? x : outs[i - 1];
    let y = raggedConv2d(input, p.weights[i], p.biases[i], conv, nImg, ySize);
    if (res.length > 0) y = raggedAddLeading(y, outs, res, nImg);
    outs.push(raggedActivation(y, acts));
  });
  const head: RaggedPoolLinearSegment[] = at.map((cur, n) => ({ source: cur.source, x: cur.offset, C: cur.C, plane: cur.H * cur.W, w: layout.fc.w[n], b: layout.fc.b[n] }));
  const logits = raggedPoolLinear(outs, p.fcWeight, p.fcBias, head, nImg, layout.classes);
  const slots = opts.hiddenSlots;
  if (slots === undefined) return logits;
  if (slots < layout.layers.length) throw new ShapeError("cnnForwardRagged", `${slots} hidden slots for networks of up to ${layout.layers.length} layers`);
  const segments: ChannelSummarySegment[] = layout.archs.flatMap((a, n) => a.layers.map((l, i) => ({
    source: i, offset: offsets[n][i], channels: l.channels, plane: sizes[n][i][0] * sizes[n][i][1], net: n, column: i * CHANNEL_SUMMARY_STATS,
  })));
  return concatLast([logits, channelSummary(outs, segments, B, nImg, hiddenFeaturesPerProbe(slots))]);
}
