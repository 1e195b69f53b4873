// Charts for reports: Vega-Lite specifications compiled by vega-lite and rendered to SVG by vega,
// in Node, so that a report is static HTML that needs no script and no network to show them.
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";

export type ChartSpec = TopLevelSpec;

/** The SVG text of a Vega-Lite chart. */
export async function chartSvg(spec: ChartSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

const FONT = { font: "system-ui, sans-serif", labelFont: "system-ui, sans-serif", titleFont: "system-ui, sans-serif" };

/** Lines of several series over steps: rows {step, series, value}. */
export function linesSpec(title: string, yTitle: string, rows: { step: number; series: string; value: number }[]): ChartSpec {
  return {
    title, width: 420, height: 220, config: { axis: FONT, legend: FONT, title: { font: FONT.font } },
    data: { values: rows },
    mark: { type: "line", point: true },
    encoding: {
      // Steps are whole numbers: a curve of one evaluation would otherwise be ticked "25.000000".
      x: { field: "step", type: "quantitative", title: "step", axis: { format: "d", tickMinStep: 1 } },
      y: { field: "value", type: "quantitative", title: yTitle, scale: { zero: false } },
      color: { field: "series", type: "nominal", title: null },
    },
  };
}

/** A confusion matrix: rows {truth, predicted, count}, in label order. */
export function confusionSpec(title: string, labels: string[], rows: { truth: string; predicted: string; count: number }[]): ChartSpec {
  return {
    title, width: 320, height: 320, config: { axis: FONT, legend: FONT, title: { font: FONT.font } },
    data: { values: rows },
    layer: [
      {
        mark: "rect",
        encoding: {
          x: { field: "predicted", type: "ordinal", sort: labels, title: "predicted" },
          y: { field: "truth", type: "ordinal", sort: labels, title: "true class" },
          color: { field: "count", type: "quantitative", scale: { scheme: "blues" }, title: "networks" },
        },
      },
      {
        mark: { type: "text", fontSize: 10 },
        encoding: {
          x: { field: "predicted", type: "ordinal", sort: labels },
          y: { field: "truth", type: "ordinal", sort: labels },
          text: { field: "count", type: "quantitative" },
        },
      },
    ],
  };
}

/** Predicted against true values, with the diagonal: rows {truth, predicted}. */
export function scatterSpec(title: string, axisTitle: string, rows: { truth: number; predicted: number }[]): ChartSpec {
  let lo = Math.min(...rows.map((r) => Math.min(r.truth, r.predicted)));
  let hi = Math.max(...rows.map((r) => Math.max(r.truth, r.predicted)));
  if (!(hi - lo > 1e-9)) { lo -= 0.5; hi += 0.5; } // one value everywhere (or none): an axis still has a width
  return {
    title, width: 320, height: 320, config: { axis: FONT, legend: FONT, title: { font: FONT.font } },
    layer: [
      {
        data: { values: [{ truth: lo, predicted: lo }, { truth: hi, predicted: hi }] },
        mark: { type: "line", color: "#999", strokeDash: [4, 4] },
        encoding: { x: { field: "truth", type: "quantitative" }, y: { field: "predicted", type: "quantitative" } },
      },
      {
        data: { values: rows },
        mark: { type: "point", filled: true, opacity: 0.6 },
        encoding: {
          x: { field: "truth", type: "quantitative", title: `true ${axisTitle}`, scale: { domain: [lo, hi] } },
          y: { field: "predicted", type: "quantitative", title: `predicted ${axisTitle}`, scale: { domain: [lo, hi] } },
        },
      },
    ],
  };
}

/**
 * Coordinate probes over an INR's rendering: the image spans [-1, 1] on both axes (column on x,
 * row on y, downwards), the probes are points, and the axes widen to show probes outside.
 */
export function probesOverImageSpec(title: string, imageUrl: string | null, probes: { row: number; col: number }[]): ChartSpec {
  const size = 220;
  const lo = Math.min(-1, ...probes.map((p) => Math.min(p.row, p.col))), hi = Math.max(1, ...probes.map((p) => Math.max(p.row, p.col)));
  const side = (size * 2) / (hi - lo);
  return {
    title, width: size, height: size, config: { axis: FONT, title: { font: FONT.font, fontSize: 11 } },
    layer: [
      ...(imageUrl === null ? [] : [{
        data: { values: [{ x: 0, y: 0, url: imageUrl }] },
        mark: { type: "image" as const, width: side, height: side, aspect: false, aria: false },
        encoding: {
          x: { field: "x", type: "quantitative" as const, scale: { domain: [lo, hi] } },
          y: { field: "y", type: "quantitative" as const, scale: { domain: [hi, lo] } },
          url: { field: "url", type: "nominal" as const },
        },
      }]),
      {
        data: { values: probes },
        mark: { type: "point", filled: true, color: "#e4572e", size: 28 },
        encoding: {
          x: { field: "col", type: "quantitative", scale: { domain: [lo, hi] }, title: "column" },
          y: { field: "row", type: "quantitative", scale: { domain: [hi, lo] }, title: "row" },
        },
      },
    ],
  };
}
