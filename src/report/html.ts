// What probegen's HTML reports share: escaping, the style sheet, and the rule that a report is
// written only where nothing or an earlier probegen report is.
import { checkOutputFile, headText, type OutputKind } from "../io/output-file.js";

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

/** The generator meta tag's content: how a report file is recognised as ours. */
export const GENERATOR = "probegen report";

export function definitionList(rows: [string, string][]): string {
  return `<dl>${rows.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join("")}</dl>`;
}

export const STYLE = `
body { font: 14px/1.45 system-ui, sans-serif; color: #222; margin: 2rem auto; max-width: 1100px; padding: 0 1rem; }
h1 { font-size: 1.5rem; margin-bottom: 0.2rem; } h2 { font-size: 1.15rem; margin-top: 2rem; border-bottom: 1px solid #ddd; }
.sub { color: #666; margin-top: 0; } .note { color: #8a5a00; background: #fff6e0; padding: 0.4rem 0.7rem; border-radius: 4px; }
.charts { display: flex; flex-wrap: wrap; gap: 1.5rem; align-items: flex-start; }
figure { margin: 0; } figcaption { color: #555; font-size: 12px; max-width: 460px; }
.probes { display: grid; grid-template-columns: repeat(auto-fill, 68px); gap: 6px; }
.probes img { width: 64px; height: 64px; image-rendering: pixelated; border: 1px solid #ccc; }
dl { display: grid; grid-template-columns: max-content auto; gap: 0.2rem 1rem; } dt { color: #555; } dd { margin: 0; font-variant-numeric: tabular-nums; }
pre { background: #f6f6f6; padding: 0.7rem; overflow: auto; font-size: 12px; }
table { border-collapse: collapse; } td, th { padding: 0.15rem 0.6rem; text-align: right; border-bottom: 1px solid #eee; } th:first-child, td:first-child { text-align: left; }
`;

/** An HTML report, recognised by its generator meta tag near the top. */
export const REPORT_FILE: OutputKind = {
  what: "a probegen report",
  recognise: (head) => headText(head).slice(0, 512).includes(`content="${GENERATOR}"`),
};

/** Refuses to write a report over a file that is not a probegen report. */
export function refuseForeignReport(out: string): void {
  checkOutputFile(out, REPORT_FILE);
}
