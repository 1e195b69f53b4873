// An ablation's results: per variant the test score at the best validation step (mean ± std over
// seeds, as `compare`), and the generalisation gap, the test loss less the training loss at the
// end of training, as a table; and an HTML report with the curves behind them (train, val and
// test loss per variant, the gap and the test score over steps, each the mean over seeds).
import type { AblationVariant } from "../train/ablation.js";
import { readMetricsRecords } from "../train/run-folder.js";
import { chartSvg, linesSpec } from "./charts.js";
import { compareRuns, meanStd, type CompareGroup } from "./compare.js";
import { GENERATOR, STYLE, escapeHtml } from "./html.js";

export interface AblationRow {
  variant: AblationVariant;
  group: CompareGroup;
  /** At the last evaluation, means over seeds: the training loss (since the previous evaluation), the test loss, and their difference. */
  trainLoss: number;
  testLoss: number;
  gap: number;
  /** Per step of evaluation, means over seeds. */
  curve: { step: number; trainLoss: number; valLoss: number | null; testLoss: number | null; testScore: number | null }[];
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** The rows of finished variants (each variant's run folders, all finished). */
export function ablationRows(variants: readonly { variant: AblationVariant; dirs: string[] }[]): AblationRow[] {
  return variants.map(({ variant, dirs }) => {
    const groups = compareRuns(dirs);
    if (groups.length !== 1) throw new Error(`variant ${variant.name}: its runs differ in more than the seed`);
    const byStep = new Map<number, { train: number[]; val: number[]; test: number[]; score: number[] }>();
    for (const d of dirs) {
      for (const r of readMetricsRecords(d)) {
        let s = byStep.get(r.step);
        if (s === undefined) byStep.set(r.step, (s = { train: [], val: [], test: [], score: [] }));
        s.train.push(r.trainLoss);
        if (r.val !== null) s.val.push(r.val.loss);
        if (r.test !== null) { s.test.push(r.test.loss); s.score.push(r.test.score); }
      }
    }
    const curve = [...byStep.entries()].sort(([a], [b]) => a - b).map(([step, s]) => ({
      step, trainLoss: mean(s.train), valLoss: s.val.length > 0 ? mean(s.val) : null,
      testLoss: s.test.length > 0 ? mean(s.test) : null, testScore: s.score.length > 0 ? mean(s.score) : null,
    }));
    const last = curve.at(-1);
    const trainLoss = last?.trainLoss ?? NaN, testLoss = last?.testLoss ?? NaN;
    return { variant, group: groups[0], trainLoss, testLoss, gap: testLoss - trainLoss, curve };
  });
}

const scoreOf = (g: CompareGroup, v: number) => (Number.isNaN(v) ? "n/a" : g.score === "kendallTau" ? v.toFixed(3) : (100 * v).toFixed(2));

/** The table, in Markdown. */
export function ablationMarkdown(rows: readonly AblationRow[]): string {
  if (rows.length === 0) return "";
  const acc = rows[0].group.score !== "kendallTau";
  const lines = [
    `| variant | K | ${acc ? "test accuracy (%)" : "test Kendall's τ"} | per seed | train loss | test loss | gap | steps | train time (s) |`,
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const r of rows) {
    const g = r.group;
    const [, std] = meanStd(g.tests);
    lines.push(`| ${r.variant.name} | ${g.probes ?? "–"} | ${scoreOf(g, g.mean)} ± ${scoreOf(g, std)} | ${g.tests.map((v) => scoreOf(g, v)).join(", ")} | ${r.trainLoss.toFixed(4)} | ${r.testLoss.toFixed(4)} | ${r.gap.toFixed(4)} | ${g.steps} | ${g.seconds.toFixed(1)} |`);
  }
  return lines.join("\n");
}

/** The HTML report: the table, then the curves. */
export async function ablationReportHtml(title: string, description: string, rows: readonly AblationRow[]): Promise<{ html: string; charts: number }> {
  const figures: string[] = [];
  const chart = async (spec: Parameters<typeof chartSvg>[0], caption: string) => {
    figures.push(caption);
    return `<figure class="chart">${await chartSvg(spec)}<figcaption>${escapeHtml(caption)}</figcaption></figure>`;
  };
  const scoreName = rows[0]?.group.score === "kendallTau" ? "Kendall's τ" : "accuracy";
  const overall: string[] = [];
  overall.push(await chart(linesSpec("Generalisation gap", "test loss − train loss", rows.flatMap((r) =>
    r.curve.filter((c) => c.testLoss !== null).map((c) => ({ step: c.step, series: r.variant.name, value: c.testLoss! - c.trainLoss })))),
  "Test loss less training loss at each evaluation, mean over seeds: how far each variant overfits."));
  overall.push(await chart(linesSpec(`Test ${scoreName}`, scoreName, rows.flatMap((r) =>
    r.curve.filter((c) => c.testScore !== null).map((c) => ({ step: c.step, series: r.variant.name, value: c.testScore! })))),
  `Test ${scoreName} at each evaluation, mean over seeds.`));
  const perVariant: string[] = [];
  for (const r of rows) {
    const values = r.curve.flatMap((c) => [
      { step: c.step, series: "train", value: c.trainLoss },
      ...(c.valLoss !== null ? [{ step: c.step, series: "val", value: c.valLoss }] : []),
      ...(c.testLoss !== null ? [{ step: c.step, series: "test", value: c.testLoss }] : []),
    ]);
    perVariant.push(await chart(linesSpec(r.variant.name, "loss", values), `${r.variant.description}: training loss and the validation and test loss, mean over seeds ${r.group.seeds.join(", ")}.`));
  }
  const table = `<table><thead><tr><th>variant</th><th>what it changes</th><th>test ${escapeHtml(scoreName)}</th><th>per seed</th><th>train loss</th><th>test loss</th><th>gap</th></tr></thead><tbody>${
    rows.map((r) => `<tr><td>${escapeHtml(r.variant.name)}</td><td>${escapeHtml(r.variant.description)}</td><td>${scoreOf(r.group, r.group.mean)} ± ${scoreOf(r.group, r.group.std)}</td><td>${
      r.group.tests.map((v) => scoreOf(r.group, v)).join(", ")}</td><td>${r.trainLoss.toFixed(4)}</td><td>${r.testLoss.toFixed(4)}</td><td>${r.gap.toFixed(4)}</td></tr>`).join("")}</tbody></table>`;
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="generator" content="${GENERATOR}"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body>
<h1>${escapeHtml(title)}</h1>
<p class="sub">${escapeHtml(description)}</p>
${table}
<h2>Over training</h2>
<div class="charts">${overall.join("")}</div>
<h2>Each variant</h2>
<div class="charts">${perVariant.join("")}</div>
</body></html>
`;
  return { html, charts: figures.length };
}
