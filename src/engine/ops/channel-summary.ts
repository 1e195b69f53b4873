// What a layer answers to a probe, summarised so that networks of any width give features of
// one size: each channel's map is reduced to its spatial mean and standard deviation (a plane
// kernel over the whole maps), and those C pairs to statistics over channels that do not
// depend on the channels' order (a network's channels can be permuted without changing its
// function). One op takes every layer of every network of a batch, ragged or not: each
// segment is one network's block of one layer, written to its own columns of the output.
import { kernels } from "../backend.js";
import { gradSink, record } from "../autograd.js";
import { ShapeError } from "../errors.js";
import { Tensor } from "../tensor.js";
import { tiles } from "./ragged.js";

/**
 * Per network, per image, per layer: over the channels c with spatial mean m_c and standard
 * deviation s_c, the mean, standard deviation, maximum and minimum of m_c, and the mean and
 * maximum of s_c.
 */
export const CHANNEL_SUMMARY_STATS = 6;

/** sqrt(variance + eps) keeps the standard deviations differentiable where a map is constant. */
const EPS = 1e-6;

/** One network's block of one layer's maps, and where its summary goes. */
export interface ChannelSummarySegment {
  /** Which of the sources holds the block [nImg, channels, plane], from element offset. */
  source: number;
  offset: number;
  channels: number;
  /** Values per channel map (H x W; 1 for a layer of neurons). */
  plane: number;
  /** Output row (network) and first column of its CHANNEL_SUMMARY_STATS. */
  net: number;
  column: number;
}

/**
 * The summaries [nNet, nImg, features] of every segment (columns no segment writes are 0: a
 * layer a shallower network lacks). Differentiable into the sources.
 */
export function channelSummary(sources: readonly Tensor[], segments: readonly ChannelSummarySegment[], nNet: number, nImg: number, features: number): Tensor {
  const k = kernels();
  const S = CHANNEL_SUMMARY_STATS;
  for (const s of segments) {
    const src = sources[s.source];
    if (src === undefined) throw new ShapeError("channelSummary", `source ${s.source} of ${sources.length}`);
    if (!(s.channels >= 1 && s.plane >= 1 && s.offset >= 0 && s.offset + nImg * s.channels * s.plane <= src.size)) {
      throw new ShapeError("channelSummary", `a block of ${nImg} x ${s.channels} x ${s.plane} at ${s.offset} is outside a source of ${src.size} values`);
    }
    if (!(s.net >= 0 && s.net < nNet && s.column >= 0 && s.column + S <= features)) {
      throw new ShapeError("channelSummary", `network ${s.net}, columns [${s.column}, ${s.column + S}) are outside [${nNet}, ${features}]`);
    }
  }
  // Moments per source: one kernel call over the whole source where its segments tile it with
  // one plane size (a zoo batch, or a ragged layer of equal map sizes), else one per segment.
  const moments = sources.map(() => null as Tensor | null);
  const at = segments.map(() => 0);
  const own = segments.map(() => null as Tensor | null);
  sources.forEach((src, i) => {
    const mine = segments.map((s, j) => [s, j] as const).filter(([s]) => s.source === i).sort((a, b) => a[0].offset - b[0].offset);
    if (mine.length === 0) return;
    const plane = mine[0][0].plane;
    if (mine.every(([s]) => s.plane === plane) && tiles(mine.map(([s]) => [s.offset, nImg * s.channels * s.plane]), src.size)) {
      const m = Tensor.empty([(2 * src.size) / plane]);
      k.planeMoments(src.data, m.data, src.size / plane, plane, EPS);
      moments[i] = m;
      for (const [s, j] of mine) at[j] = (2 * s.offset) / plane;
    } else {
      for (const [s, j] of mine) {
        const planes = nImg * s.channels;
        const m = Tensor.empty([2 * planes]);
        k.planeMoments(src.data.subarray(s.offset, s.offset + planes * s.plane), m.data, planes, s.plane, EPS);
        own[j] = m;
      }
    }
  });
  const momentsOf = (j: number): Float32Array => {
    const s = segments[j];
    const o = own[j];
    if (o !== null) return o.data;
    return moments[s.source]!.data.subarray(at[j], at[j] + 2 * nImg * s.channels);
  };
  // Where each maximum and minimum came from, for the backward.
  const argmax = segments.map((s) => new Int32Array(3 * nImg));
  const y = Tensor.zeros([nNet, nImg, features]);
  segments.forEach((s, j) => {
    const mo = momentsOf(j), C = s.channels, arg = argmax[j];
    for (let i = 0; i < nImg; i++) {
      const base = 2 * i * C;
      let sm = 0, ss = 0, mx = -Infinity, mn = Infinity, smx = -Infinity, aMx = 0, aMn = 0, aS = 0;
      for (let c = 0; c < C; c++) {
        const m = mo[base + 2 * c], sd = mo[base + 2 * c + 1];
        sm += m;
        ss += sd;
        if (m > mx) { mx = m; aMx = c; }
        if (m < mn) { mn = m; aMn = c; }
        if (sd > smx) { smx = sd; aS = c; }
      }
      const mean = sm / C;
      let v = 0;
      for (let c = 0; c < C; c++) v += (mo[base + 2 * c] - mean) ** 2;
      const o = (s.net * nImg + i) * features + s.column;
      y.data[o] = mean;
      y.data[o + 1] = Math.sqrt(v / C + EPS);
      y.data[o + 2] = mx;
      y.data[o + 3] = mn;
      y.data[o + 4] = ss / C;
      y.data[o + 5] = smx;
      arg[3 * i] = aMx;
      arg[3 * i + 1] = aMn;
      arg[3 * i + 2] = aS;
    }
  });
  return record(y, "channelSummary", sources, (g) => {
    const sinks = sources.map((t, i) => (segments.some((s) => s.source === i) ? gradSink(t) : null));
    // A source summarised segment by segment may have values no segment covers: clear it once,
    // then every segment adds its block.
    sinks.forEach((sink, i) => {
      if (sink !== null && moments[i] === null && !sink.acc) { sink.g.fill(0); sink.acc = true; }
    });
    // d(summary)/d(moments), laid out as the moments, then the plane kernel's backward.
    const dMoments = sources.map((_, i) => (moments[i] !== null && sinks[i] !== null ? Tensor.empty(moments[i]!.shape) : null));
    segments.forEach((s, j) => {
      if (sinks[s.source] === null) return;
      const mo = momentsOf(j), C = s.channels, arg = argmax[j];
      const dOwn = own[j] !== null ? Tensor.empty(own[j]!.shape) : null;
      const dm = dOwn !== null ? dOwn.data : dMoments[s.source]!.data.subarray(at[j], at[j] + 2 * nImg * C);
      for (let i = 0; i < nImg; i++) {
        const base = 2 * i * C;
        const o = (s.net * nImg + i) * features + s.column;
        const o1 = y.data[o + 1];
        const mean = y.data[o];
        for (let c = 0; c < C; c++) {
          dm[base + 2 * c] = g[o] / C + (g[o + 1] * (mo[base + 2 * c] - mean)) / (C * o1);
          dm[base + 2 * c + 1] = g[o + 4] / C;
        }
        dm[base + 2 * arg[3 * i]] += g[o + 2];
        dm[base + 2 * arg[3 * i + 1]] += g[o + 3];
        dm[base + 2 * arg[3 * i + 2] + 1] += g[o + 5];
      }
      if (dOwn !== null) {
        const sink = sinks[s.source]!;
        const n = nImg * C * s.plane;
        k.planeMomentsBackward(sources[s.source].data.subarray(s.offset, s.offset + n), own[j]!.data, dOwn.data, sink.g.subarray(s.offset, s.offset + n), nImg * C, s.plane, sink.acc);
        dOwn.dispose();
      }
    });
    sources.forEach((src, i) => {
      const d = dMoments[i], sink = sinks[i];
      if (d === null || sink === null) return;
      const plane = segments.find((s) => s.source === i)!.plane;
      k.planeMomentsBackward(src.data, moments[i]!.data, d.data, sink.g, src.size / plane, plane, sink.acc);
      d.dispose();
    });
  });
}
