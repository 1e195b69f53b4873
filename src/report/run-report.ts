// The report of a run: one self-contained HTML file (inline CSS, SVG charts, images as data
// URLs; no script, no font or stylesheet from elsewhere) that shows how the run learned, how
// well its chosen checkpoint does on the zoo's test split, what its probes are, what it costs
// and what it was trained on.
import type { TrainConfig } from "../train/config.js";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseSirenArchitecture, renderSiren } from "../nets/siren.js";
import { InputCollector } from "../predict/inputs.js";
import { predictNetworks, type PredictionReport } from "../predict/predict.js";
import { runProbes } from "../predict/probes-export.js";
import { TrainedRun, type CheckpointName } from "../predict/run-model.js";
import { writeFileAtomic } from "../io/atomic.js";
import { readMetricsRecords, readRunResult } from "../train/run-folder.js";
import { MANIFEST_FILE, Zoo, rangesIndices, rangesSize } from "../zoo/format.js";
import { GENERATOR, STYLE, definitionList, escapeHtml, refuseForeignReport } from "./html.js";
import { chartSvg, confusionSpec, linesSpec, probesOverImageSpec, scatterSpec, type ChartSpec } from "./charts.js";
import { encodePng, toBytes } from "./png.js";

export interface RunReportOptions {
  /** Which checkpoint the test evaluation and the probes come from (best when the run has one). */
  checkpoint?: CheckpointName;
  /** INRs of the test split drawn under coordinate probes (4). */
  renders?: number;
}

export interface RunReport {
  html: string;
  /** Charts in the report: each one an inline SVG. */
  charts: number;
  /** What the report had to leave out, and why. */
  notes: string[];
}



/**
 * The generator a ProbeGen run trained, as it is built (probes/make.ts): for coordinates its
 * Linear layers from the latent to a probe, for images the deep linear image generator.
 */
export function generatorDescription(cfg: TrainConfig, probeShape: readonly number[]): string {
  const g = cfg.generator;
  const act = g.activation === "relu" ? "ReLU between layers" : "no activation";
  if (probeShape.length === 1) {
    const dims = [g.latentDim, ...g.hidden, probeShape[0]];
    return `coordinate generator ${dims.slice(1).map((d, i) => `Linear(${dims[i]},${d})`).join(" → ")}, ${act}, latent ${g.latentDim}`;
  }
  return `image generator deep_linear_${g.layers}, ${act}, latent ${g.latentDim}${g.widthMultiplier !== 1 ? `, widths ×${g.widthMultiplier}` : ""}`;
}

/** Evaluations drawn per curve, at most. */
export const CURVE_POINTS = 1000;

/** At most `n` of the records, evenly spaced by position, always with the first, the last and the one at step `keep`. */
export function downsampleRecords<T extends { step: number }>(records: readonly T[], n: number, keep?: number): T[] {
  if (records.length <= n) return [...records];
  const picked = new Set<number>();
  for (let i = 0; i < n; i++) picked.add(Math.round((i * (records.length - 1)) / (n - 1)));
  if (keep !== undefined) {
    const k = records.findIndex((r) => r.step === keep);
    if (k >= 0) picked.add(k);
  }
  return [...picked].sort((a, b) => a - b).map((i) => records[i]);
}

const pngDataUrl = (w: number, h: number, channels: 1 | 3, bytes: Uint8Array) => `data:image/png;base64,${Buffer.from(encodePng(w, h, channels, bytes)).toString("base64")}`;

/** Image probes [K, C, H, W] as PNG data URLs, on one intensity scale for all (their min to max). */
function imageProbeUrls(values: Float32Array, shape: readonly number[]): { urls: string[]; min: number; max: number } {
  const [k, c, h, w] = shape;
  let min = Infinity, max = -Infinity;
  for (const v of values) { min = Math.min(min, v); max = Math.max(max, v); }
  const hi = max > min ? max : min + 1;
  const urls: string[] = [];
  const plane = h * w;
  for (let i = 0; i < k; i++) {
    const probe = values.subarray(i * c * plane, (i + 1) * c * plane);
    if (c === 3) {
      const hwc = new Float32Array(3 * plane);
      for (let ch = 0; ch < 3; ch++) for (let p = 0; p < plane; p++) hwc[3 * p + ch] = probe[ch * plane + p];
      urls.push(pngDataUrl(w, h, 3, toBytes(hwc, min, hi)));
    } else {
      urls.push(pngDataUrl(w, h, 1, toBytes(probe.subarray(0, plane), min, hi)));
    }
  }
  return { urls, min, max };
}

function fmt(v: number | null | undefined, digits = 4): string {
  return v === null || v === undefined || !Number.isFinite(v) ? "–" : v.toFixed(digits);
}



/** The report of the run in `dir`. */
export async function runReport(dir: string, opts: RunReportOptions = {}): Promise<RunReport> {
  const run = TrainedRun.open(dir, opts.checkpoint);
  const rf = run.runFile;
  const cfg = rf.config;
  const notes: string[] = [];
  const charts: string[] = [];
  const chart = async (spec: ChartSpec, caption: string): Promise<string> => {
    charts.push(caption);
    return `<figure class="chart">${await chartSvg(spec)}<figcaption>${escapeHtml(caption)}</figcaption></figure>`;
  };
  const result = readRunResult(dir);
  if (result === null) notes.push("The run has not finished (no result.json): the curves show what it logged so far.");
  const logged = readMetricsRecords(dir);
  // A page stays small however long the run: curves of at most CURVE_POINTS evaluations.
  const records = downsampleRecords(logged, CURVE_POINTS, result?.best?.step);
  if (records.length < logged.length) notes.push(`The curves show ${records.length} of the ${logged.length} evaluations logged, evenly spaced (with the first, the best and the last).`);
  const scoreName = rf.task === "classification" ? "accuracy" : "Kendall's τ";
  const zooDir = cfg.zoo;
  const zoo = existsSync(join(zooDir, MANIFEST_FILE)) ? Zoo.open(zooDir) : null;
  if (zoo === null) notes.push(`The run's zoo is not at ${zooDir}: the test evaluation, INR renders and zoo provenance are left out.`);

  // Learning curves.
  let curves = "";
  if (records.length === 0) {
    curves = `<p class="note">No evaluations were logged.</p>`;
  } else {
    const loss = records.flatMap((r) => [
      { step: r.step, series: "train loss", value: r.trainLoss },
      ...(r.val !== null ? [{ step: r.step, series: "val loss", value: r.val.loss }] : []),
      ...(r.test !== null ? [{ step: r.step, series: "test loss", value: r.test.loss }] : []),
    ]).filter((r) => Number.isFinite(r.value));
    const score = records.flatMap((r) => [
      ...(r.val !== null ? [{ step: r.step, series: `val ${scoreName}`, value: r.val.score }] : []),
      ...(r.test !== null ? [{ step: r.step, series: `test ${scoreName}`, value: r.test.score }] : []),
    ]).filter((r) => Number.isFinite(r.value));
    curves = `<div class="charts">${await chart(linesSpec("Loss", "loss", loss), "Training loss (mean over the steps since the last evaluation) and the loss on the validation and test splits, at each evaluation.")}${
      score.length > 0 ? await chart(linesSpec(rf.task === "classification" ? "Accuracy" : "Kendall's τ", scoreName, score), `Validation and test ${scoreName} at each evaluation${result?.best ? `; the best validation score was at step ${result.best.step}` : ""}.`) : ""}</div>`;
  }

  // The chosen checkpoint on the test split.
  let evaluation = "";
  let prediction: PredictionReport | null = null;
  if (zoo !== null) {
    if (rangesSize(zoo.manifest.splits.test) === 0) {
      notes.push("The zoo's test split is empty: no test evaluation.");
    } else {
      const inputs = new InputCollector(run, { split: "test" });
      inputs.addZoo(zooDir);
      prediction = await predictNetworks(run, inputs.gather());
    }
  }
  if (prediction !== null) {
    const m = prediction.metrics;
    if (rf.task === "classification") {
      const labels = rf.labelNames.length > 0 ? rf.labelNames : Array.from({ length: rf.classes }, (_, c) => String(c));
      const counts = new Map<string, number>();
      for (const p of prediction.predictions) if (p.truth !== undefined) counts.set(`${p.truth}\u0000${p.labelName}`, (counts.get(`${p.truth}\u0000${p.labelName}`) ?? 0) + 1);
      const rows = labels.flatMap((t) => labels.map((p) => ({ truth: t, predicted: p, count: counts.get(`${t}\u0000${p}`) ?? 0 })));
      evaluation = `<div class="charts">${await chart(confusionSpec(`Confusion matrix (accuracy ${fmt(m?.accuracy)})`, labels, rows),
        `The ${prediction.count} networks of the test split: true class against the class the ${run.checkpoint} checkpoint predicts. Accuracy ${fmt(m?.accuracy)}.`)}</div>`;
    } else {
      const rows = prediction.predictions.filter((p) => typeof p.truth === "number").map((p) => ({ truth: p.truth as number, predicted: p.score! }));
      const target = rf.target ?? "target";
      evaluation = `<div class="charts">${await chart(scatterSpec(`τ ${fmt(m?.kendallTau, 3)}, R² ${fmt(m?.r2, 3)}, MAE ${fmt(m?.mae, 4)}`, target, rows),
        `The ${prediction.count} networks of the test split: predicted against true ${target}, with the diagonal. Kendall's τ ${fmt(m?.kendallTau, 3)}, R² ${fmt(m?.r2, 3)}, mean absolute error ${fmt(m?.mae, 4)}.`)}</div>`;
    }
  }

  // The probes.
  let probes: string;
  if (!run.usesProbes) {
    probes = `<p>This run represents each network by statistics of its weights (StatNN); it has no probes.</p>`;
  } else {
    const values = runProbes(run);
    if (rf.family === "siren") {
      const points = Array.from({ length: run.probes }, (_, i) => ({ row: values[i * 2], col: values[i * 2 + 1] }));
      const renders: string[] = [];
      const wanted = opts.renders ?? 4;
      const test = zoo !== null ? rangesIndices(zoo.manifest.splits.test).slice(0, wanted) : [];
      const size = 56;
      for (const i of test) {
        const net = zoo!.network(i);
        const arch = parseSirenArchitecture(zoo!.manifest.architectures[net.architecture].architecture);
        const img = renderSiren(arch, net.params, size);
        if (img.some((v) => !Number.isFinite(v))) continue;
        const label = net.fields.get("label");
        const name = label !== undefined ? zoo!.manifest.task.labelNames?.[label] ?? String(label) : "";
        renders.push(await chart(probesOverImageSpec(`INR ${i}${name !== "" ? ` (${name})` : ""}`, pngDataUrl(size, size, 1, toBytes(img)), points), `Test INR ${i} rendered on [-1, 1]², the ${run.probes} probes on top.`));
      }
      if (renders.length === 0) renders.push(await chart(probesOverImageSpec("probes", null, points), `The ${run.probes} probe coordinates; the INRs' training grid is [-1, 1]².`));
      probes = `<p>${run.probes} coordinate probes (row, column) from the ${run.checkpoint} checkpoint, drawn over ${renders.length > 1 || zoo !== null ? "INRs of the test split" : "the INRs' domain"}. ${
        points.filter((p) => Math.abs(p.row) > 1 || Math.abs(p.col) > 1).length} of them lie outside [-1, 1]².</p><div class="charts">${renders.join("")}</div>`;
    } else {
      const shape = [run.probes, ...run.probeShape];
      const { urls, min, max } = imageProbeUrls(values, shape);
      probes = `<p>${run.probes} image probes [${run.probeShape.join("×")}] from the ${run.checkpoint} checkpoint, on one intensity scale: black ${fmt(min, 3)}, white ${fmt(max, 3)}${
        run.probeShape[0] !== 1 && run.probeShape[0] !== 3 ? ` (first of ${run.probeShape[0]} channels)` : ""}.</p><div class="probes">${urls.map((u, i) => `<img src="${u}" alt="probe ${i}" title="probe ${i}">`).join("")}</div>`;
    }
  }

  // Cost, config, provenance.
  const summary: [string, string][] = [
    ["method", `${cfg.method}${cfg.method === "probegen" ? ` (${generatorDescription(cfg, run.probeShape)})` : ""}`],
    ["readout", !run.usesProbes ? "the weights' statistics" : cfg.readout === "hidden" ? "hidden: the outputs and every hidden layer's channel summaries, per probe"
      : cfg.readout === "labelled" ? "labelled: per probe, the softmax probabilities and what they say of the probe's true class" : "logits: the outputs per probe"],
    ["probes K", run.usesProbes ? String(cfg.probes) : "none (weight statistics)"],
    ["networks", `${rf.family}, ${rf.zooCount} in the zoo`],
    ["task", rf.task === "classification" ? `classification, ${rf.classes} classes` : `regression of ${rf.target ?? "a target"}`],
    ["best validation", result?.best ? `${fmt(result.best.val)} at step ${result.best.step} (test ${fmt(result.best.test)})` : "–"],
    ["steps", result ? String(result.steps) : String(records.at(-1)?.step ?? 0)],
    ["training time", result ? `${result.trainSeconds.toFixed(1)} s` : "–"],
    ["FLOPs per network", result ? `${(result.flopsPerNetwork / 1e6).toFixed(3)} MFLOPs (K probes through one network, plus the head)` : "–"],
    ["checkpoint shown", run.checkpoint],
  ];
  const provenance = zoo !== null
    ? definitionList([
      ["folder", resolve(zooDir)],
      ["networks", `${zoo.count} (train ${rangesSize(zoo.manifest.splits.train)}, val ${rangesSize(zoo.manifest.splits.val)}, test ${rangesSize(zoo.manifest.splits.test)})`],
      ["architectures", String(zoo.manifest.architectures.length)],
    ]) + `<pre>${escapeHtml(JSON.stringify(zoo.manifest.provenance, null, 2))}</pre>`
    : `<p class="note">The zoo is not at ${escapeHtml(zooDir)}.</p>`;
  const title = `probegen run ${resolve(dir)}`;
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="generator" content="${GENERATOR}"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body>
<h1>${escapeHtml(cfg.method)}${cfg.readout === "hidden" || cfg.readout === "labelled" ? ` (${cfg.readout} readout)` : ""} · K=${run.usesProbes ? cfg.probes : "–"} · ${escapeHtml(rf.family)} ${escapeHtml(rf.task)}</h1>
<p class="sub">${escapeHtml(resolve(dir))}</p>
${notes.map((n) => `<p class="note">${escapeHtml(n)}</p>`).join("\n")}
${definitionList(summary)}
<h2>Learning curves</h2>
${curves}
<h2>Test split (${escapeHtml(run.checkpoint)} checkpoint)</h2>
${evaluation || `<p class="note">No test evaluation.</p>`}
<h2>Probes</h2>
${probes}
<h2>Config</h2>
<pre>${escapeHtml(JSON.stringify({ ...cfg, family: rf.family, architecture: architectureShown(rf.architecture ?? rf.architectures) }, null, 2))}</pre>
<h2>Zoo provenance</h2>
${provenance}
<p class="sub">probegen ${escapeHtml(rf.probegenVersion)}</p>
</body></html>
`;
  return { html, charts: charts.length, notes };
}

/** Writes the report of the run in `dir` to `out` (default: report.html in the run folder); a file already there is replaced only when it is a probegen report. */
export async function writeRunReport(dir: string, out = join(dir, "report.html"), opts: RunReportOptions = {}): Promise<RunReport & { out: string }> {
  refuseForeignReport(out);
  const report = await runReport(dir, opts);
  writeFileAtomic(out, report.html);
  return { ...report, out };
}

/** A run's architecture as the report shows it: a Wild Park's hundreds are counted, not listed (config.json lists them). */
function architectureShown(a: unknown): unknown {
  return Array.isArray(a) && a.length > 4 ? `${a.length} architectures (listed in the run's config.json)` : a;
}
