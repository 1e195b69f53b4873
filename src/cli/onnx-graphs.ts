// An ONNX zoo's graph structures as `zoo info` and `zoo import onnx` print them.
import type { OnnxGraphSummary } from "../zoo/summary.js";

/** An ONNX zoo's graph structures: white-box (run by the engine, with its steps by kind) or black-box (and why). */
export function onnxGraphLines(graphs: readonly OnnxGraphSummary[]): string[] {
  return graphs.map((g, k) => {
    const head = `graph ${k}: ${g.networks} network${g.networks === 1 ? "" : "s"}, input [${g.input.join(",")}]`;
    if (!g.whiteBox) return `${head}: black-box, run by onnxruntime on fixed probes: the engine cannot run node ${g.blackBox!.node}${g.blackBox!.opType ? ` (${g.blackBox!.opType})` : ""}: ${g.blackBox!.reason}`;
    const steps = Object.entries(g.steps ?? {});
    const n = steps.reduce((s, [, c]) => s + c, 0);
    return `${head}: white-box, run by probegen's engine; ${n} step${n === 1 ? "" : "s"} (${steps.map(([op, c]) => `${op} ${c}`).join(", ")})`;
  });
}
