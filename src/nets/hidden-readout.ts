// The hidden readout: beside a network's outputs for each probe, what each of its layers
// answered, summarised over channels (engine/ops/channel-summary.ts) so that every network of a
// zoo gives features of one size whatever its widths. Layer l of a network fills slot l; a zoo's
// slot count is its deepest network's, and a shallower network leaves its missing slots at 0.
import { CHANNEL_SUMMARY_STATS, channelSummary, concatLast, ShapeError, type ChannelSummarySegment, type Tensor } from "../engine/index.js";

/** Features the hidden readout adds to each probe's outputs, for `slots` layers. */
export function hiddenFeaturesPerProbe(slots: number): number {
  return slots * CHANNEL_SUMMARY_STATS;
}

/**
 * out [B, K, outputs] and each layer's maps [B, K, C_l, ...plane] of one zoo batch ->
 * [B, K, outputs + slots * CHANNEL_SUMMARY_STATS].
 */
export function withHiddenReadout(out: Tensor, layers: readonly Tensor[], slots: number): Tensor {
  const [B, K] = out.shape;
  if (layers.length > slots) throw new ShapeError("withHiddenReadout", `${layers.length} layers for ${slots} slots`);
  const segments: ChannelSummarySegment[] = [];
  layers.forEach((h, l) => {
    if (h.rank < 3 || h.shape[0] !== B || h.shape[1] !== K) throw new ShapeError("withHiddenReadout", `layer ${l}'s maps [${h.shape.join(",")}] are not [${B},${K},C,...]`);
    const channels = h.shape[2];
    const plane = h.shape.slice(3).reduce((a, b) => a * b, 1);
    for (let n = 0; n < B; n++) segments.push({ source: l, offset: n * K * channels * plane, channels, plane, net: n, column: l * CHANNEL_SUMMARY_STATS });
  });
  return concatLast([out, channelSummary(layers, segments, B, K, hiddenFeaturesPerProbe(slots))]);
}
